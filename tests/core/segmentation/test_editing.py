"""The brush, the range-limited tools, island removal and per-stroke undo of the editor."""
from __future__ import annotations

import math

import numpy as np
import pytest

from workstation.core.segmentation.editor import EditError, SegmentationEditor, mask_sha256
from workstation.core.segmentation.grid import Grid


def _rotation(deg_z: float, deg_x: float) -> np.ndarray:
    a, b = math.radians(deg_z), math.radians(deg_x)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    return rz @ rx


@pytest.mark.parametrize("direction", [np.eye(3), _rotation(30, 20)])
@pytest.mark.parametrize("radius", [6.0, 12.0])
def test_sphere_volume_on_anisotropic_grid(direction, radius):
    grid = Grid((60, 140, 120), (0.7, 0.45, 2.5), (-30.0, 12.0, -70.0), tuple(direction.ravel()))
    centre = grid.index_to_world([60, 70, 30])
    ed = SegmentationEditor(grid)
    ed.dab("lesion", centre, radius)
    expected = 4.0 / 3.0 * math.pi * radius ** 3
    assert abs(ed.volume_mm3("lesion") - expected) / expected < 0.05
    # every painted voxel centre is within the radius (world mm), the nearest outside ones are not
    kji = np.argwhere(ed.mask("lesion"))
    dist = np.linalg.norm(grid.index_to_world(kji[:, ::-1]) - centre, axis=1)
    assert dist.max() <= radius


def test_erase_and_undo_restore_the_exact_mask():
    grid = Grid((40, 64, 64), (1.0, 1.0, 2.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    ed = SegmentationEditor(grid)
    ed.begin()
    for x in range(10, 40, 3):
        ed.dab("s", (x, 30.0, 40.0), 5.0)
    ed.end()
    painted = ed.sha256("s")
    ed.begin()
    for x in range(12, 30, 2):  # overlapping dabs in one stroke
        ed.dab("s", (x, 32.0, 40.0), 3.0, erase=True)
    ed.end()
    erased = ed.sha256("s")
    assert erased != painted
    assert ed.undo() is not None and ed.sha256("s") == painted
    assert ed.redo() is not None and ed.sha256("s") == erased
    ed.undo()
    ed.undo()
    assert ed.sha256("s") == mask_sha256(grid.empty()) and not ed.can_undo()


def test_paint_limited_to_a_range_and_region_fill(mni152_path):
    from workstation.core.io import read_volume

    vol = read_volume(mni152_path)
    grid = Grid.of(vol)
    ed = SegmentationEditor(grid, vol.array)
    centre = vol.index_to_world([98, 116, 94])
    lo, hi = np.percentile(vol.array[vol.array > 0], [60, 100])
    ed.dab("wm", centre, 8.0, value_range=(lo, hi))
    painted = ed.mask("wm").astype(bool)
    assert painted.any()
    assert np.all((vol.array[painted] >= lo) & (vol.array[painted] <= hi))
    # the same sphere without a range paints strictly more
    free = SegmentationEditor(grid, vol.array)
    free.dab("wm", centre, 8.0)
    assert free.mask("wm").sum() > painted.sum()
    # region fill: connected, in range, holds the seed, and no in-range voxel touches it from outside
    seed = vol.index_to_world(np.argwhere(painted)[0][::-1])
    fill = SegmentationEditor(grid, vol.array)
    fill.fill_region("wm", seed, (lo, hi))
    region = fill.mask("wm").astype(bool)
    from scipy import ndimage

    assert ndimage.label(region)[1] == 1
    assert np.all((vol.array[region] >= lo) & (vol.array[region] <= hi))
    rim = ndimage.binary_dilation(region) & ~region
    assert not np.any((vol.array[rim] >= lo) & (vol.array[rim] <= hi))
    with pytest.raises(EditError, match="outside the range"):
        fill.fill_region("wm", vol.index_to_world([2, 2, 2]), (lo, hi))


def test_island_removal_keeps_the_largest_piece():
    grid = Grid((50, 50, 50), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    ed = SegmentationEditor(grid)
    ed.dab("s", (15, 15, 15), 8.0)
    big = ed.mask("s").copy()
    ed.dab("s", (38, 38, 38), 3.0)
    ed.dab("s", (40, 10, 40), 2.0)
    assert ed.remove_islands("s") > 0
    assert np.array_equal(ed.mask("s"), big)
    ed.undo()
    assert ed.mask("s").sum() > big.sum()


def test_range_needs_the_image_and_a_proper_interval():
    grid = Grid((10, 10, 10), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    with pytest.raises(EditError, match="needs the image"):
        SegmentationEditor(grid).dab("s", (5, 5, 5), 2.0, value_range=(0, 1))
    with pytest.raises(EditError, match="empty"):
        SegmentationEditor(grid, np.zeros(grid.shape)).dab("s", (5, 5, 5), 2.0, value_range=(3, 1))


def test_disk_brush_stays_in_its_slice():
    grid = Grid((30, 80, 80), (0.5, 0.5, 2.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    ed = SegmentationEditor(grid)
    centre = grid.index_to_world([40, 40, 12])
    ed.dab("s", centre, 6.0, normal=(0, 0, 1))
    mask = ed.mask("s")
    assert np.nonzero(mask.any(axis=(1, 2)))[0].tolist() == [12]
    area = mask.sum() * 0.25
    assert abs(area - math.pi * 36) / (math.pi * 36) < 0.05
    # in a coronal plane (normal along y) the disk spans slices of k but a single row j
    ed2 = SegmentationEditor(grid)
    ed2.dab("s", centre, 6.0, normal=(0, 1, 0))
    assert np.nonzero(ed2.mask("s").any(axis=(0, 2)))[0].tolist() == [40]
