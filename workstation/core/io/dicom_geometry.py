"""Geometry of a stack of DICOM slices (files of a series, or frames of a multi-frame file).

Slices are sorted by ImagePositionPatient projected on the slice normal, and the slice spacing is
the median step between those projections: SliceThickness is the thickness of the excited slab, not
the distance between slices, and is never used. Irregular stacks are read as they are, with warnings
(non-uniform spacing, missing slices, duplicated positions, gantry tilt).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_DUPLICATE_MM = 1e-3
_TILT_DEGREES = 0.5  # positions are often rounded to 0.1 mm; this stays well above that noise


@dataclass
class StackGeometry:
    order: list[int]  # indices of the input slices, sorted along the normal
    origin: tuple[float, float, float]
    direction: np.ndarray  # columns: i (row direction), j (column direction), k (normal)
    slice_spacing: float
    warnings: list[str] = field(default_factory=list)


def orientation_matrix(orientation) -> np.ndarray:
    """3x3 direction from ImageOrientationPatient (row cosines, column cosines)."""
    if orientation is None or len(orientation) != 6:
        return np.eye(3)
    row = np.asarray(orientation[:3], dtype=float)
    col = np.asarray(orientation[3:], dtype=float)
    if np.linalg.norm(row) < 1e-6 or np.linalg.norm(col) < 1e-6:
        return np.eye(3)
    row /= np.linalg.norm(row)
    col /= np.linalg.norm(col)
    normal = np.cross(row, col)
    if np.linalg.norm(normal) < 1e-6:
        return np.eye(3)
    return np.column_stack([row, col, normal / np.linalg.norm(normal)])


def stack_geometry(positions, orientation, tiebreak=None, fallback_spacing: float | None = None) -> StackGeometry:
    """Sort slices and derive origin, direction and slice spacing.

    positions: one ImagePositionPatient (x, y, z) per slice, or None where a slice has none.
    tiebreak: one sortable key per slice (e.g. InstanceNumber) for slices at the same position.
    fallback_spacing: used when positions cannot give a spacing (one slice, or no positions).
    """
    n = len(positions)
    direction = orientation_matrix(orientation)
    normal = direction[:, 2]
    tiebreak = list(range(n)) if tiebreak is None else list(tiebreak)
    spacing = float(fallback_spacing) if fallback_spacing and fallback_spacing > 0 else 1.0
    warnings: list[str] = []
    if n == 0 or any(p is None for p in positions):
        if n > 1:
            warnings.append(f"no slice positions: slices kept in file order, slice spacing {spacing:g} mm assumed")
        origin = tuple(float(v) for v in positions[0]) if n and positions[0] is not None else (0.0, 0.0, 0.0)
        order = sorted(range(n), key=lambda k: tiebreak[k])
        return StackGeometry(order, origin, direction, spacing, warnings)

    pos = np.asarray(positions, dtype=float).reshape(n, 3)
    proj = pos @ normal
    order = sorted(range(n), key=lambda k: (proj[k], tiebreak[k]))
    origin = tuple(float(v) for v in pos[order[0]])
    if n == 1:
        return StackGeometry(order, origin, direction, spacing, warnings)

    steps = np.diff(proj[order])
    duplicates = int(np.count_nonzero(steps < _DUPLICATE_MM))
    if duplicates:
        warnings.append(f"{duplicates} slice(s) share a position with another slice (several acquisitions in one series?)")
    real = steps[steps >= _DUPLICATE_MM]
    if real.size == 0:
        warnings.append(f"all slices at one position: slice spacing {spacing:g} mm assumed")
        return StackGeometry(order, origin, direction, spacing, warnings)
    spacing = float(np.median(real))
    tolerance = max(0.01 * spacing, 0.005)
    gaps = [(i, s) for i, s in enumerate(steps) if s > 1.5 * spacing]
    if gaps:
        missing = sum(int(round(s / spacing)) - 1 for _, s in gaps)
        where = ", ".join(f"{proj[order[i]]:.4g}..{proj[order[i + 1]]:.4g} mm" for i, _ in gaps[:3])
        warnings.append(f"missing slices: about {max(missing, 1)} missing in {len(gaps)} gap(s) along the normal "
                        f"({where}); volume uses the regular spacing {spacing:.4g} mm, so slices after a gap are misplaced")
    if real.max() - real.min() > tolerance and (not gaps or _irregular_besides_gaps(real, spacing, tolerance)):
        warnings.append(f"non-uniform slice spacing: steps from {real.min():.4g} to {real.max():.4g} mm; "
                        f"using the median {spacing:.4g} mm")

    span = pos[order[-1]] - pos[order[0]]
    length = float(np.linalg.norm(span))
    if length > 0:
        tilt = float(np.degrees(np.arccos(min(1.0, abs(float(span @ normal)) / length))))
        if tilt > _TILT_DEGREES:
            shift = float(np.linalg.norm(span - (span @ normal) * normal))
            warnings.append(f"gantry tilt: slices are sheared by {tilt:.1f} degrees ({shift:.1f} mm across the stack); "
                            f"shown unsheared along the slice normal")
    return StackGeometry(order, origin, direction, spacing, warnings)


def _irregular_besides_gaps(steps: np.ndarray, spacing: float, tolerance: float) -> bool:
    regular = steps[steps <= 1.5 * spacing]
    return regular.size > 0 and float(regular.max() - regular.min()) > tolerance
