"""MONAI DenseNet121 classifier for 2D grey or RGB images (X-rays, photographs, single slices)."""
from workstation.plugin_api import InputSpec, PluginManifest

MANIFEST = PluginManifest(
    id="densenet2d",
    name="DenseNet121 2D classifier",
    version="1.0.0",
    kind="classifier",
    task="binary",
    classes=("negative", "positive"),
    input=InputSpec(dims=2, channels=(1, 3), size=(224, 224)),
    factory="plugins.densenet2d.plugin:DenseNet2D",
    description="MONAI DenseNet121 for 2D images; binary, multi-class or multi-label heads. Task and class "
                "names come from the checkpoint (the manifest's are the defaults). Grad-CAM heat maps.",
    devices=("cuda", "mps", "cpu"),
    batch_size=16,
    needs_checkpoint=True,
    heatmap=True,
)
