"""Saving masks off the GUI thread. A stroke's end hands each changed segment (a copy of its mask)
to `MaskSaver.submit`; the compressed NIfTI is written and hashed on a background thread (one save
at a time, in stroke order, through workstation.qt.threads), then recorded on the GUI thread through
the review session (`ReviewSession.save_segment(..., written=...)`), so the audit and the session's
undo see it exactly as they see a CLI save.

A save that fails (a full disk, a folder that cannot be made) is reported in one line and kept: its
mask copy stays in `unsaved` until a later save of the same segment (which holds the same edit and
more) or `retry()` stores it, so nothing painted is lost, also after moving to another case."""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from workstation.core.errors import WorkstationError
from workstation.qt.threads import Job, run_in_background

log = logging.getLogger(__name__)


@dataclass(eq=False)
class PendingSave:
    case_id: str
    reader: str
    segment: str
    mask: np.ndarray
    grid: Any
    project: Any
    source: str = "reader"
    value: dict | None = None   # what the background write returned
    error: str | None = None    # or why it failed, in one line
    handled: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return self.case_id, self.reader, self.segment


class MaskSaver:
    def __init__(self, owner, session, on_saved: Callable[[PendingSave], None],
                 on_failed: Callable[[PendingSave], None]) -> None:
        self.owner, self.session = owner, session
        self.on_saved, self.on_failed = on_saved, on_failed
        self._queue: deque[PendingSave] = deque()
        self._running: tuple[Job, PendingSave] | None = None
        self.unsaved: dict[tuple[str, str, str], PendingSave] = {}

    def submit(self, case_id: str, reader: str, segment: str, mask: np.ndarray, grid,
               source: str = "reader", project=None) -> PendingSave:
        """Queue a save of `mask` (copied now: painting goes on while it is written) into `project`
        (default: the session's now)."""
        item = PendingSave(case_id, reader, segment, np.array(mask, dtype=np.uint8, copy=True), grid,
                           project if project is not None else self.session.project, source)
        self._queue.append(item)
        self._start_next()
        return item

    def busy(self) -> bool:
        return self._running is not None or bool(self._queue)

    def retry(self) -> int:
        """Queue the failed saves again; how many."""
        items = [i for i in self.unsaved.values() if not any(q.key == i.key for q in self._queue)]
        for item in items:
            self.submit(item.case_id, item.reader, item.segment, item.mask, item.grid, item.source, item.project)
        return len(items)

    def flush(self) -> None:
        """Finish every queued save now (the GUI waits): before an undo, a reload or closing."""
        while self.busy():
            if self._running is None:
                self._start_next()
                continue
            job, item = self._running
            job.join()
            self._finish(item)

    # ---- the work -------------------------------------------------------------------------------
    def _start_next(self) -> None:
        if self._running is not None or not self._queue:
            return
        item = self._queue.popleft()
        if item.project is None:
            item.error = "no project is open"
            self._finish(item)
            return
        job = run_in_background(self._write, item.project, item, on_result=lambda _r: self._finish(item),
                                owner=self.owner, name=f"save-{item.segment}")
        self._running = (job, item)

    @staticmethod
    def _write(project, item: PendingSave) -> None:
        """On the background thread: the file half of the save (no database write, no Qt)."""
        from workstation.core.segmentation import store
        from workstation.qt.threads import one_line

        try:
            item.value = store.write_mask_file(project, item.case_id, item.reader, item.segment, item.mask,
                                               item.grid, item.source)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the one line the reader sees
            log.debug("mask save failed", exc_info=True)
            item.error = one_line(exc)

    def _finish(self, item: PendingSave) -> None:
        """On the GUI thread, once per item (the queued callback and `flush` may both get here)."""
        if item.handled:
            return
        item.handled = True
        if self._running is not None and self._running[1] is item:
            self._running = None
        if item.error is None:
            try:
                if self.session.project is item.project:
                    self.session.save_segment(item.case_id, item.segment, written=item.value, reader=item.reader,
                                              source=item.source)
                else:  # another project was opened meanwhile: this one's audit still gets the version
                    from workstation.core.segmentation import store

                    store.record_mask(item.project, item.case_id, item.reader, item.segment, item.value)
            except WorkstationError as exc:
                item.error = f"segment {item.segment!r} not saved: {exc}"
        if item.error is None:
            if self.unsaved.get(item.key) is not None:
                del self.unsaved[item.key]
            self.on_saved(item)
        else:
            self.unsaved[item.key] = item
            self.on_failed(item)
        self._start_next()
