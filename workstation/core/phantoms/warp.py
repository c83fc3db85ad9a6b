"""A smooth random deformation of the base anatomy (random-style phantoms only): the one real brain
the phantoms are built on becomes many slightly different ones. Two parts, both analytic in
anatomy mm (LPS), so a point and the whole grid are warped alike:

* a low-frequency elastic field (a few random Fourier modes, wavelengths 40-90 mm, up to ~3 mm),
  which moves sulci, ventricles and deep nuclei against each other;
* a radial field around the lateral ventricles that enlarges (atrophy, common in patients with
  microbleeds) or shrinks them.

`displacement(p)` d(p) maps a warped-anatomy point p to the template point p + d(p) it shows."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

from workstation.core.phantoms.anatomy import Anatomy, load_anatomy

VENTRICLE_REACH_MM = 22.0


@lru_cache(maxsize=1)
def ventricle_centre() -> np.ndarray:
    """LPS mm centroid of the deep CSF (lateral and third ventricles) of the template."""
    a = load_anatomy()
    deep_csf = (a.csf > 0.5) & (ndimage.distance_transform_edt(a.brain) >= 10)
    kji = np.array(ndimage.center_of_mass(deep_csf))
    return np.asarray(a.origin) + kji[::-1]


class Warp:
    def __init__(self, rng: np.random.Generator, amplitude_mm: float, ventricle_gain: float, modes: int = 4):
        k = rng.normal(size=(modes, 3))
        k /= np.linalg.norm(k, axis=1, keepdims=True)
        self.k = k * (2 * np.pi / rng.uniform(40.0, 90.0, size=(modes, 1)))
        self.phase = rng.uniform(0, 2 * np.pi, size=(3, modes))
        self.amp = rng.normal(scale=amplitude_mm / np.sqrt(modes), size=(3, modes))
        self.gain = float(ventricle_gain)
        self.centre = ventricle_centre()

    def displacement(self, x, y, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dx, dy, dz) mm at LPS points given as broadcastable x, y, z arrays."""
        out = []
        arg = [self.k[m, 0] * x + self.k[m, 1] * y + self.k[m, 2] * z for m in range(len(self.k))]
        rx, ry, rz = x - self.centre[0], y - self.centre[1], z - self.centre[2]
        # sampling nearer the ventricles' centre enlarges them (gain > 0)
        g = -self.gain * np.exp(-(rx * rx + ry * ry + rz * rz) / (2 * VENTRICLE_REACH_MM ** 2))
        for c, r in enumerate((rx, ry, rz)):
            d = g * r
            for m, a in enumerate(arg):
                d = d + self.amp[c, m] * np.sin(a + self.phase[c, m])
            out.append(np.asarray(d, np.float32))
        return tuple(out)

    def template_point(self, p) -> np.ndarray:
        """The template point a warped-anatomy point p shows: p + d(p)."""
        p = np.asarray(p, float)
        return p + np.stack(self.displacement(p[..., 0], p[..., 1], p[..., 2]), axis=-1)

    def warped_point(self, a, iterations: int = 4) -> np.ndarray:
        """Where the template point a lies in the warped anatomy (p with p + d(p) = a)."""
        a = np.asarray(a, float)
        p = a.copy()
        for _ in range(iterations):
            p = a - np.stack(self.displacement(p[..., 0], p[..., 1], p[..., 2]), axis=-1)
        return p

    def apply(self, image: np.ndarray, anat: Anatomy) -> np.ndarray:
        """`image` (anatomy grid) as the warped anatomy shows it."""
        x, y, z = anat.world_grid()
        dx, dy, dz = self.displacement(x, y, z)
        shape = anat.shape
        coords = np.empty((3,) + shape, np.float32)
        coords[0] = np.broadcast_to(z - anat.origin[2] + dz, shape)
        coords[1] = np.broadcast_to(y - anat.origin[1] + dy, shape)
        coords[2] = np.broadcast_to(x - anat.origin[0] + dx, shape)
        return ndimage.map_coordinates(image, coords, order=1, mode="nearest").astype(np.float32)
