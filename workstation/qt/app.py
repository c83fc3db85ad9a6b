"""The one QApplication of the process: Fusion with a dark palette and the style sheet of
`resources/style`, the application icon, and every background thread stopped before it quits."""
from __future__ import annotations

import logging
import sys

import workstation.qt.vtk_setup  # noqa: F401  (before any VTK Qt widget)

log = logging.getLogger(__name__)
STYLE_SHEET = ("style", "workstation.qss")


def get_app():
    """The QApplication, created on first call (named, styled, with the application icon)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("workstation")
        app.setOrganizationName("workstation")
        app.setDesktopFileName("workstation")  # matches packaging/workstation.desktop
        apply_style(app)
        app.aboutToQuit.connect(stop_threads)
    return app


def apply_style(app) -> None:
    from PySide6.QtGui import QColor, QPalette

    from workstation.core import resources
    from workstation.qt.viewer.icons import icon

    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in ((QPalette.Window, "#22262b"), (QPalette.WindowText, "#d7dce2"),
                         (QPalette.Base, "#15181b"), (QPalette.AlternateBase, "#1f2327"),
                         (QPalette.Text, "#e3e7eb"), (QPalette.Button, "#2f3540"),
                         (QPalette.ButtonText, "#d7dce2"), (QPalette.Highlight, "#2f5f86"),
                         (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, "#2b3037"),
                         (QPalette.ToolTipText, "#e3e7eb"), (QPalette.PlaceholderText, "#7d858f"),
                         (QPalette.Link, "#6cb6f0")):
        palette.setColor(role, QColor(colour))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        palette.setColor(QPalette.Disabled, role, QColor("#6d747d"))
    app.setPalette(palette)
    try:
        app.setStyleSheet(resources.path(*STYLE_SHEET).read_text(encoding="utf-8"))
    except (resources.ResourceError, OSError) as exc:
        log.warning("no style sheet: %s", exc)
    app.setWindowIcon(icon("app"))


def stop_threads() -> None:
    """Stop the image loads still running, so that no reader runs while the interpreter tears down."""
    from workstation.qt.viewer import loader

    if not loader.stop_all():
        log.warning("an image load did not stop in time")
