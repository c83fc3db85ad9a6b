"""A brush stroke redraws the view painted on, once per dab; the other views wait and redraw once at
the stroke's end, and then show the stroke (their label layer drawn only over the labelled box)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from vtkmodules.util.numpy_support import vtk_to_numpy


def _count_renders(view) -> list[int]:
    count = [0]
    view.GetRenderWindow().AddObserver("EndEvent", lambda *_: count.__setitem__(0, count[0] + 1))
    return count


def test_only_the_painted_view_redraws_during_a_stroke(qtbot, seg_window):
    panel = seg_window.panels["segmentation_panel"]
    panel.add_segment("lesion")
    panel.tool.setCurrentText("Paint")
    panel.radius.setValue(4.0)
    views = seg_window.viewer.views
    axial, others = views["axial"], [views["coronal"], views["sagittal"]]
    qtbot.waitUntil(lambda: all(v.isVisible() and v.grid is not None for v in [axial, *others]), timeout=10000)
    qtbot.wait(200)  # the first frames are drawn
    counts = {v.orientation: _count_renders(v) for v in [axial, *others]}
    # through the crosshair's point, so the other views' slices cut the stroke
    cx, cy = (int(round(c)) for c in axial.pixel_of(seg_window.viewer.state.crosshair))
    qtbot.mousePress(axial, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(cx, cy))
    for n in range(1, 6):
        qtbot.mouseMove(axial, QPoint(cx + 2 * n, cy))
        qtbot.wait(30)
    assert counts["axial"][0] >= 3
    assert counts["coronal"][0] == 0 and counts["sagittal"][0] == 0
    with qtbot.waitSignal(panel.saved, timeout=20000):
        qtbot.mouseRelease(axial, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(cx + 10, cy))
    qtbot.waitUntil(lambda: counts["coronal"][0] >= 1 and counts["sagittal"][0] >= 1, timeout=5000)
    for view in others:
        (actor,) = [a for a in view.overlays.grid_actors.values() if a.layer is panel.display.layer]
        assert actor.actor.GetVisibility()
        out = actor.actor.GetMapper().GetInput()  # the slice of labels the view shows
        nx, ny, _ = out.GetDimensions()
        labels = vtk_to_numpy(out.GetPointData().GetScalars()).reshape(ny, nx)
        rows, cols = np.flatnonzero(labels.any(axis=1)), np.flatnonzero(labels.any(axis=0))
        assert rows.size and actor.actor.GetDisplayExtent()[:4] == (cols[0], cols[-1], rows[0], rows[-1])
