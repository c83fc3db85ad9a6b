"""Headless checks of the view geometry (numpy only) and of the core overlay model."""
from __future__ import annotations

import numpy as np
import pytest

from workstation.core.review.overlays import (
    Box, BoxLayer, HeatMapLayer, LabelMaskLayer, OverlayList, Sphere, SphereLayer, sphere_sections,
)
from workstation.core.volume import Volume
from workstation.qt.viewer import display
from workstation.qt.viewer import view_geometry as vg
def test_standard_frames_follow_the_radiological_convention():
    assert vg.standard_frame("axial").letters() == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert vg.standard_frame("coronal").letters() == {"left": "R", "right": "L", "top": "S", "bottom": "I"}
    assert vg.standard_frame("sagittal").letters() == {"left": "A", "right": "P", "top": "S", "bottom": "I"}
    assert vg.side_letters([0.8, 0.0, 0.6]) == "LS"
    for name in vg.STANDARD_FRAMES:
        frame = vg.standard_frame(name)
        assert np.allclose(frame.matrix.T @ frame.matrix, np.eye(3))


ROTATIONS = [np.eye(3), np.diag([-1.0, -1.0, 1.0]), np.array([[0, 0, 1], [1, 0, 0], [0, -1, 0]], float)]


@pytest.mark.parametrize("direction", ROTATIONS)
@pytest.mark.parametrize("view", ["axial", "coronal", "sagittal"])
def test_reslice_axes_map_view_points_onto_the_right_voxels(direction, view):
    volume = Volume(np.zeros((12, 10, 8), np.int16), spacing=(0.7, 1.3, 2.5), origin=(5.0, -3.0, 11.0),
                    direction=direction)
    frame = vg.standard_frame(view)
    grid = vg.slice_grid(volume, frame)
    rng = np.random.default_rng(0)
    for _ in range(20):
        u, v, s = rng.uniform(-20, 20, size=3)
        m = vg.reslice_axes(volume, frame, s)
        ijk = (m @ [u, v, 0.0, 1.0])[:3]
        assert np.allclose(volume.index_to_world(ijk), frame.to_world(u, v, s))
    # pixels have the voxel size of the axes they run along: the right aspect on screen
    along = [int(np.argmax(np.abs(direction.T @ d))) for d in (frame.ex, frame.ey)]
    assert grid.spacing == pytest.approx([volume.spacing[a] for a in along])
    u0, u1, v0, v1 = grid.extent_mm
    assert (u1 - u0) == pytest.approx(volume.size[along[0]] * volume.spacing[along[0]])
    assert (v1 - v0) == pytest.approx(volume.size[along[1]] * volume.spacing[along[1]])


def test_slices_step_by_voxels_along_the_normal():
    volume = Volume(np.zeros((20, 8, 8), np.int16), spacing=(1.0, 1.0, 2.5), origin=(0, 0, -10.0))
    grid = vg.slice_grid(volume, vg.standard_frame("axial"))
    assert grid.axis == 2 and grid.count == 20
    point = volume.index_to_world([3, 4, 7.4])
    assert vg.slice_index(volume, grid, point) == 7
    snapped = vg.snap_to_slice(volume, grid, point, 12)
    assert np.allclose(snapped, volume.index_to_world([3, 4, 12]))
    assert vg.slice_index(volume, grid, volume.index_to_world([0, 0, 99])) == 19  # clipped


def test_native_frame_of_a_picture_has_rows_going_down():
    picture = Volume(np.zeros((30, 40), np.uint8))
    frame = vg.native_frame(picture)
    assert np.allclose(frame.ex, [1, 0, 0]) and np.allclose(frame.ey, [0, -1, 0])
    assert vg.acquisition_plane(Volume(np.zeros((5, 5, 5)), direction=ROTATIONS[2])) == "sagittal"


def test_sphere_sections():
    centres = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 10.0]])
    hit, cc, cr = sphere_sections(centres, [5.0, 2.0], (0.0, 0.0, 1.0), 3.0)
    assert hit.tolist() == [0]
    assert np.allclose(cc, [[0, 0, 3]]) and cr == pytest.approx([4.0])
    hit, _, _ = sphere_sections(centres, [5.0, 2.0], (0.0, 0.0, 1.0), 5.0)
    assert hit.size == 0  # touching is not crossing


