"""What a plugin may import: the manifest, the plugin contract and the typed results.
Importable with numpy alone (no Qt, no torch)."""
from workstation.core.volume import Volume

from workstation.plugin_api.checks import prediction_problems
from workstation.plugin_api.contracts import Cancel, Cancelled, CheckpointMissing, Plugin, PluginError, Progress, weights_sha256
from workstation.plugin_api.manifest import API_VERSION, DEVICES, KINDS, TASKS, InputSpec, ManifestError, PluginManifest, api_compatible, as_manifest
from workstation.plugin_api.results import Candidate, ClassProbabilities, HeatMap, Prediction

__all__ = [
    "API_VERSION", "DEVICES", "KINDS", "TASKS", "Cancel", "Cancelled", "Candidate", "CheckpointMissing",
    "ClassProbabilities", "HeatMap", "InputSpec", "ManifestError", "Plugin", "PluginError", "PluginManifest",
    "Prediction", "Progress", "Volume", "api_compatible", "as_manifest", "prediction_problems", "weights_sha256",
]
