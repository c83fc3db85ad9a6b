"""What the runner is asked to do and what it reports back."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from workstation.core.volume import Volume
from workstation.plugin_api import PluginManifest, Prediction


@dataclass
class CaseInput:
    """One image to run: read from `path` (file or folder, by `workstation.core.io.read_volume`) in
    the worker, or an already loaded `volume`."""
    case_id: str
    path: str | None = None
    volume: Volume | None = None


@dataclass
class JobSpec:
    manifest: PluginManifest
    cases: list[CaseInput]
    checkpoint: str | None = None
    device: str = "auto"  # auto | cpu | cuda | mps
    batch_size: int | None = None  # None: the manifest's
    options: dict[str, Any] = field(default_factory=dict)

    def worker_key(self) -> tuple:
        """Jobs with equal keys reuse a loaded worker; a rewritten checkpoint file changes the key."""
        stamp = None
        if self.checkpoint and os.path.isfile(self.checkpoint):
            info = os.stat(self.checkpoint)
            stamp = (info.st_size, info.st_mtime_ns)
        return (self.manifest.id, self.manifest.version, self.manifest.factory, self.checkpoint, stamp, self.device,
                tuple(sorted((k, repr(v)) for k, v in self.options.items())))


@dataclass
class PredictionOutcome:
    """A validated prediction with its provenance, ready to store."""
    case_id: str
    prediction: Prediction
    plugin_id: str
    plugin_version: str
    weights_sha256: str
    device: str
    created_at: str
    image_shape: tuple[int, ...] = ()
    geometry: dict[str, Any] = field(default_factory=dict)  # spacing, origin, direction of the image


@dataclass
class CaseFailure:
    case_id: str
    reason: str


@dataclass
class JobReport:
    plugin_id: str
    total: int
    stored: int = 0
    failures: list[CaseFailure] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    cancelled: bool = False
    error: str | None = None  # a job-level failure: load failed, timed out, worker died
    devices: list[str] = field(default_factory=list)
    weights_sha256: str = ""
    task: str = ""  # as the loaded plugin declares it (a generic plugin takes it from its checkpoint)
    classes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    load_s: float = 0.0
    predict_s: float = 0.0  # time spent inside the plugin's predict calls

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failures and not self.cancelled

    def to_json(self) -> dict[str, Any]:
        return {"plugin_id": self.plugin_id, "total": self.total, "stored": self.stored,
                "failed": [{"case_id": f.case_id, "reason": f.reason} for f in self.failures],
                "notices": list(self.notices), "cancelled": self.cancelled, "error": self.error,
                "devices": list(self.devices), "weights_sha256": self.weights_sha256,
                "task": self.task, "classes": list(self.classes),
                "elapsed_s": round(self.elapsed_s, 3), "load_s": round(self.load_s, 3),
                "predict_s": round(self.predict_s, 3)}
