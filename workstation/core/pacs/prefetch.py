"""Retrieving pending PACS cases (see deferred.py) in the background while the reader reads: the case
being read first, then the next ones of the worklist, one series at a time and only as many as asked
(`want` replaces the whole queue each time the reader moves). A transfer whose case is no longer
wanted, or `cancel`, stops after the instance in hand; what arrived waits in staging, so asking again
resumes. Every change of state is announced on `events.changed` (from the worker thread)."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from psygnal import Signal, SignalGroup

from workstation.core.pacs.cache import fetch_series
from workstation.core.pacs.deferred import PendingSeries
from workstation.core.pacs.errors import PacsError, TransferCancelled

QUEUED, RETRIEVING, READY, FAILED, CANCELLED = "queued", "retrieving", "ready", "failed", "cancelled"


@dataclass(frozen=True)
class PrefetchState:
    case_id: str
    state: str
    fraction: float = 0.0
    text: str = ""        # progress, or the one line of a failure
    queued: int = 0       # cases still waiting after this one


class PrefetchEvents(SignalGroup):
    changed = Signal(object)   # PrefetchState


class Prefetcher:
    def __init__(self, project_dir, limit: int = 4) -> None:
        self.project_dir = project_dir
        self.limit = limit          # at most this many cases queued or under way
        self.events = PrefetchEvents()
        self._queue: list[PendingSeries] = []
        self._active: PendingSeries | None = None
        self._stop_active = False
        self._closed = False
        self._cond = threading.Condition()
        self._worker = threading.Thread(target=self._run, name="pacs-prefetch", daemon=True)
        self._worker.start()

    # ---- asked from any thread ------------------------------------------------------------------
    def want(self, cases: list[PendingSeries]) -> None:
        """Retrieve `cases` (nearest first, the first `limit` of them) and nothing else."""
        cases = list(dict.fromkeys(cases))[: self.limit]
        with self._cond:
            dropped = [c for c in self._queue if c not in cases]
            self._queue = [c for c in cases if c != self._active]
            if self._active is not None and self._active not in cases:
                self._stop_active = True
            self._cond.notify_all()
            waiting = list(self._queue)
        for case in dropped:
            self._say(case, CANCELLED, queued=len(waiting))
        for case in waiting:
            self._say(case, QUEUED, queued=len(waiting))

    def cancel(self) -> None:
        """Stop the transfer under way and forget the queue."""
        self.want([])

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._active is not None or bool(self._queue)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until nothing is queued or under way (for scripts and tests); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._active is None and not self._queue, timeout)

    def close(self, wait: bool = True) -> None:
        """Stop after the instance in hand; `wait=False` returns at once (the GUI must not wait on a
        network timeout), the worker ending on its own."""
        with self._cond:
            self._closed, self._stop_active, self._queue = True, True, []
            self._cond.notify_all()
        if wait:
            self._worker.join(10)

    # ---- the worker -----------------------------------------------------------------------------
    def _say(self, case: PendingSeries, state: str, fraction: float = 0.0, text: str = "", queued: int = 0) -> None:
        self.events.changed.emit(PrefetchState(case.case_id, state, fraction, text, queued))

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
                job = self._active = self._queue.pop(0)
                self._stop_active = False
                queued = len(self._queue)
            self._say(job, RETRIEVING, 0.0, "", queued)
            try:
                fetched = fetch_series(job.resolve(), job.study_uid, job.series_uid, self.project_dir,
                                       lambda f, t: self._say(job, RETRIEVING, f, t, len(self._queue)),
                                       cancel=lambda: self._stop_active)
                outcome = (READY, 1.0, f"{fetched.instances} instance(s)")
            except TransferCancelled as exc:
                outcome = (CANCELLED, 0.0, str(exc))
            except PacsError as exc:
                outcome = (FAILED, 0.0, str(exc))
            except Exception as exc:  # noqa: BLE001 - a worker must never die; the line says what broke
                outcome = (FAILED, 0.0, f"{job.case_id}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            with self._cond:
                self._active = None
                queued = len(self._queue)
                self._cond.notify_all()
            self._say(job, outcome[0], outcome[1], outcome[2], queued)
