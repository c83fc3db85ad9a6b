"""The inference worker: a child process (multiprocessing 'spawn') that imports the plugin, loads
it and runs its batches. It talks to `runner.InferenceRunner` over a Pipe with plain dicts:

host -> worker: {"op": "load", ...} | {"op": "predict", "cases": [...]} | {"op": "stop"}
worker -> host: "calling" (before each plugin call: the host restarts its timeout), "progress",
                "notice", then one final "loaded" | "batch" | "error" per request.
"""
from __future__ import annotations

import gc
import sys
import time
import traceback
from typing import Any


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError, MPS and CPU allocation failures, without importing torch."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text


def _free_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class _State:
    def __init__(self, conn, cancel_event):
        self.conn = conn
        self.cancel_event = cancel_event
        self.plugin = None
        self.load_request: dict[str, Any] | None = None
        self.device = "cpu"
        self.batch_limit = 1 << 30

    def send(self, kind: str, **payload) -> None:
        self.conn.send({"type": kind, **payload})

    def notice(self, text: str) -> None:
        self.send("notice", text=text)


def _resolve_device(requested: str, supported: tuple[str, ...]) -> str:
    if requested in ("auto", "cpu") and tuple(supported) == ("cpu",):
        return "cpu"  # a CPU-only plugin needs no torch import to decide
    from workstation.ml.device import choose_device

    return choose_device(requested, supported)


def _load(state: _State, request: dict[str, Any], device: str | None = None) -> None:
    from workstation.plugin_api import Plugin, weights_sha256
    from workstation.plugin_host.discovery import load_factory
    from workstation.plugin_api import PluginManifest

    manifest = PluginManifest.from_dict(request["manifest"])
    factory = load_factory(manifest)
    plugin = factory(checkpoint=request.get("checkpoint"), options=dict(request.get("options") or {}))
    if not isinstance(plugin, Plugin):
        raise TypeError(f"{manifest.factory} built a {type(plugin).__name__} without load() and predict()")
    device = device or _resolve_device(request.get("device") or "auto", manifest.devices)
    state.send("calling", what="load")
    try:
        plugin.load(device)
    except Exception as exc:
        if device == "cpu" or not is_out_of_memory(exc):
            raise
        _free_memory()
        state.notice(f"out of memory loading {manifest.id} on {device}; loading it on the CPU instead")
        device = "cpu"
        plugin.load(device)
    state.plugin, state.load_request, state.device = plugin, request, device
    state.batch_limit = 1 << 30
    # a generic plugin (densenet2d) takes its task and class names from its checkpoint
    effective = {k: getattr(plugin, k) for k in ("task", "classes") if getattr(plugin, k, None)}
    state.send("loaded", device=device, weights_sha256=weights_sha256(plugin),
               task=effective.get("task"), classes=list(effective["classes"]) if "classes" in effective else None)


def _read(cases) -> tuple[list[tuple[Any, Any]], list[dict[str, Any]]]:
    pairs, failed = [], []
    for case in cases:
        try:
            if case.volume is not None:
                volume = case.volume
            else:
                from workstation.core.io import read_volume

                volume = read_volume(case.path)
        except Exception as exc:
            failed.append({"case_id": case.case_id, "ok": False, "reason": f"cannot read image: {exc}".splitlines()[0]})
        else:
            pairs.append((case, volume))
    return pairs, failed


def _item(case, volume, **fields) -> dict[str, Any]:
    geometry = {"spacing": volume.spacing, "origin": volume.origin, "direction": volume.direction.tolist()}
    return {"case_id": case.case_id, "shape": tuple(volume.array.shape[:3]), "geometry": geometry, **fields}


