"""Icons from `resources/icons` (SVG, drawn by Qt's SVG icon engine at any size)."""
from __future__ import annotations

import functools
import logging

from PySide6.QtGui import QIcon

from workstation.core import resources

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """The icon `resources/icons/<name>.svg`; an empty icon (and a log line) if it is missing."""
    try:
        return QIcon(str(resources.path("icons", f"{name}.svg")))
    except resources.ResourceError as exc:
        log.warning("%s", exc)
        return QIcon()
