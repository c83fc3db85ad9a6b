"""What a measurement measures. Points are world LPS mm; ROIs are planar (the plane of the view
they were drawn on, oblique included) one voxel thick, or a sphere. Statistics are of the stored
voxel values (HU on CT) whose centres fall inside."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

KINDS = ("line", "angle", "ellipse", "polygon", "sphere")


class MeasurementError(ValueError):
    """A measurement that cannot be made; the text says why."""


def _points(points, n: int | None = None, at_least: int | None = None) -> np.ndarray:
    try:
        p = np.asarray(points, dtype=float).reshape(-1, 3)
    except (TypeError, ValueError):
        raise MeasurementError(f"points must be world (x, y, z) mm triples, got {points!r}") from None
    if not np.all(np.isfinite(p)):
        raise MeasurementError("points must be finite numbers")
    if n is not None and len(p) != n:
        raise MeasurementError(f"needs {n} points, got {len(p)}")
    if at_least is not None and len(p) < at_least:
        raise MeasurementError(f"needs at least {at_least} points, got {len(p)}")
    return p


def line_length(points) -> float:
    a, b = _points(points, 2)
    return float(np.linalg.norm(b - a))


def angle_degrees(points) -> float:
    """The angle at the middle point of three."""
    a, vertex, b = _points(points, 3)
    u, v = a - vertex, b - vertex
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        raise MeasurementError("an angle needs its arms to have length")
    return float(math.degrees(math.acos(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0))))


def _plane(points: np.ndarray, normal=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(origin, u, v, n): an orthonormal frame of the points' plane."""
    origin = points.mean(axis=0)
    if normal is None:
        _, _, vt = np.linalg.svd(points - origin)
        n = vt[2]
    else:
        n = np.asarray(normal, dtype=float)
        n = n / np.linalg.norm(n)
    u = points[0] - origin
    u = u - np.dot(u, n) * n
    if np.linalg.norm(u) < 1e-9:
        u = np.cross(n, [1.0, 0, 0]) if abs(n[0]) < 0.9 else np.cross(n, [0, 1.0, 0])
    u /= np.linalg.norm(u)
    return origin, u, np.cross(n, u), n


