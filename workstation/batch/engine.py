"""The client side of a batch: list the inputs, skip what the results already hold, send one
Dask task per chunk of remaining inputs (to a `LocalCluster` of worker processes, or an existing
scheduler) and write the rows as they come back, one Parquet part per 32 rows. Rows are written
only here, so a task rerun after its worker died cannot add a second row; a killed client loses at
most the part it had not written yet."""
from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from workstation.batch import pacs_source, results, sources, tasks
from workstation.core.errors import WorkstationError


MAX_RESENDS = 3  # an input whose task the watchdog sent this often becomes a failed row
TASKS_PER_WORKER = 8  # the automatic chunk size leaves at least this many tasks per worker


class BatchError(WorkstationError):
    """The batch cannot start or must stop; a one-line reason."""


@dataclass
class BatchSpec:
    source: str | None  # a folder or a CSV file; None with `pacs`
    plugin_id: str
    out: str
    checkpoint: str | None = None
    project: str | None = None
    workers: int = 2
    scheduler: str | None = None  # tcp://host:port of an existing cluster
    device: str = "auto"
    options: dict = field(default_factory=dict)
    pacs: str | None = None  # a PACS node (saved name or URL): the source is the series of a query
    pacs_filters: dict = field(default_factory=dict)  # QueryFilter fields: patient_id, modality, ...
    inputs_per_task: int | None = None  # None: automatic (see `inputs_per_task`)
    chunk_rows: int = 32  # a part is written after this many rows...
    chunk_s: float = 5.0  # ...or this many seconds
    stall_s: float = 60.0  # no row back for this long: the watchdog looks for lost tasks
    no_workers_s: float = 300.0  # no worker at all for this long: the run stops


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
    resent: int = 0  # tasks the watchdog sent again
    inputs_per_task: int = 0
    tasks: int = 0  # Dask tasks sent (chunks; a chunk whose workers kept dying is split and sent again)

    def to_json(self) -> dict:
        return {"total": self.total, "skipped": self.skipped, "copied": self.copied, "ran": self.ran,
                "ok": self.ok, "failed": [{"case_id": c, "reason": r} for c, r in self.failures],
                "stored_in_project": self.stored, "parts_written": self.parts, "dashboard": self.dashboard,
                "workers": self.workers, "elapsed_s": round(self.elapsed_s, 3), "project_error": self.project_error,
                "cancelled": self.cancelled, "resent": self.resent, "inputs_per_task": self.inputs_per_task,
                "tasks": self.tasks,
                "images_per_s": round(self.ran / self.elapsed_s, 3) if self.elapsed_s and self.ran else None}


def row_key(path: str, content_hash: str, plugin_id: str, version: str, weights: str) -> str:
    return hashlib.sha256("\x1f".join((path, content_hash, plugin_id, version, weights)).encode()).hexdigest()


def inputs_per_task(n: int, workers: int, batch_size: int) -> int:
    """The automatic chunk size: ceil(n / (8 * workers)), at most the plugin's batch size.

    Why several inputs per task: each Dask task costs the scheduler, the worker and this client a
    few ms of CPU (a round trip, the result's transfer, the bookkeeping), as much as a small 2D
    model's call on one image; a chunk pays it once and is predicted as one batch. Why at most the
    manifest's `batch_size`: it is what the plugin says fits in memory at once (a 2D DenseNet says
    16, 3D plugins 1 or 2, so series stay one per task, where the per-task cost is nothing beside
    seconds of model time). Why at least 8 tasks per worker: the workers then finish about
    together (with 2 tasks each, one worker idles through the other's last chunk), a dead
    worker's share reruns in small pieces, and the progress bar moves."""
    return max(1, min(int(batch_size), math.ceil(n / (TASKS_PER_WORKER * max(1, workers)))))


def chunk_key(items: list[dict]) -> str:
    """The Dask key of a chunk: `batch-<input key>` for one input, else `batch-<sha256 of its
    inputs' keys>-<n>`. The same key is always the same inputs: a rerun may send its tasks while
    the scheduler still holds those of a client just killed, and Dask then hands over the held
    result, which must be the rows of exactly these inputs (a key made from the first input alone
    could name another chunk that starts with it)."""
    if len(items) == 1:
        return f"batch-{items[0]['key']}"
    digest = hashlib.sha256("".join(item["key"] for item in items).encode()).hexdigest()
    return f"batch-{digest}-{len(items)}"


