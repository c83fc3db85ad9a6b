"""ROIs on an oblique volume (a real MNI152 T1 block with its axes turned 30° and 20°): an ellipse
and a polygon drawn in a world plane that cuts the voxel grid at a slant have the analytic area,
and their statistics equal numpy's over every voxel of the volume tested one by one (centre in the
outline, within half a voxel of the plane)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from workstation.core.io import read_volume
from workstation.core.measurements import geometry
from workstation.core.segmentation.grid import Grid


def _rotation(ax: float, az: float) -> np.ndarray:
    cx, sx, cz, sz = np.cos(ax), np.sin(ax), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ rx


@pytest.fixture(scope="module")
def oblique():
    path = Path(importlib.util.find_spec("nilearn").origin).parent / "datasets" / "data" / \
        "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    brain = read_volume(str(path))
    block = np.ascontiguousarray(brain.array[70:110, 90:140, 70:120])  # (k, j, i), real T1 values
    direction = _rotation(np.radians(30), np.radians(20))
    grid = Grid(block.shape, (1.0, 1.2, 1.5), (-10.0, 5.0, 2.0), tuple(direction.ravel()))
    return grid, block


def _every_voxel(grid):
    kji = np.argwhere(np.ones(grid.shape, dtype=bool))
    return kji, grid.index_to_world(kji[:, ::-1])


def _slab(grid, world, centre, n):
    half = 0.5 * float(np.abs(n @ (grid.matrix * np.asarray(grid.spacing))).max())
    return np.abs((world - centre) @ n) <= half + 1e-9


def test_ellipse_in_a_slanted_plane(oblique):
    grid, image = oblique
    kji, world = _every_voxel(grid)
    c = grid.index_to_world(np.array(grid.shape[::-1]) / 2.0)
    n = np.array([0.0, 0.0, 1.0])  # an axial view: slanted against the turned grid
    u, v = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    result = geometry.measure("ellipse", [c, c + 12 * u, c + 7 * v], grid, image, normal=n)
    assert result["area_mm2"] == pytest.approx(np.pi * 12 * 7)
    rel = world - c
    inside = ((rel @ u / 12) ** 2 + (rel @ v / 7) ** 2 <= 1) & _slab(grid, world, c, n)
    values = image[tuple(kji[inside].T)].astype(float)
    assert values.size > 100 and result["voxels"] == values.size
    for key, want in (("mean", values.mean()), ("sd", values.std()), ("min", values.min()), ("max", values.max())):
        assert result[key] == pytest.approx(want)


def test_polygon_in_an_oblique_plane(oblique):
    grid, image = oblique
    kji, world = _every_voxel(grid)
    c = grid.index_to_world(np.array(grid.shape[::-1]) / 2.0)
    frame = _rotation(np.radians(-40), np.radians(65))  # a plane oblique to the world and to the grid
    u, v, n = frame[:, 0], frame[:, 1], frame[:, 2]
    corners = [c - 10 * u - 6 * v, c + 11 * u - 8 * v, c + 4 * u + 9 * v]
    result = geometry.measure("polygon", corners, grid, image, normal=n)
    a, b, d = (np.asarray(p) for p in corners)
    assert result["area_mm2"] == pytest.approx(0.5 * np.linalg.norm(np.cross(b - a, d - a)))
    rel = world - c
    xy = np.stack([rel @ u, rel @ v], axis=1)
    poly = np.array([[-10, -6], [11, -8], [4, 9]], dtype=float)
    inside = np.ones(len(xy), dtype=bool)
    for p, q in zip(poly, np.roll(poly, -1, axis=0)):  # a convex, counter-clockwise triangle
        inside &= (q[0] - p[0]) * (xy[:, 1] - p[1]) - (q[1] - p[1]) * (xy[:, 0] - p[0]) >= 0
    inside &= _slab(grid, world, np.mean(corners, axis=0), n)
    values = image[tuple(kji[inside].T)].astype(float)
    assert values.size > 50 and result["voxels"] == values.size
    assert result["mean"] == pytest.approx(values.mean()) and result["max"] == pytest.approx(values.max())
