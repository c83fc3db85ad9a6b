"""Detection truth as a label mask: a ball of each finding's radius, painted on the image's grid."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workstation.core.volume import Volume

from workstation.core.export.records import Point


def points_mask(volume: Volume, points: Sequence[Point], classes: Sequence[str]) -> np.ndarray:
    """A uint8 array shaped like the volume's grid ([k, j, i]); voxels whose centres lie within a
    point's radius get the point's class number (1 for the first class), 0 elsewhere. The voxel
    nearest each centre is always painted, so findings smaller than a voxel are not lost."""
    shape = volume.array.shape[:3]
    mask = np.zeros(shape, dtype=np.uint8)
    spacing = np.asarray(volume.spacing)
    upper = np.asarray(shape[::-1]) - 1  # i, j, k maxima
    for p in points:
        value = classes.index(p.label) + 1 if p.label in classes else 1
        centre = np.array([p.x, p.y, p.z], dtype=float)
        index = volume.world_to_index(centre)
        # the direction matrix is orthonormal, so a ball of radius r spans r / spacing voxels per axis
        reach = np.ceil(max(p.radius_mm, 0.0) / spacing) + 1
        lo = np.clip(np.floor(index - reach), 0, upper).astype(int)
        hi = np.clip(np.ceil(index + reach), 0, upper).astype(int)
        if np.any(index < -0.5) or np.any(index > upper + 0.5):
            continue  # outside the image: reported by the caller, not painted on the border
        ii, jj, kk = np.meshgrid(*(np.arange(a, b + 1) for a, b in zip(lo, hi)), indexing="ij")
        ijk = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1)
        inside = np.linalg.norm(volume.index_to_world(ijk) - centre, axis=1) <= p.radius_mm
        sel = ijk[inside]
        mask[sel[:, 2], sel[:, 1], sel[:, 0]] = value
        nearest = np.clip(np.round(index), 0, upper).astype(int)
        mask[nearest[2], nearest[1], nearest[0]] = value
    return mask


def outside(volume: Volume, point: Point) -> bool:
    index = volume.world_to_index([point.x, point.y, point.z])
    upper = np.asarray(volume.array.shape[:3][::-1]) - 1
    return bool(np.any(index < -0.5) or np.any(index > upper + 0.5))
