"""Geometry and value-scale checks shared by the readers: a position, spacing or direction that is
not finite, a direction that is not orthonormal, a rescale that is not a number. Each refuses the
file with a reason (`ImageReadError`) instead of drawing it in the wrong place."""
from __future__ import annotations

import math

import numpy as np

from workstation.core.io.errors import ImageReadError

_UNIT_TOLERANCE = 1e-2  # direction cosines are often written with 4-6 digits
_ORTHO_TOLERANCE = 1e-2  # |cos| between axes: about 0.6 degrees off a right angle


def orientation_cosines(path, orientation, what: str = "ImageOrientationPatient") -> np.ndarray | None:
    """Row and column cosines (2 x 3, made unit length and exactly orthogonal), None when there is
    no orientation; refuses a non-finite, zero, non-unit or non-orthogonal one."""
    if orientation is None:
        return None
    values = np.asarray(orientation, dtype=float).ravel()
    if values.size != 6:
        raise ImageReadError(path, f"{what} has {values.size} values, not 6")
    if not np.all(np.isfinite(values)):
        raise ImageReadError(path, f"{what} is not finite ({_show(values)})")
    row, col = values[:3], values[3:]
    for name, vector in (("row", row), ("column", col)):
        norm = float(np.linalg.norm(vector))
        if abs(norm - 1.0) > _UNIT_TOLERANCE:
            raise ImageReadError(path, f"{what} is not a direction: its {name} vector has length {norm:.4g} "
                                       f"({_show(values)})")
    row = row / np.linalg.norm(row)
    col = col / np.linalg.norm(col)
    cosine = float(row @ col)
    if abs(cosine) > _ORTHO_TOLERANCE:
        raise ImageReadError(path, f"{what} is not orthogonal: row and column vectors at "
                                   f"{math.degrees(math.acos(max(-1.0, min(1.0, cosine)))):.2f} degrees")
    col = col - cosine * row  # exactly orthogonal, so the direction matrix is a rotation
    return np.vstack([row, col / np.linalg.norm(col)])


def finite_position(path, position, what: str = "ImagePositionPatient"):
    """`position` (None when absent) if it is three finite numbers; else refuses the file."""
    if position is None:
        return None
    if len(position) != 3:
        raise ImageReadError(path, f"{what} has {len(position)} values, not 3")
    if not all(math.isfinite(v) for v in position):
        raise ImageReadError(path, f"{what} is not finite ({_show(position)})")
    return tuple(float(v) for v in position)


def finite_rescale(path, slopes, intercepts) -> None:
    for name, values in (("RescaleSlope", slopes), ("RescaleIntercept", intercepts)):
        bad = next((v for v in values if not math.isfinite(v)), None)
        if bad is not None:
            raise ImageReadError(path, f"{name} is not a finite number ({bad})")


def geometry(path, spacing, origin, direction, orthonormal: bool = True) -> None:
    """Spacing finite and positive, origin finite, direction finite and (unless `orthonormal` is
    False: ITK gives a 2D image of an oblique plane the in-plane part of a 3D rotation) orthonormal,
    as any reader must return them."""
    spacing = np.asarray(spacing, dtype=float)
    origin = np.asarray(origin, dtype=float)
    direction = np.asarray(direction, dtype=float)
    if not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        raise ImageReadError(path, f"voxel spacing is not a positive number ({_show(spacing)})")
    if not np.all(np.isfinite(origin)):
        raise ImageReadError(path, f"origin is not finite ({_show(origin)})")
    if not np.all(np.isfinite(direction)):
        raise ImageReadError(path, "direction is not finite")
    deviation = float(np.max(np.abs(direction.T @ direction - np.eye(direction.shape[0]))))
    if orthonormal and deviation > 1e-3:
        raise ImageReadError(path, f"direction is not orthonormal (off by {deviation:.3g})")


def _show(values) -> str:
    return " ".join(f"{float(v):.6g}" for v in values)
