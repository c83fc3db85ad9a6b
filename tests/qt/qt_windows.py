"""Closing a main window opened on a project in a GUI test (importable by name: tests/qt/conftest.py
puts this folder on sys.path)."""
from __future__ import annotations


def close_window(qtbot, window) -> None:
    """Docks detach from the project, image loads stop, then the window and the project go."""
    from workstation.qt.viewer.loader import LoadJob

    project, window.project = window.project, None
    window.session.set_project(None)
    window.project_changed.emit(None)
    qtbot.wait(300)  # let debounced panel updates run while their widgets exist
    window.close()
    for job in window.findChildren(LoadJob):  # image loads started by opening cases
        job.cancel()
        job.wait(10000)
    window.deleteLater()
    qtbot.wait(50)
    if project is not None:
        project.close()
