"""A whole review driven by the keyboard through the window, checked in the store and audit trail."""
from __future__ import annotations

from PySide6.QtCore import Qt

from workstation.core.project import Project
from workstation.qt.review.worklist_model import LABEL, PRED

K = Qt.Key


def _label(window, case_id):
    model = window.worklist.model
    return model.data(model.index(model.view_row(case_id), LABEL))


def test_review_by_keyboard(qtbot, review_window):
    w = review_window
    worklist, project = w.worklist, w.project
    assert worklist.model.rowCount() == 6 and worklist.current_case() == "c0"
    press = lambda key, mod=Qt.KeyboardModifier.NoModifier: qtbot.keyClick(w, key, mod)  # noqa: E731

    press(K.Key_Return)       # c0: confirm the model (abnormal 0.9)
    assert worklist.current_case() == "c1" and _label(w, "c0") == "abnormal"
    press(K.Key_1)            # c1: normal, as the model said
    press(K.Key_2)            # c2: abnormal, against the model (normal 0.7)
    press(K.Key_U)            # c3: uncertain
    assert worklist.current_case() == "c4"
    press(K.Key_P)
    assert worklist.current_case() == "c3"
    press(K.Key_N)
    press(K.Key_Down)
    assert worklist.current_case() == "c5"
    press(K.Key_Up)
    press(K.Key_X)            # c4: not assessable
    assert worklist.current_case() == "c5"

    press(K.Key_Z, Qt.KeyboardModifier.ControlModifier)     # undo c4
    assert worklist.current_case() == "c4" and _label(w, "c4") == ""
    press(K.Key_Z, Qt.KeyboardModifier.ControlModifier)     # undo c3
    assert worklist.current_case() == "c3" and _label(w, "c3") == ""
    press(K.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)  # redo c3
    assert _label(w, "c3") == "? uncertain"

    stored = {lab.case_id: lab.value for lab in project.labels(reader="alice")}
    assert stored == {"c0": "abnormal", "c1": "normal", "c2": "abnormal", "c3": "uncertain"}
    trail = [(e.case_id, e.action, e.new_value) for e in project.audit()]
    assert trail == [("c0", "confirm", "abnormal"), ("c1", "confirm", "normal"), ("c2", "correct", "abnormal"),
                     ("c3", "correct", "uncertain"), ("c4", "correct", "not_assessable"),
                     ("c4", "undo", None), ("c3", "undo", None), ("c3", "redo", "uncertain")]
    assert all(e.reader == "alice" for e in project.audit())
    first = project.audit("c0")[0]
    assert first.shown["plugin_id"] == "densenet2d" and first.shown["probabilities"]["abnormal"] == 0.9

    # what the clinician confirmed is on disk: another process sees it
    other = Project.open(project.directory)
    assert {lab.case_id for lab in other.labels(reader="alice")} == {"c0", "c1", "c2", "c3"}
    other.close()


def test_blinded_mode_hides_the_model(qtbot, review_window):
    w = review_window
    worklist, project, model = w.worklist, w.project, w.worklist.model
    qtbot.keyClick(w, K.Key_B)
    assert model.blinded and worklist.blinded.isChecked()
    assert model.data(model.index(0, PRED)) == "(blinded)"
    qtbot.keyClick(w, K.Key_Return)              # nothing to confirm while blinded
    assert project.labels() == [] and worklist.current_case() == "c0"
    qtbot.keyClick(w, K.Key_1)
    assert project.audit("c0")[0].shown == {"blinded": True}
    assert project.audit("c0")[0].action == "correct"  # model said abnormal
    assert model.data(model.index(0, PRED)) == "abnormal"  # shown once labelled


def test_filters_and_case_filter(qtbot, review_window):
    w = review_window
    worklist, model = w.worklist, w.worklist.model
    qtbot.keyClick(w, K.Key_1)   # c0 normal: disagrees with the model (abnormal 0.9)
    qtbot.keyClick(w, K.Key_1)   # c1 normal: agrees
    worklist.set_filter("unlabelled")
    assert [model.case_at(r) for r in range(model.rowCount())] == ["c2", "c3", "c4", "c5"]
    worklist.set_filter("disagreement")
    assert [model.case_at(r) for r in range(model.rowCount())] == ["c0"]
    worklist.set_filter("low_confidence")
    assert [model.case_at(r) for r in range(model.rowCount())] == ["c3"]  # top p 0.55 < 0.65
    worklist.set_filter("predicted:abnormal")
    assert {model.case_at(r) for r in range(model.rowCount())} == {"c0", "c3", "c4"}
    worklist.select_case("c3")
    from workstation.core.project import PredictionRecord  # a model run adds a prediction: the view
    w.project.add_predictions([PredictionRecord("c5", {"normal": 0.05, "abnormal": 0.95}, "densenet2d")])
    qtbot.waitUntil(lambda: model.rowCount() == 4)          # reloads, keeping filter and selection
    assert worklist.current_case() == "c3"
    worklist.set_case_filter({"c4", "c5", "ghost"}, "normal predicted abnormal")
    assert worklist.filter_box.currentText() == "normal predicted abnormal" and model.rowCount() == 2
    assert worklist.count.text() == "2 of 6"
    worklist.set_case_filter(None, "")
    assert model.rowCount() == 6
    worklist.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)  # probability column
    assert [model.case_at(r) for r in (0, 1, 5)] == ["c5", "c0", "c3"]  # 0.95, 0.9 ... 0.55


