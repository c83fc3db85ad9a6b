"""The image grid a mask lives on: array shape (k, j, i) with the volume's spacing, origin and
direction, and the world (LPS mm) <-> voxel index maps of `workstation.core.volume`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    shape: tuple[int, int, int]          # numpy order (k, j, i)
    spacing: tuple[float, float, float]  # along i, j, k (mm)
    origin: tuple[float, float, float]
    direction: tuple[float, ...]         # ITK's row-major 9-tuple (columns are the i, j, k axes)

    @classmethod
    def of(cls, volume) -> "Grid":
        return cls(tuple(int(n) for n in volume.array.shape[:3]), tuple(float(s) for s in volume.spacing),
                   tuple(float(o) for o in volume.origin),
                   tuple(float(v) for v in np.asarray(volume.direction, dtype=float).ravel()))

    @property
    def matrix(self) -> np.ndarray:
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    def index_to_world(self, ijk) -> np.ndarray:
        ijk = np.asarray(ijk, dtype=float)
        return np.asarray(self.origin) + (ijk * np.asarray(self.spacing)) @ self.matrix.T

    def world_to_index(self, xyz) -> np.ndarray:
        xyz = np.asarray(xyz, dtype=float) - np.asarray(self.origin)
        return (xyz @ np.linalg.inv(self.matrix).T) / np.asarray(self.spacing)

    @property
    def voxel_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def same_as(self, other: "Grid", tol: float = 1e-4) -> bool:
        return (self.shape == other.shape and np.allclose(self.spacing, other.spacing, atol=tol)
                and np.allclose(self.origin, other.origin, atol=tol)
                and np.allclose(self.direction, other.direction, atol=tol))

    def empty(self) -> np.ndarray:
        return np.zeros(self.shape, dtype=np.uint8)
