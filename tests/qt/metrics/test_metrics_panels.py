"""The live metrics panel on real projects: labels confirmed in the project move the matrix and
the ROC curve; the threshold, the cell filter and the selectors work."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QDockWidget, QWidget
from sklearn import metrics as skm

from workstation.qt.metrics.panels import install

pytestmark = pytest.mark.gui


def show(qtbot, panel, project):
    """Open a project in the panel; its first computation runs on a worker thread."""
    with qtbot.waitSignal(panel.redrawn, timeout=5000):
        panel.set_project(project)


def matrix_of(panel):
    return panel.matrix.counts.tolist()


def roc_data(panel):
    x, y = panel.roc.curves[0].getData()
    return np.asarray(x), np.asarray(y)


def test_confirming_a_label_changes_the_matrix_and_the_roc_curve(qtbot, panel, binary_project):
    project, y, s = binary_project
    show(qtbot, panel, project)
    assert matrix_of(panel) == skm.confusion_matrix(y[:20], s[:20] >= 0.5).tolist()
    x0, y0 = roc_data(panel)
    # a reader confirms an unlabelled case as abnormal: the positive row gains one case
    with qtbot.waitSignal(panel.redrawn, timeout=3000):
        project.set_label("c025", "abnormal", reader="alice")
    yy, ss = np.r_[y[:20], True], np.r_[s[:20], s[25]]
    assert matrix_of(panel) == skm.confusion_matrix(yy, ss >= 0.5).tolist()
    assert panel.matrix.counts[1].sum() == int(y[:20].sum()) + 1
    x1, y1 = roc_data(panel)
    fpr, tpr, _ = skm.roc_curve(yy, ss, drop_intermediate=False)
    np.testing.assert_allclose(x1, fpr)
    np.testing.assert_allclose(y1, tpr)
    assert x0.size != x1.size or not np.allclose(y0, y1)
    assert "AUC" in panel.roc.curves[0].name()
    # a correction flips a case between rows; undo restores the matrix
    before = matrix_of(panel)
    with qtbot.waitSignal(panel.redrawn, timeout=3000):
        project.set_label("c000", "normal" if y[0] else "abnormal", reader="alice", action="correct")
    assert matrix_of(panel) != before
    with qtbot.waitSignal(panel.redrawn, timeout=3000):
        project.undo()
    assert matrix_of(panel) == before


def test_threshold_updates_matrix_table_and_operating_point(qtbot, panel, binary_project):
    project, y, s = binary_project
    show(qtbot, panel, project)
    panel.slider.setValue(300)  # 0.3 on a [0, 1] score range
    assert panel.threshold == pytest.approx(0.3)
    assert panel.spin.value() == pytest.approx(0.3)
    assert matrix_of(panel) == skm.confusion_matrix(y[:20], s[:20] >= 0.3).tolist()
    sens = skm.recall_score(y[:20], s[:20] >= 0.3)
    assert panel.table.item(0, 0).text() == "Sensitivity"
    assert panel.table.item(0, 1).text() == f"{sens:.3f}"
    pts = panel.roc.points.data
    assert pts.size == 1 and pts[0]["y"] == pytest.approx(sens)
    panel.spin.setValue(0.8)
    assert panel.slider.value() == 800
    assert matrix_of(panel) == skm.confusion_matrix(y[:20], s[:20] >= 0.8).tolist()
    # clicking on the ROC curve moves the threshold to the nearest point of the curve
    b = panel.binary()
    i = 5
    panel._roc_clicked(b.roc.fpr[i], b.roc.tpr[i])
    assert panel.threshold == pytest.approx(b.roc.thresholds[i])


def test_clicking_a_cell_filters_the_session_worklist(qtbot, bare_context, binary_project):
    project, y, s = binary_project
    host, ctx = bare_context
    panels = install(ctx)
    panel = panels["metrics_panel"]
    assert [d.windowTitle() for d in host.findChildren(QDockWidget)] == ["Metrics"]
    with qtbot.waitSignal(panel.redrawn, timeout=5000):
        ctx.session.set_project(project)  # the panel follows the session's project
    assert panel.result is not None
    with qtbot.waitSignal(panel.cases_selected) as sig:
        panel.matrix.click_cell(QPointF(0.5, 1.5))  # truth positive, predicted negative
    ids, desc = sig.args
    expected = [f"c{i:03d}" for i in range(20) if y[i] and s[i] < 0.5]
    assert ids == expected and "false negatives" in desc
    assert ctx.session.case_ids() == expected  # the worklist, whoever shows it, is that cell


def test_truth_and_model_selectors(qtbot, panel, binary_project):
    project, y, s = binary_project
    from workstation.core.project import PredictionRecord

    project.set_label("c001", "abnormal", reader="bob")
    show(qtbot, panel, project)
    assert [panel.truth_box.itemText(i) for i in range(panel.truth_box.count())][:3] == ["final", "consensus", "alice"]
    with qtbot.waitSignal(panel.redrawn, timeout=3000):
        panel.truth_box.setCurrentText("bob")
    assert panel.result.evaluation.n == 1
    with qtbot.waitSignal(panel.redrawn, timeout=3000):
        project.add_predictions([PredictionRecord(f"c{i:03d}", {"normal": 0.4, "abnormal": 0.6}, "model-b")
                                 for i in range(30)])
    assert {panel.model_box.itemText(i) for i in range(panel.model_box.count())} == {"model-a", "model-b"}
    assert panel.result.plugin_id == "model-a"  # a new model's predictions do not switch the view
    panel.truth_box.setCurrentText("alice")
    with qtbot.waitSignal(panel.redrawn, timeout=3000):
        panel.model_box.setCurrentText("model-b")
    assert panel.result.plugin_id == "model-b" and panel.result.evaluation.auc.auc == 0.5


def test_multiclass_shows_kxk_and_one_vs_rest_curves(qtbot, panel, multiclass_project):
    project, y, p = multiclass_project
    show(qtbot, panel, project)
    assert matrix_of(panel) == skm.confusion_matrix(y, p.argmax(1)).tolist()
    assert len(panel.roc.curves) == 3 and not panel.slider.isEnabled()
    assert panel.roc.curves[1].name().startswith("benign AUC")
    hand_till = skm.roc_auc_score(y, p, multi_class="ovo")
    row = [panel.table.item(i, 0).text() for i in range(panel.table.rowCount())].index("AUC Hand & Till")
    assert panel.table.item(row, 1).text() == f"{hand_till:.3f}"
    with qtbot.waitSignal(panel.redrawn, timeout=3000):
        project.set_label("m000", "malignant" if y[0] != 2 else "normal", reader="alice")
    assert panel.matrix.counts.sum() == 24 and matrix_of(panel) != skm.confusion_matrix(y, p.argmax(1)).tolist()


def test_multilabel_label_selector(qtbot, panel, multilabel_project):
    project, Y, S = multilabel_project
    show(qtbot, panel, project)
    assert panel.label_box.isVisibleTo(panel) and panel.label_box.count() == 2
    assert matrix_of(panel) == skm.confusion_matrix(Y[:, 0], S[:, 0] >= 0.5).tolist()
    panel.label_box.setCurrentIndex(1)
    assert matrix_of(panel) == skm.confusion_matrix(Y[:, 1], S[:, 1] >= 0.5).tolist()
    panel.tabs.setCurrentIndex(1)
    assert panel.pr.curves[0].name().startswith("nodule AP")


def test_tabs_and_empty_projects(qtbot, panel, tmp_path):
    from workstation.core.project import Project

    assert [panel.tabs.tabText(i) for i in range(panel.tabs.count())] == ["ROC", "PR", "Calibration"]
    assert panel.add_tab("FROC", QWidget()) == 3
    with Project.create(tmp_path / "e", "binary", ["a", "b"]) as project:
        project.add_case(["/x.dcm"], case_id="x")
        show(qtbot, panel, project)
        assert "no model" in panel.status.text()
        panel.set_project(None)
        assert panel.status.text() == "no project open"


def test_a_label_stored_from_another_thread_reaches_the_panel(qtbot, panel, binary_project):
    import threading

    project, y, s = binary_project
    show(qtbot, panel, project)
    n = panel.result.evaluation.n
    with qtbot.waitSignal(panel.redrawn, timeout=5000):
        worker = threading.Thread(target=lambda: project.set_label("c029", "normal", reader="alice"))
        worker.start()
        worker.join()
    assert panel.result.evaluation.n == n + 1 and panel.matrix.counts.sum() == n + 1