def _spec_dict(spec: BatchSpec) -> dict:
    from workstation.plugin_host import PluginNotFound, PluginUnavailable, file_sha256, usable_manifest

    try:
        manifest = usable_manifest(spec.plugin_id)
    except (PluginNotFound, PluginUnavailable) as exc:
        raise BatchError(str(exc)) from None
    if spec.checkpoint and not Path(spec.checkpoint).is_file():
        raise BatchError(f"checkpoint {spec.checkpoint} does not exist")
    checkpoint = str(Path(spec.checkpoint).resolve()) if spec.checkpoint else None
    if spec.inputs_per_task is not None and spec.inputs_per_task < 1:
        raise BatchError(f"inputs per task must be at least 1, not {spec.inputs_per_task}")
    return {"manifest": manifest.to_dict(), "checkpoint": checkpoint, "device": spec.device,
            "options": dict(spec.options), "weights_sha256": file_sha256(checkpoint) if checkpoint else "none"}


# Dask's housekeeping on the local cluster, which shares the cores with the tasks. Idle, 2 workers
# took 85 ms of CPU per second (4 % of this machine's 2 cores, ~0.5 ms per image at 150 images/s)
# with the defaults, 20-30 ms with these: every server (scheduler, nannies, workers) measured its
# event loop's lag 50 times a second (`tick`: only for "event loop unresponsive" warnings), the
# workers and nannies polled memory 10 times a second, the system monitor (dashboard plots) read
# /proc twice a second, work stealing rebalanced 10 times a second (the scheduler already hands
# out the queued chunks as workers free up) and the memory manager looked for replicas to drop
# (the job's copy on each worker is wanted). The statistical profiler sampled every worker's
# stacks each 10 ms, holding the GIL against the task; the dashboard's profile page is the price.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "500ms",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.scheduler.work-stealing": False,
    "distributed.scheduler.active-memory-manager.start": False,
}


def _client(spec: BatchSpec):
    import dask
    from distributed import Client, LocalCluster

    try:
        if spec.scheduler:
            return Client(spec.scheduler, timeout="10s"), None
        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            cluster = LocalCluster(n_workers=max(1, spec.workers), threads_per_worker=1, processes=True,
                                   scheduler_port=0, dashboard_address=":0", silence_logs=logging.CRITICAL)
            return Client(cluster), cluster
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"cannot reach the Dask scheduler {spec.scheduler or '(local)'}: {exc}") from None


def pacs_cache(spec: BatchSpec) -> Path:
    """Where the tasks put the series they retrieve: the project (its cases then point there, as
    `project add --from-pacs` makes them), else `RESULTS/_pacs` (Parquet readers skip "_" names)."""
    return Path(spec.project) if spec.project else Path(spec.out) / "_pacs"


