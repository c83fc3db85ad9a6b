"""The stall watchdog of a batch run. Dask reruns the tasks of a worker that died, but a run can
still stop moving: a result the cluster holds never reaches the client, the scheduler loses track
of a task, or every worker is gone. When no row has come back for `stall_s`, the watchdog asks the
scheduler where each task of ours stands and names the ones to send again under a fresh key: those
the cluster has finished but we never received, and, when nothing of ours is running anywhere while
workers are up, all the rest. A task still running is left alone, however long it takes. No worker
at all for `no_workers_s` stops the run (the rows written so far are kept; a rerun resumes)."""
from __future__ import annotations

import time
from collections.abc import Callable


class NoWorkers(RuntimeError):
    """The cluster has had no worker for too long."""


class Watchdog:
    def __init__(self, client, stall_s: float, no_workers_s: float, clock: Callable[[], float] = time.monotonic):
        self.client, self.stall_s, self.no_workers_s, self.clock = client, stall_s, no_workers_s, clock
        self.last = clock()
        self.no_workers_since: float | None = None
        self.checks = 0

    def progressed(self) -> None:
        self.last = self.clock()
        self.no_workers_since = None

    def due(self) -> bool:
        return self.clock() - self.last >= self.stall_s

    def stuck(self, futures: list, also_ours=()) -> list:
        """The futures to send again (call when `due`); `also_ours`: keys of tasks they wait on.
        Raises NoWorkers."""
        self.checks += 1
        now = self.clock()
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        if not workers:
            self.no_workers_since = self.no_workers_since if self.no_workers_since is not None else now
            if now - self.no_workers_since >= self.no_workers_s:
                raise NoWorkers(f"the Dask cluster has had no worker for {now - self.no_workers_since:.0f} s")
            self.last = now  # look again after another stall_s
            return []
        self.no_workers_since = None
        held = {key for key, where in self.client.who_has(futures).items() if where}
        running = {key for keys in self.client.processing().values() for key in keys}
        mine = {f.key for f in futures} | set(also_ours)
        self.last = now
        if running & mine:
            return [f for f in futures if f.key in held]  # finished on the cluster, never delivered here
        return list(futures)
