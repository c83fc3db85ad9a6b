"""What runs on a Dask worker: read one image or series, run the plugin, return one result row
(a plain dict). The plugin is loaded once per worker process and kept in `_LOADED`; a Dask worker
is already a separate process, so the plugin runs in it directly (no second child process). Any
failure of one input becomes a failed row; only a dead worker loses a task, and Dask reruns it."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from typing import Any

_LOADED: dict[tuple, Any] = {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def worker_name() -> str:
    try:
        from distributed import get_worker

        return f"{get_worker().address} pid {os.getpid()}"
    except (ImportError, ValueError):
        return f"local pid {os.getpid()}"


class Loaded:
    def __init__(self, spec: dict) -> None:
        from workstation.plugin_api import Plugin, PluginManifest
        from workstation.plugin_host.discovery import load_factory

        manifest = PluginManifest.from_dict(spec["manifest"])
        plugin = load_factory(manifest)(checkpoint=spec.get("checkpoint"), options=dict(spec.get("options") or {}))
        if not isinstance(plugin, Plugin):
            raise TypeError(f"{manifest.factory} built a {type(plugin).__name__} without load() and predict()")
        requested = spec.get("device") or "auto"
        if requested in ("auto", "cpu") and tuple(manifest.devices) == ("cpu",):
            device = "cpu"
        else:
            from workstation.ml.device import choose_device

            device = choose_device(requested, manifest.devices)
        plugin.load(device)
        import dataclasses

        self.manifest = dataclasses.replace(
            manifest, task=getattr(plugin, "task", None) or manifest.task,
            classes=tuple(getattr(plugin, "classes", None) or manifest.classes))
        self.plugin, self.device = plugin, device


def loaded(spec: dict) -> Loaded:
    key = (json.dumps(spec["manifest"], sort_keys=True), spec.get("checkpoint"), spec.get("weights_sha256"),
           spec.get("device"), json.dumps(spec.get("options") or {}, sort_keys=True))
    if key not in _LOADED:
        _LOADED.clear()  # one model per worker: a new job's model replaces the last one
        _LOADED[key] = Loaded(spec)
    return _LOADED[key]


def _read(item: dict):
    from workstation.core.io import read_volume

    files = item["files"]
    if item["kind"] == "pacs-series":
        from workstation.batch.pacs_source import retrieve

        files = retrieve(item)
    if item["kind"] in ("dicom-series", "folder", "pacs-series") and len(files) > 1:
        from workstation.core.io.scan import scan_files

        found = scan_files(files)
        if not found.entries:
            raise ValueError(found.errors[0].reason if found.errors else "no image among its files")
        return found.entries[0].read()
    return read_volume(files[0] if item["kind"] == "pacs-series" else item["path"])


def prediction_json(prediction) -> tuple[list[str], list[float], str]:
    probs = prediction.probabilities
    classes = list(probs.classes) if probs is not None else []
    scores = [float(v) for v in probs.values] if probs is not None else []
    body = {"probabilities": probs.as_dict() if probs is not None else {},
            "candidates": [c.as_dict() for c in prediction.candidates]}
    return classes, scores, json.dumps(body)


def base_row(item: dict, spec: dict) -> dict:
    return {"key": item["key"], "case_id": item["case_id"], "path": item["path"],
            "content_hash": item["content_hash"], "plugin_id": spec["manifest"]["id"],
            "plugin_version": spec["manifest"]["version"], "weights_sha256": spec["weights_sha256"],
            "task": spec["manifest"].get("task") or "", "classes": [], "scores": [], "prediction": None,
            "image_shape": [], "device": "", "worker": "", "reason": ""}


def failed(row: dict, reason: str) -> dict:
    return dict(row, status="failed", reason=" ".join(str(reason).split())[:500], created_at=_now())


def job_value(job: dict) -> dict:
    """The task that holds the job (plugin manifest, checkpoint, device) for the input tasks."""
    return job


def run_one(item: dict, spec: dict) -> dict:
    """The task: one input in, one row out."""
    started = time.perf_counter()
    row = base_row(item, spec)
    row["worker"] = worker_name()
    try:
        model = loaded(spec)
    except Exception as exc:  # noqa: BLE001 - the plugin's own errors; the run decides what to do
        out = failed(row, f"the plugin did not load: {type(exc).__name__}: {exc}".splitlines()[0])
        out["task_s"] = time.perf_counter() - started
        return out
    row.update(device=model.device, task=model.manifest.task)
    if item["kind"] == "unreadable":
        out = failed(row, f"cannot read image: {item['reason']}")
    else:
        out = _predict(model, item, row)
    out["task_s"] = time.perf_counter() - started
    return out


def _predict(model: Loaded, item: dict, row: dict) -> dict:
    from workstation.plugin_api import prediction_problems

    from workstation.core.pacs import PacsError

    try:
        volume = _read(item)
    except PacsError as exc:
        return failed(row, f"cannot retrieve the series: {exc}".splitlines()[0])
    except Exception as exc:  # noqa: BLE001 - readers raise many types on damaged files
        return failed(row, f"cannot read image: {exc}".splitlines()[0])
    shape = tuple(int(n) for n in volume.array.shape[:3])
    try:
        predictions = list(model.plugin.predict([volume], lambda fraction: None, lambda: False) or [])
    except Exception as exc:  # noqa: BLE001
        return failed(row, f"plugin failed: {type(exc).__name__}: {exc}".splitlines()[0])
    if len(predictions) != 1:
        return failed(row, f"plugin failed: returned {len(predictions)} predictions for 1 image")
    problems = prediction_problems(model.manifest, shape, predictions[0])
    if problems:
        return failed(row, "invalid output discarded: " + "; ".join(problems))
    classes, scores, body = prediction_json(predictions[0])
    return dict(row, status="ok", classes=classes, scores=scores, prediction=body, image_shape=list(shape),
                created_at=_now())