def _call_predict(state: _State, pairs, offset: float, total: int, timing: list[float]):
    state.send("calling", what="predict", n=len(pairs))

    def progress(fraction: float) -> None:
        state.send("progress", done=offset + max(0.0, min(1.0, float(fraction))) * len(pairs), total=total)

    start = time.perf_counter()
    try:
        predictions = state.plugin.predict([v for _, v in pairs], progress, state.cancel_event.is_set)
    finally:
        timing.append(time.perf_counter() - start)
    predictions = list(predictions) if predictions is not None else []
    if len(predictions) != len(pairs):
        raise _WrongCount(f"returned {len(predictions)} predictions for {len(pairs)} images")
    return predictions


class _WrongCount(Exception):
    pass


def _run(state: _State, pairs, items: list, done: list[float], total: int, timing: list[float]) -> None:
    """Predict `pairs` in chunks of the current batch limit; on out-of-memory halve the batch, then
    move to the CPU; on another error retry the images one at a time so one bad image fails alone."""
    from workstation.plugin_api import Cancelled

    index = 0
    while index < len(pairs):
        chunk = pairs[index:index + state.batch_limit]
        if state.cancel_event.is_set():
            items.extend(_item(c, v, ok=False, cancelled=True, reason="cancelled") for c, v in pairs[index:])
            return
        try:
            predictions = _call_predict(state, chunk, done[0], total, timing)
        except Cancelled:
            items.extend(_item(c, v, ok=False, cancelled=True, reason="cancelled") for c, v in pairs[index:])
            return
        except Exception as exc:
            if is_out_of_memory(exc):
                _free_memory()
                if len(chunk) > 1:
                    state.batch_limit = max(1, len(chunk) // 2)
                    state.notice(f"out of memory on {state.device} with batch size {len(chunk)}; "
                                 f"retrying with batch size {state.batch_limit}")
                    continue
                if state.device != "cpu":
                    state.notice(f"out of memory on {state.device} even with batch size 1; "
                                 "continuing on the CPU (slower)")
                    _load(state, state.load_request, device="cpu")
                    continue
            if len(chunk) > 1 and not isinstance(exc, _WrongCount):
                for pair in chunk:
                    _run_single(state, pair, items, done, total, timing)
                index += len(chunk)
                continue
            reason = f"plugin failed: {type(exc).__name__}: {exc}".splitlines()[0]
            items.extend(_item(c, v, ok=False, reason=reason) for c, v in chunk)
        else:
            items.extend(_item(c, v, ok=True, prediction=p, device=state.device) for (c, v), p in zip(chunk, predictions))
        done[0] += len(chunk)
        index += len(chunk)


def _run_single(state, pair, items, done, total, timing) -> None:
    saved = state.batch_limit
    state.batch_limit = 1
    before = len(items)
    try:
        _run(state, [pair], items, done, total, timing)
    finally:
        state.batch_limit = saved
    if len(items) == before:  # nothing recorded: count it as done anyway
        done[0] += 1


def _predict(state: _State, request: dict[str, Any]) -> None:
    if state.plugin is None:
        raise RuntimeError("no plugin loaded")
    pairs, items = _read(request["cases"])
    done, timing = [float(len(items))], []
    total = len(request["cases"])
    if pairs:
        _run(state, pairs, items, done, total, timing)
    try:
        state.send("batch", items=items, predict_s=sum(timing))
    except Exception as exc:  # the plugin returned something that cannot be pickled
        reason = f"output cannot be sent to the host: {exc}".splitlines()[0]
        state.send("batch", items=[{"case_id": i["case_id"], "ok": False, "reason": reason} for i in items],
                   predict_s=sum(timing))


def main(conn, cancel_event) -> None:
    state = _State(conn, cancel_event)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the host went away
        op = request.get("op")
        if op == "stop":
            return
        try:
            if op == "load":
                _load(state, request)
            elif op == "predict":
                _predict(state, request)
            else:
                raise ValueError(f"unknown request {op!r}")
        except BaseException as exc:  # report everything; the host decides
            if isinstance(exc, KeyboardInterrupt):
                return
            text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
            state.send("error", text=text, detail=traceback.format_exc(limit=8),
                       oom=is_out_of_memory(exc))
