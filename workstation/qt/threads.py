"""The one way to the GUI thread.

Project and review-session events (psygnal) may fire on any thread, and so do plugin-runner
callbacks and background jobs; Qt widgets and timers may only be touched on the GUI thread. Every
such crossing in the application goes through this module: a call made on the GUI thread runs at
once; from another thread it is queued to the GUI thread's event loop through one dispatcher object
and its queued Qt signal (see `_Dispatcher` for why not superqt's `ensure_main_thread`):

- `in_gui(fn, owner)`: a callable that runs `fn` on the GUI thread; calls are dropped once `owner`
  (a QObject) has been deleted, so a late event never reaches a closed dock.
- `connect_in_gui(signal, slot, owner)`: connect a psygnal signal so that `slot` runs on the GUI
  thread; the connection goes when `owner` is destroyed (or when `.disconnect()` is called).
- `Debounce(owner, ms, fn)`: a single-shot QTimer, made and always started on the GUI thread;
  `trigger()` may be called from any thread.
- `run_in_background(fn, ..., on_result=, on_error=)`: runs `fn` on a daemon thread of its own and
  hands its result, or a one-line error, to the GUI thread.

Background work gets a thread of its own rather than Qt's global thread pool: that pool has as many
threads as cores, and one training run would hold back every live-metrics update behind it.
"""
from __future__ import annotations

import inspect
import logging
import threading
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal

log = logging.getLogger(__name__)


class _Dispatcher(QObject):
    """Lives on the GUI thread; `call.emit(fn)` from any thread runs `fn` there (a queued Qt signal).
    One connection, made once on the GUI thread: superqt's `ensure_main_thread` connects and
    disconnects a helper object on every call from the worker thread, and with PySide 6.11 that
    deadlocks (the worker holds Qt's connection lock while shiboken waits for the GIL, which the GUI
    thread holds while it waits for that lock inside QLabel.setText)."""

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def _run(fn) -> None:
        fn()


_dispatcher: _Dispatcher | None = None


def preload() -> None:
    """Make the dispatcher on the GUI thread. The objects that start cross-thread work (Debounce,
    run_in_background, the docks) call this there before any worker needs it."""
    global _dispatcher
    if _dispatcher is None and on_gui_thread():
        _dispatcher = _Dispatcher()


def _to_gui(fn: Callable[[], None]) -> None:
    if _dispatcher is None:
        log.warning("a call for the GUI thread came before the dispatcher existed; dropped")
        return
    _dispatcher.call.emit(fn)


def on_gui_thread() -> bool:
    if threading.current_thread() is not threading.main_thread():
        return False  # the QApplication lives on the main thread; no Qt call from other threads here
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def _max_args(fn: Callable) -> int | None:
    """How many positional arguments `fn` takes (None: any number), so that a slot may take fewer
    arguments than its signal sends, as psygnal and Qt allow."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def alive(owner: QObject | None) -> bool:
    return owner is None or shiboken6.isValid(owner)


def in_gui(fn: Callable, owner: QObject | None = None) -> Callable[..., None]:
    """`fn` made safe to call from any thread: it runs on the GUI thread, never after `owner` is gone."""
    limit = _max_args(fn)

    def run(*args, **kwargs):
        if alive(owner):
            fn(*(args if limit is None else args[:limit]), **kwargs)

    preload()

    def call(*args, **kwargs) -> None:
        if not alive(owner):
            return
        if on_gui_thread():
            run(*args, **kwargs)
            return
        _to_gui(lambda: run(*args, **kwargs))

    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call


class Connection:
    """A psygnal connection made by `connect_in_gui`; `disconnect()` is idempotent."""

    def __init__(self, signal, callback) -> None:
        self.signal, self.callback = signal, callback

    def disconnect(self) -> None:
        if self.signal is None:
            return
        try:
            self.signal.disconnect(self.callback)
        except (ValueError, RuntimeError):  # already gone with its emitter
            pass
        self.signal = self.callback = None


def connect_in_gui(signal, slot: Callable, owner: QObject) -> Connection:
    """Connect a psygnal signal so that `slot` runs on the GUI thread while `owner` exists."""
    callback = in_gui(slot, owner)
    signal.connect(callback, check_nargs=False)
    connection = Connection(signal, callback)
    owner.destroyed.connect(lambda *_: connection.disconnect())
    return connection


class Subscriptions:
    """Connections a widget holds to one emitter (a project, a session), dropped together."""

    def __init__(self, owner: QObject) -> None:
        self.owner = owner
        self._items: list[Connection] = []

    def add(self, signal, slot: Callable) -> Connection:
        connection = connect_in_gui(signal, slot, self.owner)
        self._items.append(connection)
        return connection

    def clear(self) -> None:
        for connection in self._items:
            connection.disconnect()
        self._items.clear()


class Debounce:
    """Run `fn` once, `ms` after the last of a burst of triggers; `trigger()` from any thread."""

    def __init__(self, owner: QObject, ms: int, fn: Callable[[], Any]) -> None:
        preload()
        self.timer = QTimer(owner)  # made by the owner's (GUI) thread, a child that dies with it
        self.timer.setSingleShot(True)
        self.timer.setInterval(ms)
        self.timer.timeout.connect(fn)
        self._start = in_gui(self.timer.start, self.timer)

    def trigger(self, *_args) -> None:
        self._start()

    def stop(self) -> None:
        self.timer.stop()

    def is_pending(self) -> bool:
        return self.timer.isActive()


def call_later(ms: int, fn: Callable[[], Any], owner: QObject) -> None:
    """Run `fn` on the GUI thread after `ms` milliseconds (from any thread), unless `owner` is gone."""
    def start() -> None:
        QTimer.singleShot(max(0, int(ms)), owner, fn)

    in_gui(start, owner)()


def one_line(exc: BaseException) -> str:
    """An exception as the one line a user is shown (never a traceback)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Job:
    """One background call; `on_result(value)` or `on_error(one line)` run on the GUI thread."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, on_result, on_error, owner, name: str) -> None:
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._on_result = in_gui(on_result, owner) if on_result is not None else None
        self._on_error = in_gui(on_error, owner) if on_error is not None else None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            result = self._fn(*self._args, **self._kwargs)
        except Exception as exc:  # noqa: BLE001 - handed to on_error as one line, logged in full
            log.debug("background job %s failed", self.thread.name, exc_info=True)
            if self._on_error is not None:
                self._on_error(one_line(exc))
            else:
                log.warning("%s: %s", self.thread.name, one_line(exc))
        else:
            if self._on_result is not None:
                self._on_result(result)

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self.thread.is_alive():
            self.thread.join(timeout)


def run_in_background(fn: Callable, *args, on_result: Callable | None = None, on_error: Callable | None = None,
                      owner: QObject | None = None, name: str = "workstation-job", **kwargs) -> Job:
    """Start `fn(*args, **kwargs)` on a daemon thread; returns the running Job."""
    preload()
    job = Job(fn, args, kwargs, on_result, on_error, owner, name)
    job.thread.start()
    return job


__all__ = ["in_gui", "connect_in_gui", "Connection", "Subscriptions", "Debounce", "call_later", "run_in_background",
           "Job", "one_line", "on_gui_thread", "alive", "preload"]
