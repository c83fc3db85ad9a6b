"""Docks are built from a context and follow the review session: the order they are built in does
not change what the window does, no dock looks anything up on the window, and every keyboard
shortcut comes from the one table without two actions sharing a key."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import QPointF
from PySide6.QtGui import QAction, QKeySequence

from workstation.core.vocab import Task
from qt_windows import close_window

pytestmark = pytest.mark.gui
QT = Path(__file__).resolve().parents[2] / "workstation" / "qt"


def _make_binary(folder: Path) -> Path:
    from workstation.core.project import PredictionRecord, Project

    names = ["CT_small.dcm", "MR_small.dcm", "CT_small.dcm", "MR_small.dcm", "CT_small.dcm", "MR_small.dcm"]
    with Project.create(folder / "bin", "binary", ["normal", "abnormal"]) as project:
        for i, name in enumerate(names):
            target = folder / "images" / f"b{i}.dcm"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(get_testdata_file(name), target)
            project.add_case([str(target)], case_id=f"b{i}")
        p = [0.9, 0.2, 0.7, 0.4, 0.8, 0.3]
        project.add_predictions([PredictionRecord(f"b{i}", {"normal": 1 - q, "abnormal": q}, "m") for i, q in enumerate(p)])
        for i, value in ((3, "abnormal"), (4, "normal")):
            project.set_label(f"b{i}", value, reader="bob")
    return folder / "bin"


def _make_detection(folder: Path) -> Path:
    from workstation.core.project import PredictionRecord, Project

    folder.mkdir(parents=True, exist_ok=True)
    image = shutil.copy(get_testdata_file("CT_small.dcm"), folder / "ct.dcm")
    with Project.create(folder / "det", "detection", ["microbleed"]) as project:
        project.add_case([str(image)], case_id="d0")
        candidates = [{"id": f"c{n}", "centre": [float(10 * n), 5.0, 0.0], "diameter_mm": 4.0, "score": s}
                      for n, s in enumerate((0.9, 0.6, 0.3))]
        project.add_predictions([PredictionRecord("d0", {}, "det", candidates=candidates)])
    return folder / "det"


def _window(qtbot, monkeypatch, order):
    from workstation.qt import docks
    from workstation.qt.main_window import MainWindow

    monkeypatch.setattr(docks, "DOCK_MODULES", list(order))
    window = MainWindow()
    window.remember_layout = False
    window.session.set_reader("alice")
    window.show()
    qtbot.waitExposed(window)
    return window


def _binary_review(qtbot, window, folder) -> dict:
    """Open, confirm the first case, label the second against the model, click a matrix cell."""
    panels, session = window.panels, window.session
    worklist, metrics = panels["worklist"], panels["metrics_panel"]
    window.open_project(str(folder))
    qtbot.waitUntil(lambda: session.current == "b0" and metrics.result is not None, timeout=10000)
    n_before = metrics.result.evaluation.n
    with qtbot.waitSignal(metrics.redrawn, timeout=5000):
        panels["review"].confirm()                  # Enter on b0: the model's "abnormal"
    with qtbot.waitSignal(metrics.redrawn, timeout=5000):
        panels["review"].pick(2)                    # b1: abnormal, against the model (0.2)
    rows = lambda: [worklist.model.case_at(r) for r in range(worklist.model.rowCount())]  # noqa: E731
    with qtbot.waitSignal(metrics.cases_selected) as cell:
        metrics.matrix.click_cell(QPointF(0.5, 1.5))  # truth abnormal, predicted normal
    qtbot.waitUntil(lambda: rows() == sorted(cell.args[0]), timeout=5000)
    worklist.select_case("b1")  # its images may still be on screen from when b1 was current
    qtbot.waitUntil(lambda: window.current_case == "b1" and window._job is None, timeout=20000)
    return {"n": (n_before, metrics.result.evaluation.n), "matrix": metrics.matrix.counts.tolist(),
            "cell": sorted(cell.args[0]), "rows": rows(), "current": session.current,
            "audit": [(e.case_id, e.action, e.new_value) for e in window.project.audit()],
            "report": panels["report_dock"].case_id, "boxes": panels["box_panel"].case_id,
            "froc tab": metrics.tabs.indexOf(panels["froc_tab"]) >= 0}


def _detection_review(qtbot, window, folder) -> dict:
    panels, session = window.panels, window.session
    candidates, froc = panels["candidates_panel"], panels["froc_tab"]
    window.open_project(str(folder))
    qtbot.waitUntil(lambda: session.current == "d0" and len(candidates.rows) == 3, timeout=10000)
    candidates.decide("confirmed")                 # Y on the top candidate
    candidates.decide("rejected")                  # N on the next: a mimic
    qtbot.waitUntil(lambda: froc.report is not None and froc.report.operating_point["fp"] == 1, timeout=5000)
    return {"tabs": [panels["metrics_panel"].tabs.tabText(i) for i in range(panels["metrics_panel"].tabs.count())],
            "states": {cid: d["state"] for cid, d in window.project.candidate_states("d0").items()},
            "froc": (froc.report.n_lesions, froc.report.operating_point["tp"], froc.summary["pending"]),
            "selected": candidates.selected_id(),
            "next key": [s.toString() for s in window.context.actions.get("next").shortcuts()],
            "reject enabled": window.context.actions.get("reject candidate").isEnabled()}


def test_dock_build_order_does_not_matter(qtbot, monkeypatch, tmp_path):
    from workstation.qt import docks

    forward = list(docks.DOCK_MODULES)
    outcomes = []
    for n, order in enumerate((forward, forward[::-1])):
        binary, detection = _make_binary(tmp_path / f"b{n}"), _make_detection(tmp_path / f"d{n}")
        window = _window(qtbot, monkeypatch, order)
        try:
            outcome = _binary_review(qtbot, window, binary)
            outcome.update(_detection_review(qtbot, window, detection))
            outcome["panels"] = sorted(window.panels)
        finally:
            close_window(qtbot, window)
        outcomes.append(outcome)
    first, second = outcomes
    assert first == second
    # and it is the behaviour we mean, not two equal mistakes
    assert first["n"] == (2, 4) and first["cell"] == ["b1", "b3"] and first["rows"] == ["b1", "b3"]
    assert first["current"] == "b1" and first["report"] == "b1" and first["boxes"] == "b1"
    assert first["audit"][-2:] == [("b0", "confirm", "abnormal"), ("b1", "correct", "abnormal")]
    assert first["froc tab"] is False and first["tabs"][-1] == "FROC"
    assert first["states"] == {"c0": "confirmed", "c1": "rejected"} and first["froc"] == (1, 1, 1)
    assert first["selected"] == "c2" and first["next key"] == ["Down"] and first["reject enabled"]


def test_no_dock_looks_anything_up_on_the_window():
    offenders = []
    for path in sorted(QT.rglob("*.py")):
        if path.name == "main_window.py":
            continue
        text = path.read_text()
        for pattern in (r"getattr\(\s*(self\.)?window\b", r"findChildren\(QObject\)",
                        r"\bwindow\.(worklist|review|metrics_panel|froc_tab|model_dock|training_dock|candidates_\w+|box_\w+"
                        r"|report_dock|export_\w+|project|current_case|volume|overlays)\b"):
            offenders += [f"{path.relative_to(QT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []


def test_the_shortcut_table_has_no_key_twice_in_any_task():
    from workstation.qt.actions import SHORTCUTS, conflicts

    for task in (None, *Task.values()):
        assert conflicts(task) == {}, task
    assert SHORTCUTS["next"].keys_for(Task.DETECTION) == ("Down",) and "N" in SHORTCUTS["next"].keys


def test_every_window_shortcut_comes_from_the_table(qtbot, monkeypatch, tmp_path):
    """All enabled actions of the real window, with a binary then a detection project open: every key
    is declared in qt/actions.py, and no key triggers two actions."""
    from workstation.qt import docks
    from workstation.qt.actions import SHORTCUTS

    declared = {QKeySequence(k).toString() for sc in SHORTCUTS.values() for k in sc.keys + tuple(
        k for keys in sc.keys_by_task.values() for k in keys)}
    window = _window(qtbot, monkeypatch, docks.DOCK_MODULES)
    try:
        for folder in (_make_binary(tmp_path / "b"), _make_detection(tmp_path / "d")):
            window.open_project(str(folder))
            bound: dict[str, list[str]] = {}
            for action in window.findChildren(QAction):
                if action.isEnabled():
                    for seq in action.shortcuts():
                        bound.setdefault(seq.toString(), []).append(action.text())
            assert set(bound) <= declared, set(bound) - declared
            assert {k: v for k, v in bound.items() if len(v) > 1} == {}
    finally:
        close_window(qtbot, window)
