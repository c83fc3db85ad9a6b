"""What a plugin declares about itself, before any of its code is imported.

A distribution registers an entry point in the group `workstation.plugins`; the entry point names a
`PluginManifest` (or a dict with the same fields, or a callable returning either). The manifest
module must be cheap to import: the model code is named by `factory` ("module:callable") and is
imported only when the plugin is first used.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

from workstation.core.errors import WorkstationError
from workstation.core.vocab import Task

API_VERSION = "1.0"
KINDS = ("classifier", "detector", "report_labeler")
TASKS = ("binary", "multiclass", "multilabel", "detection")
DEVICES = ("cuda", "mps", "cpu")

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class ManifestError(WorkstationError, ValueError):
    """A manifest that the host cannot accept; the message lists every problem."""


@dataclass(frozen=True)
class InputSpec:
    """What the network consumes. `size` and `spacing` are in image axis order (i, j[, k]) = (x, y[, z]),
    as `Volume.size` reports; `channels` lists the channel counts accepted (1 = grey, 3 = RGB)."""
    dims: int
    channels: tuple[int, ...] = (1,)
    size: tuple[int, ...] | None = None
    spacing: tuple[float, ...] | None = None

    def problems(self) -> list[str]:
        out = []
        if self.dims not in (2, 3):
            out.append(f"input.dims must be 2 or 3, not {self.dims!r}")
        if not self.channels or any(c not in (1, 3) for c in self.channels):
            out.append(f"input.channels must list 1 and/or 3, not {self.channels!r}")
        if self.size is not None and (len(self.size) != self.dims or any(int(s) < 1 for s in self.size)):
            out.append(f"input.size must be {self.dims} positive integers, not {self.size!r}")
        if self.spacing is not None and (len(self.spacing) != self.dims or any(float(s) <= 0 for s in self.spacing)):
            out.append(f"input.spacing must be {self.dims} positive numbers (mm), not {self.spacing!r}")
        return out


@dataclass(frozen=True)
class PluginManifest:
    id: str
    name: str
    version: str
    kind: str
    task: str
    classes: tuple[str, ...]
    input: InputSpec
    factory: str
    api_version: str = API_VERSION
    description: str = ""
    devices: tuple[str, ...] = ("cpu",)
    batch_size: int = 1
    needs_checkpoint: bool = False
    heatmap: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PluginManifest":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ManifestError(f"unknown manifest fields: {', '.join(unknown)}")
        missing = [n for n in ("id", "name", "version", "kind", "task", "classes", "input", "factory") if n not in data]
        if missing:
            raise ManifestError(f"manifest lacks {', '.join(missing)}")
        values = dict(data)
        spec = values["input"]
        if isinstance(spec, Mapping):
            spec = InputSpec(
                dims=spec.get("dims"),
                channels=tuple(spec.get("channels", (1,))),
                size=None if spec.get("size") is None else tuple(spec["size"]),
                spacing=None if spec.get("spacing") is None else tuple(spec["spacing"]),
            )
        values["input"] = spec
        values["classes"] = tuple(values["classes"])
        values["devices"] = tuple(values.get("devices", ("cpu",)))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["extra"] = dict(self.extra)
        return data

    def problems(self) -> list[str]:
        out = []
        if not isinstance(self.id, str) or not _ID.match(self.id):
            out.append(f"id {self.id!r} must be lowercase letters, digits, '_', '-' or '.'")
        for name in ("name", "version"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                out.append(f"{name} must be a non-empty string")
        if self.kind not in KINDS:
            out.append(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.task not in TASKS:
            out.append(f"task {self.task!r} is not one of {', '.join(TASKS)}")
        if (self.kind == "detector") != (self.task == Task.DETECTION):
            out.append("a detector has task 'detection', and only a detector has it")
        classes = self.classes
        if not classes or any(not isinstance(c, str) or not c.strip() for c in classes):
            out.append("classes must be non-empty strings")
        elif len(set(classes)) != len(classes):
            out.append(f"classes repeat: {list(classes)}")
        elif self.task == Task.BINARY and len(classes) != 2:
            out.append(f"a binary task has exactly two classes (negative, positive), got {list(classes)}")
        elif self.task == Task.MULTICLASS and len(classes) < 2:
            out.append("a multiclass task needs at least two classes")
        if not isinstance(self.input, InputSpec):
            out.append("input must be an InputSpec")
        else:
            out.extend(self.input.problems())
        if not isinstance(self.factory, str) or not _FACTORY.match(self.factory):
            out.append(f"factory {self.factory!r} must be 'module:callable'")
        if not api_compatible(self.api_version):
            out.append(f"plugin API {self.api_version!r} does not fit this host's API {API_VERSION}")
        if not self.devices or any(d not in DEVICES for d in self.devices):
            out.append(f"devices must be a subset of {DEVICES}, not {self.devices!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            out.append(f"batch_size must be a positive integer, not {self.batch_size!r}")
        return out

    def validate(self) -> "PluginManifest":
        problems = self.problems()
        if problems:
            raise ManifestError("; ".join(problems))
        return self


def api_compatible(version: str) -> bool:
    """Same major version, and a minor version no newer than the host's."""
    try:
        major, minor = (int(p) for p in str(version).split(".")[:2])
    except ValueError:
        return False
    host_major, host_minor = (int(p) for p in API_VERSION.split("."))
    return major == host_major and minor <= host_minor


def as_manifest(obj: Any) -> PluginManifest:
    """The entry point's object as a validated manifest: a PluginManifest, a mapping, or a callable."""
    if callable(obj) and not isinstance(obj, (PluginManifest, Mapping)):
        obj = obj()
    if isinstance(obj, Mapping):
        obj = PluginManifest.from_dict(obj)
    if not isinstance(obj, PluginManifest):
        raise ManifestError(f"entry point gives a {type(obj).__name__}, not a PluginManifest")
    return obj.validate()
