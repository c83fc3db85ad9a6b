"""Candidate review in the main window: Y/N/Tab/A decisions land in the project store and its audit
trail, Ctrl+Z undoes them, circles are drawn on the slices a candidate crosses (read back from the
screen), the MARS region counts follow the phantom's regions, and the FROC tab follows decisions."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from workstation.core.review.overlays import STATE_COLOURS

from candidates_helpers import grab

K = Qt.Key


def _states(window):
    return {cid: d["state"] for cid, d in window.project.candidate_states("ph0").items()}


def _press(qtbot, window, key, mod=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(window, key, mod)


@pytest.mark.gui
def test_keys_store_decisions_with_audit_and_undo(qtbot, review_window):
    w, panel = review_window, review_window.candidates_panel
    assert [r["score"] for r in panel.rows] == sorted((c["score"] for c in w.candidates), reverse=True)
    assert panel.selected_id() == "microbleeds-0"
    assert np.linalg.norm(w.crosshair - np.array(w.candidates[0]["centre"])) < 1.0  # crosshair on it

    _press(qtbot, w, K.Key_Y)                     # confirm the top candidate, go to the next one
    assert _states(w) == {"microbleeds-0": "confirmed"}
    assert panel.selected_id() == "microbleeds-1"
    _press(qtbot, w, K.Key_Tab)                   # skip microbleeds-1
    assert panel.selected_id() == "microbleeds-2"
    assert np.linalg.norm(w.crosshair - np.array(w.candidates[2]["centre"])) < 1.0
    _press(qtbot, w, K.Key_N)                     # reject it as a mimic
    assert _states(w)["microbleeds-2"] == "rejected"
    assert panel.selected_id() == "microbleeds-3"  # the next one still proposed
    assert w.overlays.find("candidates").get("microbleeds-2").state == "rejected"

    audit = [a for a in w.project.audit("ph0") if a.candidate_id]
    assert [(a.candidate_id, a.new_value["state"], a.reader, a.action) for a in audit] == [
        ("microbleeds-0", "confirmed", "alice", "confirm"), ("microbleeds-2", "rejected", "alice", "correct")]
    assert audit[0].shown["plugin_id"] == "microbleeds"

    panel.diameter.setValue(6.5)
    point = np.array(w.candidates[0]["centre"]) + np.array([20.0, 10.0, 0.0])
    w.set_crosshair(point)
    _press(qtbot, w, K.Key_A)                     # a microbleed the detector missed
    new = [cid for cid, d in w.project.candidate_states("ph0").items() if d["state"] == "added"]
    assert len(new) == 1
    added = w.project.candidate_states("ph0")[new[0]]
    assert added["diameter"] == 6.5
    assert np.allclose(added["centre"], w.crosshair)
    assert w.overlays.find("candidates").get(new[0]).radius == pytest.approx(3.25)
    assert len(panel.rows) == len(w.candidates) + 1

    _press(qtbot, w, K.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo the addition
    qtbot.waitUntil(lambda: len(panel.rows) == len(w.candidates))
    assert new[0] not in w.project.candidate_states("ph0")
    _press(qtbot, w, K.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo the rejection
    qtbot.waitUntil(lambda: "microbleeds-2" not in _states(w))
    assert [a.action for a in w.project.audit("ph0")][-2:] == ["undo", "undo"]


@pytest.mark.gui
def test_add_by_click(qtbot, review_window):
    w, panel = review_window, review_window.candidates_panel
    view = w.viewer.views["axial"]
    panel.click_add.setChecked(True)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(view.width() // 3, view.height() // 2))
    qtbot.waitUntil(lambda: "added-1" in w.project.candidate_states("ph0"))
    added = w.project.candidate_states("ph0")["added-1"]
    assert np.allclose(added["centre"], w.crosshair) and not panel.click_add.isChecked()


def _colour_pixels(pixels, state, tolerance=40):
    want = np.array(STATE_COLOURS[state]) * 255
    return int(np.all(np.abs(pixels.astype(float) - want) < tolerance, axis=2).sum())


@pytest.mark.gui
def test_circles_drawn_on_crossed_slices_only(qtbot, review_window):
    w, panel = review_window, review_window.candidates_panel
    _press(qtbot, w, K.Key_Y)        # microbleeds-0 becomes the only red (confirmed) one
    w.set_layout("2d")
    view = w.viewer.single_view()
    assert view.orientation == "axial"
    view.text.SetVisibility(False)
    view.cross.SetVisibility(False)
    centre = np.array(w.candidates[0]["centre"])
    radius = w.candidates[0]["diameter_mm"] / 2

    def red_at(dz):
        w.set_crosshair(centre + [0.0, 0.0, dz], center=True)
        for _ in range(3):
            qtbot.wait(50)
            w.viewer.flush()
        return _colour_pixels(grab(view), "confirmed")

    assert red_at(0.0) > 10                     # the slice through its centre
    assert red_at(radius + 2.0) == 0            # slices it does not reach
    assert red_at(-(radius + 2.0)) == 0
    w.overlays.find("candidates").visible = False
    assert red_at(0.0) == 0                     # the layer's check box hides it


@pytest.mark.gui
def test_region_counts_follow_the_phantom_regions(qtbot, review_window):
    w, panel = review_window, review_window.candidates_panel
    _press(qtbot, w, K.Key_Y)
    _press(qtbot, w, K.Key_Y)
    qtbot.waitUntil(lambda: all(r["id"] in panel.regions for r in panel.rows), timeout=60000)
    expected = {"lobar": 0, "deep": 0, "infratentorial": 0}
    for lesion in w.truth["lesions"][:2]:
        expected[lesion["region"]] += 1
    assert panel.region_counts() == expected
    assert f"lobar {expected['lobar']}" in panel.counts.text()


@pytest.mark.gui
def test_froc_tab_follows_the_readers_decisions(qtbot, review_window):
    w, tab = review_window, review_window.froc_tab
    assert w.metrics_panel.tabs.indexOf(tab) >= 0
    assert tab.report is None
    _press(qtbot, w, K.Key_Y)        # 0.95 confirmed
    qtbot.waitUntil(lambda: tab.report is not None)
    _press(qtbot, w, K.Key_Y)        # 0.85 confirmed
    _press(qtbot, w, K.Key_Tab)      # leave 0.7 undecided (pending, not counted)
    _press(qtbot, w, K.Key_N)        # 0.6 rejected: a false positive
    qtbot.waitUntil(lambda: tab.report is not None and tab.report.operating_point["fp"] == 1)
    op = tab.report.operating_point
    assert (tab.report.n_subjects, tab.report.n_lesions) == (1, 2)
    assert (op["tp"], op["fp"], op["sensitivity"], op["precision"]) == (2, 1, 1.0, pytest.approx(2 / 3))
    assert tab.summary["pending"] == 2
    assert list(tab.report.froc.fp_per_subject) == [0.0, 0.0, 1.0]
    assert list(tab.report.froc.sensitivity) == [0.5, 1.0, 1.0]

    w.set_crosshair(np.array(w.candidates[0]["centre"]) + [25.0, 0.0, 0.0])
    _press(qtbot, w, K.Key_A)        # a missed microbleed: sensitivity drops to 2/3
    qtbot.waitUntil(lambda: tab.report.n_lesions == 3)
    assert tab.report.operating_point["sensitivity"] == pytest.approx(2 / 3)
    assert "CPM" in tab.status.text()


@pytest.mark.gui
def test_other_tasks_get_no_froc_tab_and_keep_n_for_next_case(qtbot, review_window, tmp_path):
    from pydicom.data import get_testdata_file

    from workstation.core.project import Project

    w = review_window
    assert [s.toString() for s in w.context.actions.get("next").shortcuts()] == ["Down"]  # N belongs to the candidates here
    binary = Project.create(tmp_path / "bin", "binary", ["normal", "abnormal"])
    binary.add_case([get_testdata_file("CT_small.dcm")], case_id="ct")
    binary.close()
    w.open_project(str(tmp_path / "bin"))
    assert w.metrics_panel.tabs.indexOf(w.froc_tab) < 0
    assert not w.candidates_panel.actions["reject candidate"].isEnabled()
    assert [s.toString() for s in w.context.actions.get("next").shortcuts()] == ["N", "Down"]
    assert w.overlays.find("candidates") is None
