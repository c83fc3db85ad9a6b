"""A review window for the tests: the real MainWindow on a project of real DICOM images, its
session's reader "alice"; `window.panels` holds the docks' panels (worklist, review, ...)."""
from __future__ import annotations

import shutil

import pytest
from pydicom.data import get_testdata_file
from qt_windows import close_window


@pytest.fixture
def review_project(tmp_path):
    """A binary project of six real DICOM images (copies of pydicom's test files) with predictions."""
    from workstation.core.project import Project

    names = ["RG1_UNCR.dcm", "CT_small.dcm", "MR_small.dcm", "RG1_UNCR.dcm", "CT_small.dcm", "MR_small.dcm"]
    project = Project.create(tmp_path / "proj", "binary", ["normal", "abnormal"])
    p_abnormal = [0.9, 0.2, 0.3, 0.55, 0.7, 0.1]
    add_images(project, tmp_path, names, "c", "densenet2d", [{"normal": 1 - p, "abnormal": p} for p in p_abnormal])
    project.close()
    return tmp_path / "proj"


def add_images(project, tmp_path, names, prefix, plugin_id, probabilities) -> None:
    """Cases prefix0, prefix1, ... of copies of pydicom's test files `names`, with predictions."""
    from workstation.core.project import PredictionRecord

    for i, name in enumerate(names):
        target = tmp_path / "images" / f"{prefix}{i}.dcm"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(get_testdata_file(name), target)
        project.add_case([str(target)], case_id=f"{prefix}{i}")
    project.add_predictions([PredictionRecord(f"{prefix}{i}", p, plugin_id, "1.0", weights_sha256="0" * 64,
                                              device="cpu") for i, p in enumerate(probabilities)])


@pytest.fixture
def review_window(qtbot, review_project):
    window = open_window(qtbot, review_project)
    yield window
    close_window(qtbot, window)


def open_window(qtbot, folder):
    """The main window on the project in `folder`, reader alice, the worklist focused."""
    from workstation.qt.main_window import MainWindow

    window = MainWindow()  # not qtbot.addWidget: pytest-qt would delete it before this fixture's teardown
    window.session.set_reader("alice")
    window.open_project(str(folder))
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    window.worklist = window.panels["worklist"]
    window.review = window.panels["review"]
    window.worklist.table.setFocus()
    return window


SKIN_TREE = {"benign": {"nevus": {}, "seborrhoeic_keratosis": {}},
             "malignant": {"melanoma": {}, "carcinoma": {"bcc": {}, "scc": {}}}}
# leaf probabilities (melanoma, bcc, scc, nevus, seborrhoeic_keratosis: the tree's leaves in document
# order are nevus, seborrhoeic_keratosis, melanoma, bcc, scc)
SKIN_PROBS = [{"nevus": 0.10, "seborrhoeic_keratosis": 0.05, "melanoma": 0.30, "bcc": 0.40, "scc": 0.15},
              {"nevus": 0.45, "seborrhoeic_keratosis": 0.20, "melanoma": 0.05, "bcc": 0.10, "scc": 0.20},
              {"nevus": 0.30, "seborrhoeic_keratosis": 0.32, "melanoma": 0.08, "bcc": 0.15, "scc": 0.15},
              {"nevus": 0.05, "seborrhoeic_keratosis": 0.05, "melanoma": 0.70, "bcc": 0.10, "scc": 0.10}]


@pytest.fixture
def taxonomy_project(tmp_path):
    """A multiclass project of four real DICOM images whose classes are the leaves of the skin-lesion
    tree of issue 18, with leaf predictions."""
    from workstation.core.project import Project
    from workstation.core.taxonomy import Taxonomy

    project = Project.create(tmp_path / "skin", "multiclass", taxonomy=Taxonomy.from_json(SKIN_TREE))
    add_images(project, tmp_path, ["CT_small.dcm"] * len(SKIN_PROBS), "t", "skin-net", SKIN_PROBS)
    project.close()
    return tmp_path / "skin"


@pytest.fixture
def taxonomy_window(qtbot, taxonomy_project):
    window = open_window(qtbot, taxonomy_project)
    qtbot.waitUntil(lambda: window.worklist.current_case() == "t0")
    yield window
    close_window(qtbot, window)
