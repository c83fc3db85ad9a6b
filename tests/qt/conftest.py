"""A dock context without the main window: a bare QMainWindow host, a real ReviewSession and an
OverlayList, for tests of one dock at a time (the docks only use their context)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # qt_windows.py, shared by the GUI tests


@pytest.fixture
def bare_context(qtbot):
    from PySide6.QtWidgets import QLabel, QMainWindow

    from workstation.core.review.overlays import OverlayList
    from workstation.core.review.session import ReviewSession
    from workstation.qt.context import make_context

    host = QMainWindow()
    host.setCentralWidget(QLabel("viewer"))
    host.resize(1000, 640)
    qtbot.addWidget(host)
    ctx = make_context(host, ReviewSession(), OverlayList(), viewer=None)
    yield host, ctx
    ctx.session.set_project(None)


@pytest.fixture(autouse=True)
def own_settings(tmp_path_factory, monkeypatch):
    """Each GUI test starts from its own user settings: a layout or reader that one test leaves
    remembered must not be where the next one starts."""
    monkeypatch.setenv("WORKSTATION_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
