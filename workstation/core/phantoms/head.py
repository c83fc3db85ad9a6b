"""A synthetic head around the real (skull-stripped) MNI152 brain: subarachnoid CSF, skull with
marrow, scalp fat and muscle, a neck, orbits, and air in the frontal / sphenoid sinuses and mastoids
with the susceptibility dropout they cause in T2*/SWI (signal loss spreading into orbitofrontal,
inferior temporal and cerebellar tissue, a thin bright pile-up rim).

Everything is drawn on the anatomy grid (1 mm LPS) from the distance to the brain; layer widths,
intensities and dropout strength are drawn per phantom, so a detector sees many heads."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage
from scipy.special import expit

from workstation.core.phantoms.anatomy import Anatomy, load_anatomy

# MNI RAS mm centre and semi-axes of air cavities (x mirrored where x != 0)
AIR_CAVITIES = {
    "frontal_sinus": ((0.0, 64.0, 8.0), (14.0, 6.0, 10.0)),
    "sphenoid_sinus": ((0.0, 12.0, -36.0), (10.0, 10.0, 8.0)),
    "mastoid": ((44.0, -30.0, -40.0), (7.0, 9.0, 8.0)),
}
ORBITS = ((32.0, 52.0, -30.0), (12.0, 11.0, 11.0))  # eye globe (vitreous: bright on T2*)


@dataclass(frozen=True)
class HeadMaps:
    outside: np.ndarray   # float mm distance outside the (closed) brain surface, 0 inside
    neck: np.ndarray      # bool: below the brain, the neck's cross-section


@lru_cache(maxsize=1)
def head_maps() -> HeadMaps:
    anat = load_anatomy()
    # a closed, smooth brain hull: skull follows the convexity, not every sulcus
    hull = ndimage.binary_closing(np.pad(anat.brain, 6), iterations=5)[6:-6, 6:-6, 6:-6]
    hull = ndimage.gaussian_filter(hull.astype(np.float32), 2.0) > 0.5
    outside = ndimage.distance_transform_edt(~hull).astype(np.float32)
    # neck: the lowest 12 brain slices' cross-section, widened, extruded down
    ks = np.flatnonzero(anat.brain.any(axis=(1, 2)))
    base = hull[ks[0]:ks[0] + 12].any(axis=0)
    base = ndimage.binary_dilation(base, iterations=6)
    neck = np.zeros_like(hull)
    neck[:ks[0] + 6] = base[None]
    return HeadMaps(outside, neck)


def _ellipsoid_q(anat: Anatomy, centre_mni, semi) -> np.ndarray:
    x, y, z = anat.world_grid()
    xm, ym, zm = -x, -y, z
    c = centre_mni
    return np.sqrt(((xm - c[0]) / semi[0]) ** 2 + ((ym - c[1]) / semi[1]) ** 2 + ((zm - c[2]) / semi[2]) ** 2)


@lru_cache(maxsize=1)
def _cavity_maps() -> tuple[np.ndarray, np.ndarray]:
    """(q of the nearest air cavity, q of the nearest orbit): ellipsoid radius ratios."""
    anat = load_anatomy()
    q_air = np.full(anat.shape, np.inf, np.float32)
    for centre, semi in AIR_CAVITIES.values():
        for side in ((1.0, -1.0) if centre[0] else (1.0,)):
            q_air = np.minimum(q_air, _ellipsoid_q(anat, (side * centre[0],) + centre[1:], semi))
    q_orbit = np.minimum(*(_ellipsoid_q(anat, (s * ORBITS[0][0],) + ORBITS[0][1:], ORBITS[1]) for s in (1, -1)))
    return q_air, q_orbit.astype(np.float32)


def draw_head(rng: np.random.Generator, brain_image: np.ndarray, brain_weight: np.ndarray,
              csf_level: float) -> tuple[np.ndarray, dict]:
    """Composite a head around `brain_image` (values inside the brain, weight `brain_weight` 0..1).
    Returns the image on the anatomy grid and the parameters drawn."""
    anat = load_anatomy()
    maps = head_maps()
    d = maps.outside
    csf_w = rng.uniform(1.0, 3.0)
    bone_w = rng.uniform(4.0, 8.0)
    scalp_w = rng.uniform(3.0, 7.0)
    fat = rng.uniform(0.55, 0.85) * csf_level
    muscle = rng.uniform(0.30, 0.45) * csf_level
    marrow = rng.uniform(0.2, 0.6) * csf_level
    bone = rng.uniform(0.0, 0.05) * csf_level

    def band(lo, hi, soft=0.7):
        return expit((d - lo) / soft) * expit((hi - d) / soft)

    t0, t1, t2 = csf_w, csf_w + bone_w, csf_w + bone_w + scalp_w
    head = np.zeros(anat.shape, np.float32)
    head += csf_level * band(-5.0, t0)
    skull = band(t0, t1)
    diploe = band(t0 + 0.3 * bone_w, t1 - 0.3 * bone_w, 0.5)
    head += bone * skull + (marrow - bone) * diploe
    # scalp: muscle next to the bone, fat outside
    split = t1 + rng.uniform(0.3, 0.6) * scalp_w
    head += muscle * band(t1, split) + fat * band(split, t2)
    neck = ndimage.gaussian_filter(maps.neck.astype(np.float32), 1.0) * (d > t0)
    head = np.maximum(head, neck * muscle * (1 + 0.3 * ndimage.gaussian_filter(
        rng.standard_normal(anat.shape, dtype=np.float32), 3.0)))
    q_air, q_orbit = _cavity_maps()
    outside_brain = 1.0 - brain_weight
    head = np.where(q_orbit < 1.0, csf_level * rng.uniform(0.85, 1.0), head)
    air = expit((1.0 - q_air) / 0.08)
    image = brain_weight * brain_image + outside_brain * head
    image = image * (1 - air * outside_brain)
    # susceptibility dropout from the air cavities, reaching 8-25 mm into tissue
    reach = rng.uniform(8.0, 25.0)
    strength = rng.uniform(0.5, 0.9)
    gap_mm = np.maximum(q_air - 1.0, 0.0) * 10.0  # ~ mm from the cavity wall (semi-axes ~10 mm)
    drop = strength * np.exp(-gap_mm / (reach / 2.5))
    rim = 0.25 * strength * np.exp(-((gap_mm - reach / 2.0) ** 2) / 4.0)
    image = image * (1 - drop) * (1 + rim)
    texture = ndimage.gaussian_filter(rng.standard_normal(anat.shape, dtype=np.float32), 1.2)
    image *= 1 + 0.04 * outside_brain * texture / max(float(texture.std()), 1e-6)
    params = {"csf_mm": round(csf_w, 2), "bone_mm": round(bone_w, 2), "scalp_mm": round(scalp_w, 2),
              "dropout_reach_mm": round(reach, 1), "dropout_strength": round(strength, 2)}
    return image.astype(np.float32), params


def dropout_zone(anat: Anatomy, margin_mm: float = 12.0) -> np.ndarray:
    """Anatomy voxels near an air cavity (where the held-out spec places no bleeds, and where a
    training phantom's dropout is strongest): bool."""
    q_air, _ = _cavity_maps()
    return (q_air - 1.0) * 10.0 < margin_mm