def plan(spec: BatchSpec, job: dict) -> tuple[list[dict], list[dict], int]:
    """(items to run, rows copied from done content, how many are done already)."""
    try:
        if spec.pacs:
            inputs = pacs_source.list_series(spec.pacs, spec.pacs_filters, pacs_cache(spec))
        else:
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
                     "kind": item.kind, "reason": item.reason, "content_hash": item.content_hash,
                     "pacs": item.pacs})
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
    client, cluster = _client(spec)
    try:
        report.dashboard = client.dashboard_link or ""
        report.workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        if on_start:
            on_start(report)
        _Tasks(client, spec, job, todo, writer, report, progress, cancel).run()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class _Tasks:
    """Sends the tasks and handles their rows until every input has one. An input is done once:
    a result of a task that was sent again (see `watchdog`) or cancelled is dropped here."""

    def __init__(self, client, spec, job, todo, writer, report, progress, cancel) -> None:
        from distributed import as_completed

        from workstation.batch.watchdog import Watchdog

        self.client, self.spec, self.job, self.writer, self.report = client, spec, job, writer, report
        self.progress, self.cancel, self.total = progress, cancel, len(todo)
        # the job as a task of its own, not scattered data: if every worker holding it dies, the
        # scheduler computes it again (scattered data would be gone, and every task with it)
        self.job_future = client.submit(tasks.job_value, job, key=f"batch-job-{uuid.uuid4().hex}", pure=False)
        size = spec.inputs_per_task or inputs_per_task(len(todo), report.workers, job["manifest"].get("batch_size", 1))
        chunks = [todo[first:first + size] for first in range(0, len(todo), size)]
        report.inputs_per_task, report.tasks = size, len(chunks)
        futures = client.map(tasks.run_chunk, chunks, spec=self.job_future, key=[chunk_key(c) for c in chunks],
                             pure=False)
        self.live = {f.key: (f, chunk) for f, chunk in zip(futures, chunks)}  # future key -> (future, inputs)
        self.sent = {chunk_key(c): 0 for c in chunks}  # chunk -> times the watchdog sent it again
        # as_completed runs its trackers on the loop it is given, by default the *current* client's:
        # inside a caller's `with Client(...)` that is another client's loop thread, which then
        # races ours over our futures and connections and can lose results (the run waited for ever)
        self.pending = as_completed(futures, loop=client.loop, with_results=True, raise_errors=False)
        del futures
        self.watchdog = Watchdog(client, spec.stall_s, spec.no_workers_s)

    def run(self) -> None:
        self.progress(0, self.total)
        while self.live and not self.cancelled():
            batch = self.pending.next_batch(block=False)
            if not batch:
                if self.watchdog.due():
                    self.resend()
                # results wait in `pending` (gathered on the client's loop thread), so a longer
                # nap costs no throughput; at 0.02 s this thread woke 50 times a second, each
                # wake-up taking a core from a task on a machine whose cores all run workers
                time.sleep(0.1)
                continue
            self.watchdog.progressed()
            for future, result in batch:
                self.handle(future, result)
                if self.cancelled():
                    return

    def cancelled(self) -> bool:
        if self.cancel.is_set() and self.live:
            self.report.cancelled = True
            self.client.cancel([f for f, _ in self.live.values()])
            self.live.clear()
        return self.report.cancelled

    def handle(self, future, result) -> None:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        entry = self.live.pop(future.key, None)
        if entry is None:  # superseded by a task sent again
            return
        chunk = entry[1]
        if isinstance(result, list):  # the rows (run_chunk's only return); the future may since be cancelled
            rows = result
        else:
            exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result
            if isinstance(exc, CancelledError) and self.client.status != "running":
                raise BatchError(self.gone("lost the connection to the Dask scheduler"))
            if not isinstance(exc, (KilledWorker, CancelledError)):  # a bug, not this input's fault
                self.client.cancel([f for f, _ in self.live.values()])
                raise BatchError(f"a batch task failed: {type(exc).__name__}: {exc}".splitlines()[0])
            if isinstance(exc, KilledWorker) and len(chunk) > 1:
                # the chunk's workers kept dying (Dask gives up after 3): perhaps one input kills
                # them; one task per input, so that only that input becomes a lost row
                for item in chunk:
                    self.sent[f"batch-{item['key']}-alone"] = 0
                    self.submit([item], f"batch-{item['key']}-alone")
                return
            # its workers kept dying, or it was cancelled elsewhere
            rows = [self.lost(item, f"{type(exc).__name__}: {exc}") for item in chunk]
        del entry, future, result
        if rows and rows[0]["reason"].startswith("the plugin did not load"):
            self.client.cancel([f for f, _ in self.live.values()])
            raise BatchError(f"{self.job['manifest']['id']}: {rows[0]['reason']}")
        self.record(rows)

    def submit(self, chunk: list[dict], key: str) -> None:
        new = self.client.submit(tasks.run_chunk, chunk, spec=self.job_future, pure=False, key=key)
        self.live[new.key] = (new, chunk)
        self.report.tasks += 1
        self.pending.add(new)

    def gone(self, why: str) -> str:
        left = sum(len(chunk) for _, chunk in self.live.values())
        return f"{why}; {left} input(s) not run, the rows so far are kept: rerun the same command to resume"

    def lost(self, item: dict, why: str) -> dict:
        return tasks.failed(tasks.base_row(item, self.job), f"task lost: {why}")

    def record(self, rows: list[dict]) -> None:
        report = self.report
        for row in rows:
            self.writer.add(row)
            report.ran += 1
            if row["status"] == "ok":
                report.ok += 1
            else:
                report.failed += 1
                report.failures.append((row["case_id"], row["reason"]))
        self.progress(report.ran, self.total)  # counts inputs, not tasks

    def resend(self) -> None:
        from workstation.batch.watchdog import NoWorkers

        try:
            stuck = self.watchdog.stuck([f for f, _ in self.live.values()], also_ours=[self.job_future.key])
        except NoWorkers as exc:
            self.client.cancel([f for f, _ in self.live.values()])
            raise BatchError(self.gone(str(exc))) from None
        except (OSError, TimeoutError) as exc:  # distributed's CommClosedError is an OSError
            raise BatchError(self.gone(f"the Dask scheduler does not answer ({type(exc).__name__})")) from None
        for old in stuck:
            _, chunk = self.live.pop(old.key)
            first = old.key.split("-again")[0]
            if self.sent[first] >= MAX_RESENDS:
                self.record([self.lost(item, f"no progress after {MAX_RESENDS + 1} tries") for item in chunk])
                continue
            self.sent[first] += 1
            self.report.resent += 1
            self.submit(chunk, f"{first}-again{self.sent[first]}")
        if stuck:
            self.client.cancel(stuck)
