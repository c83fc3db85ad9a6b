"""Agreeing with the model in a multi-label project whose class order is not alphabetical
(ChestX-ray14's) is audited "confirm" alike through the keyboard, the CLI and the session."""
from __future__ import annotations

import shutil

import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import Qt

CXR14 = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
         "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia"]
FOUND = ["Effusion", "Consolidation"]  # the model's set in class order; alphabetically it is the other way


@pytest.fixture
def review_project(tmp_path):
    """Overrides conftest's: four real chest CR images, the model finding Effusion and Consolidation."""
    from workstation.core.project import PredictionRecord, Project

    project = Project.create(tmp_path / "cxr14", "multilabel", CXR14)
    for i in range(4):
        target = tmp_path / "images" / f"c{i}.dcm"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(get_testdata_file("RG1_UNCR.dcm"), target)
        project.add_case([str(target)], case_id=f"c{i}")
    probs = {c: (0.8 if c in FOUND else 0.1) for c in CXR14}
    project.add_predictions([PredictionRecord(f"c{i}", probs, "densenet2d", "1.0") for i in range(4)])
    project.close()
    return tmp_path / "cxr14"


def test_keyboard_cli_and_session_audit_agreement_alike(qtbot, review_window, capsys):
    from workstation.cli import main

    w = review_window
    session, project = w.session, w.project
    assert sorted(FOUND) != FOUND and session.current == "c0"
    assert session.suggestion("c0") == FOUND

    qtbot.keyClick(w, Qt.Key.Key_9)      # Consolidation first (the alphabetical order) ...
    qtbot.keyClick(w, Qt.Key.Key_3)      # ... then Effusion: the model's set
    assert session.current == "c0"       # multi-label digits toggle and stay
    qtbot.keyClick(w, Qt.Key.Key_N)
    assert session.current == "c1"
    qtbot.keyClick(w, Qt.Key.Key_Return)  # Enter: confirm the model
    assert session.current == "c2"

    assert main(["label", str(project.directory), "c2", "Consolidation;Effusion", "--reader", "alice"]) == 0
    assert "(alice, final, confirm)" in capsys.readouterr().out
    session.label(["Consolidation", "Effusion"], "c3", advance=False)

    final = {e.case_id: e for e in project.audit()}  # the last entry of each case
    assert {c: (e.action, e.new_value, e.reader) for c, e in final.items()} == {
        c: ("confirm", FOUND, "alice") for c in ("c0", "c1", "c2", "c3")}
    assert [e.action for e in project.audit("c0")] == ["correct", "confirm"]  # ["Consolidation"], then the set
    assert {e.shown["plugin_id"] for e in project.audit()} == {"densenet2d"}
