"""Localisation boxes in the real main window: a mouse drag in the 2D view stores a box whose pixel
coordinates match the image geometry, the box is drawn on screen (read back from a screenshot),
Delete and Ctrl+Z go through the project's audited store, and a heat map becomes stored boxes."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from workstation.core.review.overlays import STATE_COLOURS, HeatMapLayer

pytestmark = pytest.mark.gui


def grab(window) -> np.ndarray:
    image = window.screen().grabWindow(window.winId()).toImage().convertToFormat(QImage.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buf.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def _screen_of_edge(view, volume, x_edge, y_edge) -> tuple[float, float]:
    """Display position (view's logical pixels) of a pixel-edge point (x, y) of the image:
    edge x of the image is index x - 0.5."""
    return view.pixel_of(volume.index_to_world(np.array([x_edge - 0.5, y_edge - 0.5, 0.0])))


def _near_colour(pixels, colour, tolerance=60):
    return np.all(np.abs(pixels.astype(int) - np.array(colour) * 255) <= tolerance, axis=-1)


def test_drag_stores_box_at_image_pixels_and_draws_it(qtbot, box_window):
    w, panel = box_window, box_window.box_panel
    view, volume = w.viewer.single_view(), w.volume
    assert view.orientation == "native" and volume.array.shape == (1, 1955, 1841)
    panel.finding.setCurrentText("Pneumothorax")
    target = (400.0, 300.0, 900.0, 1100.0)  # x0, y0, x1, y1: pixel edges of the box we mean to draw
    a = _screen_of_edge(view, volume, target[0], target[1])
    b = _screen_of_edge(view, volume, target[2], target[3])
    assert a[0] < b[0] and a[1] < b[1]  # column goes right, row goes down on screen: the NIH convention
    qtbot.mouseClick(w.box_dock.widget().draw, Qt.MouseButton.LeftButton)
    assert panel.draw.isChecked()
    crosshair = w.crosshair
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(round(a[0]), round(a[1])))
    mid = QPoint(round((a[0] + b[0]) / 2), round((a[1] + b[1]) / 2))
    qtbot.mouseMove(view, mid)
    qtbot.waitUntil(lambda: w.overlays.find("box being drawn") is not None)  # the rubber band
    qtbot.mouseMove(view, QPoint(round(b[0]), round(b[1])))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(round(b[0]), round(b[1])))
    qtbot.waitUntil(lambda: len(w.project.boxes("chest")) == 1)
    assert np.allclose(w.crosshair, crosshair)  # drawing does not move the crosshair
    assert w.overlays.find("box being drawn") is None

    box = w.project.boxes("chest")[0]
    tolerance = view.mm_per_pixel() / volume.spacing[0] + 1.0  # one screen pixel, plus rounding to pixels
    assert (box.finding, box.reader, box.source, box.box_id) == ("Pneumothorax", "alice", "reader", "box:1")
    assert abs(box.x - target[0]) <= tolerance and abs(box.y - target[1]) <= tolerance
    assert abs(box.x + box.w - target[2]) <= tolerance and abs(box.y + box.h - target[3]) <= tolerance
    assert all(float(v).is_integer() for v in (box.x, box.y, box.w, box.h))
    entry = w.project.audit("chest")[-1]
    assert (entry.candidate_id, entry.action, entry.reader, entry.new_value["state"]) == ("box:1", "correct", "alice", "drawn")
    assert panel.table.rowCount() == 1 and panel.table.item(0, 0).text() == "Pneumothorax"
    assert [panel.table.item(0, c).text() for c in (1, 2, 3, 4)] == [f"{v:g}" for v in (box.x, box.y, box.w, box.h)]

    layer = w.overlays.find("boxes")
    drawn = layer.boxes[0]
    assert drawn.lo[:2] == (box.x, box.y) and drawn.hi[:2] == (box.x + box.w - 1, box.y + box.h - 1)
    w.viewer.flush()
    qtbot.wait(200)
    pixels = grab(w)
    if os.environ.get("BOX_SCREENSHOT"):
        from PySide6.QtGui import QImage as _Q

        _Q(pixels.data, pixels.shape[1], pixels.shape[0], pixels.shape[1] * 3, _Q.Format_RGB888).save(
            os.environ["BOX_SCREENSHOT"])
    green = _near_colour(pixels, STATE_COLOURS["added"])
    origin = view.mapTo(w, QPoint(0, 0))
    x0, y0 = origin.x() + round(a[0]), origin.y() + round(a[1])
    x1, y1 = origin.x() + round(b[0]), origin.y() + round(b[1])
    assert x1 < pixels.shape[1] - 3 and y1 < pixels.shape[0] - 3, "the box must lie on the (Xvfb) screen"
    xs, ys = slice(x0 + 10, x1 - 10), slice(y0 + 10, y1 - 10)
    for edge in (green[y0 - 2:y0 + 3, xs], green[y1 - 2:y1 + 3, xs], green[ys, x0 - 2:x0 + 3].T, green[ys, x1 - 2:x1 + 3].T):
        assert edge.any(axis=0).mean() > 0.95  # each side of the box is a green line on screen
    assert green[y0 + 20:y1 - 20, x0 + 20:x1 - 20].mean() < 0.01  # and the inside is the image


def test_delete_and_ctrl_z_undo(qtbot, box_window):
    w, panel = box_window, box_window.box_panel
    view = w.viewer.single_view()
    panel.draw.setChecked(True)
    first = panel.draw_between(view, (view.width() * 0.3, view.height() * 0.3), (view.width() * 0.45, view.height() * 0.5))
    second = panel.draw_between(view, (view.width() * 0.55, view.height() * 0.4), (view.width() * 0.7, view.height() * 0.6))
    assert (first, second) == ("box:1", "box:2")
    assert panel.draw_between(view, (100, 100), (100, 100)) is None  # a click is no box
    panel.begin_at(view, view.width() * 0.2, view.height() * 0.2)
    panel.drag_to(view.width() * 0.4, view.height() * 0.4)
    assert w.overlays.find("box being drawn") is not None
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # stops drawing: no box, no rubber band
    assert w.overlays.find("box being drawn") is None and not panel.draw.isChecked()
    assert [b.box_id for b in w.project.boxes("chest")] == ["box:1", "box:2"]

    panel.table.setCurrentCell(0, 0)
    assert w.overlays.find("boxes").boxes[0].state == "confirmed"  # the selected box is red
    qtbot.mouseClick(panel.delete, Qt.MouseButton.LeftButton)
    assert [b.box_id for b in w.project.boxes("chest")] == ["box:2"]
    assert [b.id for b in w.overlays.find("boxes").boxes] == ["box:2"]

    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo the deletion
    qtbot.waitUntil(lambda: [b.id for b in w.overlays.find("boxes").boxes] == ["box:1", "box:2"])
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo the second box
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1)
    assert [b.box_id for b in w.project.boxes("chest")] == ["box:1"]
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2)
    assert [(a.candidate_id, a.action) for a in w.project.audit("chest")] == [
        ("box:1", "correct"), ("box:2", "correct"), ("box:1", "correct"), ("box:1", "undo"), ("box:2", "undo"),
        ("box:2", "redo")]


def test_boxes_from_heat_map_land_in_the_store(qtbot, box_window):
    w, panel = box_window, box_window.box_panel
    volume = w.volume
    rows, cols = volume.array.shape[1:]
    jj, ii = np.mgrid[0:rows, 0:cols]
    big = np.exp(-(((ii - 1300) / 180.0) ** 2 + ((jj - 1200) / 140.0) ** 2))
    small = 0.8 * np.exp(-(((ii - 500) / 60.0) ** 2 + ((jj - 600) / 50.0) ** 2))
    heat = (big + small).astype(np.float32)
    w.overlays.put(HeatMapLayer("heat map", heat, volume, value_range=(0.0, 1.0)))  # as the model dock shows Grad-CAM
    panel.finding.setCurrentText("Effusion")
    panel.threshold.setValue(0.5)
    qtbot.mouseClick(panel.from_heatmap, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(w.project.boxes("chest")) == 2)

    level = heat.min() + 0.5 * (heat.max() - heat.min())
    expected = []
    for centre in ((1300, 1200), (500, 600)):  # each blob's region above the level, found independently
        near = (np.abs(ii - centre[0]) < 400) & (np.abs(jj - centre[1]) < 400) & (heat >= level)
        c, r = np.nonzero(near.T)
        expected.append((c.min(), r.min(), c.max() - c.min() + 1, r.max() - r.min() + 1))
    stored = w.project.boxes("chest")
    assert [(b.x, b.y, b.w, b.h) for b in stored] == [tuple(float(v) for v in e) for e in expected]
    assert all((b.source, b.reader, b.finding) == ("heatmap", "alice", "Effusion") for b in stored)
    assert stored[0].score == pytest.approx(float(heat.max()), rel=1e-6) and stored[1].score < stored[0].score
    assert [a.action for a in w.project.audit("chest")] == ["confirm", "confirm"]
    assert [b.state for b in w.overlays.find("boxes").boxes] == ["proposed", "proposed"]  # yellow: from a model

    w.overlays.remove_named("heat map")
    qtbot.mouseClick(panel.from_heatmap, Qt.MouseButton.LeftButton)
    assert len(w.project.boxes("chest")) == 2 and "no heat map" in w.statusBar().currentMessage()
