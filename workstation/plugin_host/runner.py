"""The inference runner: runs plugins in a child process, off the caller's thread.

Why a process, not a thread: a plugin is third-party code. A thread that hangs cannot be stopped
(Python has no thread kill), keeps its memory and GPU context, and a crash in native code (CUDA,
a bad wheel) takes the whole application down. A worker process made with multiprocessing 'spawn'
(fork is unsafe with Qt, CUDA and threads) can be killed on a timeout and restarted for the next job;
the GUI process never imports torch at all. The cost, one process start and model load per plugin,
is paid once: the worker stays alive between jobs with its model loaded.

`run()` blocks the calling thread; `submit()` queues the job on the runner's own thread and returns
a Future. Callbacks (`sink`, `progress`, `notice`) are called on the thread that runs the job.
"""
from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Callable

from workstation.core import settings
from workstation.plugin_api import prediction_problems

from workstation.plugin_host.jobs import CaseFailure, JobReport, JobSpec, PredictionOutcome

Sink = Callable[[list[PredictionOutcome]], None]
ProgressFn = Callable[[float, int], None]  # (images done, total)
NoticeFn = Callable[[str], None]


class WorkerFailed(RuntimeError):
    """The worker timed out, died, or reported an error; the message says which."""


class _Worker:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.cancel_event = ctx.Event()
        from workstation.plugin_host import worker

        self.process = ctx.Process(target=worker.main, args=(child, self.cancel_event), daemon=True,
                                   name="workstation-inference")
        self.process.start()
        child.close()
        self.key: tuple | None = None
        self.device = "cpu"
        self.weights_sha256 = ""
        self.manifest = None  # the manifest with the loaded plugin's own task and classes

    def alive(self) -> bool:
        return self.process.is_alive()

    def request(self, message: dict, final: str, timeout_s: float, on_message: Callable[[dict], None],
                should_cancel: Callable[[], bool]) -> dict:
        """Send one request and wait for its `final` reply. The timeout counts from the last
        "calling" message, i.e. it bounds each single call into the plugin."""
        self.conn.send(message)
        deadline = time.monotonic() + timeout_s
        while True:
            if should_cancel():
                self.cancel_event.set()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerFailed(f"the plugin did not answer within {timeout_s:g} s; its worker was stopped")
            try:
                ready = self.conn.poll(min(remaining, 0.1))
                reply = self.conn.recv() if ready else None
            except (EOFError, OSError):
                self.process.join(1)
                raise WorkerFailed(f"the plugin's worker process died (exit code {self.process.exitcode})")
            if reply is None:
                if not self.alive():
                    raise WorkerFailed(f"the plugin's worker process died (exit code {self.process.exitcode})")
                continue
            kind = reply.get("type")
            if kind == "calling":
                deadline = time.monotonic() + timeout_s
            elif kind == final:
                return reply
            elif kind == "error":
                raise WorkerFailed(reply.get("text") or "the plugin failed")
            else:
                on_message(reply)

    def stop(self, graceful: bool = True) -> None:
        if graceful and self.alive():
            try:
                self.conn.send({"op": "stop"})
                self.process.join(2)
            except (OSError, ValueError):
                pass
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        self.conn.close()


_sha_cache: dict[tuple, str] = {}


