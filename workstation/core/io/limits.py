"""The decompression-bomb limit: the most values (pixels x frames x samples) one image may decode
to, checked from the header before anything is allocated or decoded. A 40000 x 40000 PNG is a few
kilobytes on disk and 1.6 GB in memory.

The limit is `$WORKSTATION_MAX_VOXELS`, else the `max_voxels` user setting, else 2**30 values
(2 GiB of 16-bit voxels: a 512 x 512 x 4096 CT fits).
"""
from __future__ import annotations

import functools
import math
import os

from workstation.core.io.errors import ImageReadError

DEFAULT_MAX_VOXELS = 2 ** 30
ENV = "WORKSTATION_MAX_VOXELS"


def max_voxels() -> int:
    env = os.environ.get(ENV, "").strip()
    if env:
        return _parse(env, ENV)
    value = _setting()
    return _parse(value, "the max_voxels setting") if value not in (None, "") else DEFAULT_MAX_VOXELS


_CACHE: dict = {}


def _setting():
    """The user's max_voxels setting, re-read only when the settings file changes (every slice of a
    series asks)."""
    try:
        path = _settings_path(os.environ.get("WORKSTATION_CONFIG_DIR"))
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)  # settings.save replaces the file
        except OSError:
            stamp = None
        key = (str(path), stamp)
        if key not in _CACHE:
            from workstation.core import settings

            _CACHE.clear()
            _CACHE[key] = settings.load().get("max_voxels")
        return _CACHE[key]
    except Exception:  # noqa: BLE001 - an unreadable settings file must not stop reading images
        return None


def check_size(path, shape, what: str = "image") -> None:
    """Refuse an image whose `shape` (any number of axes, channels included) holds more values
    than the limit."""
    dims = [int(d) for d in shape]
    count = math.prod(dims) if dims else 0
    limit = max_voxels()
    if count > limit:
        raise ImageReadError(path, f"{what} too large to load: {' x '.join(str(d) for d in dims)} = "
                                   f"{count:,} values, over the limit of {limit:,} (set {ENV} to raise it)")


def _parse(value, source: str) -> int:
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise ImageReadError(source, f"not a number: {value!r}") from None
    if number <= 0:
        raise ImageReadError(source, f"must be positive, not {value!r}")
    return number


@functools.lru_cache(maxsize=8)
def _settings_path(config_env: str | None):
    """Where the settings live for this value of $WORKSTATION_CONFIG_DIR (platformdirs is slow to
    ask for every slice)."""
    from workstation.core import settings

    return settings.config_dir() / "settings.json"
