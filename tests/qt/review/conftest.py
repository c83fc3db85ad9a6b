"""A review window for the tests: the real MainWindow on a project of real DICOM images, its
session's reader "alice"; `window.panels` holds the docks' panels (worklist, review, ...)."""
from __future__ import annotations

import shutil

import pytest
from pydicom.data import get_testdata_file


@pytest.fixture
def review_project(tmp_path):
    """A binary project of six real DICOM images (copies of pydicom's test files) with predictions."""
    from workstation.core.project import PredictionRecord, Project

    names = ["RG1_UNCR.dcm", "CT_small.dcm", "MR_small.dcm", "RG1_UNCR.dcm", "CT_small.dcm", "MR_small.dcm"]
    project = Project.create(tmp_path / "proj", "binary", ["normal", "abnormal"])
    for i, name in enumerate(names):
        target = tmp_path / "images" / f"c{i}.dcm"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(get_testdata_file(name), target)
        project.add_case([str(target)], case_id=f"c{i}")
    p_abnormal = [0.9, 0.2, 0.3, 0.55, 0.7, 0.1]
    project.add_predictions([PredictionRecord(f"c{i}", {"normal": 1 - p, "abnormal": p}, "densenet2d", "1.0",
                                              weights_sha256="0" * 64, device="cpu")
                             for i, p in enumerate(p_abnormal)])
    project.close()
    return tmp_path / "proj"


@pytest.fixture
def review_window(qtbot, review_project):
    from workstation.qt.main_window import MainWindow

    window = MainWindow()  # not qtbot.addWidget: pytest-qt would delete it before this fixture's teardown
    window.session.set_reader("alice")
    window.open_project(str(review_project))
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    window.worklist = window.panels["worklist"]
    window.review = window.panels["review"]
    window.worklist.table.setFocus()
    yield window
    close_window(qtbot, window)


def close_window(qtbot, window) -> None:
    """Docks detach from the project, image loads stop, then the window and the project go."""
    project, window.project = window.project, None
    window.session.set_project(None)
    window.project_changed.emit(None)
    qtbot.wait(300)  # let debounced panel updates run while their widgets exist
    window.close()
    from workstation.qt.viewer.loader import LoadJob
    for job in window.findChildren(LoadJob):  # image loads started by opening cases
        job.cancel()
        job.wait(10000)
    window.deleteLater()
    qtbot.wait(50)
    if project is not None:
        project.close()
