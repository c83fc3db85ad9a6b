"""The live metrics panel at the levels of a taxonomy (issue 18): at the binary top the panel is
the binary panel (ROC, AUC with its DeLong CI) on the summed probabilities, equal to the engine on
`project.evaluation_table(level=1)` and to scikit-learn; finer levels say how many cases were
labelled coarser than the level and left out."""
import numpy as np
import pytest
from sklearn import metrics as skm

from workstation.core.metrics.binary import BinaryEvaluation
from workstation.core.metrics.multiclass import MulticlassEvaluation
from workstation.core.metrics.tables import evaluate_table

pytestmark = pytest.mark.gui


def at_level(qtbot, panel, level, positive=None):
    with qtbot.waitSignal(panel.redrawn, timeout=5000):
        panel.set_level(level, positive)
    return panel.result


def table_value(panel, name):
    rows = [panel.table.item(i, 0).text() for i in range(panel.table.rowCount())]
    i = rows.index(name)
    return panel.table.item(i, 1).text(), panel.table.item(i, 2).text()


def test_level_one_is_the_binary_panel_on_summed_scores(qtbot, panel, taxonomy_project):
    project, tree, labels, probs = taxonomy_project
    with qtbot.waitSignal(panel.redrawn, timeout=5000):
        panel.set_project(project)
    assert not panel.level_box.isHidden() and panel.positive_box.isHidden()
    assert [panel.level_box.itemData(i) for i in range(panel.level_box.count())] == ["1", "2", "leaf"]

    result = at_level(qtbot, panel, "1")
    ev = result.evaluation
    assert isinstance(ev, BinaryEvaluation) and result.table.classes == ["benign", "malignant"]
    assert not panel.positive_box.isHidden() and panel.positive_box.currentText() == "malignant"
    engine = evaluate_table(project.evaluation_table("final", "skin-net", level=1))
    assert ev.auc.auc == pytest.approx(engine.auc.auc) and ev.auc.ci == pytest.approx(engine.auc.ci)
    # by hand: every label (the inner "malignant"/"benign"/"carcinoma" too) mapped to level 1
    cases = sorted(labels)
    truth = np.array([tree.ancestor_at(labels[c], 1) == "malignant" for c in cases])
    score = np.array([sum(probs[c][project.classes.index(leaf)] for leaf in tree.leaves_under("malignant"))
                      for c in cases])
    assert ev.n == 32 and ev.auc.auc == pytest.approx(skm.roc_auc_score(truth, score))
    assert panel.matrix.counts.tolist() == skm.confusion_matrix(truth, score >= 0.5).tolist()
    value, ci = table_value(panel, "AUC")
    assert value == f"{engine.auc.auc:.3f}" and ci == f"{engine.auc.ci[0]:.3f} – {engine.auc.ci[1]:.3f}"
    assert "AUC" in panel.roc.curves[0].name() and panel.slider.isEnabled()
    assert "32 cases at level 1 ·" in panel.status.text() and "excluded" not in panel.status.text()

    flipped = at_level(qtbot, panel, "1", "benign")      # the other node as the positive class
    assert flipped.table.classes == ["malignant", "benign"] and panel.positive_box.currentText() == "benign"
    assert flipped.evaluation.auc.auc == pytest.approx(ev.auc.auc)     # both the truth and the score flip
    assert panel.matrix.counts.tolist() == skm.confusion_matrix(~truth, 1 - score >= 0.5).tolist()
    assert panel.matrix.names == ["malignant", "benign"]

    # a label confirmed while the panel reads level 1 is counted at once
    with qtbot.waitSignal(panel.redrawn, timeout=5000):
        project.set_label("s039", "melanoma", reader="alice")
    assert panel.result.evaluation.n == 33


def test_finer_levels_count_the_coarser_labels_as_excluded(qtbot, panel, taxonomy_project):
    project, tree, labels, probs = taxonomy_project
    with qtbot.waitSignal(panel.redrawn, timeout=5000):
        panel.set_project(project)
    coarse_2 = sorted(c for c, v in labels.items() if v in ("benign", "malignant"))
    result = at_level(qtbot, panel, "2")
    assert isinstance(result.evaluation, MulticlassEvaluation) and panel.positive_box.isHidden()
    assert sorted(result.table.excluded) == coarse_2 == sorted(project.evaluation_table(level=2).excluded)
    assert f"{32 - len(coarse_2)} cases at level 2 ({len(coarse_2)} excluded: labelled coarser than level 2)" \
        in panel.status.text()
    assert panel.matrix.counts.sum() == 32 - len(coarse_2)
    result = at_level(qtbot, panel, "leaf")
    inner = sorted(c for c, v in labels.items() if not tree.is_leaf(v))
    assert sorted(result.table.excluded) == inner and len(inner) == len(coarse_2) + 3 == 8
    assert f"({len(inner)} excluded: labelled coarser than level leaf)" in panel.status.text()
    # a level the tree lacks: one line, the panel keeps what it showed
    panel.set_level("7")
    assert panel.status.text().startswith("level '7'") and panel.level_box.currentData() == "leaf"
