"""Worklist thumbnails: made on a background thread, newest request first, kept in memory (LRU)
and on disk in the project folder (`.thumbnails/`) so that a reopened project shows them at once."""
from __future__ import annotations

import collections
import hashlib
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from workstation.qt.threads import in_gui, preload

log = logging.getLogger(__name__)
THUMB_SIZE = 64


class ThumbnailCache(QObject):
    ready = Signal(str)  # case id, once its thumbnail is in the cache

    def __init__(self, limit: int = 4000, parent=None):
        super().__init__(parent)
        self._images: collections.OrderedDict[str, QPixmap] = collections.OrderedDict()
        self._limit = limit
        self._pending: collections.deque[str] = collections.deque(maxlen=256)
        self._queued: set[str] = set()
        self._failed: set[str] = set()
        self._lock = threading.Condition()
        self._project = None
        self._store_in_gui = in_gui(self._store, self)
        preload()  # before the worker below may need it
        self._thread = threading.Thread(target=self._work, name="worklist-thumbnails", daemon=True)
        self._thread.start()

    def set_project(self, project) -> None:
        with self._lock:
            self._project = project
            self._pending.clear()
            self._queued.clear()
        self._images.clear()
        self._failed.clear()

    def get(self, case_id: str) -> QPixmap | None:
        pixmap = self._images.get(case_id)
        if pixmap is not None:
            self._images.move_to_end(case_id)
            return pixmap
        if case_id not in self._failed:
            with self._lock:
                if case_id not in self._queued:
                    self._queued.add(case_id)
                    self._pending.append(case_id)
                    self._lock.notify()
        return None

    def _store(self, project, case_id: str, image: QImage) -> None:
        with self._lock:
            self._queued.discard(case_id)
            current = project is self._project
        if not current:
            return  # made for the project shown before
        if image.isNull():
            self._failed.add(case_id)
            return
        self._images[case_id] = QPixmap.fromImage(image)
        while len(self._images) > self._limit:
            self._images.popitem(last=False)
        self.ready.emit(case_id)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._pending:
                    self._lock.wait()
                case_id = self._pending.pop()  # newest first: the rows on screen now
                project = self._project
            image = QImage()
            try:
                if project is not None:
                    image = make_thumbnail(project, case_id)
            except Exception as exc:  # noqa: BLE001 — an unreadable image gets no thumbnail, nothing more
                log.info("no thumbnail for %s: %s", case_id, exc)
            self._store_in_gui(project, case_id, image)


def make_thumbnail(project, case_id: str) -> QImage:
    from workstation.core.project.thumbnails import thumbnail

    cache = Path(project.directory) / ".thumbnails" / (hashlib.sha1(case_id.encode()).hexdigest() + ".png")
    if cache.exists():
        image = QImage(str(cache))
        if not image.isNull():
            return image
    array = thumbnail(project.case(case_id).paths, THUMB_SIZE)
    h, w = array.shape[:2]
    fmt = QImage.Format.Format_RGB888 if array.ndim == 3 else QImage.Format.Format_Grayscale8
    image = QImage(array.data, w, h, array.strides[0], fmt).copy()
    try:
        cache.parent.mkdir(exist_ok=True)
        image.save(str(cache))
    except OSError:
        pass  # a read-only project folder just means no disk cache
    return image
