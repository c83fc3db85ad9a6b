"""The docks that join the main window. Each module listed here has `install(window)`, which
builds its dock widget(s) and adds them with `window.add_dock(...)`. Missing modules are skipped
so that the window works in any partial build."""
from __future__ import annotations

import importlib
import logging

DOCK_MODULES = ["review.worklist", "metrics.panels", "models.model_dock", "detection.candidates_dock",
                "reports.report_dock", "models.training_dock", "boxes.box_dock", "export.export_dialog"]

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


def dock_following_case(window, title: str, widget, on_case):
    """Dock `widget` on the right so that it follows the window's project (`widget.set_project`)
    and its open case (`on_case(case_id)`); returns the QDockWidget."""
    from PySide6.QtCore import Qt

    dock = window.add_dock(title, widget, Qt.DockWidgetArea.RightDockWidgetArea)
    window.project_changed.connect(widget.set_project)
    window.case_opened.connect(on_case)
    if getattr(window, "project", None) is not None:
        widget.set_project(window.project)
    return dock

