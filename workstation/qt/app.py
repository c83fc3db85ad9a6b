"""The one QApplication of the process."""
from __future__ import annotations

import sys

import workstation.qt.vtk_setup  # noqa: F401  (before any VTK Qt widget)


def get_app():
    """The QApplication, created on first call (named, with the Fusion style)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("workstation")
        app.setOrganizationName("workstation")
        app.setStyle("Fusion")
    return app