def test_sphere_layer_events_and_validation():
    layer = SphereLayer("cands", [Sphere("a", (1, 2, 3), 4.0)])
    changes, selected = [], []
    layer.events.changed.connect(lambda: changes.append(1))
    layer.events.selected.connect(selected.append)
    new = layer.update("a", state="confirmed")
    assert new.state == "confirmed" and new.colour == (1.0, 0.25, 0.25)
    layer.add(Sphere("b", (0, 0, 0), 1.0, state="added"))
    layer.selected = "b"
    layer.remove("b")
    assert selected == ["b"] and layer.selected is None and len(changes) == 4
    with pytest.raises(ValueError):
        Sphere("c", (0, 0, 0), 1.0, state="maybe")
    with pytest.raises(ValueError):
        Sphere("c", (0, 0, 0), 0.0)
    with pytest.raises(ValueError):
        layer.add(Sphere("a", (0, 0, 0), 1.0))
    layer.opacity = 3.0
    assert layer.opacity == 1.0


def test_overlay_list_put_find_and_types():
    overlays = OverlayList()
    inserted, changed = [], []
    overlays.events.inserted.connect(lambda i, layer: inserted.append(layer.name))
    overlays.events.changed.connect(lambda *args: changed.append(args))
    mask = LabelMaskLayer("seg", np.zeros((3, 4, 5), np.uint8))
    overlays.append(mask)
    replacement = LabelMaskLayer("seg", np.ones((3, 4, 5), np.uint8))
    overlays.put(replacement)
    assert overlays.find("seg") is replacement and len(overlays) == 1 and inserted == ["seg"]
    overlays.put(HeatMapLayer("cam", np.random.default_rng(0).random((3, 4, 5))))
    assert [layer.name for layer in overlays] == ["seg", "cam"]
    overlays.remove_named("seg")
    assert [layer.name for layer in overlays] == ["cam"]
    with pytest.raises(TypeError):
        overlays.append("not a layer")
    with pytest.raises(ValueError):
        LabelMaskLayer("bad", np.zeros((3, 4, 5), np.float32))
    assert mask.fits(Volume(np.zeros((3, 4, 5)))) and not mask.fits(Volume(np.zeros((3, 4, 6))))


def test_pixel_boxes_cover_whole_voxels_in_world_mm():
    grid = Volume(np.zeros((1, 100, 200)), spacing=(0.5, 0.25, 1.0), origin=(10.0, 20.0, 0.0))
    layer = BoxLayer("boxes", [Box((10, 20), (30, 40), label="x")], coords="pixel")
    ((box, corners),) = layer.world_corners(grid)
    assert corners.min(axis=0) == pytest.approx([10 + 9.5 * 0.5, 20 + 19.5 * 0.25, -0.5])
    assert corners.max(axis=0) == pytest.approx([10 + 30.5 * 0.5, 20 + 40.5 * 0.25, 0.5])


def test_grey_mapping_and_presets():
    assert display.grey([-10, 0, 20, 40, 80, 100], 40, 80).tolist() == [0, 0, 63.75, 127.5, 255, 255]
    assert display.grey(40, 40, 80, invert=True) == 127.5
    ct = Volume(np.full((3, 4, 4), -1000, np.int16), modality="CT")
    ct.array[1] = 50
    assert display.preset_names(ct)[:len(display.CT_PRESETS)] == list(display.CT_PRESETS)
    assert display.initial_window(ct) == display.CT_PRESETS["CT abdomen"]
    xray = Volume(np.zeros((10, 10), np.uint16), modality="CR", window=(550.0, 1024.0))
    assert display.preset_names(xray)[0] == display.HEADER_PRESET
    assert display.initial_window(xray) == (550.0, 1024.0)
    mr = Volume(np.arange(1000, dtype=np.float32).reshape(10, 10, 10), modality="MR")
    center, width = display.preset_window(mr, "Auto 1-99%")
    assert center == pytest.approx(499.5) and width == pytest.approx(np.percentile(np.arange(1000), 99) - np.percentile(np.arange(1000), 1))


def test_picture_letters_come_from_patient_orientation_only():
    from workstation.qt.viewer.slice_view import _picture_letters

    xray = Volume(np.zeros((10, 10), np.uint16), modality="DX", metadata={"PatientOrientation": "P\\F"})
    assert _picture_letters(xray) == {"right": "P", "left": "A", "bottom": "F", "top": "H"}
    assert set(_picture_letters(Volume(np.zeros((10, 10)), modality="US")).values()) == {""}
