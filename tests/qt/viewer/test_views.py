"""Pixel checks on screenshots of the slice views: where things appear, the linked crosshair,
window/level, slice stepping and the maximise gesture."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from workstation.qt.viewer import display
from workstation.qt.viewer.view_geometry import slice_index

from viewer_helpers import grab, grey_tolerance, image_rect, phantom, settle, sphere_fn, white_centroid

SPHERE_CENTRE = np.array([14.0, -11.0, 9.0])  # patient's left, anterior, superior of the middle
SPHERE_RADIUS = 6.0
DIRECTIONS = {
    "identity": np.eye(3),
    "flipped": np.diag([-1.0, -1.0, 1.0]),            # as NIfTI (RAS) files come out in LPS
    "permuted": np.array([[0, 0, 1], [1, 0, 0], [0, -1, 0]], dtype=float),  # sagittal-acquired
}


def world_bounds(volume) -> np.ndarray:
    size = np.asarray(volume.size, dtype=float)
    corners = np.array([[x, y, z] for x in (-0.5, size[0] - 0.5) for y in (-0.5, size[1] - 0.5)
                        for z in (-0.5, size[2] - 0.5)])
    world = volume.index_to_world(corners)
    return np.stack([world.min(axis=0), world.max(axis=0)])  # [[xmin, ymin, zmin], [xmax, ...]]


def expected_pixel(view_name, point, bounds, rect):
    """Where a world point must appear, from the view's image rectangle on screen and the
    radiological convention alone (not from the view's own mapping)."""
    (xmin, ymin, zmin), (xmax, ymax, zmax) = bounds
    x0, x1, y0, y1 = rect
    across = {"axial": (point[0] - xmin) / (xmax - xmin),      # L to the right
              "coronal": (point[0] - xmin) / (xmax - xmin),
              "sagittal": (point[1] - ymin) / (ymax - ymin)}[view_name]  # P to the right
    down = {"axial": (point[1] - ymin) / (ymax - ymin),        # P down (A up)
            "coronal": (zmax - point[2]) / (zmax - zmin),      # I down (S up)
            "sagittal": (zmax - point[2]) / (zmax - zmin)}[view_name]
    return x0 + across * (x1 - x0 + 1), y0 + down * (y1 - y0 + 1)


def hide_text(viewer):
    for view in viewer.views.values():
        view.text.SetVisibility(False)


@pytest.mark.gui
@pytest.mark.parametrize("direction", list(DIRECTIONS))
def test_sphere_appears_at_its_world_position_in_all_three_views(qtbot, viewer, direction):
    volume = phantom((48, 40, 30), (1.0, 1.25, 2.0), DIRECTIONS[direction],
                     sphere_fn(SPHERE_CENTRE, SPHERE_RADIUS))
    viewer.set_volume(volume, layout="mpr")
    viewer.state.set_window(500.0, 1000.0)
    viewer.state.set_crosshair(SPHERE_CENTRE)
    hide_text(viewer)
    settle(qtbot, viewer)
    bounds = world_bounds(volume)
    for name in ("axial", "coronal", "sagittal"):
        view = viewer.views[name]
        pixels = grab(view)
        rect = image_rect(pixels)
        found = white_centroid(pixels)
        assert found is not None, f"no sphere in the {name} view"
        want = expected_pixel(name, SPHERE_CENTRE, bounds, rect)
        mm_per_px = view.mm_per_pixel()
        assert abs(found[0] - want[0]) * mm_per_px < 1.6, (name, found, want)
        assert abs(found[1] - want[1]) * mm_per_px < 1.6, (name, found, want)
        # right aspect: the sphere is as wide as it is tall on screen, whatever the voxel shape
        mask = pixels.min(axis=2) > 200
        ys, xs = np.nonzero(mask)
        width, height = (xs.max() - xs.min() + 1) * mm_per_px, (ys.max() - ys.min() + 1) * mm_per_px
        # voxels sample the sphere: allow one voxel of the coarsest in-plane spacing either way
        coarse = max(view.grid.spacing)
        assert abs(width - height) < 1.5 * coarse, (name, width, height)
        for extent in (width, height):
            assert 2 * SPHERE_RADIUS - 2 * coarse - 1 < extent < 2 * SPHERE_RADIUS + 1, (name, extent)


@pytest.mark.gui
def test_clicking_one_view_moves_the_crosshair_in_the_others(qtbot, viewer):
    volume = phantom((48, 40, 30), (1.0, 1.25, 2.0), np.eye(3), sphere_fn(SPHERE_CENTRE, SPHERE_RADIUS))
    viewer.set_volume(volume, layout="mpr")
    viewer.state.set_window(500.0, 1000.0)
    hide_text(viewer)
    viewer.state.set_crosshair(volume.index_to_world([24, 20, 19]))  # axial slice through the sphere
    settle(qtbot, viewer)
    axial, coronal, sagittal = (viewer.views[n] for n in ("axial", "coronal", "sagittal"))
    assert white_centroid(grab(coronal)) is None and white_centroid(grab(sagittal)) is None
    found = white_centroid(grab(axial))
    assert found is not None
    qtbot.mouseClick(axial, Qt.LeftButton, pos=QPoint(round(found[0]), round(found[1])))
    settle(qtbot, viewer)
    point = viewer.state.crosshair
    assert abs(point[0] - SPHERE_CENTRE[0]) < 1.5 and abs(point[1] - SPHERE_CENTRE[1]) < 1.5
    for view in (coronal, sagittal):
        assert view.index == slice_index(volume, view.grid, point)
        assert white_centroid(grab(view)) is not None, f"{view.orientation} did not follow"
    # dragging in the coronal view moves the axial slice
    before = axial.index
    x, y = coronal.pixel_of(point)
    qtbot.mousePress(coronal, Qt.LeftButton, pos=QPoint(round(x), round(y)))
    qtbot.mouseMove(coronal, QPoint(round(x), round(y - 40)))
    qtbot.mouseRelease(coronal, Qt.LeftButton, pos=QPoint(round(x), round(y - 40)))
    settle(qtbot, viewer)
    assert axial.index > before  # up on screen is superior
    assert viewer.state.crosshair[2] == pytest.approx(point[2] + 40 * coronal.mm_per_pixel(), abs=0.5)


def _bands_volume():
    values = np.array([-100, 0, 30, 60, 90, 300], dtype=np.int16)
    array = np.repeat(values, 10)[None, None, :].repeat(30, axis=1).repeat(5, axis=0)
    from workstation.core.volume import Volume
    return Volume(array, spacing=(1.0, 1.0, 1.0), modality="CT"), values


@pytest.mark.gui
@pytest.mark.parametrize("center,width,invert", [(40.0, 80.0, False), (30.0, 200.0, False),
                                                 (0.0, 400.0, True)])
def test_window_level_gives_the_computed_grey_values(qtbot, viewer, center, width, invert):
    volume, values = _bands_volume()
    viewer.set_volume(volume, layout="2d")
    hide_text(viewer)
    viewer.state.set_window(center, width)
    viewer.state.set_invert(invert)
    view = viewer.single_view()
    viewer.state.set_crosshair(volume.index_to_world([0, 0, 2]))
    settle(qtbot, viewer)
    pixels = grab(view)
    tolerance = grey_tolerance(view)
    for band, value in enumerate(values):
        # the middle of each band, away from the crosshair lines
        x, y = view.pixel_of(volume.index_to_world([band * 10 + 4.5, 22, 2]))
        got = pixels[round(y), round(x)].astype(float)
        want = display.grey(value, center, width, invert)
        assert np.all(np.abs(got - want) <= tolerance), (value, got, want)


@pytest.mark.gui
def test_right_drag_changes_window_and_level(qtbot, viewer):
    volume, _ = _bands_volume()
    viewer.set_volume(volume, layout="2d")
    settle(qtbot, viewer)
    view = viewer.single_view()
    center, width = viewer.state.window
    qtbot.mousePress(view, Qt.RightButton, pos=QPoint(100, 100))
    qtbot.mouseMove(view, QPoint(140, 120))
    qtbot.mouseRelease(view, Qt.RightButton, pos=QPoint(140, 120))
    new_center, new_width = viewer.state.window
    assert new_width > width and new_center > center


@pytest.mark.gui
def test_keys_and_wheel_step_slices_and_show_index_and_mm(qtbot, viewer):
    volume = phantom((30, 30, 20), (1.0, 1.0, 2.5), np.eye(3), sphere_fn(SPHERE_CENTRE, 4))
    viewer.set_volume(volume, layout="mpr")
    settle(qtbot, viewer)
    axial = viewer.views["axial"]
    start, z = axial.index, viewer.state.crosshair[2]
    axial.setFocus()
    qtbot.keyClick(axial, Qt.Key_Up)
    assert axial.index == start + 1
    assert viewer.state.crosshair[2] == pytest.approx(z + 2.5)
    qtbot.keyClick(axial, Qt.Key_PageDown)
    assert axial.index == max(start + 1 - 10, 0)
    qtbot.keyClick(axial, Qt.Key_End)
    assert axial.index == 19
    text = axial.text.GetText(2)  # upper left: name, index and mm
    assert "20/20" in text and f"z = {volume.index_to_world([0, 0, 19])[2]:.1f} mm" in text
    centre = QPointF(axial.width() / 2, axial.height() / 2)
    wheel = QWheelEvent(centre, axial.mapToGlobal(centre), QPoint(0, 0), QPoint(0, -120),
                        Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(axial, wheel)
    assert axial.index == 18
    scale = axial.renderer.GetActiveCamera().GetParallelScale()
    zoom = QWheelEvent(centre, axial.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 240),
                       Qt.NoButton, Qt.ControlModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(axial, zoom)
    assert axial.index == 18
    assert axial.renderer.GetActiveCamera().GetParallelScale() == pytest.approx(scale / 1.21)


@pytest.mark.gui
def test_double_click_maximises_and_restores(qtbot, viewer):
    volume = phantom((30, 30, 20), (1.0, 1.0, 2.5), np.eye(3), sphere_fn(SPHERE_CENTRE, 4))
    viewer.set_volume(volume, layout="mpr")
    settle(qtbot, viewer)
    coronal = viewer.views["coronal"]
    qtbot.mouseDClick(coronal, Qt.LeftButton, pos=QPoint(50, 50))
    assert viewer.visible_views() == [coronal]
    assert not viewer.views["axial"].isVisible()
    qtbot.mouseDClick(coronal, Qt.LeftButton, pos=QPoint(50, 50))
    assert len(viewer.visible_views()) == 3 and viewer.views["axial"].isVisible()


@pytest.mark.gui
def test_readout_gives_voxel_world_and_value(qtbot, viewer):
    volume = phantom((30, 30, 20), (1.0, 1.0, 2.5), np.eye(3), sphere_fn(SPHERE_CENTRE, 4))
    viewer.set_volume(volume, layout="mpr")
    settle(qtbot, viewer)
    axial = viewer.views["axial"]
    texts = []
    viewer.state.readout_changed.connect(texts.append)
    x, y = axial.pixel_of(volume.index_to_world([3, 4, axial.index]))
    qtbot.mouseMove(axial, QPoint(round(x), round(y)))
    world = volume.index_to_world([3, 4, axial.index])
    assert texts, "no readout"
    assert texts[-1] == (f"voxel (3, 4, {axial.index})  LPS ({world[0]:.1f}, {world[1]:.1f}, "
                         f"{world[2]:.1f}) mm  value {volume.array[axial.index, 4, 3]}")


@pytest.mark.gui
def test_volume_rendering_pane_shows_the_volume_and_spheres(qtbot, viewer):
    from workstation.core.review.overlays import Sphere, SphereLayer

    volume = phantom((48, 40, 30), (1.0, 1.25, 2.0), np.eye(3), sphere_fn(SPHERE_CENTRE, SPHERE_RADIUS, outside=-1000))
    viewer.set_volume(volume, layout="mpr3d")
    qtbot.waitUntil(lambda: viewer.volume_view is not None and viewer.volume_view.volume_actor is not None,
                    timeout=60_000)
    view3d = viewer.volume_view
    assert view3d.mapper_name == "CPU ray-cast"  # Xvfb has no GPU: the software renderer is detected
    view3d.text.SetVisibility(False)
    view3d.GetRenderWindow().Render()
    settle(qtbot, viewer)
    pixels = grab(view3d).astype(int)
    background = pixels[2, -3]
    lit = np.abs(pixels - background).max(axis=2) > 40
    assert lit.sum() > 50
    ys, xs = np.nonzero(lit)
    # seen from the front, the patient's left (+x) is on the screen's right, superior is up
    assert xs.mean() > pixels.shape[1] / 2 and ys.mean() < pixels.shape[0] / 2
    viewer.state.overlays.append(SphereLayer("c", [Sphere("a", (-14.0, 8.0, -9.0), 5.0, state="added")]))
    qtbot.wait(50)
    pixels = grab(view3d).astype(int)
    green = (pixels[:, :, 1] > 120) & (pixels[:, :, 0] < 100) & (pixels[:, :, 2] < 140)
    ys, xs = np.nonzero(green)
    assert len(xs) > 20 and xs.mean() < pixels.shape[1] / 2  # patient's right: screen left


def test_panes_of_a_hidden_layout_wait_and_catch_up_when_shown(qtbot, viewer):
    """Slice steps in the 2D layout leave the hidden sagittal and coronal panes alone (the step
    costs one pane's work), and they show the crosshair's slices when the MPR layout appears."""
    volume = phantom((40, 48, 30), (1.0, 1.0, 2.0), np.eye(3), lambda p: p[:, 0])
    viewer.set_volume(volume, layout="2d")
    settle(qtbot, viewer)
    axial, sagittal = viewer.views["axial"], viewer.views["sagittal"]
    assert axial.isVisible() and not sagittal.isVisible()
    before = sagittal.index
    for _ in range(5):
        axial.step_slice(1)
    viewer.state.set_crosshair(viewer.state.crosshair + np.array([7.0, 0.0, 0.0]))
    assert sagittal.index == before  # not touched while hidden
    viewer.set_layout("mpr")
    settle(qtbot, viewer)
    point = viewer.state.crosshair
    for name in ("axial", "sagittal", "coronal"):
        view = viewer.views[name]
        assert view.isVisible() and view.index == slice_index(volume, view.grid, point), name
