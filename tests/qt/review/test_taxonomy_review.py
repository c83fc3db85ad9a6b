"""Keyboard review down and up a taxonomy (issue 18): the digits name the current node's children,
an inner node is stored and opened, a leaf is stored and the review moves on, Alt+digit opens a node
without labelling, Backspace goes up; checked in the store, the audit trail and the tree bar. The
worklist reads the prediction at a chosen level (sums of leaf probabilities)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from workstation.core.project import Project
from workstation.qt.review.worklist_model import PRED, PROB

K, ALT = Qt.Key, Qt.KeyboardModifier.AltModifier
pytestmark = pytest.mark.gui


def bar(window):
    tree_bar = window.worklist.tree_bar
    return tree_bar.crumbs.text(), tree_bar.legend.text()


def test_review_down_and_up_the_tree_stores_the_nodes(qtbot, taxonomy_window):
    w = taxonomy_window
    worklist, project, session = w.worklist, w.project, w.session
    press = lambda key, mod=Qt.KeyboardModifier.NoModifier: qtbot.keyClick(w, key, mod)  # noqa: E731
    assert worklist.tree_bar.isVisible()
    crumbs, legend = bar(w)
    assert "Tree: <b>all</b>" in crumbs and "<b>1</b>&nbsp;benign ▸" in legend and "<b>2</b>&nbsp;malignant ▸" in legend

    press(K.Key_2)                       # t0: malignant, stored; the digits now name its children
    assert worklist.current_case() == "t0" and session.choices() == ["melanoma", "carcinoma"]
    qtbot.waitUntil(lambda: "all ▸ malignant" in bar(w)[0])
    assert w.worklist.tree_bar.mine.text() == "your label: <b>malignant</b>" and "<b>2</b>&nbsp;carcinoma ▸" in bar(w)[1]
    press(K.Key_2)                       # t0: carcinoma
    assert session.choices() == ["bcc", "scc"]
    press(K.Key_1)                       # t0: bcc, a leaf: on to t1, back at the top
    assert worklist.current_case() == "t1" and session.choices() == ["benign", "malignant"]
    qtbot.waitUntil(lambda: "Tree: <b>all</b>" in bar(w)[0])

    press(K.Key_2)                       # t1: malignant, subtype unknown; move on by hand
    press(K.Key_N)
    assert worklist.current_case() == "t2"

    press(K.Key_2, ALT)                  # t2: open malignant without labelling
    assert session.choices() == ["melanoma", "carcinoma"] and project.labels(case_id="t2") == []
    qtbot.waitUntil(lambda: "all ▸ malignant" in bar(w)[0])
    press(K.Key_Backspace)               # back up
    assert session.choices() == ["benign", "malignant"]
    press(K.Key_Backspace)               # at the top already: nothing happens
    press(K.Key_1, ALT)                  # open benign
    press(K.Key_2, ALT)                  # a leaf (seborrhoeic keratosis) cannot be opened
    assert session.choices() == ["nevus", "seborrhoeic_keratosis"] and project.labels(case_id="t2") == []
    press(K.Key_2)                       # t2: seborrhoeic_keratosis
    assert worklist.current_case() == "t3"
    press(K.Key_2)
    press(K.Key_1)                       # t3: malignant, then melanoma

    stored = {lab.case_id: lab.value for lab in project.labels(reader="alice")}
    assert stored == {"t0": "bcc", "t1": "malignant", "t2": "seborrhoeic_keratosis", "t3": "melanoma"}
    trail = [(e.case_id, e.new_value) for e in project.audit()]
    assert trail == [("t0", "malignant"), ("t0", "carcinoma"), ("t0", "bcc"), ("t1", "malignant"),
                     ("t2", "seborrhoeic_keratosis"), ("t3", "malignant"), ("t3", "melanoma")]
    assert all(e.reader == "alice" for e in project.audit())
    # the model's top leaf: t0 bcc (confirmed at the leaf), t3 melanoma; t1's top is nevus
    actions = {(e.case_id, e.new_value): e.action for e in project.audit()}
    assert actions[("t0", "bcc")] == "confirm" and actions[("t3", "melanoma")] == "confirm"
    assert actions[("t1", "malignant")] == "correct"

    other = Project.open(project.directory)   # on disk, for another process
    assert {lab.case_id: lab.value for lab in other.labels(reader="alice")}["t1"] == "malignant"
    other.close()

    press(K.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo t3's melanoma: its malignant is back
    assert {lab.case_id: lab.value for lab in project.labels(reader="alice")}["t3"] == "malignant"


def test_the_worklist_shows_the_prediction_at_a_level(qtbot, taxonomy_window):
    from tests.qt.review.conftest import SKIN_PROBS

    w = taxonomy_window
    worklist, model = w.worklist, w.worklist.model
    assert worklist.level_box.isVisible()
    assert [worklist.level_box.itemData(i) for i in range(worklist.level_box.count())] == ["1", "2", "leaf"]

    def column(c):
        return [model.data(model.index(model.view_row(f"t{i}"), c)) for i in range(4)]

    leaf_top = [max(p, key=p.get) for p in SKIN_PROBS]
    assert column(PRED) == leaf_top          # bcc, nevus, seborrhoeic_keratosis, melanoma
    malignant = [p["melanoma"] + p["bcc"] + p["scc"] for p in SKIN_PROBS]
    worklist.set_level("1")
    assert model.headerData(PRED, Qt.Orientation.Horizontal) == "Level 1"
    assert column(PRED) == ["malignant" if m > 0.5 else "benign" for m in malignant]
    np.testing.assert_allclose([float(x) for x in column(PROB)], [max(m, 1 - m) for m in malignant], atol=5e-4)
    assert column(PRED)[1] == "benign" and column(PROB)[1] == "0.650"   # 0.45 + 0.20 though nevus < 0.5
    worklist.set_level("2")                  # melanoma, carcinoma, nevus, seborrhoeic_keratosis
    carcinoma = [p["bcc"] + p["scc"] for p in SKIN_PROBS]
    assert column(PRED)[0] == "carcinoma" and column(PROB)[0] == f"{carcinoma[0]:.3f}"
    assert column(PRED)[2] == "seborrhoeic_keratosis"
    worklist.set_level("leaf")
    assert column(PRED) == leaf_top and model.headerData(PRED, Qt.Orientation.Horizontal) == "Prediction"


def test_tree_keys_help_and_inner_node_filter(qtbot, taxonomy_window):
    w = taxonomy_window
    rows = dict(w.review.help.rows())
    assert "Backspace" in rows and "Alt+1 … 9" in rows
    assert w.review.actions["tree up"].isEnabled()
    qtbot.keyClick(w, Qt.Key.Key_2)          # t0: malignant, subtype unknown
    qtbot.keyClick(w, Qt.Key.Key_N)
    qtbot.keyClick(w, Qt.Key.Key_1)
    qtbot.keyClick(w, Qt.Key.Key_1)          # t1: nevus
    w.worklist.set_filter("label:malignant")  # the cases still to refine
    assert w.session.case_ids() == ["t0"]


def test_no_tree_keys_without_a_taxonomy(qtbot, review_window):
    w = review_window
    assert not w.worklist.tree_bar.isVisible() and not w.worklist.level_box.isVisible()
    assert not w.review.actions["tree up"].isEnabled() and not w.review.actions["tree down 1"].isEnabled()
    assert "Backspace" not in dict(w.review.help.rows())
    qtbot.keyClick(w, Qt.Key.Key_2)          # a binary project's digits as before
    assert [lab.value for lab in w.project.labels(case_id="c0")] == ["abnormal"]
