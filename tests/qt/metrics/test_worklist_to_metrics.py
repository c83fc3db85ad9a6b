"""The whole path in the real window: a label confirmed in the worklist moves the confusion matrix
and the ROC curve, and a matrix cell filters the worklist."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF

pytestmark = pytest.mark.gui


def test_confirming_in_the_worklist_updates_matrix_and_roc(qtbot, review_window):
    w = review_window
    panel, worklist = w.metrics_panel, w.worklist
    qtbot.waitUntil(lambda: panel.result is not None, timeout=5000)  # computed off the GUI thread
    assert panel.result.evaluation.n == 4
    # bob's labels at threshold 0.5: r4 abnormal 0.8 TP, r5 normal 0.15 TN, r6 abnormal 0.4 FN,
    # r7 normal 0.7 FP
    assert panel.matrix.counts.tolist() == [[1, 1], [1, 1]]
    roc_before = [np.asarray(a).copy() for a in panel.roc.curves[0].getData()]
    assert worklist.select_case("r0")
    with qtbot.waitSignal(panel.redrawn, timeout=5000):
        w.review.confirm()  # Enter: alice confirms the model's "abnormal" (0.9)
    assert w.project.label("r0", reader="alice").value == "abnormal"
    assert panel.result.evaluation.n == 5
    assert panel.matrix.counts.tolist() == [[1, 1], [1, 2]]  # one more true positive
    roc_after = [np.asarray(a) for a in panel.roc.curves[0].getData()]
    assert roc_after[0].size != roc_before[0].size or not np.allclose(roc_after[1], roc_before[1])
    assert panel.roc.curves[0].name().startswith("AUC")
    # a correction against the model: r1 (0.2) is abnormal -> a false negative more
    assert worklist.select_case("r1")
    with qtbot.waitSignal(panel.redrawn, timeout=5000):
        w.review.pick(2)
    assert panel.matrix.counts.tolist() == [[1, 1], [2, 2]]
    # the false-negative cell filters the worklist to those two cases
    with qtbot.waitSignal(panel.cases_selected) as sig:
        panel.matrix.click_cell(QPointF(0.5, 1.5))
    assert sorted(sig.args[0]) == ["r1", "r6"]
    visible = {worklist.model.case_at(r) for r in range(worklist.model.rowCount())}
    assert visible == {"r1", "r6"}
