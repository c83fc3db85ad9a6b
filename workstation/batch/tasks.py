"""What runs on a Dask worker: read a chunk of inputs (images or series), run the plugin on them
as one batch, return one result row (a plain dict) per input, in order. The plugin is loaded once
per worker process and kept in `_LOADED`; a Dask worker is already a separate process, so the
plugin runs in it directly (no second child process). Any failure of one input becomes its own
failed row (a batch the plugin rejects is predicted again one input at a time, so a bad input fails
alone); only a dead worker loses a task, and Dask reruns it."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from typing import Any

_LOADED: dict[tuple, Any] = {}
_TUNED: list[bool] = []


def _keep_freed_memory() -> None:
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also turns off glibc's
    adaptive mmap threshold: every activation buffer of a forward pass (most are >128 kB) is then a
    fresh mmap, zero-filled page by page and unmapped when freed. Measured on a 2D DenseNet: 7,000
    page faults and 15 ms of system CPU per image, a model call 3x slower than in a plain process.
    Freed memory up to 64 MB stays with the worker (next to a loaded model, nothing) instead.
    The top pad is for the task thread (not the main thread): its malloc arena is made of heaps of
    at most 64 MB, and a batch of 16 2D images needs more than one, so glibc mapped a fresh heap
    for every batch and unmapped it once free (strace: ~100 mmap and 300 munmap per batch; 100 to
    1,000 page faults per image, up to 2 ms of system CPU);
    glibc frees a whole heap only when the heap below it has more than the top pad free, which a
    pad of a heap's size rules out."""
    if _TUNED:
        return
    _TUNED.append(True)
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: the most glibc allows (blocks below come from the heap)
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD: freed heap returned to the OS above this
        libc.mallopt(-2, 64 << 20)  # M_TOP_PAD: at least a heap's size (see above)
    except (OSError, AttributeError):  # not glibc (musl): its allocator has no such switch
        pass


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
        _keep_freed_memory()
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


def run_chunk(items: list[dict], spec: dict) -> list[dict]:
    """The task: a chunk of inputs in, one row per input out (in order). The inputs are read and
    predicted `batch_size` (the manifest's) at a time, so a chunk holds no more images in memory
    than `workstation infer` does. A row's `task_s` is its own read time plus its share of its
    batch's model call."""
    started = time.perf_counter()
    worker = worker_name()
    rows = [dict(base_row(item, spec), worker=worker) for item in items]
    try:
        model = loaded(spec)
    except Exception as exc:  # noqa: BLE001 - the plugin's own errors; the run decides what to do
        reason = f"the plugin did not load: {type(exc).__name__}: {exc}".splitlines()[0]
        took = (time.perf_counter() - started) / len(items)
        return [dict(failed(row, reason), task_s=took) for row in rows]
    for row in rows:
        row.update(device=model.device, task=model.manifest.task)
    out: list[dict] = []
    size = max(1, int(model.manifest.batch_size))
    for first in range(0, len(items), size):
        out += _run_batch(model, items[first:first + size], rows[first:first + size])
    return out


def _run_batch(model: Loaded, items: list[dict], rows: list[dict]) -> list[dict]:
    out: list[dict | None] = [None] * len(items)
    readable, read_s = [], [0.0] * len(items)
    for n, (item, row) in enumerate(zip(items, rows)):
        started = time.perf_counter()
        result = _read_one(item, row)
        read_s[n] = time.perf_counter() - started
        if isinstance(result, dict):
            out[n] = dict(result, task_s=read_s[n])
        else:
            readable.append((n, result))
    if readable:
        started = time.perf_counter()
        outcomes = _predict_many(model, [volume for _, volume in readable])
        share = (time.perf_counter() - started) / len(readable)
        for (n, volume), outcome in zip(readable, outcomes):
            out[n] = dict(_row(model, rows[n], volume, outcome), task_s=read_s[n] + share)
    return out  # type: ignore[return-value] - every slot is filled above


def _read_one(item: dict, row: dict):
    """The volume, or the input's failed row."""
    from workstation.core.pacs import PacsError

    if item["kind"] == "unreadable":
        return failed(row, f"cannot read image: {item['reason']}")
    try:
        return _read(item)
    except PacsError as exc:
        return failed(row, f"cannot retrieve the series: {exc}".splitlines()[0])
    except Exception as exc:  # noqa: BLE001 - readers raise many types on damaged files
        return failed(row, f"cannot read image: {exc}".splitlines()[0])


def _predict_many(model: Loaded, volumes: list) -> list:
    """One prediction or failure reason (a str) per volume: the batch in one call, or, when the
    plugin fails on it, one volume at a time, so that only the input at fault fails."""
    try:
        predictions = list(model.plugin.predict(volumes, lambda fraction: None, lambda: False) or [])
        if len(predictions) == len(volumes):
            return predictions
        reason = f"plugin failed: returned {len(predictions)} predictions for 1 image"
    except Exception as exc:  # noqa: BLE001
        reason = f"plugin failed: {type(exc).__name__}: {exc}".splitlines()[0]
    if len(volumes) > 1:
        return [outcome for volume in volumes for outcome in _predict_many(model, [volume])]
    return [reason]


def _row(model: Loaded, row: dict, volume, outcome) -> dict:
    from workstation.plugin_api import prediction_problems

    if isinstance(outcome, str):
        return failed(row, outcome)
    shape = tuple(int(n) for n in volume.array.shape[:3])
    problems = prediction_problems(model.manifest, shape, outcome)
    if problems:
        return failed(row, "invalid output discarded: " + "; ".join(problems))
    classes, scores, body = prediction_json(outcome)
    return dict(row, status="ok", classes=classes, scores=scores, prediction=body, image_shape=list(shape),
                created_at=_now())