def _inside_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule for points (N, 2) against a closed polygon (M, 2)."""
    x, y = xy[:, 0], xy[:, 1]
    inside = np.zeros(len(xy), dtype=bool)
    px, py = poly[:, 0], poly[:, 1]
    qx, qy = np.roll(px, -1), np.roll(py, -1)
    for x1, y1, x2, y2 in zip(px, py, qx, qy):
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < xs)
    return inside


def _candidate_voxels(grid, points_world: np.ndarray, pad_mm: float):
    """Indices (k, j, i) of the voxels in the index box around the points, and their world centres."""
    idx = grid.world_to_index(points_world)
    pad = pad_mm / np.asarray(grid.spacing) + 1
    lo = np.maximum(np.floor(idx.min(axis=0) - pad).astype(int), 0)
    hi = np.minimum(np.ceil(idx.max(axis=0) + pad).astype(int) + 1, np.asarray(grid.shape[::-1]))
    if np.any(hi <= lo):
        return np.zeros((0, 3), dtype=int), np.zeros((0, 3))
    ii, jj, kk = np.meshgrid(*(np.arange(a, b) for a, b in zip(lo, hi)), indexing="ij")
    ijk = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1)
    return ijk[:, ::-1], grid.index_to_world(ijk)


def _slab(grid, centres: np.ndarray, origin, n) -> np.ndarray:
    """Voxels whose centre is within half a voxel of the plane (measured along the normal)."""
    half = 0.5 * float(np.abs(n @ (grid.matrix * np.asarray(grid.spacing))).max())
    return np.abs((centres - origin) @ n) <= half + 1e-9


def roi_mask(kind: str, points, grid, normal=None) -> tuple[np.ndarray, float]:
    """(boolean mask on the grid, area mm² or volume mm³ for a sphere) of an ROI.
    ellipse: centre, end of the first semi-axis, a point on the second (in the plane);
    polygon: its corners; sphere: centre and a point on the surface."""
    mask = np.zeros(grid.shape, dtype=bool)
    if kind == "sphere":
        c, edge = _points(points, 2)
        r = float(np.linalg.norm(edge - c))
        if r <= 0:
            raise MeasurementError("a sphere ROI needs a positive radius")
        kji, centres = _candidate_voxels(grid, c[None], r)
        inside = np.einsum("ij,ij->i", centres - c, centres - c) <= r * r
        mask[tuple(kji[inside].T)] = True
        return mask, 4.0 / 3.0 * math.pi * r ** 3
    if kind == "ellipse":
        c, a_end, b_pt = _points(points, 3)
        _, u, v, n = _plane(np.stack([c, a_end, b_pt]), normal)
        a_axis = a_end - c
        a = float(np.linalg.norm(a_axis))
        u = a_axis / a if a > 0 else u
        v = np.cross(n, u)
        b = abs(float(np.dot(b_pt - c, v)))
        if a <= 0 or b <= 0:
            raise MeasurementError("an ellipse needs two non-zero semi-axes")
        kji, centres = _candidate_voxels(grid, np.stack([c - a * u - b * v, c + a * u + b * v,
                                                         c + a * u - b * v, c - a * u + b * v]), 0)
        rel = centres - c
        inside = ((rel @ u / a) ** 2 + (rel @ v / b) ** 2 <= 1.0) & _slab(grid, centres, c, n)
        mask[tuple(kji[inside].T)] = True
        return mask, math.pi * a * b
    if kind == "polygon":
        p = _points(points, at_least=3)
        origin, u, v, n = _plane(p, normal)
        poly = np.stack([(p - origin) @ u, (p - origin) @ v], axis=1)
        area = 0.5 * abs(float(np.dot(poly[:, 0], np.roll(poly[:, 1], -1)) - np.dot(poly[:, 1], np.roll(poly[:, 0], -1))))
        if area <= 0:
            raise MeasurementError("a polygon needs an area")
        kji, centres = _candidate_voxels(grid, p, 0)
        rel = centres - origin
        inside = _inside_polygon(np.stack([rel @ u, rel @ v], axis=1), poly) & _slab(grid, centres, origin, n)
        mask[tuple(kji[inside].T)] = True
        return mask, area
    raise MeasurementError(f"no ROI of kind {kind!r}; expected ellipse, polygon or sphere")


def stats(values: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    inside = np.asarray(values)[mask].astype(np.float64)
    if inside.size == 0:
        return {"voxels": 0, "mean": None, "sd": None, "min": None, "max": None}
    return {"voxels": int(inside.size), "mean": float(inside.mean()), "sd": float(inside.std()),
            "min": float(inside.min()), "max": float(inside.max())}


def measure(kind: str, points, grid=None, image: np.ndarray | None = None, normal=None) -> dict[str, Any]:
    """The results of a measurement: {"length_mm"} | {"angle_deg"} | {"area_mm2" or "volume_mm3",
    "voxels", "mean", "sd", "min", "max"} (statistics of the stored values; SD of the population)."""
    if kind == "line":
        return {"length_mm": line_length(points)}
    if kind == "angle":
        return {"angle_deg": angle_degrees(points)}
    if kind not in KINDS:
        raise MeasurementError(f"unknown measurement {kind!r}; expected one of {', '.join(KINDS)}")
    if grid is None or image is None:
        raise MeasurementError(f"a {kind} ROI needs the image")
    mask, size = roi_mask(kind, points, grid, normal)
    if image.ndim == 4:
        image = image.mean(axis=-1)
    key = "volume_mm3" if kind == "sphere" else "area_mm2"
    return {key: size, **stats(image, mask)}
