"""An axis-aligned view's slice taken straight from the voxels (view_geometry.voxel_plane) is the
reslice's output, voxel for voxel, in every orientation of every axis-aligned volume; other
volumes are left to the reslice."""
from __future__ import annotations

import numpy as np
import pytest
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkImagingCore import vtkImageReslice

from workstation.core.volume import Volume
from workstation.qt.viewer import view_geometry as vg
from workstation.qt.viewer.overlay_actors import set_matrix
from workstation.qt.viewer.viewer_state import to_vtk_image

DIRECTIONS = {
    "identity": np.eye(3),
    "flipped": np.diag([-1.0, -1.0, 1.0]),
    "permuted": np.array([[0, 0, 1], [1, 0, 0], [0, -1, 0]], dtype=float),
    "all negative": np.array([[0, -1, 0], [0, 0, -1], [-1, 0, 0]], dtype=float),
}


def resliced(volume, frame, grid, axes) -> np.ndarray:
    matrix = vtkMatrix4x4()
    set_matrix(matrix, axes)
    reslice = vtkImageReslice()
    reslice.SetInputData(to_vtk_image(volume.array))
    reslice.SetOutputDimensionality(2)
    reslice.SetResliceAxes(matrix)
    reslice.SetInterpolationModeToNearestNeighbor()
    reslice.AutoCropOutputOff()
    reslice.SetOutputSpacing(grid.spacing[0], grid.spacing[1], 1.0)
    reslice.SetOutputOrigin(grid.origin[0], grid.origin[1], 0.0)
    reslice.SetOutputExtent(0, grid.size[0] - 1, 0, grid.size[1] - 1, 0, 0)
    reslice.SetBackgroundLevel(-32768)
    reslice.Update()
    out = reslice.GetOutput()
    return numpy_support.vtk_to_numpy(out.GetPointData().GetScalars()).reshape(grid.size[1], grid.size[0])


def every_slice(volume):
    """(orientation, frame, grid, index, offset) of every slice of every standard view."""
    for name in ("axial", "coronal", "sagittal"):
        frame = vg.standard_frame(name)
        grid = vg.slice_grid(volume, frame)
        for index in range(grid.count):
            point = vg.snap_to_slice(volume, grid, volume.index_to_world(np.array(volume.size) / 2.0), index)
            yield name, frame, grid, index, vg.slice_offset(volume, grid, point, vg.slice_index(volume, grid, point))


@pytest.mark.parametrize("direction", list(DIRECTIONS))
def test_plane_is_what_the_reslice_gives(direction):
    rng = np.random.default_rng(1)
    array = rng.integers(-3000, 3000, size=(7, 9, 11), dtype=np.int16)  # k, j, i: all sizes differ
    volume = Volume(array, spacing=(0.7, 1.1, 2.5), origin=(3.0, -4.0, 12.0), direction=DIRECTIONS[direction])
    checked = 0
    for name, frame, grid, index, offset in every_slice(volume):
        axes = vg.reslice_axes(volume, frame, offset)
        plane = vg.voxel_plane(volume.array, axes, grid)
        assert plane is not None, (name, index)
        assert np.array_equal(plane, resliced(volume, frame, grid, axes)), (direction, name, index)
        checked += 1
    assert checked == 7 + 9 + 11


def test_oblique_volumes_and_outside_planes_are_left_to_the_reslice():
    theta = 0.3
    rotation = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    volume = Volume(np.zeros((5, 6, 7), np.int16), direction=rotation)
    frame = vg.standard_frame("axial")
    grid = vg.slice_grid(volume, frame)
    assert vg.voxel_plane(volume.array, vg.reslice_axes(volume, frame, 0.0), grid) is None
    upright = Volume(np.zeros((5, 6, 7), np.int16))
    grid = vg.slice_grid(upright, frame)
    outside = vg.reslice_axes(upright, frame, 100.0)  # a plane beyond the last slice
    assert vg.voxel_plane(upright.array, outside, grid) is None
    between = vg.reslice_axes(upright, frame, -2.5)  # half-way between slices 2 and 3 (en is -z)
    assert vg.voxel_plane(upright.array, between, grid) is None


@pytest.mark.parametrize("oblique", [False, True])
def test_label_layer_shows_the_resliced_labels_cropped_to_them(oblique):
    from workstation.core.review.overlays import LabelMaskLayer
    from workstation.qt.viewer.overlay_actors import _GridActor

    theta = 0.3 if oblique else 0.0
    rotation = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    labels = np.zeros((6, 20, 24), np.uint8)
    labels[2:4, 5:9, 7:15] = 1
    labels[3, 12, 18] = 2
    volume = Volume(np.zeros(labels.shape, np.int16), spacing=(0.8, 0.9, 2.0), direction=rotation)
    actor = _GridActor(LabelMaskLayer("mask", labels))
    for name, _, grid, index, offset in every_slice(volume):
        actor.actor.SetVisibility(True)
        actor.place(volume, grid, offset)
        assert actor._via_plane is not oblique
        want = resliced_labels(actor)
        shown = actor.actor.GetMapper().GetInput()
        nx, ny, _ = shown.GetDimensions()
        assert (nx, ny) == tuple(grid.size)
        got = numpy_support.vtk_to_numpy(shown.GetPointData().GetScalars()).reshape(ny, nx)
        assert np.array_equal(got, want), (name, index)
        rows, cols = np.flatnonzero(want.any(axis=1)), np.flatnonzero(want.any(axis=0))
        if rows.size:
            assert actor.actor.GetVisibility()
            assert actor.actor.GetDisplayExtent()[:4] == (cols[0], cols[-1], rows[0], rows[-1])
        else:
            assert not actor.actor.GetVisibility()
    labels[4, 0, 0] = 3  # edited in place, as a brush does
    actor.refresh_data()
    frame = vg.standard_frame("axial")
    grid = vg.slice_grid(volume, frame)
    point = vg.snap_to_slice(volume, grid, volume.index_to_world([0.0, 0.0, 4.0]), 4)
    actor.place(volume, grid, vg.slice_offset(volume, grid, point, 4))
    shown = actor.actor.GetMapper().GetInput()
    assert numpy_support.vtk_to_numpy(shown.GetPointData().GetScalars()).max() == (3 if not oblique else
                                                                                   resliced_labels(actor).max())


def resliced_labels(actor) -> np.ndarray:
    actor.reslice.Update()
    out = actor.reslice.GetOutput()
    nx, ny, _ = out.GetDimensions()
    return numpy_support.vtk_to_numpy(out.GetPointData().GetScalars()).reshape(ny, nx).copy()
