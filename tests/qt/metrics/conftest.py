"""Real projects (SQLite) for the metrics panel tests."""
import numpy as np
import pytest

from workstation.core.project import PredictionRecord, Project
from qt_windows import close_window


@pytest.fixture
def panel(qtbot):
    """A metrics panel without a session, shown; a test gives it a project."""
    from workstation.qt.metrics.panels import MetricsPanel

    p = MetricsPanel()
    qtbot.addWidget(p)
    p.resize(900, 700)
    p.show()
    return p


@pytest.fixture
def binary_project(tmp_path):
    project = Project.create(tmp_path / "binary", "binary", ["normal", "abnormal"], readers=["alice"])
    project.add_cases([dict(paths=[f"/data/{i}.dcm"], case_id=f"c{i:03d}") for i in range(30)])
    rng = np.random.default_rng(1)
    y = rng.random(30) < 0.5
    s = np.round(np.clip(0.35 * y + 0.65 * rng.random(30), 0, 1), 3)
    project.add_predictions([PredictionRecord(f"c{i:03d}", {"normal": 1 - s[i], "abnormal": s[i]}, "model-a")
                             for i in range(30)])
    for i in range(20):
        project.set_label(f"c{i:03d}", "abnormal" if y[i] else "normal", reader="alice")
    yield project, y, s
    project.close()


@pytest.fixture
def multiclass_project(tmp_path):
    classes = ["normal", "benign", "malignant"]
    project = Project.create(tmp_path / "mc", "multiclass", classes)
    project.add_cases([dict(paths=[f"/data/{i}.dcm"], case_id=f"m{i:03d}") for i in range(24)])
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 24)
    p = rng.dirichlet([1, 1, 1], 24)
    p[np.arange(24), y] += 0.8
    p /= p.sum(1, keepdims=True)
    project.add_predictions([PredictionRecord(f"m{i:03d}", dict(zip(classes, p[i])), "mc-model") for i in range(24)])
    for i in range(24):
        project.set_label(f"m{i:03d}", classes[y[i]], reader="alice")
    yield project, y, p
    project.close()


@pytest.fixture
def multilabel_project(tmp_path):
    classes = ["effusion", "nodule"]
    project = Project.create(tmp_path / "ml", "multilabel", classes)
    project.add_cases([dict(paths=[f"/data/{i}.dcm"], case_id=f"l{i:03d}") for i in range(20)])
    rng = np.random.default_rng(3)
    Y = rng.integers(0, 2, (20, 2))
    S = np.round(np.clip(0.4 * Y + 0.6 * rng.random((20, 2)), 0, 1), 3)
    project.add_predictions([PredictionRecord(f"l{i:03d}", dict(zip(classes, S[i])), "ml-model") for i in range(20)])
    for i in range(20):
        project.set_label(f"l{i:03d}", [c for c, v in zip(classes, Y[i]) if v], reader="alice")
    yield project, Y, S
    project.close()


@pytest.fixture
def review_window(qtbot, tmp_path):
    """The real main window (worklist, review keys and the metrics dock installed by the window
    itself) on a binary project of eight real DICOM images with predictions; four labelled."""
    import shutil

    from pydicom.data import get_testdata_file

    from workstation.qt.main_window import MainWindow

    project = Project.create(tmp_path / "proj", "binary", ["normal", "abnormal"])
    names = ["CT_small.dcm"] * 8  # one kind of image: this test is about labels, not the viewer
    for i, name in enumerate(names):
        target = tmp_path / "images" / f"r{i}.dcm"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(get_testdata_file(name), target)
        project.add_case([str(target)], case_id=f"r{i}")
    p_abnormal = [0.9, 0.2, 0.3, 0.6, 0.8, 0.15, 0.4, 0.7]
    project.add_predictions([PredictionRecord(f"r{i}", {"normal": 1 - p, "abnormal": p}, "densenet2d")
                             for i, p in enumerate(p_abnormal)])
    for i, value in enumerate(["abnormal", "normal", "abnormal", "normal"]):
        project.set_label(f"r{i + 4}", value, reader="bob")
    project.close()
    window = MainWindow()
    window.session.set_reader("alice")
    window.open_project(str(tmp_path / "proj"))
    window.show()
    qtbot.waitExposed(window)
    window.metrics_panel, window.worklist = window.panels["metrics_panel"], window.panels["worklist"]
    window.review = window.panels["review"]
    yield window
    close_window(qtbot, window)


SKIN_TREE = {"benign": {"nevus": {}, "seborrhoeic_keratosis": {}},
             "malignant": {"melanoma": {}, "carcinoma": {"bcc": {}, "scc": {}}}}


@pytest.fixture
def taxonomy_project(tmp_path):
    """40 cases of the skin-lesion tree of issue 18 with leaf predictions; 32 labelled: mostly at a
    leaf, five at the top node only ("malignant" or "benign"), three "carcinoma"."""
    from workstation.core.taxonomy import Taxonomy

    tree = Taxonomy.from_json(SKIN_TREE)
    project = Project.create(tmp_path / "skin", "multiclass", taxonomy=tree, readers=["alice"])
    leaves = project.classes
    ids = [f"s{i:03d}" for i in range(40)]
    project.add_cases([dict(paths=[f"/data/{c}.png"], case_id=c) for c in ids])
    rng = np.random.default_rng(18)
    y = rng.integers(0, len(leaves), 40)
    p = rng.dirichlet(np.ones(len(leaves)), 40)
    p[np.arange(40), y] += 0.6
    p /= p.sum(1, keepdims=True)
    project.add_predictions([PredictionRecord(c, dict(zip(leaves, p[i])), "skin-net") for i, c in enumerate(ids)])
    labels = {c: leaves[y[i]] for i, c in enumerate(ids[:32])}
    for c in ids[:5]:  # the reader knew the top node only
        labels[c] = tree.ancestor_at(labels[c], 1)
    for c in [c for c in ids[5:32] if labels[c] in ("bcc", "scc")][:3]:
        labels[c] = "carcinoma"
    for c, value in labels.items():
        project.set_label(c, value, reader="alice")
    yield project, tree, labels, dict(zip(ids, p))
    project.close()
