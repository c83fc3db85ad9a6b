"""The brain's mid-sagittal plane, and what each candidate's mirror image across it looks like.

Normal anatomy is bilateral: the iron-rich nuclei (pallidum, dentate, red nucleus), the calcified
choroid plexus of both trigones and the paired arteries are dark on both sides at mirrored places; a
microbleed has no twin. A reader uses that, so stage 2 does too.

The plane is found on the working grid (1 mm, isotropic) as the reflection that best maps the
brain onto itself: the correlation of the masked image with its reflection, searched over a tilt of
up to ~24 degrees about two axes and an offset on a 4 mm grid, then refined on a 3 mm grid."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from plugins.microbleeds.screening import block_mean

TILT = 0.45            # |tan| of the largest tilt searched, about each of two axes
MIRROR_SEARCH_MM = 3   # the twin may sit this far from the exact mirror point
NCC_HALF = 4           # the compared cubes are 9 mm
MIRROR_FEATURES = ("mirror_response", "mirror_ncc", "mirror_brain", "midline_mm")


@dataclass
class Plane:
    """{q : normal . q = offset} in working-grid voxel coordinates (k, j, i)."""
    normal: np.ndarray
    offset: float
    score: float       # the correlation reached (1 for a perfectly symmetric brain)

    def reflect(self, q: np.ndarray) -> np.ndarray:
        q = np.asarray(q, float)
        return q - 2.0 * ((q @ self.normal) - self.offset)[..., None] * self.normal

    def distance(self, q: np.ndarray) -> np.ndarray:
        return np.abs(np.asarray(q, float) @ self.normal - self.offset)


def _normal(a: float, b: float) -> np.ndarray:
    n = np.array([a, b, 1.0])  # (k, j, i): mostly along i, the left-right axis
    return n / np.linalg.norm(n)


class _Objective:
    def __init__(self, image: np.ndarray, mask: np.ndarray, step: int, smooth: float = 0.0):
        self.small = block_mean(np.where(mask, image, 0.0).astype(np.float32), step)
        if smooth:
            self.small = ndimage.gaussian_filter(self.small, smooth)
        keep = block_mean(mask.astype(np.float32), step) > 0.5
        idx = np.argwhere(keep)
        self.step = step
        self.points = idx * step + (step - 1) / 2.0        # full-grid voxel coordinates
        self.values = self.small[tuple(idx.T)].astype(np.float64)
        self.values -= self.values.mean()

    def __call__(self, a: float, b: float, d: float) -> float:
        n = _normal(a, b)
        q = self.points - 2.0 * ((self.points @ n) - d)[:, None] * n
        s = (q - (self.step - 1) / 2.0) / self.step
        v = ndimage.map_coordinates(self.small, s.T, order=1, mode="constant", cval=0.0)
        v = v - v.mean()
        return float((self.values * v).sum() / np.sqrt((self.values ** 2).sum() * (v ** 2).sum() + 1e-12))


def midsagittal_plane(image: np.ndarray, mask: np.ndarray) -> Plane:
    """The plane of best left-right self-similarity of `image` inside `mask` (working grid): a
    search over tilts on a 4 mm grid smoothed to 8 mm (a wide basin; a plane through the brain's
    centroid, +-4 mm), refined on a 3 mm grid."""
    centre = np.argwhere(mask).mean(axis=0)
    coarse = _Objective(image, mask, 4, smooth=2.0)
    best = (-2.0, 0.0, 0.0, 0.0)
    for a in np.linspace(-TILT, TILT, 13):
        for b in np.linspace(-TILT, TILT, 13):
            n = _normal(a, b)
            for shift in (-4.0, 0.0, 4.0):
                d = float(centre @ n + shift)
                c = coarse(a, b, d)
                if c > best[0]:
                    best = (c, a, b, d)
    fine = _Objective(image, mask, 3, smooth=1.0)
    start = np.array(best[1:])
    simplex = np.array([start, start + [0.04, 0, 0], start + [0, 0.04, 0], start + [0, 0, 2.0]])
    res = optimize.minimize(lambda p: -fine(*p), start, method="Nelder-Mead",
                            options={"initial_simplex": simplex, "xatol": 2e-3, "fatol": 1e-4, "maxfev": 120})
    a, b, d = res.x
    return Plane(_normal(a, b), float(d), float(-res.fun))


def mirror_features(log: np.ndarray, response: np.ndarray, mask: np.ndarray, kji: np.ndarray,
                    own_response: np.ndarray, plane: Plane) -> dict[str, np.ndarray]:
    """Per candidate: `mirror_response` (stage 1's strongest response within 3 mm of the mirror
    point, as a share of the candidate's own), `mirror_ncc` (the best correlation of the 9 mm cube
    of log intensity around the candidate, reflected, with the cube around a point within 2 mm of the
    mirror point), `mirror_brain` (1 when the mirror point is in the brain) and `midline_mm` (the
    candidate's distance from the plane: near it a structure is its own mirror)."""
    kji = np.asarray(kji, float).reshape(-1, 3)
    n = len(kji)
    out = {name: np.zeros(n, np.float32) for name in MIRROR_FEATURES}
    if n == 0:
        return out
    mirrored = plane.reflect(kji)
    out["midline_mm"][:] = plane.distance(kji)
    r = MIRROR_SEARCH_MM
    ball = np.argwhere(np.ones((2 * r + 1,) * 3, bool)) - r
    ball = ball[np.linalg.norm(ball, axis=1) <= r]
    near = np.rint(mirrored)[:, None, :] + ball[None]
    inside = np.all((near >= 0) & (near < np.array(response.shape)), axis=-1)
    near = np.clip(near, 0, np.array(response.shape) - 1).astype(int)
    twin = np.where(inside, response[near[..., 0], near[..., 1], near[..., 2]], 0.0).max(axis=1)
    out["mirror_response"][:] = np.clip(twin / np.maximum(own_response, 1e-6), 0.0, 2.0)
    m = np.clip(np.rint(mirrored).astype(int), 0, np.array(mask.shape) - 1)
    out["mirror_brain"][:] = mask[m[:, 0], m[:, 1], m[:, 2]]
    out["mirror_ncc"][:] = _mirror_ncc(log, kji, mirrored, plane)
    return out


def _mirror_ncc(log: np.ndarray, kji: np.ndarray, mirrored: np.ndarray, plane: Plane) -> np.ndarray:
    h, w = NCC_HALF, NCC_HALF + 2
    grid = np.stack(np.meshgrid(*[np.arange(-h, h + 1)] * 3, indexing="ij"), -1).reshape(-1, 3).astype(float)
    wide = np.stack(np.meshgrid(*[np.arange(-w, w + 1)] * 3, indexing="ij"), -1).reshape(-1, 3).astype(float)
    # the twin's neighbourhood, sampled once in reflected axes: offset u around the candidate is
    # compared with reflect(u + s) around the twin, for shifts s of up to 2 mm (slices of `twin`)
    reflected = wide - 2.0 * (wide @ plane.normal)[:, None] * plane.normal
    own = ndimage.map_coordinates(log, (kji[:, None, :] + grid[None]).reshape(-1, 3).T, order=1, mode="nearest")
    own = own.reshape(len(kji), -1)
    own = own - own.mean(axis=1, keepdims=True)
    own_norm = np.sqrt((own ** 2).sum(axis=1)) + 1e-6
    twin = ndimage.map_coordinates(log, (mirrored[:, None, :] + reflected[None]).reshape(-1, 3).T, order=1,
                                   mode="nearest").reshape((len(kji),) + (2 * w + 1,) * 3)
    best = np.full(len(kji), -1.0)
    for s in np.argwhere(np.ones((5, 5, 5), bool)) - 2:
        if np.linalg.norm(s) > 2.0:
            continue
        a, b, c = s + 2
        other = twin[:, a:a + 2 * h + 1, b:b + 2 * h + 1, c:c + 2 * h + 1].reshape(len(kji), -1)
        other = other - other.mean(axis=1, keepdims=True)
        best = np.maximum(best, (own * other).sum(axis=1) / (own_norm * (np.sqrt((other ** 2).sum(axis=1)) + 1e-6)))
    return best.astype(np.float32)


def volume_mirror_features(work, found, kji: np.ndarray) -> dict[str, np.ndarray]:
    """mirror_features at working-grid voxels `kji` of a screened volume (screening.Screened)."""
    kji = np.asarray(kji, int).reshape(-1, 3)
    plane = midsagittal_plane(work.log, work.mask)
    own = found.response_map[tuple(kji.T)] if len(kji) else np.zeros(0, np.float32)
    return mirror_features(work.log, found.response_map, work.mask, kji, own, plane)
