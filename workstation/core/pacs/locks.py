"""Locks by name, for the process: one transfer at a time into a series' staging folder, and one
C-MOVE at a time on a local port (a prefetch and a fetch from the study browser may overlap)."""
from __future__ import annotations

import threading

_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def named_lock(key: str) -> threading.Lock:
    with _GUARD:
        return _LOCKS.setdefault(key, threading.Lock())
