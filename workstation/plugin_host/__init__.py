"""Plugin discovery, validation and the background inference runner (no Qt, no torch)."""
from workstation.plugin_host.discovery import (GROUP, PluginEntry, PluginNotFound, PluginUnavailable, discover, find, load_factory,
                        set_enabled, usable_manifest)
from workstation.plugin_host.jobs import CaseFailure, CaseInput, JobReport, JobSpec, PredictionOutcome
from workstation.plugin_host.runner import InferenceRunner, WorkerFailed, file_sha256

__all__ = [
    "GROUP", "CaseFailure", "CaseInput", "InferenceRunner", "JobReport", "JobSpec", "PluginEntry",
    "PluginNotFound", "PluginUnavailable", "PredictionOutcome", "WorkerFailed", "discover", "file_sha256",
    "find", "load_factory", "set_enabled", "usable_manifest",
]
