"""What decoders say while they decode: the C libraries' console output (libjpeg, libpng, ITK, VNL
write straight to file descriptors 1 and 2, past Python's sys.stdout), Python warnings and
pydicom's log, collected instead of reaching the terminal, so that `--json` output stays JSON and
a damaged file is refused with one line instead of a warning the user never connects to it.

The descriptors are process-wide: a lock serialises captures, and output another thread writes
during one (rare: a decode takes milliseconds to seconds) lands in the capture, not the terminal.
"""
from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

_LOCK = threading.RLock()
_STATE = threading.local()

# Words of decoders reporting lost or unusable data; other messages (a colour profile, an unknown
# TIFF tag) are kept as warnings of the image.
_DAMAGE = re.compile(r"premature|corrupt|truncat|end of (file|stream|data)|ended before|crc|checksum|"
                     r"error|invalid|not enough|too short|short read|incomplete|bad |extraneous|"
                     r"less than expected|no matching", re.IGNORECASE)
# a header value's format, not the pixels; Qt's own messages (the GUI thread may print during a decode)
_NOT_DAMAGE = re.compile(r"Invalid value for VR|^qt\.|^Q[A-Za-z]+::", re.IGNORECASE)


@dataclass
class Said:
    """Messages collected during a capture: `native` lines (from C), `python` (warnings and log)."""
    native: list[str] = field(default_factory=list)
    python: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        seen, out = set(), []
        for line in self.native + self.python:
            line = " ".join(line.split())
            if line and line not in seen:
                seen.add(line)
                out.append(line)
        return out

    def damage(self) -> str | None:
        """The first message that reports damage, or None."""
        return next((line for line in self.lines() if is_damage(line)), None)

    def notes(self) -> list[str]:
        """Messages that do not report damage (kept as warnings), at most five."""
        return [line[:200] for line in self.lines() if not is_damage(line)][:5]


def is_damage(message: str) -> bool:
    return bool(_DAMAGE.search(message)) and not _NOT_DAMAGE.search(message)


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record):
        self.sink.append(record.getMessage())


@contextmanager
def capture(native: bool = True):
    """Inside the block warnings and pydicom's log are recorded and (unless `native` is False, for
    pure-Python work) fd 1 and 2 go to a temporary file; the yielded `Said` is filled when the block
    ends. Nested captures share the outer one."""
    said = Said()
    with _LOCK:
        if getattr(_STATE, "active", None) is not None:
            yield _STATE.active  # the outer capture hears everything
            return
        _STATE.active = said
        saved, sink = _redirect() if native else (None, None)
        logger = logging.getLogger("pydicom")
        handler, propagate = _ListHandler(said.python), logger.propagate
        logger.addHandler(handler)
        logger.propagate = False
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield said
        finally:
            logger.removeHandler(handler)
            logger.propagate = propagate
            said.native.extend(_restore(saved, sink))
            said.python.extend(str(w.message) for w in caught)
            _STATE.active = None


def _redirect():
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = (os.dup(1), os.dup(2))
    except OSError:  # no console at all (a windowed app): nothing to keep clean
        return None, None
    sink = _sink()
    os.dup2(sink.fileno(), 1)
    os.dup2(sink.fileno(), 2)
    return saved, sink


_SINK = None


def _sink():
    """One temporary file per process, emptied for each capture (creating one costs more than a
    small decode)."""
    global _SINK
    if _SINK is None or _SINK.closed:
        _SINK = tempfile.TemporaryFile()
        atexit.register(_SINK.close)
    _SINK.seek(0)
    _SINK.truncate()
    return _SINK


def _restore(saved, sink) -> list[str]:
    if saved is None:
        return []
    _flush_c_stdio()  # C's stdout buffer would otherwise empty itself onto the real terminal later
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    os.close(saved[0])
    os.close(saved[1])
    sink.seek(0)
    text = sink.read(65536).decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


_LIBC = None


def _flush_c_stdio() -> None:
    global _LIBC
    try:
        if _LIBC is None:
            import ctypes

            _LIBC = ctypes.CDLL(None)
        _LIBC.fflush(None)
    except (OSError, AttributeError):
        pass
