"""The docks that join the main window. Each module listed here has `install(window)`, which
builds its dock widget(s) and adds them with `window.add_dock(...)`. Missing modules are skipped
so that the window works in any partial build."""
from __future__ import annotations

import importlib
import logging

DOCK_MODULES = ["worklist", "metrics_panels", "model_dock", "candidates_dock", "report_dock", "training_dock", "box_dock",
                "export_dialog"]

log = logging.getLogger(__name__)


def install_all(window) -> None:
    for name in DOCK_MODULES:
        try:
            module = importlib.import_module(f"workstation.qt.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"workstation.qt.{name}":
                continue
            raise
        module.install(window)
