"""Plugin discovery, validation and the background inference runner (no Qt, no torch)."""
from .discovery import (GROUP, PluginEntry, PluginNotFound, PluginUnavailable, discover, find, load_factory,
                        set_enabled, usable_manifest)
from .jobs import CaseFailure, CaseInput, JobReport, JobSpec, PredictionOutcome
from .runner import InferenceRunner, WorkerFailed, file_sha256

__all__ = [
    "GROUP", "CaseFailure", "CaseInput", "InferenceRunner", "JobReport", "JobSpec", "PluginEntry",
    "PluginNotFound", "PluginUnavailable", "PredictionOutcome", "WorkerFailed", "discover", "file_sha256",
    "find", "load_factory", "set_enabled", "usable_manifest",
]
