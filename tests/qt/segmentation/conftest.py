"""A detection project of nilearn's MNI152 T1 (real brain, 1 mm), opened in the main window with
the reader "alice"."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from qt_windows import close_window


@pytest.fixture
def mni_project(tmp_path):
    from workstation.core.project import Project

    mni = Path(importlib.util.find_spec("nilearn").origin).parent / "datasets" / "data" / \
        "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    with Project.create(tmp_path / "proj", task="detection", classes=["microbleed"]) as p:
        p.add_case([str(mni)], case_id="brain")
    return tmp_path / "proj"


@pytest.fixture
def seg_window(qtbot, mni_project):
    from workstation.qt.main_window import MainWindow

    window = MainWindow()
    window.resize(1300, 850)
    window.session.set_reader("alice")
    with qtbot.waitSignal(window.case_opened, timeout=60000):
        window.open_project(str(mni_project))
    window.show()
    qtbot.waitExposed(window)
    panel = window.panels["segmentation_panel"]
    window.panels["segmentation_dock"].raise_()
    qtbot.waitUntil(lambda: panel.editor is not None and panel.case_id == "brain", timeout=30000)
    yield window
    close_window(qtbot, window)
