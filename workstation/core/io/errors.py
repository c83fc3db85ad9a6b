"""Errors the readers raise. Their text is one line that names the file and the reason, ready for
a status bar or stderr."""
from __future__ import annotations

from pathlib import Path

from workstation.core.errors import WorkstationError


class ImageReadError(WorkstationError):
    """A path could not be read as an image; `str(err)` is '<path>: <reason>'."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = " ".join(str(reason).split())  # always one line
        super().__init__(f"{self.path}: {self.reason}")


class ReadCancelled(Exception):
    """The caller's `cancel()` returned True; nothing was returned."""


def check_cancel(cancel) -> None:
    if cancel is not None and cancel():
        raise ReadCancelled("reading cancelled")
