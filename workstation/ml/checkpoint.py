"""The checkpoint format shared by training (which writes it) and the classifier plugins (which read it).

A checkpoint is one file written by `torch.save` of a dict holding only tensors and plain Python
values (str, int, float, bool, None, list, dict), so that `torch.load(weights_only=True)` reads it
and a file carrying pickled code is refused:

    format          "workstation-checkpoint"
    format_version  1
    plugin_id       "densenet2d" | "densenet3d" | ...
    task            "binary" | "multiclass" | "multilabel"
    classes         class names in output order (binary: [negative, positive], one output logit)
    architecture    {"name": "DenseNet121" | "DenseNet", "spatial_dims", "in_channels", "out_channels",
                     and for "DenseNet": "init_features", "growth_rate", "block_config", "dropout_prob"}
    preprocessing   {"size": [x, y(, z)] network input size in voxels (image axis order),
                     "spacing": [x, y, z] mm or null (3D resampling target),
                     "mean": [...], "std": [...] per channel, applied after scaling to [0, 1]}
    state_dict      the network's parameters and buffers
    metadata        free-form plain values (created_at, epochs, data, validation metrics, ...)
"""
from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from workstation.core.errors import WorkstationError
from workstation.core.vocab import Task

FORMAT = "workstation-checkpoint"
FORMAT_VERSION = 1
TASKS = ("binary", "multiclass", "multilabel")


class CheckpointError(WorkstationError, ValueError):
    """A file that is not a checkpoint we can use; the message says why in one line."""


@dataclass
class Checkpoint:
    plugin_id: str
    task: str
    classes: list[str]
    architecture: dict[str, Any]
    state_dict: dict[str, Any]
    preprocessing: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    sha256: str = ""


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def output_size(task: str, classes: list[str]) -> int:
    """Binary heads have one logit (sigmoid); multiclass and multilabel one per class."""
    return 1 if task == Task.BINARY else len(classes)


def save_checkpoint(path: str | os.PathLike, state_dict: dict[str, Any], *, plugin_id: str, task: str,
                    classes: list[str], architecture: dict[str, Any],
                    preprocessing: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> str:
    """Write a checkpoint atomically and return its sha256."""
    import torch

    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "plugin_id": plugin_id, "task": task,
        "classes": list(classes), "architecture": dict(architecture),
        "preprocessing": dict(preprocessing or {}),
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "metadata": {"created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(metadata or {})},
    }
    _check(payload, str(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return sha256_file(path)


def load_checkpoint(path: str | os.PathLike, plugin_id: str | None = None) -> Checkpoint:
    """Read a checkpoint with `torch.load(weights_only=True)`; CheckpointError when the file is
    missing, carries pickled code, is not in our format, or belongs to another plugin."""
    import torch

    path = str(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"checkpoint {path} holds more than tensors and plain values "
                              f"(refused: weights_only loading): {str(exc).splitlines()[0]}") from exc
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    _check(payload, path)
    if plugin_id is not None and payload["plugin_id"] != plugin_id:
        raise CheckpointError(f"checkpoint {path} is for plugin {payload['plugin_id']!r}, not {plugin_id!r}")
    return Checkpoint(plugin_id=payload["plugin_id"], task=payload["task"], classes=list(payload["classes"]),
                      architecture=dict(payload["architecture"]), state_dict=payload["state_dict"],
                      preprocessing=dict(payload.get("preprocessing") or {}),
                      metadata=dict(payload.get("metadata") or {}), path=path, sha256=sha256_file(path))


def _check(payload: Any, path: str) -> None:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        hint = " (a bare state dict? wrap it with workstation.ml.checkpoint.save_checkpoint)" \
            if isinstance(payload, dict) else ""
        raise CheckpointError(f"{path} is not a workstation checkpoint{hint}")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {payload.get('format_version')!r}, "
                              f"this program reads {FORMAT_VERSION}")
    for key in ("plugin_id", "task", "classes", "architecture", "state_dict"):
        if key not in payload:
            raise CheckpointError(f"checkpoint {path} lacks {key!r}")
    if payload["task"] not in TASKS:
        raise CheckpointError(f"checkpoint {path} has task {payload['task']!r}, not one of {TASKS}")
    classes = payload["classes"]
    if not classes or len(set(classes)) != len(classes) or (payload["task"] == Task.BINARY and len(classes) != 2):
        raise CheckpointError(f"checkpoint {path} has unusable classes {classes!r} for a {payload['task']} task")
    arch = payload["architecture"]
    if arch.get("out_channels") != output_size(payload["task"], classes):
        raise CheckpointError(f"checkpoint {path}: {arch.get('out_channels')} outputs do not fit "
                              f"{len(classes)} classes of a {payload['task']} task")
