"""Where the application's data files live (`resources/`: icons, style sheet, window presets, demo
recipes) and how to read them.

`resources/` sits beside the `workstation` package in every layout the application runs from: the
source checkout (and an editable install of it), an installed wheel (it is shipped as a top-level
data folder) and a PyInstaller bundle (the spec copies it next to the bundled package).
$WORKSTATION_RESOURCES points elsewhere (a site's own presets)."""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any


class ResourceError(Exception):
    """A resource file is missing or unreadable; str() is one line."""


def root() -> Path:
    env = os.environ.get("WORKSTATION_RESOURCES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "resources"


def path(*parts: str) -> Path:
    """The path of a resource file, e.g. path("icons", "reset.svg"); raises ResourceError if absent."""
    found = root().joinpath(*parts)
    if not found.is_file():
        raise ResourceError(f"resource file missing: {found} (is the application installed completely?)")
    return found


@functools.lru_cache(maxsize=None)
def _json(full: str) -> Any:
    try:
        return json.loads(Path(full).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResourceError(f"cannot read {full}: {exc}") from None


def read_json(*parts: str) -> Any:
    """A JSON resource, parsed once per process (callers must not change what they get)."""
    return _json(str(path(*parts)))
