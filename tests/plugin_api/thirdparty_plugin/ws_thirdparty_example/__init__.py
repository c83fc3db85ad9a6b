"""A third-party plugin: its manifest only (cheap to import); the model is in `model.py`."""
from workstation.plugin_api import InputSpec, PluginManifest

MANIFEST = PluginManifest(
    id="thirdparty-brightness",
    name="Brightness classifier (third-party example)",
    version="0.2.0",
    kind="classifier",
    task="binary",
    classes=("dark", "bright"),
    input=InputSpec(dims=2, channels=(1, 3), size=(64, 64)),
    factory="ws_thirdparty_example.model:BrightnessClassifier",
    heatmap=True,
)