def test_reader_asked_once_and_second_reader_adjudication(qtbot, review_window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from workstation.qt.review.keyboard import AdjudicationDialog

    w = review_window
    w.session.set_reader(None)
    asked = []

    def fake_get_text(parent, title, label, text=""):
        asked.append(text)
        return "bob", True
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(fake_get_text))
    qtbot.keyClick(w, K.Key_2)   # c0 abnormal by bob
    qtbot.keyClick(w, K.Key_1)   # c1 normal by bob
    assert len(asked) == 1 and asked[0]  # asked once, the OS user / saved name proposed
    w.project.set_label("c0", "normal", reader="carol")
    w.project.set_label("c1", "normal", reader="carol")

    w.review.show_adjudication()
    dialog = w.review.adjudication
    assert isinstance(dialog, AdjudicationDialog) and dialog.table.rowCount() == 1
    assert "Cohen" in dialog.summary.text()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.table.selectRow(0)
    qtbot.keyClick(dialog.table, K.Key_2)
    final = w.project.labels(case_id="c0", tag="adjudicated")
    assert [(lab.reader, lab.value) for lab in final] == [("bob", "abnormal")]
    assert w.project.truth("final")["c0"] == "abnormal"
    assert "bob" in dialog.table.item(0, 3).text()


def test_help_overlay(qtbot, review_window):
    w = review_window
    help_overlay = w.review.help
    qtbot.keyClick(w, K.Key_F1)
    assert help_overlay.isVisible() and help_overlay.geometry() == w.rect()
    qtbot.keyClick(help_overlay, K.Key_Escape)
    assert not help_overlay.isVisible()
    w.worklist.table.setFocus()
    qtbot.keyClick(w, "?")
    assert help_overlay.isVisible()


def test_opening_a_case_loads_it_and_thumbnails_appear(qtbot, review_window):
    from workstation.qt.review.worklist_model import THUMB

    w = review_window
    model = w.worklist.model
    with qtbot.waitSignal(w.case_opened, timeout=20000, check_params_cb=lambda c: c == "c2"):
        w.worklist.select_case("c2")  # the session's current case: the window reads and shows it
    assert w.session.current == "c2"
    qtbot.waitUntil(lambda: model.data(model.index(model.view_row("c0"), THUMB), Qt.ItemDataRole.DecorationRole)
                    is not None, timeout=20000)
    assert any((w.project.directory / ".thumbnails").glob("*.png"))


def test_multilabel_toggles(qtbot, tmp_path, bare_context):
    from workstation.core.project import PredictionRecord
    from workstation.qt.review import worklist
    project = Project.create(tmp_path / "ml", "multilabel", ["effusion", "nodule", "mass"])
    for i in range(2):
        project.add_case([f"/missing/{i}.dcm"], case_id=f"m{i}")  # unreadable: no thumbnail, nothing more
    project.add_predictions([PredictionRecord("m1", {"effusion": 0.8, "nodule": 0.2, "mass": 0.6}, "cxr")])

    host, ctx = bare_context  # the worklist and the keys need no main window: only their context
    panels = worklist.install(ctx)
    ctx.session.set_reader("dana")
    try:
        ctx.session.set_project(project)
        host.show()
        qtbot.waitExposed(host)
        host.activateWindow()
        qtbot.waitUntil(host.isActiveWindow)
        for key in (K.Key_1, K.Key_3, K.Key_1):
            qtbot.keyClick(host, key)
        assert project.label("m0", "dana").value == ["mass"] and panels["worklist"].current_case() == "m0"
        qtbot.keyClick(host, K.Key_Return)      # the reader's own set stands: move on
        assert panels["worklist"].current_case() == "m1"
        qtbot.keyClick(host, K.Key_Return)      # no label yet: take the model's set (p >= 0.5)
        assert project.label("m1", "dana").value == ["effusion", "mass"]
        assert [e.action for e in project.audit("m1")] == ["confirm"]
        qtbot.keyClick(host, K.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert project.label("m1", "dana") is None
    finally:
        ctx.session.set_project(None)
        project.close()
