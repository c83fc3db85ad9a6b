"""The docks of the main window. Each feature module listed here has `install(ctx)`, which builds
its panels from the dock context (qt/context.py) and returns them by name; `install_all` returns
every panel so built. A dock only uses its context, so the order of this list does not matter.
Missing modules are skipped so that the window works in any partial build."""
from __future__ import annotations

import importlib
import logging

DOCK_MODULES = ["review.worklist", "metrics.panels", "models.install", "detection.candidates_dock",
                "reports.report_dock", "boxes.box_dock", "export.export_dialog", "pacs.study_browser",
                "segmentation.segmentation_dock"]

log = logging.getLogger(__name__)


def install_all(ctx, modules=None) -> dict:
    """Build the docks of `modules` (default DOCK_MODULES) in that order; {name: panel}."""
    panels: dict = {}
    for name in modules if modules is not None else DOCK_MODULES:
        try:
            module = importlib.import_module(f"workstation.qt.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"workstation.qt.{name}":
                continue
            raise
        panels.update(module.install(ctx))
    return panels

