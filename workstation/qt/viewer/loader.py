"""Reading images off the GUI thread: a QThread runs `workstation.core.io.read` on each path,
reports progress, can be cancelled, and hands back volumes or one-line errors. Every job's
thread is stopped before the application quits (`stop_all`): Qt aborts the process when a running
QThread is destroyed."""
from __future__ import annotations

import threading
import weakref
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal

_LIVE: "weakref.WeakSet[LoadJob]" = weakref.WeakSet()


def read_path(path: str | Path, progress=None, cancel=None) -> list:
    from workstation.core.io import read

    return read(path, progress=progress, cancel=cancel)


class _Worker(QObject):
    progress = Signal(float, str)         # fraction of all paths, what is being read
    loaded = Signal(str, object)          # path, list[Volume]
    failed = Signal(str, str)             # path, one-line reason
    done = Signal(bool)                   # True when cancelled

    def __init__(self, paths: list[str], cancel: threading.Event) -> None:
        super().__init__()
        self.paths = paths
        self.cancel = cancel

    def run(self) -> None:
        from workstation.core.io import ImageReadError

        n = len(self.paths)
        for index, path in enumerate(self.paths):
            if self.cancel.is_set():
                break

            def progress(fraction: float, text: str = "", _i=index) -> None:
                self.progress.emit((_i + min(max(float(fraction), 0.0), 1.0)) / n, str(text))

            self.progress.emit(index / n, Path(path).name)
            try:
                volumes = read_path(path, progress=progress, cancel=self.cancel.is_set)
            except ImageReadError as exc:
                self.failed.emit(path, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - a reader bug must not take the window down
                if self.cancel.is_set():
                    break
                self.failed.emit(path, f"{path}: {type(exc).__name__}: {exc}".replace("\n", " "))
                continue
            if not volumes:
                self.failed.emit(path, f"{path}: no image found")
            else:
                self.loaded.emit(path, volumes)
        self.done.emit(self.cancel.is_set())


class LoadJob(QObject):
    """One background load of several paths. Signals arrive on the GUI thread."""

    progress = Signal(float, str)
    loaded = Signal(str, object)
    failed = Signal(str, str)
    finished = Signal(bool)  # cancelled?

    def __init__(self, paths, parent=None) -> None:
        super().__init__(parent)
        self.paths = [str(p) for p in paths]
        self._cancel = threading.Event()
        self._thread = QThread()
        self._worker = _Worker(self.paths, self._cancel)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self.progress)
        self._worker.loaded.connect(self.loaded)
        self._worker.failed.connect(self.failed)
        # the worker's thread ends itself when the work is done: a GUI thread blocked in wait()
        # could never run a quit() queued to it
        self._worker.done.connect(self._thread.quit, Qt.DirectConnection)
        self._worker.done.connect(self._finish)
        _LIVE.add(self)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = -1) -> bool:
        return self._thread.wait(ms) if ms >= 0 else self._thread.wait()

    def _finish(self, cancelled: bool) -> None:
        self._thread.wait()
        self.finished.emit(cancelled)


def stop_all(timeout_ms: int = 10_000) -> bool:
    """Cancel every load still running and wait for its thread; True when all have stopped."""
    jobs = [job for job in list(_LIVE) if job._thread.isRunning()]
    for job in jobs:
        job.cancel()
    return all(job._thread.wait(timeout_ms) for job in jobs)
