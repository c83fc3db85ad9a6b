"""Overlays drawn by the views, checked on screenshots: sphere sections of the right radius on the
slices a sphere crosses and nothing elsewhere, label masks, heat maps, boxes, toggling."""
from __future__ import annotations

import numpy as np
import pytest

from workstation.core.review.overlays import (
    STATE_COLOURS, Box, BoxLayer, HeatMapLayer, LabelMaskLayer, Sphere, SphereLayer,
)
from workstation.core.volume import Volume
from workstation.qt.viewer.view_geometry import snap_to_slice

from viewer_helpers import grab, settle

CENTRE = np.array([3.0, -4.0, 6.0])
RADIUS = 10.0


def state_pixels(pixels: np.ndarray, state: str, tolerance: int = 40) -> np.ndarray:
    """(N, 2) x, y of the pixels drawn in a state's colour."""
    want = np.array(STATE_COLOURS[state]) * 255
    close = np.all(np.abs(pixels.astype(float) - want) < tolerance, axis=2)
    ys, xs = np.nonzero(close)
    return np.column_stack([xs, ys])


def blank_volume(spacing=(1.0, 1.0, 2.0), shape=(64, 64, 30)) -> Volume:
    size = np.asarray(shape, dtype=float)
    origin = -np.asarray(spacing) * (size - 1) / 2  # centred on world 0
    return Volume(np.zeros(shape[::-1], np.int16), spacing, origin, modality="CT")


def hide_text(viewer):
    for view in viewer.views.values():
        view.text.SetVisibility(False)
        view.cross.SetVisibility(False)


@pytest.mark.gui
def test_sphere_draws_circles_of_the_section_radius_on_crossed_slices_only(qtbot, viewer):
    volume = blank_volume()
    viewer.set_volume(volume, layout="2d")
    viewer.state.set_window(100.0, 50.0)  # all black
    viewer.state.overlays.append(SphereLayer("candidates", [Sphere("c1", CENTRE, RADIUS)]))
    view = viewer.single_view()
    assert view.orientation == "axial"
    hide_text(viewer)
    k_centre = int(round(volume.world_to_index(CENTRE)[2]))
    checked_off, checked_on = 0, 0
    for k in range(k_centre - 7, k_centre + 8):
        viewer.state.set_crosshair(snap_to_slice(volume, view.grid, CENTRE, k))
        settle(qtbot, viewer)
        slice_z = volume.index_to_world([0, 0, k])[2]
        d = abs(slice_z - CENTRE[2])
        drawn = state_pixels(grab(view), "proposed")
        if d >= RADIUS:
            assert len(drawn) == 0, f"slice z={slice_z} is {d} mm from the centre, beyond r"
            checked_off += 1
            continue
        want = np.sqrt(RADIUS ** 2 - d ** 2)
        assert len(drawn) > 10, f"no circle on slice z={slice_z}"
        centre_px = np.array(view.pixel_of(CENTRE))
        radii_mm = np.linalg.norm(drawn - centre_px, axis=1) * view.mm_per_pixel()
        assert abs(np.median(radii_mm) - want) < 0.35 + view.mm_per_pixel(), (slice_z, np.median(radii_mm), want)
        assert radii_mm.max() - radii_mm.min() < 1.5  # a circle, not a blob or an ellipse
        checked_on += 1
    assert checked_on >= 9 and checked_off >= 4


