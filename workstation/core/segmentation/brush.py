"""The sphere brush: the voxels whose centres lie within r mm of a world point, with anisotropic
spacing and any direction respected, found inside a bounding box so a dab touches only its
neighbourhood."""
from __future__ import annotations

import numpy as np

from workstation.core.segmentation.grid import Grid


def sphere_box(grid: Grid, centre, radius_mm: float, normal=None) -> tuple[tuple[slice, slice, slice], np.ndarray] | None:
    """(slices into the (k, j, i) array, boolean footprint of the same shape) for a sphere of
    radius_mm around the world point `centre`; None when it misses the grid. With `normal` (a
    view's), only the disk of it one voxel thick in that view's plane: a brush for painting slices."""
    if not radius_mm > 0:
        raise ValueError(f"a brush needs a positive radius in mm, got {radius_mm}")
    centre = np.asarray(centre, dtype=float)
    c = grid.world_to_index(centre)
    # an axis-aligned half-width in index units that holds the sphere for any direction
    reach = np.abs(np.linalg.inv(grid.matrix)) @ np.full(3, radius_mm) / np.asarray(grid.spacing)
    size_ijk = np.asarray(grid.shape[::-1])
    lo = np.maximum(np.floor(c - reach).astype(int), 0)
    hi = np.minimum(np.ceil(c + reach).astype(int) + 1, size_ijk)
    if np.any(hi <= lo):
        return None
    ii = np.arange(lo[0], hi[0]) - c[0]
    jj = np.arange(lo[1], hi[1]) - c[1]
    kk = np.arange(lo[2], hi[2]) - c[2]
    m = grid.matrix * np.asarray(grid.spacing)  # index offset -> world offset (columns)
    # world offset = m @ [di, dj, dk]; squared length summed per axis pair without a full grid of points
    d = (m[:, 0][:, None, None, None] * ii[None, None, None, :]
         + m[:, 1][:, None, None, None] * jj[None, None, :, None]
         + m[:, 2][:, None, None, None] * kk[None, :, None, None])
    inside = np.einsum("a...,a...->...", d, d) <= radius_mm * radius_mm
    if normal is not None:
        n = np.asarray(normal, dtype=float) / np.linalg.norm(normal)
        half = 0.5 * float(np.abs(n @ m).max())  # half a voxel along the normal
        inside &= np.abs(np.einsum("a,a...->...", n, d)) <= half + 1e-9
    if not inside.any():
        return None
    box = (slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0]))
    return box, inside


def sphere_mask(grid: Grid, centre, radius_mm: float) -> np.ndarray:
    out = grid.empty()
    found = sphere_box(grid, centre, radius_mm)
    if found is not None:
        box, inside = found
        out[box][inside] = 1
    return out
