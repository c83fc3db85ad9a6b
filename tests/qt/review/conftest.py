"""A review window for the tests: the real MainWindow when the viewer's module exists, else a
minimal QMainWindow with the same hooks (add_dock, project, project_changed, case_opened)."""
from __future__ import annotations

import shutil

import pytest
from pydicom.data import get_testdata_file


def _host_class():
    try:
        from workstation.qt.main_window import MainWindow
        return MainWindow, True
    except ModuleNotFoundError as exc:
        if exc.name != "workstation.qt.main_window":
            raise
    from PySide6.QtCore import Signal
    from PySide6.QtWidgets import QLabel, QMainWindow

    class HostWindow(QMainWindow):
        project_changed = Signal(object)
        case_opened = Signal(str)

        def __init__(self):
            super().__init__()
            self.project = None
            self.loaded: list[list[str]] = []
            self.setCentralWidget(QLabel("viewer"))
            self.resize(1000, 640)
            from workstation.qt.review import worklist
            worklist.install(self)

        def add_dock(self, title, widget, area):
            from PySide6.QtWidgets import QDockWidget
            dock = QDockWidget(title, self)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            return dock

        def load_paths(self, paths):
            self.loaded.append(list(paths))

        def open_project(self, path):
            from workstation.core.project import Project
            self.project = Project.open(path)
            self.project_changed.emit(self.project)

    return HostWindow, False


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
    from workstation.qt.review import keyboard as review
    cls, real = _host_class()
    window = cls()  # not qtbot.addWidget: pytest-qt would delete it before this fixture's teardown
    review.set_session_reader("alice")
    window.open_project(str(review_project))
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    window.worklist.table.setFocus()
    yield window
    review.set_session_reader(None)
    project, window.project = window.project, None
    window.project_changed.emit(None)  # docks detach from the project before the window goes
    qtbot.wait(300)                    # let debounced panel updates run while their widgets exist
    window.close()
    try:
        from workstation.qt.viewer.loader import LoadJob
        for job in window.findChildren(LoadJob):  # image loads started by opening cases
            job.cancel()
            job.wait(10000)
    except ImportError:
        pass
    window.deleteLater()
    qtbot.wait(50)
    if project is not None:
        project.close()