@pytest.mark.gui
def test_sphere_states_colours_selection_and_toggle(qtbot, viewer):
    volume = blank_volume()
    viewer.set_volume(volume, layout="mpr")
    viewer.state.set_window(100.0, 50.0)
    layer = SphereLayer("candidates", [Sphere("a", CENTRE, 6.0), Sphere("b", CENTRE + [20, 0, 0], 6.0)])
    viewer.state.overlays.append(layer)
    viewer.state.set_crosshair(CENTRE)
    hide_text(viewer)
    settle(qtbot, viewer)
    coronal = viewer.views["coronal"]
    assert len(state_pixels(grab(coronal), "proposed")) > 20
    layer.update("a", state="confirmed")
    layer.update("b", state="rejected")
    settle(qtbot, viewer)
    pixels = grab(coronal)
    confirmed, rejected = state_pixels(pixels, "confirmed"), state_pixels(pixels, "rejected")
    assert len(confirmed) > 20 and len(rejected) > 20 and len(state_pixels(pixels, "proposed")) == 0
    # patient's left (+x) is on the screen's right in the coronal view
    assert rejected[:, 0].mean() > confirmed[:, 0].mean()
    thin = len(confirmed)
    layer.selected = "a"
    settle(qtbot, viewer)
    assert len(state_pixels(grab(coronal), "confirmed")) > 1.5 * thin  # drawn thicker
    layer.visible = False
    settle(qtbot, viewer)
    assert len(state_pixels(grab(coronal), "confirmed")) == 0
    layer.visible = True
    viewer.state.overlays.remove(layer)
    settle(qtbot, viewer)
    assert len(state_pixels(grab(coronal), "confirmed")) == 0


@pytest.mark.gui
def test_label_mask_heat_map_and_opacity(qtbot, viewer):
    volume = blank_volume()
    viewer.set_volume(volume, layout="2d")
    viewer.state.set_window(100.0, 50.0)
    hide_text(viewer)
    mask = np.zeros(volume.array.shape, np.uint8)
    mask[:, 10:20, 40:55] = 2  # rows j 10..19 (anterior), columns i 40..54 (patient's left)
    labels = LabelMaskLayer("segmentation", mask, colours={2: (0.0, 1.0, 0.0)}, opacity=1.0)
    viewer.state.overlays.append(labels)
    view = viewer.single_view()
    settle(qtbot, viewer)
    pixels = grab(view).astype(int)
    inside = view.pixel_of(volume.index_to_world([47, 14, view.index]))
    outside = view.pixel_of(volume.index_to_world([20, 40, view.index]))
    assert tuple(pixels[round(inside[1]), round(inside[0])]) == pytest.approx((0, 255, 0), abs=10)
    assert tuple(pixels[round(outside[1]), round(outside[0])]) == pytest.approx((0, 0, 0), abs=10)
    labels.opacity = 0.5
    settle(qtbot, viewer)
    green = grab(view).astype(int)[round(inside[1]), round(inside[0]), 1]
    assert 100 < green < 160
    labels.visible = False
    heat = np.zeros(volume.array.shape, np.float32)
    heat[:, 40:50, 10:20] = 1.0
    viewer.state.overlays.append(HeatMapLayer("grad-cam", heat, colormap="hot", opacity=1.0))
    settle(qtbot, viewer)
    pixels = grab(view).astype(int)
    hot = view.pixel_of(volume.index_to_world([15, 45, view.index]))
    assert pixels[round(hot[1]), round(hot[0])].min() > 230  # top of 'hot' is white
    assert pixels[round(inside[1]), round(inside[0])].max() < 10  # zero heat is transparent


@pytest.mark.gui
def test_boxes_in_pixel_coordinates_on_a_2d_image(qtbot, viewer):
    image = np.full((200, 300), 50, np.uint8)  # a 2D picture: 300 wide, 200 high
    volume = Volume(image, spacing=(0.5, 0.5, 1.0))
    viewer.set_volume(volume)
    assert viewer.visible_views() == [viewer.views["native"]]
    viewer.state.set_window(127.5, 255.0)
    hide_text(viewer)
    boxes = BoxLayer("detections", [Box((200, 20), (280, 60), state="added")])
    viewer.state.overlays.append(boxes)
    view = viewer.single_view()
    settle(qtbot, viewer)
    drawn = state_pixels(grab(view), "added")
    assert len(drawn) > 50
    top_left = np.array(view.pixel_of(volume.index_to_world([199.5, 19.5, 0])))
    bottom_right = np.array(view.pixel_of(volume.index_to_world([280.5, 60.5, 0])))
    assert np.allclose(drawn.min(axis=0), top_left, atol=2.5)
    assert np.allclose(drawn.max(axis=0), bottom_right, atol=2.5)
    # image rows go down the screen: the box (rows 20-60 of 200) is in the top third
    assert drawn[:, 1].mean() < view.pixel_of(volume.index_to_world([150, 100, 0]))[1]
