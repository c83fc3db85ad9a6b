"""Analytic hypointense objects stamped into a voxel grid in world mm: microbleeds (round/ovoid
with a blooming edge) and their mimics (tubular vessels, flow voids, calcification clusters,
elongated susceptibility artefacts). Each object darkens the image multiplicatively inside a small
box around it; voxels are supersampled so partial volume in thick slices is right."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """An axis-aligned LPS grid: numpy order [k, j, i], identity direction."""
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]  # (x, y, z) mm
    origin: tuple[float, float, float]

    def index_of(self, xyz) -> np.ndarray:
        """Continuous (i, j, k) of world points."""
        return (np.asarray(xyz, float) - np.asarray(self.origin)) / np.asarray(self.spacing)


def _sigmoid(t):
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def _box(grid: Grid, lo_xyz, hi_xyz, supersample: bool = True):
    """Slices of the grid covering [lo, hi] world mm, and broadcast sub-voxel coordinates
    X, Y, Z of shape (k, j, i, sk, sj, si); None when the box misses the grid."""
    lo = np.floor(grid.index_of(lo_xyz)).astype(int)
    hi = np.ceil(grid.index_of(hi_xyz)).astype(int) + 1
    n_ijk = np.array(grid.shape[::-1])
    lo, hi = np.maximum(lo, 0), np.minimum(hi, n_ijk)
    if np.any(hi <= lo):
        return None
    coords = []
    for axis in range(3):  # x, y, z
        sp = grid.spacing[axis]
        n_sub = max(1, int(np.ceil(sp / 0.5 - 1e-6))) if supersample else 1
        idx = np.arange(lo[axis], hi[axis], dtype=np.float32)
        sub = ((np.arange(n_sub, dtype=np.float32) + 0.5) / n_sub - 0.5) * sp
        coords.append(grid.origin[axis] + idx[:, None] * sp + sub[None, :])
    x, y, z = coords
    X = x[None, None, :, None, None, :]
    Y = y[None, :, None, None, :, None]
    Z = z[:, None, None, :, None, None]
    slices = (slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0]))
    return slices, X, Y, Z


def _apply(factor: np.ndarray, grid: Grid, lo, hi, darkening, supersample=True) -> None:
    box = _box(grid, lo, hi, supersample)
    if box is None:
        return
    slices, X, Y, Z = box
    dark = darkening(X, Y, Z).mean(axis=(3, 4, 5), dtype=np.float32)
    factor[slices] *= (1.0 - dark).astype(np.float32)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([[a*a+b*b-c*c-d*d, 2*(b*c-a*d), 2*(b*d+a*c)],
                     [2*(b*c+a*d), a*a-b*b+c*c-d*d, 2*(c*d-a*b)],
                     [2*(b*d-a*c), 2*(c*d+a*b), a*a-b*b-c*c+d*d]])


def _ellipsoid_q(X, Y, Z, centre, rot, semi):
    dx, dy, dz = X - centre[0], Y - centre[1], Z - centre[2]
    q2 = 0.0
    for row, s in zip(rot.T, semi):  # rot columns are the ellipsoid axes
        q2 = q2 + ((row[0] * dx + row[1] * dy + row[2] * dz) / s) ** 2
    return np.sqrt(q2)


def stamp_microbleed(factor, labels, grid, label_id, centre, diameter, rot, elongation,
                     depth, bloom_mm, edge_mm: float = 0.2, halo: bool = True) -> None:
    """Hemosiderin core (equivalent-sphere `diameter`, its half-drop contour; sigmoid edge of width
    `edge_mm`) plus a blooming halo `bloom_mm` wide.
    `labels` gets `label_id` where the core covers the voxel centre (at least the centre voxel)."""
    r = diameter / 2.0
    e1, e2 = elongation
    scale = (e1 * e2) ** (-1.0 / 3.0)
    semi = np.array([r * e1 * scale, r * e2 * scale, r * scale])
    reach = semi.max() + 3.0 * bloom_mm + 1.5 + 4.0 * max(edge_mm - 0.2, 0.0)
    lo, hi = np.asarray(centre) - reach, np.asarray(centre) + reach

    def darkening(X, Y, Z):
        q = _ellipsoid_q(X, Y, Z, centre, rot, semi)
        dist = (q - 1.0) * r  # ~ mm outside the core surface
        core = _sigmoid(-dist / edge_mm)
        if not halo:
            return depth * core
        bloom = 0.75 * np.exp(-np.maximum(dist, 0.0) ** 2 / (2.0 * max(bloom_mm, 1e-3) ** 2))
        return depth * np.maximum(core, bloom)

    _apply(factor, grid, lo, hi, darkening)
    box = _box(grid, lo, hi, supersample=False)
    if box is not None:
        slices, X, Y, Z = box
        inside = _ellipsoid_q(X, Y, Z, centre, rot, semi)[..., 0, 0, 0] <= 1.0
        region = labels[slices]
        region[inside & (region == 0)] = label_id
    ijk = np.round(grid.index_of(centre)).astype(int)
    if np.all(ijk >= 0) and np.all(ijk < np.array(grid.shape[::-1])):
        if labels[ijk[2], ijk[1], ijk[0]] == 0:
            labels[ijk[2], ijk[1], ijk[0]] = label_id


def _segment_distance(X, Y, Z, points):
    """Distance from each coordinate to a polyline through `points` (n, 3)."""
    best = None
    for p, q in zip(points[:-1], points[1:]):
        d = q - p
        length2 = float(d @ d) or 1e-9
        t = ((X - p[0]) * d[0] + (Y - p[1]) * d[1] + (Z - p[2]) * d[2]) / length2
        t = np.clip(t, 0.0, 1.0)
        dist2 = (X - p[0] - t * d[0]) ** 2 + (Y - p[1] - t * d[1]) ** 2 + (Z - p[2] - t * d[2]) ** 2
        best = dist2 if best is None else np.minimum(best, dist2)
    return np.sqrt(best)


def curved_path(rng, start, direction, length, step=2.0, wiggle=0.25) -> np.ndarray:
    """A smooth random polyline (a vessel's course) through `start`, about `length` mm long."""
    n = max(2, int(length / step) + 1)
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    pts = [np.asarray(start, float)]
    for _ in range(n - 1):
        d = d + wiggle * rng.normal(size=3)
        d /= np.linalg.norm(d)
        pts.append(pts[-1] + step * d)
    pts = np.array(pts)
    return pts - (pts[n // 2] - np.asarray(start))  # centred on `start`


def stamp_tube(factor, grid, points, radius, depth, edge_mm=0.25) -> None:
    """A vessel or flow void: a dark tube of `radius` mm along the polyline `points`."""
    lo = points.min(axis=0) - radius - 1.5
    hi = points.max(axis=0) + radius + 1.5

    def darkening(X, Y, Z):
        return depth * _sigmoid((radius - _segment_distance(X, Y, Z, points)) / edge_mm)

    # thin tubes cross many voxels: supersample only across thick slices
    _apply(factor, grid, lo, hi, darkening, supersample=max(grid.spacing) > 1.2)


def stamp_calcification(factor, grid, rng, centre, depth, solid: bool = False) -> list[np.ndarray]:
    """A cluster of 2-5 sharp small foci, no blooming (dense mineral, not hemosiderin); `solid`:
    one round focus of 1-3 mm radius, as dark and as round as a bleed (what a reader must tell
    from one by where it lies)."""
    n = 1 if solid else int(rng.integers(2, 6))
    foci = np.asarray(centre) + (0.0 if solid else rng.normal(scale=1.2, size=(n, 3)))
    foci = np.atleast_2d(foci)
    radii = rng.uniform(1.0, 3.0, size=n) if solid else rng.uniform(0.5, 1.3, size=n)
    edge = float(rng.uniform(0.12, 0.6)) if solid else 0.12
    reach = radii.max() + 4.0
    lo, hi = foci.min(axis=0) - reach, foci.max(axis=0) + reach

    def darkening(X, Y, Z):
        out = 0.0
        for f, r in zip(foci, radii):
            dist = np.sqrt((X - f[0]) ** 2 + (Y - f[1]) ** 2 + (Z - f[2]) ** 2)
            out = np.maximum(out, _sigmoid((r - dist) / edge))
        return depth * out

    _apply(factor, grid, lo, hi, darkening)
    return list(foci)


def stamp_streak(factor, grid, centre, rot, semi, depth) -> None:
    """An elongated susceptibility artefact (air-bone interface at the skull base): a long, thin,
    soft-edged signal drop with a faint bright ripple beside it."""
    semi = np.asarray(semi, float)
    reach = semi.max() * 2.2
    lo, hi = np.asarray(centre) - reach, np.asarray(centre) + reach

    def darkening(X, Y, Z):
        q = _ellipsoid_q(X, Y, Z, centre, rot, semi)
        return depth * (np.exp(-q ** 2) - 0.15 * np.exp(-((q - 1.6) ** 2) / 0.1))

    _apply(factor, grid, lo, hi, darkening, supersample=False)
