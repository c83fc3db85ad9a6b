"""A multi-label project of one real chest radiograph (pydicom-data's CR `RG1_UNCR.dcm`, 1841 x 1955
pixels), opened in the main window with the reader "alice"."""
from __future__ import annotations

import shutil

import pytest
from pydicom.data import get_testdata_file
from qt_windows import close_window


@pytest.fixture
def chest_project(tmp_path):
    from workstation.core.project import Project

    image = shutil.copy(get_testdata_file("RG1_UNCR.dcm"), tmp_path / "chest.dcm")
    with Project.create(tmp_path / "proj", task="multilabel", classes=["Effusion", "Pneumothorax", "Nodule"]) as p:
        p.add_case([str(image)], case_id="chest")
    return tmp_path / "proj"


@pytest.fixture
def box_window(qtbot, chest_project):
    from workstation.qt.main_window import MainWindow

    window = MainWindow()
    window.resize(1300, 850)
    window.session.set_reader("alice")
    with qtbot.waitSignal(window.case_opened, timeout=60000):
        window.open_project(str(chest_project))
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    window.box_panel, window.box_dock = window.panels["box_panel"], window.panels["box_dock"]
    window.box_dock.raise_()
    qtbot.waitUntil(lambda: window.box_panel.case_id == "chest" and window.box_panel.draw.isEnabled())
    yield window
    close_window(qtbot, window)
