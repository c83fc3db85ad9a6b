"""The real brain the phantoms are built on: nilearn's MNI152 2009 template (1 mm) with its brain
mask and grey/white-matter probability maps, turned into our LPS frame and cropped to the head
around the brain, plus the anatomical regions microbleeds are counted in (MARS: lobar, deep,
infratentorial) drawn from MNI coordinates and the tissue maps.

nilearn is imported lazily and only its offline `load_*` functions are used (no download)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

MARGIN_MM = 24  # room around the brain's bounding box for a synthetic skull and scalp (head.py)

# Deep grey nuclei (MNI RAS mm centre, semi-axes mm): iron-rich, dark on T2*/SWI.
# x is mirrored for both hemispheres.
DEEP_NUCLEI = {
    "putamen": ((25.0, 2.0, 1.0), (6.0, 14.0, 9.0)),
    "globus_pallidus": ((19.0, -3.0, -1.0), (4.0, 8.0, 5.0)),
    "caudate": ((13.0, 12.0, 10.0), (5.0, 10.0, 9.0)),
    "thalamus": ((11.0, -18.0, 7.0), (7.0, 12.0, 8.0)),
    "substantia_nigra": ((10.0, -18.0, -11.0), (3.5, 6.0, 3.0)),
    "red_nucleus": ((5.0, -20.0, -8.0), (3.0, 3.5, 3.0)),
    "dentate": ((15.0, -56.0, -34.0), (5.0, 7.0, 5.0)),
}
IRON = {"putamen": 0.22, "globus_pallidus": 0.42, "caudate": 0.15, "thalamus": 0.12,
        "substantia_nigra": 0.40, "red_nucleus": 0.40, "dentate": 0.35}
REGIONS = ("lobar", "deep", "infratentorial")


@dataclass(frozen=True)
class Anatomy:
    """Maps on a 1 mm LPS grid (numpy order [k, j, i], identity direction)."""
    t1: np.ndarray          # the template's T1 intensities, 0..1
    brain: np.ndarray       # bool brain mask
    gm: np.ndarray          # probability maps, 0..1
    wm: np.ndarray
    csf: np.ndarray
    iron: np.ndarray        # 0..1 fraction of darkening by iron in deep nuclei
    region: np.ndarray      # uint8: 0 outside, 1 lobar, 2 deep, 3 infratentorial
    origin: tuple[float, float, float]  # LPS mm of voxel [0, 0, 0]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.t1.shape

    def world_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """LPS x, y, z coordinates (broadcastable) of the voxel centres."""
        k, j, i = (np.arange(n, dtype=np.float32) for n in self.shape)
        ox, oy, oz = self.origin
        return (i[None, None, :] + ox, j[None, :, None] + oy, k[:, None, None] + oz)


def _to_lps(img) -> np.ndarray:
    """nibabel RAS array [i, j, k] with positive diagonal affine -> LPS numpy order [k, j, i]."""
    arr = np.asarray(img.get_fdata(), dtype=np.float32)
    return np.ascontiguousarray(arr[::-1, ::-1, :].transpose(2, 1, 0))


def _ellipsoid(x, y, z, centre, semi) -> np.ndarray:
    return (((x - centre[0]) / semi[0]) ** 2 + ((y - centre[1]) / semi[1]) ** 2
            + ((z - centre[2]) / semi[2]) ** 2)


@lru_cache(maxsize=1)
def load_anatomy() -> Anatomy:
    try:
        from nilearn import datasets  # lazy: heavy, and only the phantoms need it
    except ImportError as exc:
        raise RuntimeError("phantoms need nilearn's MNI152 template: pip install 'workstation[samples]'") from exc

    t1_img = datasets.load_mni152_template(resolution=1)
    affine = t1_img.affine
    if not np.allclose(np.diag(affine)[:3], 1.0) or not np.allclose(affine[:3, :3], np.diag([1.0] * 3)):
        raise RuntimeError("unexpected MNI152 template affine; expected 1 mm RAS")
    t1 = _to_lps(t1_img)
    brain = _to_lps(datasets.load_mni152_brain_mask(resolution=1)) > 0.5
    gm = _to_lps(datasets.load_mni152_gm_template(resolution=1))
    wm = _to_lps(datasets.load_mni152_wm_template(resolution=1))
    n_i, n_j = t1.shape[2], t1.shape[1]
    # RAS x = affine_x0 + i; after flipping i: LPS x = -(x0 + (n-1) - i') = i' - (x0 + n - 1)
    origin = (-(affine[0, 3] + n_i - 1), -(affine[1, 3] + n_j - 1), affine[2, 3])

    # pad first: the template's field of view is tighter than the brain plus a head around it
    pad = MARGIN_MM
    t1, brain, gm, wm = (np.pad(a, pad) for a in (t1, brain, gm, wm))
    origin = (origin[0] - pad, origin[1] - pad, origin[2] - pad)
    kk, jj, ii = np.nonzero(brain)
    lo = np.maximum([kk.min() - MARGIN_MM, jj.min() - MARGIN_MM, ii.min() - MARGIN_MM], 0)
    hi = np.minimum([kk.max() + MARGIN_MM + 1, jj.max() + MARGIN_MM + 1, ii.max() + MARGIN_MM + 1], t1.shape)
    crop = tuple(slice(a, b) for a, b in zip(lo, hi))
    origin = (origin[0] + lo[2], origin[1] + lo[1], origin[2] + lo[0])
    t1, brain, gm, wm = (a[crop].copy() for a in (t1, brain, gm, wm))
    brain = ndimage.binary_fill_holes(brain)
    gm = np.where(brain, gm, 0).astype(np.float32)
    wm = np.where(brain, wm, 0).astype(np.float32)
    csf = np.where(brain, np.clip(1.0 - gm - wm, 0, 1), 0).astype(np.float32)

    anat = Anatomy(t1, brain, gm, wm, csf, np.zeros_like(gm), np.zeros(gm.shape, np.uint8), origin)
    x, y, z = anat.world_grid()
    xm, ym, zm = -x, -y, z  # MNI (RAS) coordinates
    iron = np.zeros(gm.shape, np.float32)
    deep = np.zeros(gm.shape, bool)
    for name, (c, semi) in DEEP_NUCLEI.items():
        for side in (1.0, -1.0):
            q = _ellipsoid(xm, ym, zm, (side * c[0], c[1], c[2]), semi)
            inside = np.exp(-np.clip(q, 0, 20) ** 2)  # soft-edged nucleus
            iron = np.maximum(iron, IRON[name] * inside)
            if name in ("putamen", "globus_pallidus", "caudate", "thalamus"):
                deep |= q < 1.0
    iron *= brain
    cerebellum = (ym < -40) & (zm < -24)
    brainstem = (np.abs(xm) < 14) & (ym > -44) & (ym < -10) & (zm < -10)
    infra = brain & (cerebellum | brainstem)
    region = np.zeros(gm.shape, np.uint8)
    region[brain] = 1
    region[brain & deep & ~infra] = 2
    region[infra] = 3
    object.__setattr__(anat, "iron", iron.astype(np.float32))
    object.__setattr__(anat, "region", region)
    return anat
