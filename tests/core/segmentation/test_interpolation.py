"""Filling between painted slices: two disks of different radii give a cone."""
from __future__ import annotations

import math

import numpy as np

from workstation.core.segmentation.editor import SegmentationEditor
from workstation.core.segmentation.grid import Grid
from workstation.core.segmentation.interpolation import interpolate_slices


def _disk(shape2d, centre_ij, radius_px):
    jj, ii = np.mgrid[:shape2d[0], :shape2d[1]]
    return ((ii - centre_ij[0]) ** 2 + (jj - centre_ij[1]) ** 2 <= radius_px ** 2).astype(np.uint8)


def test_two_disks_give_a_cone():
    spacing_kji = (2.0, 0.5, 0.5)
    mask = np.zeros((17, 120, 120), dtype=np.uint8)
    r_top, r_bottom = 24.0, 8.0  # pixels (12 mm and 4 mm)
    mask[2] = _disk((120, 120), (60, 60), r_top)
    mask[14] = _disk((120, 120), (60, 60), r_bottom)
    out = interpolate_slices(mask, axis=0, spacing=spacing_kji, use_itk=False)
    assert np.array_equal(out[2], mask[2]) and np.array_equal(out[14], mask[14])
    assert not out[:2].any() and not out[15:].any()
    for k in range(3, 14):
        t = (k - 2) / 12
        r = (1 - t) * r_top + t * r_bottom
        # the radius of a disk of the same area: linear in k within the half pixel of digitising
        r_equal = math.sqrt(out[k].sum() / math.pi)
        assert abs(r_equal - r) < 0.6, (k, r_equal, r)
        # still a disk around the same centre
        jj, ii = np.nonzero(out[k])
        assert abs(ii.mean() - 60) < 0.5 and abs(jj.mean() - 60) < 0.5
        assert np.hypot(ii - 60, jj - 60).max() <= r + 1


def test_editor_interpolation_is_one_undoable_stroke():
    grid = Grid((17, 120, 120), (0.5, 0.5, 2.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    ed = SegmentationEditor(grid)
    ed.dab("s", grid.index_to_world([60, 60, 2]), 6.0)
    ed.dab("s", grid.index_to_world([60, 60, 14]), 3.0)
    before = ed.sha256("s")
    assert ed.interpolate("s") > 0
    assert all(ed.mask("s")[k].any() for k in range(1, 16))
    ed.undo()
    assert ed.sha256("s") == before
