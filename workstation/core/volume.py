"""The image model shared by readers, viewers, plugins and export.

World frame: LPS millimetres, as DICOM and ITK use (x grows to the patient's Left, y to Posterior,
z to Superior). A voxel index (i, j, k) maps to world as

    world = origin + direction @ (spacing * [i, j, k])

where `direction` is a 3x3 matrix whose *columns* are the unit vectors of the i, j and k axes
(ITK's convention; `direction.ravel()` is ITK's row-major 9-tuple).

The voxel array is stored in numpy order: `array[k, j, i]` for grey images and `array[k, j, i, c]`
for colour (RGB) images. A 2D image is a volume of one slice (k = 0).

Values are the stored values after the DICOM modality rescale (slope/intercept), in the narrowest
honest dtype: the file's own integer type when there is no rescale, int16/int32 when slope and
intercept are integers, float32 otherwise; readers never make float64 copies.

`invert` is True for DICOM MONOCHROME1 images (higher values are darker): the values and the header
window stay as stored, and a viewer must reverse its grey ramp. `display_oriented()` gives a copy
with the values flipped for consumers (models, exports) that expect "bright = high".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Volume:
    array: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    modality: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)
    window: tuple[float, float] | None = None  # (center, width) for display; None = from data
    series_uid: str = ""
    description: str = ""
    frames: int = 1
    warnings: list[str] = field(default_factory=list)
    invert: bool = False  # MONOCHROME1: show with the grey ramp reversed

    def __post_init__(self) -> None:
        self.array = np.asarray(self.array)
        if self.array.ndim == 2:
            self.array = self.array[np.newaxis]
        if self.array.ndim not in (3, 4):
            raise ValueError(f"a volume needs 2, 3 or 4 array dimensions, got shape {self.array.shape}")
        self.spacing = tuple(float(s) for s in self.spacing)
        self.origin = tuple(float(o) for o in self.origin)
        self.direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        if len(self.spacing) != 3 or len(self.origin) != 3 or min(self.spacing) <= 0:
            raise ValueError(f"bad geometry: spacing {self.spacing}, origin {self.origin}")

    @property
    def is_rgb(self) -> bool:
        return self.array.ndim == 4

    @property
    def size(self) -> tuple[int, int, int]:
        """Voxel counts along i, j, k (x, y, z), the order `info` reports."""
        k, j, i = self.array.shape[:3]
        return (i, j, k)

    @property
    def kind(self) -> str:
        return "2d" if self.array.shape[0] == 1 else "3d"

    def index_to_world(self, ijk) -> np.ndarray:
        ijk = np.asarray(ijk, dtype=float)
        return np.asarray(self.origin) + (ijk * np.asarray(self.spacing)) @ self.direction.T

    def world_to_index(self, xyz) -> np.ndarray:
        """Continuous voxel index (i, j, k) of world points (LPS mm); round it for a voxel."""
        xyz = np.asarray(xyz, dtype=float) - np.asarray(self.origin)
        return (xyz @ np.linalg.inv(self.direction).T) / np.asarray(self.spacing)

    def default_window(self) -> tuple[float, float]:
        """(center, width): the header's VOI window, else the 1st-99th percentile of the data."""
        if self.window is not None:
            return self.window
        sample = self.array[..., 0] if self.is_rgb else self.array
        step = max(1, sample.size // 1_000_000)
        flat = sample.ravel()[::step]
        flat = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
        if flat.size == 0:
            return (0.0, 1.0)
        lo, hi = np.percentile(flat, [1, 99])
        if hi <= lo:
            lo, hi = float(flat.min()), float(flat.max())
        return ((lo + hi) / 2.0, max(float(hi - lo), 1e-6))

    def stats(self) -> tuple[float, float, float, int]:
        """(min, max, mean, non_finite_count) over all voxels (and channels), ignoring NaN/Inf."""
        a = self.array
        if a.size == 0:
            return (float("nan"), float("nan"), float("nan"), 0)
        lo, hi = a.min(), a.max()
        if a.dtype.kind != "f" or (np.isfinite(lo) and np.isfinite(hi)):
            return (float(lo), float(hi), float(a.mean(dtype=np.float64)), 0)
        finite = np.isfinite(a)
        bad = int(a.size - np.count_nonzero(finite))
        if bad == a.size:
            return (float("nan"), float("nan"), float("nan"), bad)
        values = a[finite]
        return (float(values.min()), float(values.max()), float(values.mean(dtype=np.float64)), bad)

    def display_oriented(self) -> np.ndarray:
        """The array with MONOCHROME1 values flipped (min <-> max) so that bright means high; the
        array itself when `invert` is False."""
        if not self.invert:
            return self.array
        lo, hi = self.array.min(), self.array.max()
        out = hi - self.array  # integer overflow here wraps, and adding lo wraps back into range
        out += lo
        return out