def file_sha256(path: str) -> str:
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _sha_cache:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _sha_cache[key] = digest.hexdigest()
    return _sha_cache[key]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class InferenceRunner:
    def __init__(self, timeout_s: float | None = None, load_timeout_s: float | None = None) -> None:
        values = settings.load()
        self.timeout_s = float(timeout_s or values.get("plugin_timeout_s") or 120)
        self.load_timeout_s = float(load_timeout_s or max(300.0, self.timeout_s))
        self._worker: _Worker | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self._lock = threading.Lock()

    def __enter__(self) -> "InferenceRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._drop_worker(graceful=True)

    def submit(self, spec: JobSpec, sink: Sink, progress: ProgressFn | None = None,
               notice: NoticeFn | None = None, cancel: threading.Event | None = None) -> Future:
        """Queue a job; jobs run one after the other on the runner's thread."""
        return self._executor.submit(self.run, spec, sink, progress, notice, cancel)

    def run(self, spec: JobSpec, sink: Sink, progress: ProgressFn | None = None,
            notice: NoticeFn | None = None, cancel: threading.Event | None = None) -> JobReport:
        with self._lock:
            return self._run(spec, sink, progress or (lambda done, total: None), notice or (lambda text: None),
                             cancel or threading.Event())

    def _drop_worker(self, graceful: bool) -> None:
        if self._worker is not None:
            self._worker.stop(graceful=graceful)
            self._worker = None

    def _ensure_loaded(self, spec: JobSpec, report: JobReport, on_message, cancel) -> _Worker:
        if self._worker is not None and not self._worker.alive():
            self._drop_worker(graceful=False)
        if self._worker is not None and self._worker.key == spec.worker_key():
            return self._worker
        if self._worker is None:
            self._worker = _Worker()
        worker = self._worker
        worker.key = None
        start = time.perf_counter()
        reply = worker.request(
            {"op": "load", "manifest": spec.manifest.to_dict(), "checkpoint": spec.checkpoint,
             "options": dict(spec.options), "device": spec.device},
            "loaded", self.load_timeout_s, on_message, cancel.is_set)
        report.load_s = time.perf_counter() - start
        effective = dataclasses.replace(spec.manifest, task=reply.get("task") or spec.manifest.task,
                                        classes=tuple(reply.get("classes") or spec.manifest.classes))
        problems = effective.problems()
        if problems:
            raise WorkerFailed("the loaded plugin declares " + "; ".join(problems))
        worker.manifest = effective
        worker.key, worker.device = spec.worker_key(), reply["device"]
        worker.weights_sha256 = file_sha256(spec.checkpoint) if spec.checkpoint else reply.get("weights_sha256", "")
        return worker

    def _run(self, spec: JobSpec, sink: Sink, progress: ProgressFn, notice: NoticeFn,
             cancel: threading.Event) -> JobReport:
        manifest = spec.manifest
        report = JobReport(plugin_id=manifest.id, total=len(spec.cases))
        started = time.perf_counter()
        done = [0.0]

        def on_message(message: dict) -> None:
            kind = message.get("type")
            if kind == "notice":
                report.notices.append(message["text"])
                notice(message["text"])
            elif kind == "progress":
                progress(done[0] + float(message.get("done", 0.0)), report.total)
            elif kind == "loaded":  # the worker moved the plugin to another device (out of memory)
                if self._worker is not None:
                    self._worker.device = message["device"]

        def fail_rest(cases, reason: str) -> None:
            report.failures.extend(CaseFailure(c.case_id, reason) for c in cases)

        try:
            worker = self._ensure_loaded(spec, report, on_message, cancel)
        except WorkerFailed as exc:
            report.error = f"could not load {manifest.id}: {exc}"
            self._drop_worker(graceful=False)
            fail_rest(spec.cases, "not run: the plugin did not load")
            report.elapsed_s = time.perf_counter() - started
            return report
        report.weights_sha256 = worker.weights_sha256
        report.task, report.classes = worker.manifest.task, list(worker.manifest.classes)
        worker.cancel_event.clear()
        size = max(1, int(spec.batch_size or manifest.batch_size))
        batches = [spec.cases[i:i + size] for i in range(0, len(spec.cases), size)]
        progress(0.0, report.total)
        for number, batch in enumerate(batches):
            if cancel.is_set():
                report.cancelled = True
                fail_rest([c for b in batches[number:] for c in b], "cancelled")
                break
            try:
                reply = worker.request({"op": "predict", "cases": batch}, "batch", self.timeout_s,
                                       on_message, cancel.is_set)
            except WorkerFailed as exc:
                report.error = f"{manifest.id}: {exc}"
                notice(report.error)
                self._drop_worker(graceful=False)  # a hung or dead worker is killed; the next job starts afresh
                fail_rest(batch, str(exc))
                fail_rest([c for b in batches[number + 1:] for c in b], "not run: the job stopped")
                break
            report.predict_s += float(reply.get("predict_s", 0.0))
            self._accept(spec, worker, reply["items"], report, sink)
            done[0] += len(batch)
            progress(done[0], report.total)
            if any(item.get("cancelled") for item in reply["items"]):
                report.cancelled = True
        report.elapsed_s = time.perf_counter() - started
        return report

    def _accept(self, spec: JobSpec, worker: _Worker, items: list[dict], report: JobReport, sink: Sink) -> None:
        outcomes = []
        for item in items:
            if not item.get("ok"):
                report.failures.append(CaseFailure(item["case_id"], item.get("reason") or "failed"))
                continue
            problems = prediction_problems(worker.manifest, tuple(item["shape"]), item["prediction"])
            if problems:
                report.failures.append(CaseFailure(item["case_id"], "invalid output discarded: " + "; ".join(problems)))
                continue
            device = item.get("device") or worker.device
            if device not in report.devices:
                report.devices.append(device)
            outcomes.append(PredictionOutcome(
                case_id=item["case_id"], prediction=item["prediction"], plugin_id=spec.manifest.id,
                plugin_version=spec.manifest.version, weights_sha256=worker.weights_sha256, device=device,
                created_at=_now(), image_shape=tuple(item["shape"]), geometry=item.get("geometry") or {}))
        if not outcomes:
            return
        try:
            sink(outcomes)
        except Exception as exc:  # storing failed (disk full, database locked): report, keep going
            reason = f"could not store the prediction: {type(exc).__name__}: {exc}".splitlines()[0]
            report.failures.extend(CaseFailure(o.case_id, reason) for o in outcomes)
        else:
            report.stored += len(outcomes)
