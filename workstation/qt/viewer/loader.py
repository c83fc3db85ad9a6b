"""Reading images off the GUI thread: a thread of its own runs `workstation.core.io.read` on each
path, reports progress, can be cancelled, and hands back volumes or one-line errors. Its reports
reach the GUI thread through `qt.threads.in_gui`, the application's one way there; the job's Qt
signals are emitted on the GUI thread. Every job is stopped before the application quits
(`stop_all`), so no reader runs while the interpreter tears down."""
from __future__ import annotations

import threading
import weakref
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from workstation.qt.threads import in_gui

_LIVE: "weakref.WeakSet[LoadJob]" = weakref.WeakSet()


def read_path(path: str | Path, progress=None, cancel=None) -> list:
    from workstation.core.io import read

    return read(path, progress=progress, cancel=cancel)


def _together(paths: list[str]) -> list:
    """DICOM files given together (a case's slices) are read as one set, so that they stack into
    series rather than one volume per file; every other path is read on its own."""
    from workstation.core.io import sniff

    def dicom(path: str) -> bool:
        try:
            return Path(path).is_file() and sniff(path) == "dicom"
        except OSError:
            return False

    slices = [p for p in paths if dicom(p)]
    if len(slices) < 2:
        return list(paths)
    rest = [p for p in paths if p not in set(slices)]
    return [slices, *rest]


def _read_all(paths: list[str], cancel: threading.Event, progress, loaded, failed) -> None:
    from workstation.core.io import ImageReadError

    items = _together(paths)
    n = len(items)
    for index, item in enumerate(items):
        if cancel.is_set():
            return
        path = item if isinstance(item, str) else str(Path(item[0]).parent)

        def report(fraction: float, text: str = "", _i=index) -> None:
            progress((_i + min(max(float(fraction), 0.0), 1.0)) / n, str(text))

        progress(index / n, Path(path).name)
        try:
            volumes = read_path(item, progress=report, cancel=cancel.is_set)
        except ImageReadError as exc:
            failed(path, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - a reader bug must not take the window down
            if cancel.is_set():
                return
            failed(path, f"{path}: {type(exc).__name__}: {exc}".replace("\n", " "))
            continue
        if volumes:
            loaded(path, volumes)
        else:
            failed(path, f"{path}: no image found")


class LoadJob(QObject):
    """One background load of several paths. Signals arrive on the GUI thread."""

    progress = Signal(float, str)         # fraction of all paths, what is being read
    loaded = Signal(str, object)          # path, list[Volume]
    failed = Signal(str, str)             # path, one-line reason
    finished = Signal(bool)               # cancelled?

    def __init__(self, paths, parent=None) -> None:
        super().__init__(parent)
        self.paths = [str(p) for p in paths]
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="workstation-load", daemon=True)
        self._report = {name: in_gui(getattr(self, name).emit, self) for name in ("progress", "loaded", "failed")}
        self._finish = in_gui(lambda: self.finished.emit(self._cancel.is_set()), self)
        _LIVE.add(self)

    def _run(self) -> None:
        try:
            _read_all(self.paths, self._cancel, **self._report)
        finally:
            self._finish()

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, ms: int = -1) -> bool:
        """Wait for the reading to end (`ms` < 0: as long as it takes); True when it has."""
        if self._thread.ident is not None:
            self._thread.join(None if ms < 0 else ms / 1000)
        return not self._thread.is_alive()


def stop_all(timeout_ms: int = 10_000) -> bool:
    """Cancel every load still running and wait for it; True when all have stopped."""
    jobs = [job for job in list(_LIVE) if job.running]
    for job in jobs:
        job.cancel()
    return all(job.wait(timeout_ms) for job in jobs)
