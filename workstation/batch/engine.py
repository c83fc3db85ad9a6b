"""The client side of a batch: list the inputs, skip what the results already hold, send one
Dask task per remaining input (to a `LocalCluster` of worker processes, or an existing scheduler)
and write the rows as they come back, one Parquet part per chunk. Rows are written only here, so a
task rerun after its worker died cannot add a second row; a killed client loses at most the
chunk it had not written yet."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from workstation.batch import results, sources, tasks
from workstation.core.errors import WorkstationError


class BatchError(WorkstationError):
    """The batch cannot start or must stop; a one-line reason."""


@dataclass
class BatchSpec:
    source: str
    plugin_id: str
    out: str
    checkpoint: str | None = None
    project: str | None = None
    workers: int = 2
    scheduler: str | None = None  # tcp://host:port of an existing cluster
    device: str = "auto"
    options: dict = field(default_factory=dict)
    chunk_rows: int = 32  # a part is written after this many rows...
    chunk_s: float = 5.0  # ...or this many seconds


@dataclass
class BatchReport:
    total: int = 0
    skipped: int = 0  # already in the results
    copied: int = 0  # same content done under another path: the row copied, nothing run
    ran: int = 0
    ok: int = 0
    failed: int = 0
    stored: int = 0  # predictions stored in the project
    parts: int = 0
    dashboard: str = ""
    workers: int = 0
    elapsed_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    project_error: str | None = None
    cancelled: bool = False

    def to_json(self) -> dict:
        return {"total": self.total, "skipped": self.skipped, "copied": self.copied, "ran": self.ran,
                "ok": self.ok, "failed": [{"case_id": c, "reason": r} for c, r in self.failures],
                "stored_in_project": self.stored, "parts_written": self.parts, "dashboard": self.dashboard,
                "workers": self.workers, "elapsed_s": round(self.elapsed_s, 3), "project_error": self.project_error,
                "cancelled": self.cancelled,
                "images_per_s": round(self.ran / self.elapsed_s, 3) if self.elapsed_s and self.ran else None}


def row_key(path: str, content_hash: str, plugin_id: str, version: str, weights: str) -> str:
    return hashlib.sha256("\x1f".join((path, content_hash, plugin_id, version, weights)).encode()).hexdigest()


def _spec_dict(spec: BatchSpec) -> dict:
    from workstation.plugin_host import PluginNotFound, PluginUnavailable, file_sha256, usable_manifest

    try:
        manifest = usable_manifest(spec.plugin_id)
    except (PluginNotFound, PluginUnavailable) as exc:
        raise BatchError(str(exc)) from None
    if spec.checkpoint and not Path(spec.checkpoint).is_file():
        raise BatchError(f"checkpoint {spec.checkpoint} does not exist")
    checkpoint = str(Path(spec.checkpoint).resolve()) if spec.checkpoint else None
    return {"manifest": manifest.to_dict(), "checkpoint": checkpoint, "device": spec.device,
            "options": dict(spec.options), "weights_sha256": file_sha256(checkpoint) if checkpoint else "none"}


def _client(spec: BatchSpec):
    import dask
    from distributed import Client, LocalCluster

    try:
        if spec.scheduler:
            return Client(spec.scheduler, timeout="10s"), None
        # the workers' statistical profiler samples every stack each 10 ms, a GIL cost per task that
        # short inference tasks feel; the dashboard's profile page is the price
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=max(1, spec.workers), threads_per_worker=1, processes=True,
                                   scheduler_port=0, dashboard_address=":0", silence_logs=logging.CRITICAL)
        return Client(cluster), cluster
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"cannot reach the Dask scheduler {spec.scheduler or '(local)'}: {exc}") from None


def plan(spec: BatchSpec, job: dict) -> tuple[list[dict], list[dict], int]:
    """(items to run, rows copied from done content, how many are done already)."""
    try:
        inputs = sources.list_inputs(spec.source)
    except sources.SourceError as exc:
        raise BatchError(str(exc)) from None
    try:
        full = results.read_results(spec.out) if Path(spec.out).exists() else None
    except results.ResultsError as exc:
        raise BatchError(str(exc)) from None
    ok = [r for r in full.to_pylist() if r["status"] == "ok"] if full is not None else []
    ok_keys = {r["key"] for r in ok}
    by_content = {(r["content_hash"], r["plugin_id"], r["plugin_version"], r["weights_sha256"]): r
                  for r in ok if r["content_hash"]}
    m = job["manifest"]
    todo, copies, skipped = [], [], 0
    for item in inputs:
        key = row_key(item.path, item.content_hash, m["id"], m["version"], job["weights_sha256"])
        if key in ok_keys:
            skipped += 1
            continue
        twin = by_content.get((item.content_hash, m["id"], m["version"], job["weights_sha256"])) if item.content_hash else None
        if twin is not None:
            copies.append(dict(twin, key=key, case_id=item.case_id, path=item.path, created_at=tasks._now()))
            continue
        todo.append({"key": key, "case_id": item.case_id, "path": item.path, "files": item.files,
                     "kind": item.kind, "reason": item.reason, "content_hash": item.content_hash})
    return todo, copies, skipped


class _Writer:
    """Buffers rows and writes a part per chunk; with a project, stores there first."""

    def __init__(self, spec: BatchSpec, report: BatchReport, files: dict[str, list[str]],
                 on_rows: Callable[[list[dict]], None] | None = None) -> None:
        self.spec, self.report, self.files, self.on_rows = spec, report, files, on_rows
        self.buffer: list[dict] = []
        self.last = time.monotonic()
        self.store = None
        if spec.project:
            from workstation.batch.project_store import ProjectStore
            from workstation.core.project import ProjectError

            try:
                self.store = ProjectStore.open(spec.project)
            except (ProjectError, OSError) as exc:
                raise BatchError(str(exc)) from None

    def add(self, row: dict) -> None:
        if not self.buffer:
            self.last = time.monotonic()  # a part holds at most chunk_s seconds of rows
        self.buffer.append(row)
        if len(self.buffer) >= self.spec.chunk_rows or time.monotonic() - self.last >= self.spec.chunk_s:
            self.flush()

    def flush(self) -> None:
        rows, self.buffer = self.buffer, []
        if not rows:
            return
        if self.store is not None and self.report.project_error is None:
            try:
                self.report.stored += self.store.store(rows, self.files)
            except Exception as exc:  # noqa: BLE001 - the results still land in the Parquet dataset
                self.report.project_error = f"predictions not stored in {self.spec.project}: {exc}".splitlines()[0]
        results.write_part(self.spec.out, rows)
        self.report.parts += 1
        if self.on_rows is not None:
            self.on_rows(rows)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self.store is not None:
                self.store.close()


def run_batch(spec: BatchSpec, progress: Callable[[int, int], None] | None = None,
              on_start: Callable[[BatchReport], None] | None = None,
              cancel: threading.Event | None = None,
              on_rows: Callable[[list[dict]], None] | None = None) -> BatchReport:
    """Run the batch; blocks until every input has a row (or `cancel` is set). `on_rows` gets the
    rows of each part once it is written (the GUI stores them in its own open project)."""
    started = time.perf_counter()
    progress = progress or (lambda done, total: None)
    job = _spec_dict(spec)
    todo, copies, skipped = plan(spec, job)
    report = BatchReport(total=len(todo) + len(copies) + skipped, skipped=skipped, copied=len(copies))
    writer = _Writer(spec, report, {item["key"]: item["files"] for item in todo}, on_rows)
    try:
        for row in copies:
            writer.add(row)
        if todo:
            _run_tasks(spec, job, todo, writer, report, progress, on_start, cancel or threading.Event())
    finally:
        writer.close()
    report.elapsed_s = time.perf_counter() - started
    return report


def _run_tasks(spec, job, todo, writer, report, progress, on_start, cancel) -> None:
    from concurrent.futures import CancelledError

    from distributed import KilledWorker, as_completed

    client, cluster = _client(spec)
    try:
        report.dashboard = client.dashboard_link or ""
        report.workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        if on_start:
            on_start(report)
        job_future = client.scatter(job, broadcast=True)
        futures = client.map(tasks.run_one, todo, spec=job_future, key=[f"batch-{item['key']}" for item in todo],
                             pure=False)
        by_key = {f.key: item for f, item in zip(futures, todo)}
        # results are gathered in the background, in batches; a handled future is dropped at once,
        # so its row leaves the worker's memory
        pending = as_completed(futures, with_results=True, raise_errors=False)
        del futures
        progress(0, len(todo))
        for future, result in pending:
            item = by_key.pop(future.key)
            if future.status == "finished":
                row = result
            else:
                exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result
                if not isinstance(exc, (KilledWorker, CancelledError)):  # a bug, not this input's fault
                    client.cancel(list(pending.futures))
                    raise BatchError(f"a batch task failed: {type(exc).__name__}: {exc}".splitlines()[0])
                # the task's workers kept dying (Dask gives up after 3), or it was cancelled elsewhere
                row = tasks.failed(tasks.base_row(item, job), f"task lost: {type(exc).__name__}: {exc}")
            del future, result
            if row["reason"].startswith("the plugin did not load"):
                client.cancel(list(pending.futures))
                raise BatchError(f"{job['manifest']['id']}: {row['reason']}")
            writer.add(row)
            report.ran += 1
            if row["status"] == "ok":
                report.ok += 1
            else:
                report.failed += 1
                report.failures.append((row["case_id"], row["reason"]))
            progress(report.ran, len(todo))
            if cancel.is_set():
                report.cancelled = True
                client.cancel(list(pending.futures))
                break
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
