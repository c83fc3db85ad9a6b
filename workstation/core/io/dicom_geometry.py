"""Geometry of a stack of DICOM slices (files of a series, or frames of a multi-frame file).

Slices are sorted by ImagePositionPatient projected on the slice normal, and the slice spacing is
the least-squares fit of those projections against the slice index (`fit_spacing`): SliceThickness is
the thickness of the excited slab, not the distance between slices, and is never used. Irregular
stacks are read as they are, with warnings (a slice farther than `residual_tolerance` from the fitted
grid, missing slices, duplicated positions, gantry tilt).
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
    """3x3 direction from ImageOrientationPatient (row cosines, column cosines; 6 values or 2 x 3),
    identity without one. Readers refuse bad orientations first (`checks.orientation_cosines`)."""
    values = None if orientation is None else np.asarray(orientation, dtype=float).ravel()
    if values is None or values.size != 6:
        return np.eye(3)
    row, col = values[:3].copy(), values[3:].copy()
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
    if not np.any(steps >= _DUPLICATE_MM):
        warnings.append(f"all slices at one position: slice spacing {spacing:g} mm assumed")
        return StackGeometry(order, origin, direction, spacing, warnings)
    sorted_proj = proj[order]
    unique = sorted_proj[np.concatenate([[True], steps >= _DUPLICATE_MM])]
    spacing, index, residuals = fit_spacing(unique)
    jumps = np.diff(index)
    gaps = np.flatnonzero(jumps > 1)
    if gaps.size:
        missing = int(np.sum(jumps[gaps] - 1))
        where = ", ".join(f"{unique[i]:.4g}..{unique[i + 1]:.4g} mm" for i in gaps[:3])
        warnings.append(f"missing slices: about {missing} missing in {gaps.size} gap(s) along the normal "
                        f"({where}); volume uses the regular spacing {spacing:.4g} mm, so slices after a gap are misplaced")
    worst = int(np.argmax(np.abs(residuals)))
    if abs(residuals[worst]) > residual_tolerance(spacing):
        regular = np.diff(unique)[jumps == 1]
        span = f"steps from {regular.min():.4g} to {regular.max():.4g} mm; " if regular.size else ""
        warnings.append(f"non-uniform slice spacing: {span}slice {worst + 1} of {unique.size} lies "
                        f"{abs(residuals[worst]):.3g} mm from the least-squares grid (spacing {spacing:.5g} mm)")

    span = pos[order[-1]] - pos[order[0]]
    length = float(np.linalg.norm(span))
    if length > 0:
        tilt = float(np.degrees(np.arccos(min(1.0, abs(float(span @ normal)) / length))))
        if tilt > _TILT_DEGREES:
            shift = float(np.linalg.norm(span - (span @ normal) * normal))
            warnings.append(f"gantry tilt: slices are sheared by {tilt:.1f} degrees ({shift:.1f} mm across the stack); "
                            f"shown unsheared along the slice normal")
    return StackGeometry(order, origin, direction, spacing, warnings)


def fit_spacing(projections: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares slice spacing of sorted, distinct positions along the normal: each slice gets
    its index on the grid (gaps of missing slices skip indices), then positions are fitted against
    indices. Returns (spacing, indices, residuals in mm). For evenly spaced slices the spacing is
    (last - first) / (n - 1), as ITK gives it; jitter in one slice moves it far less than a median
    step would."""
    p = np.asarray(projections, dtype=float)
    spacing, intercept = float(np.median(np.diff(p))), float(p[0])
    ramp = np.arange(p.size)
    index = None
    for _ in range(3):  # indices from the spacing, then the spacing from the indices, until they agree
        new = np.round((p - p[0]) / spacing)
        new = np.maximum.accumulate(new - ramp) + ramp  # distinct slices never share an index
        if index is not None and np.array_equal(new, index):
            break
        index = new
        spacing, intercept = (float(v) for v in np.polyfit(index, p, 1))
    residuals = p - (intercept + spacing * index)
    return spacing, index.astype(int), residuals


def residual_tolerance(spacing: float) -> float:
    """How far a slice may lie from the fitted grid without a warning: 0.1 mm, or 1 % of the
    spacing when that is more (positions are often written rounded to 0.1 mm)."""
    return max(0.1, 0.01 * spacing)
