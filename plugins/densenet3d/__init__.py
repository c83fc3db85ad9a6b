"""MONAI DenseNet121 classifier for 3D volumes (CT, MRI), resampled to a target spacing."""
from workstation.plugin_api import InputSpec, PluginManifest

MANIFEST = PluginManifest(
    id="densenet3d",
    name="DenseNet121 3D classifier",
    version="1.0.0",
    kind="classifier",
    task="binary",
    classes=("negative", "positive"),
    input=InputSpec(dims=3, channels=(1,), size=(96, 96, 96), spacing=(2.0, 2.0, 2.0)),
    factory="plugins.densenet3d.plugin:DenseNet3D",
    description="MONAI DenseNet121 for volumes: resampled to the checkpoint's spacing, centre-cropped or "
                "padded to its size; binary, multi-class or multi-label heads from the checkpoint. Grad-CAM.",
    devices=("cuda", "mps", "cpu"),
    batch_size=2,
    needs_checkpoint=True,
    heatmap=True,
)
