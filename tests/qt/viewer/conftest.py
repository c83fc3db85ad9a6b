"""Fixtures for the viewer tests; the helpers live in viewer_helpers.py (importable by name
because this folder is put on sys.path: tests here are not a package)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def viewer(qtbot):
    from workstation.qt.viewer.viewer_widget import Viewer

    widget = Viewer()
    widget.resize(720, 520)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.dispose()
