"""A brush stroke driven by mouse events in the axial view is stored as the reader's mask: the
saved .nii.gz holds exactly the voxels within the brush radius of the world points under the
mouse, the audit has its sha256, undo (the session's) takes the stroke back, redo brings it again,
and a line drawn with the mouse is stored as a measurement of the right length."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from workstation.core.segmentation import store
from workstation.core.segmentation.brush import sphere_mask
from workstation.core.segmentation.grid import Grid


def _axial(window):
    return window.viewer.views["axial"]  # the MPR layout a volume opens in shows it


def test_stroke_is_stored(qtbot, seg_window):
    panel = seg_window.panels["segmentation_panel"]
    project = seg_window.session.project
    assert panel.add_segment("lesion") == "lesion"
    panel.tool.setCurrentText("Paint")
    panel.radius.setValue(4.0)
    view = _axial(seg_window)
    qtbot.waitUntil(lambda: view.isVisible() and view.grid is not None, timeout=10000)
    cx, cy = view.width() // 2, view.height() // 2
    path = [QPoint(cx - 30 + 6 * n, cy) for n in range(11)]
    worlds = [view.world_at(p.x(), p.y()) for p in path]
    with qtbot.waitSignal(panel.saved, timeout=20000):
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, path[0])
        for p in path[1:]:
            qtbot.mouseMove(view, p)
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, path[-1])
    grid = Grid.of(seg_window.viewer.volume)
    expected = np.zeros(grid.shape, dtype=np.uint8)
    for w in worlds:
        expected |= sphere_mask(grid, w, 4.0)
    (version,) = store.latest_versions(project, "brain", "alice")
    saved, _ = store.load_mask(project, version)
    # mouse moves may be coalesced: the first and last dabs are certain, the stroke lies on the path
    assert saved.sum() > 0 and np.all(saved <= expected)
    for w in (worlds[0], worlds[-1]):
        assert np.all(saved[sphere_mask(grid, w, 4.0) != 0] == 1)
    assert [h["sha256"] for h in store.history(project, "brain", "alice", "lesion")] == [version.sha256]
    # the overlay shows what was stored, and the axial view's slice of it (edited in place) has it
    assert np.array_equal(panel.display.layer.array != 0, saved != 0)
    from vtkmodules.util.numpy_support import vtk_to_numpy

    (actor,) = [a for a in view.overlays.grid_actors.values() if a.layer is panel.display.layer]
    actor.reslice.Update()
    shown = vtk_to_numpy(actor.reslice.GetOutput().GetPointData().GetScalars())
    k = int(round(grid.world_to_index(worlds[0])[2]))
    assert np.count_nonzero(shown) == np.count_nonzero(saved[k])
    stored_hash = panel.editor.sha256("lesion")
    with qtbot.waitSignal(panel.restored, timeout=20000):
        panel.undo()
    assert store.latest_versions(project, "brain", "alice") == [] and project.verify().ok
    assert panel.editor.volume_mm3("lesion") == 0 and not panel.display.layer.array.any()
    with qtbot.waitSignal(panel.restored, timeout=20000):
        panel.redo()
    assert panel.editor.sha256("lesion") == stored_hash  # the exact stroke again
    assert [e.action for e in project.audit("brain") if e.candidate_id == "seg:lesion"] == ["correct", "undo", "redo"]

    panel.tool.setCurrentText("Line")
    a, b = QPoint(cx - 40, cy - 20), QPoint(cx + 40, cy + 20)
    wa, wb = view.world_at(a.x(), a.y()), view.world_at(b.x(), b.y())
    with qtbot.waitSignal(panel.measured, timeout=10000):
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
        qtbot.mouseMove(view, b)
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    from workstation.core.measurements import store as mstore

    (m,) = mstore.measurements(project, "brain", "alice")
    assert m.result["length_mm"] == pytest.approx(float(np.linalg.norm(wb - wa)), rel=1e-6)
    assert panel.measurements.count() == 1
    # drawn in the axial view with its text: the segment's two ends at the mouse positions
    qtbot.waitUntil(lambda: any(t.GetVisibility() and t.GetInput() == f"{m.result['length_mm']:.1f} mm"
                                for t in view.overlays.labels), timeout=5000)
    from vtkmodules.util.numpy_support import vtk_to_numpy

    drawn = vtk_to_numpy(view.overlays._mappers[0].GetInput().GetPoints().GetData())[:, :2]
    ends = view.frame.to_scene(np.stack([wa, wb]))
    assert all(np.min(np.linalg.norm(drawn - e, axis=1)) < 1e-6 for e in ends)

    # an ellipse ROI in the axial view: its statistics are the stored values inside it
    panel.tool.setCurrentText("Ellipse")
    c, corner = QPoint(cx, cy), QPoint(cx + 50, cy + 30)
    wc, wk = view.world_at(c.x(), c.y()), view.world_at(corner.x(), corner.y())
    with qtbot.waitSignal(panel.measured, timeout=10000):
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, c)
        qtbot.mouseMove(view, corner)
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, corner)
    ellipse = mstore.measurements(project, "brain", "alice")[-1]
    a, b = abs(wk[0] - wc[0]), abs(wk[1] - wc[1])
    assert ellipse.kind == "ellipse" and ellipse.result["area_mm2"] == pytest.approx(np.pi * a * b, rel=1e-6)
    volume = seg_window.viewer.volume
    kji = np.argwhere(np.ones(volume.array.shape, bool)[k:k + 1]) + [k, 0, 0]
    xyz = grid.index_to_world(kji[:, ::-1])
    inside = ((xyz[:, 0] - wc[0]) / a) ** 2 + ((xyz[:, 1] - wc[1]) / b) ** 2 <= 1
    values = volume.array[tuple(kji[inside].T)].astype(float)
    assert ellipse.result["voxels"] == values.size and ellipse.result["mean"] == pytest.approx(values.mean())
    panel.measurements.setCurrentRow(0)
    panel.delete_measurement()
    assert [m.kind for m in mstore.measurements(project, "brain", "alice")] == ["ellipse"]
    assert panel.measurements.count() == 1
    project.undo()  # the project's undo brings the deleted line back, and the list follows
    qtbot.waitUntil(lambda: panel.measurements.count() == 2, timeout=5000)


def test_detector_candidates_become_the_readers_segment(qtbot, seg_window):
    from workstation.core.project import PredictionRecord

    panel = seg_window.panels["segmentation_panel"]
    project = seg_window.session.project
    project.add_predictions([PredictionRecord("brain", {"microbleed": 0.9}, "cmb-detector", "1.0", candidates=[
        {"id": "k1", "centre": [10.0, -20.0, 5.0], "diameter_mm": 8.0, "score": 0.9}])])
    panel.add_segment("cmb")
    with qtbot.waitSignal(panel.saved, timeout=20000):
        panel.from_candidates()
    versions = {v.reader: v for v in store.latest_versions(project, "brain")}
    assert versions["alice"].mask_sha256 == versions["model:cmb-detector"].mask_sha256
    assert versions["alice"].volume_mm3 == pytest.approx(4 / 3 * np.pi * 4 ** 3, rel=0.1)
    with qtbot.waitSignal(panel.restored, timeout=20000):
        panel.undo()  # the reader's copy goes; the model's stays
    versions = {v.reader: v for v in store.latest_versions(project, "brain")}
    assert "alice" not in versions and versions["model:cmb-detector"].voxels > 0
    assert panel.editor.volume_mm3("cmb") == 0
    # another reader starts from their own (empty) masks, never from alice's
    with qtbot.waitSignal(panel.restored, timeout=20000):
        panel.redo()
    seg_window.session.set_reader("bob")
    qtbot.waitUntil(lambda: panel.reader == "bob", timeout=5000)
    assert panel.editor.volume_mm3("cmb") == 0


def test_angle_and_polygon_by_clicks(qtbot, seg_window):
    from workstation.core.measurements import geometry
    from workstation.core.measurements import store as mstore

    panel = seg_window.panels["segmentation_panel"]
    project = seg_window.session.project
    view = _axial(seg_window)
    qtbot.waitUntil(lambda: view.isVisible() and view.grid is not None, timeout=10000)
    cx, cy = view.width() // 2, view.height() // 2
    panel.tool.setCurrentText("Angle")
    clicks = [QPoint(cx + 60, cy), QPoint(cx, cy), QPoint(cx, cy - 60)]
    worlds = [view.world_at(p.x(), p.y()) for p in clicks]
    with qtbot.waitSignal(panel.measured, timeout=10000):
        for p in clicks:
            qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
    (angle,) = mstore.measurements(project, "brain", "alice")
    assert angle.result["angle_deg"] == pytest.approx(90.0, abs=1e-6)
    assert angle.result["angle_deg"] == pytest.approx(geometry.angle_degrees(worlds))

    panel.tool.setCurrentText("Polygon")
    corners = [QPoint(cx - 40, cy - 30), QPoint(cx + 50, cy - 20), QPoint(cx + 30, cy + 40)]
    cw = [view.world_at(p.x(), p.y()) for p in corners]
    with qtbot.waitSignal(panel.measured, timeout=10000):
        for p in corners:
            qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
        qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, corners[-1])
    poly = mstore.measurements(project, "brain", "alice")[-1]
    a, b, c = (np.asarray(w) for w in cw)
    assert poly.kind == "polygon"
    assert poly.result["area_mm2"] == pytest.approx(0.5 * np.linalg.norm(np.cross(b - a, c - a)), rel=1e-6)
    assert seg_window.viewer.maximised is None  # the double-click closed the polygon, it did not maximise


def test_interpolation_between_strokes_in_the_coronal_view(qtbot, seg_window):
    panel = seg_window.panels["segmentation_panel"]
    project = seg_window.session.project
    panel.add_segment("vessel")
    panel.tool.setCurrentText("Paint")
    panel.radius.setValue(4.0)
    panel.sphere.setChecked(False)  # a disk in the coronal slice
    view = seg_window.viewer.views["coronal"]
    qtbot.waitUntil(lambda: view.isVisible() and view.grid is not None, timeout=10000)
    centre = QPoint(view.width() // 2, view.height() // 2)
    for step in (0, 8):  # two coronal slices 8 voxels apart, one dab each
        with qtbot.waitSignal(panel.saved, timeout=20000):
            qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
            qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
        if step == 0:
            view.step_slice(8)
    mask = panel.editor.mask("vessel")
    filled_before = int(np.count_nonzero(mask.any(axis=(0, 2))))
    assert filled_before == 2  # two coronal (j) slices painted
    with qtbot.waitSignal(panel.saved, timeout=20000):
        panel.interpolate()
    assert int(np.count_nonzero(panel.editor.mask("vessel").any(axis=(0, 2)))) == 9
    (v,) = [v for v in store.latest_versions(project, "brain", "alice") if v.segment == "vessel"]
    assert v.voxels == int(panel.editor.mask("vessel").sum())
