"""T2*/SWI-like magnitude phantoms on the MNI152 brain with planted microbleeds and mimics.

Each phantom gets its own pose (rotation, scaling, shift), grid, tissue contrast (relative to
CSF = 1), iron, a synthetic head (skull, scalp, sinuses and their susceptibility dropout:
head.py), bias field and Rician noise (acquisition.py). Microbleeds and mimics are drawn
analytically on the output grid in world mm, so the ground truth is exact.

Two styles: "clinical" (the demo and tests: skull, SNR 15-40, clearly dark bleeds, int16 LPS) and
"random" (training by domain randomisation: SNR 8-40, bleeds down to a 20 % signal drop with sharp
to soft edges, 55 % of them 2-4 mm, some in periventricular white matter beside the ventricles, all
four grids, head tilted up to 20 degrees, skull on or off, ringing, motion, any storage type and
scale, LPS or RAS axes, an anatomy deformed per phantom (warp.py: sulci moved, ventricles enlarged
or shrunk), sharper or softer tissue boundaries, and more mimics: cortical and bridging veins at the
brain's surface, subependymal veins along the ventricles, longer vessels end-on). The random style's
extras are drawn after the clinical draws, so the clinical series is unchanged."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import ndimage

from workstation.core.phantoms import acquisition as A
from workstation.core.phantoms import lesions as L
from workstation.core.phantoms.head import draw_head, dropout_zone
from workstation.core.phantoms.anatomy import REGIONS, Anatomy, load_anatomy
from workstation.core.phantoms.warp import Warp
from workstation.core.volume import Volume

RESOLUTIONS = {"1mm": (1.0, 1.0, 1.0), "0.5x0.5x2mm": (0.5, 0.5, 2.0), "0.45x0.45x2.5mm": (0.45, 0.45, 2.5),
               "1x1x3mm": (1.0, 1.0, 3.0)}
STYLES = ("clinical", "random")
TRUTH_SCHEMA = "workstation.phantom-truth/1"

# Arteries whose flow voids show at the skull base / Sylvian fissure (MNI RAS mm polylines;
# mirrored in x where x != 0).
ARTERIES = [
    [(0, -18, -42), (0, -20, -26), (0, -21, -14)],                 # basilar
    [(16, 4, -34), (15, 2, -22), (14, 2, -14)],                     # internal carotid
    [(14, 2, -14), (26, 3, -10), (38, 3, -6), (44, 0, 2)],          # middle cerebral M1-M2
    [(4, -20, -10), (12, -30, -8), (22, -40, -4)],                  # posterior cerebral
    [(4, 18, -8), (3, 30, 6), (3, 30, 24), (3, 16, 38)],            # anterior cerebral
]
CALCIFICATION_SITES = [(19, -3, -1), (-19, -3, -1), (0, -30, 3), (28, -42, 16), (-28, -42, 16),
                       (15, -56, -34), (-15, -56, -34)]  # pallidum, pineal, choroid, dentate
REGION_PROBS = {"lobar": 0.5, "deep": 0.3, "infratentorial": 0.20}


@dataclass
class Phantom:
    volume: Volume
    labels: np.ndarray          # uint16 [k, j, i]: microbleed id (1..n) per voxel, 0 elsewhere
    truth: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def _pools() -> dict[str, np.ndarray]:
    """Anatomy voxel indices (k, j, i) where each kind of object may be centred."""
    a = load_anatomy()
    depth = ndimage.distance_transform_edt(a.brain)
    x, y, z = a.world_grid()
    xm, ym, zm = -x, -y, z
    cortex = (a.gm > 0.4) | ((a.gm > 0.15) & (a.wm > 0.3))
    skull_base = (depth <= 5) & (depth >= 1.5) & (((ym > 15) & (zm < -10))
                                                    | ((np.abs(xm) > 30) & (ym > -35) & (ym < 5) & (zm < -20)))
    calm = ~dropout_zone(a)  # bleeds are not placed where the sinuses' dropout hides tissue
    ventricles = (a.csf > 0.5) & (depth >= 10)
    to_ventricle = ndimage.distance_transform_edt(~ventricles)
    masks = {
        "lobar": (a.region == 1) & cortex & (depth >= 2) & calm,
        "deep": (a.region == 2) & (depth >= 3) & calm,
        "infratentorial": (a.region == 3) & (depth >= 2) & (a.gm + a.wm > 0.6) & calm,
        "sulcal_vessel": (a.region > 0) & (a.csf > 0.3) & (a.gm > 0.15) & (depth >= 1),
        "deep_vessel": (a.region == 1) & (a.wm > 0.9),
        "skull_base": a.brain & skull_base,
        # random style: deep periventricular white matter (MARS "deep"), dark foci beside bright CSF
        "periventricular": (a.region == 1) & (a.wm > 0.5) & (to_ventricle >= 2.5) & (to_ventricle <= 10) & calm,
        "surface_vein": (a.region > 0) & (depth <= 2.5),
        "ventricle_wall": (a.region > 0) & (to_ventricle >= 0.5) & (to_ventricle <= 2.0) & (a.wm + a.gm > 0.3),
    }
    return {k: np.argwhere(m) for k, m in masks.items()}


class _Pose:
    """Maps output world mm <-> anatomy world mm: p_a = M (p_w - c) + c."""

    def __init__(self, rng: np.random.Generator, anat: Anatomy, max_deg: float = 6.0, scale: float = 0.05):
        ang = np.deg2rad(rng.uniform(-max_deg, max_deg, size=3))
        cx, cy, cz = np.cos(ang)
        sx, sy, sz = np.sin(ang)
        rot = (np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
               @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
               @ np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]]))
        self.M = rot @ np.diag(1.0 / rng.uniform(1 - scale, 1 + scale, size=3))
        self.Minv = np.linalg.inv(self.M)
        self.centre = np.asarray(anat.origin) + (np.array(anat.shape[::-1]) - 1) / 2.0
        self.shift = rng.uniform(-4, 4, size=3)
        self.warp: Warp | None = None  # set for random-style phantoms: the anatomy is deformed too

    def to_anatomy(self, p_w):
        """The template point (anatomy mm) that world point p_w shows."""
        p_a = (np.asarray(p_w) - self.centre - self.shift) @ self.M.T + self.centre
        return p_a if self.warp is None else self.warp.template_point(p_a)

    def affine(self) -> list[list[float]]:
        """4x4 matrix taking output world mm to MNI-template LPS mm."""
        out = np.eye(4)
        out[:3, :3] = self.M
        out[:3, 3] = self.centre - self.M @ (self.centre + self.shift)
        return np.round(out, 6).tolist()

    def to_world(self, p_a):
        """Where the template point p_a (anatomy mm) lies in the output world."""
        if self.warp is not None:
            p_a = self.warp.warped_point(p_a)
        return (np.asarray(p_a) - self.centre) @ self.Minv.T + self.centre + self.shift


def _brain_image(rng, anat: Anatomy, contrast: dict) -> tuple[np.ndarray, np.ndarray]:
    """Tissue intensities (relative to CSF = 1) and the soft brain weight on the anatomy grid."""
    csf, gm, wm = anat.csf, anat.gm, anat.wm
    gamma = contrast.get("sharpness", 1.0)
    if gamma != 1.0:  # sharper tissue boundaries than the 152-subject average (a single brain)
        csf, gm, wm = csf ** gamma, gm ** gamma, wm ** gamma
    tissue = contrast["csf"] * csf + contrast["gm"] * gm + contrast["wm"] * wm
    tissue /= np.maximum(csf + gm + wm, 1e-3)
    tissue *= 1.0 - contrast["iron"] * anat.iron
    texture = ndimage.gaussian_filter(rng.standard_normal(anat.shape, dtype=np.float32), 1.5)
    tissue *= 1.0 + contrast["texture"] * texture / max(float(texture.std()), 1e-6)
    inside = ndimage.gaussian_filter(anat.brain.astype(np.float32), 0.7)
    return tissue.astype(np.float32), inside


def _resample(image: np.ndarray, anat: Anatomy, pose: _Pose, grid: L.Grid) -> np.ndarray:
    sp = np.asarray(grid.spacing)
    if sp[2] > 1.2:  # slice partial volume: the signal is integrated over the slab
        image = ndimage.uniform_filter1d(image, size=int(round(sp[2])), axis=0)
    # anatomy index (xyz) = M S idx + M (o_w - c - shift) + c - o_a
    lin = pose.M @ np.diag(sp)
    off = pose.M @ (np.asarray(grid.origin) - pose.centre - pose.shift) + pose.centre - np.asarray(anat.origin)
    perm = [2, 1, 0]
    return ndimage.affine_transform(image, lin[np.ix_(perm, perm)], offset=off[perm],
                                    output_shape=grid.shape, order=1, mode="constant", cval=0.0)


def _sample_point(rng, pool: np.ndarray, anat: Anatomy, pose: _Pose) -> np.ndarray:
    k, j, i = pool[rng.integers(len(pool))]
    p_a = np.asarray(anat.origin) + np.array([i, j, k]) + rng.uniform(-0.5, 0.5, size=3)
    return pose.to_world(p_a)


def _region_at(anat: Anatomy, pose: _Pose, p_w) -> str:
    i, j, k = np.round(pose.to_anatomy(p_w) - np.asarray(anat.origin)).astype(int)
    if not (0 <= k < anat.shape[0] and 0 <= j < anat.shape[1] and 0 <= i < anat.shape[2]):
        return "outside"
    code = int(anat.region[k, j, i])
    return REGIONS[code - 1] if code else "outside"


def _mni_to_world(pose: _Pose, p_mni) -> np.ndarray:
    p = np.asarray(p_mni, float)
    return pose.to_world(np.stack([-p[..., 0], -p[..., 1], p[..., 2]], axis=-1))


def _draw(rng, style: str) -> dict:
    """The per-phantom parameters of a style."""
    rnd = style == "random"
    gm = rng.uniform(0.62, 0.88) if rnd else rng.uniform(0.65, 0.85)
    wm = min(rng.uniform(0.48, 0.72) if rnd else rng.uniform(0.5, 0.7), gm - 0.05)
    contrast = {"csf": 1.0, "gm": gm, "wm": wm, "iron": rng.uniform(0.6, 1.4),
                "texture": rng.uniform(0.02, 0.06)}
    out = {
        "contrast": contrast,
        "skull": (rng.random() < 0.8) if rnd else True,
        "snr": float(np.exp(rng.uniform(np.log(8), np.log(40)))) if rnd else float(rng.uniform(15, 40)),
        "depth": (0.2, 0.85) if rnd else (0.5, 0.85),
        "bloom": (0.0, 1.2) if rnd else (0.3, 1.0),
        "bias": rng.uniform(0.1, 0.35) if rnd else rng.uniform(0.1, 0.3),
        "ringing": rnd and rng.random() < 0.3,
        "motion": rnd and rng.random() < 0.25,
        "storage": A.STORAGES[int(rng.integers(len(A.STORAGES)))] if rnd else "int16",
        "ras": rnd and rng.random() < 0.3,
        "tilt_deg": 20.0 if rnd else 6.0,
        "edge": (0.2, 0.2), "small_share": 0.4, "end_on_mm": (5.0, 16.0),
    }
    if rnd:  # drawn after the rest, so the clinical series stays as it was
        contrast["sharpness"] = float(rng.uniform(1.0, 2.5))
        out |= {"edge": (0.15, 0.9), "small_share": 0.55, "end_on_mm": (8.0, 20.0),
                "warp_mm": float(rng.uniform(0.0, 3.0)), "ventricle_gain": float(rng.uniform(-0.1, 0.35))}
    return out


def _diameter(rng, small_share: float = 0.4) -> float:
    """About 40 % 2-4 mm, 35 % 4-6 mm, 25 % 6-10 mm (`small_share` 2-4 mm, the rest 7:5)."""
    u = rng.random()
    mid = small_share + (1 - small_share) * 7 / 12
    lo, hi = (2.0, 4.0) if u < small_share else (4.0, 6.0) if u < mid else (6.0, 10.0)
    return float(rng.uniform(lo, hi))


def make_phantom(seed: int, index: int = 0, resolution: str | None = None,
                 n_microbleeds: int | None = None, style: str = "clinical", half_drop_share: float = 0.0) -> Phantom:
    """Phantom number `index` of the series `seed` (same inputs, same phantom). `half_drop_share`
    (random style): the share of bleeds drawn without a halo, a plain sigmoid whose half-drop
    contour is the stated diameter (edge 0.3-1 mm): a small bleed then looks as small as it is."""
    if style not in STYLES:
        raise ValueError(f"unknown phantom style {style!r}; choose from {', '.join(STYLES)}")
    rng = np.random.default_rng([seed, index] if style == "clinical" else [seed, index, 7])
    anat, pools = load_anatomy(), _pools()
    p = _draw(rng, style)
    if resolution is None:
        names = list(RESOLUTIONS) if style == "random" else ["1mm", "0.5x0.5x2mm"]
        resolution = names[int(rng.integers(len(names)))]
    spacing = RESOLUTIONS[resolution]
    extent = np.array(anat.shape[::-1], float)  # mm along x, y, z
    shape_xyz = np.floor(extent / np.asarray(spacing)).astype(int)
    grid = L.Grid(tuple(int(n) for n in shape_xyz[::-1]), spacing,
                  tuple(float(o) for o in np.asarray(anat.origin) + np.asarray(spacing) / 2 - 0.5))
    pose = _Pose(rng, anat, p["tilt_deg"], 0.08 if style == "random" else 0.05)
    contrast = p["contrast"]
    tissue, inside = _brain_image(rng, anat, contrast)
    head_params = {}
    if p["skull"]:
        base, head_params = draw_head(rng, tissue, inside, contrast["csf"])
    else:
        base = inside * tissue
    if "warp_mm" in p:
        pose.warp = Warp(rng, p["warp_mm"], p["ventricle_gain"])
        base = pose.warp.apply(base, anat)
    image = _resample(base, anat, pose, grid)
    factor = np.ones(grid.shape, np.float32)
    labels = np.zeros(grid.shape, np.uint16)

    if n_microbleeds is None:
        if style == "random":
            n_microbleeds = int(rng.integers(3, 13))
        else:
            n_microbleeds = 0 if rng.random() < 0.1 else int(min(1 + rng.poisson(4.0), 15))
    occupied: list[tuple[np.ndarray, float]] = []
    bleeds = []
    names, probs = list(REGION_PROBS), list(REGION_PROBS.values())
    for _ in range(n_microbleeds):
        for _try in range(50):
            region = names[rng.choice(len(names), p=probs)]
            diameter = _diameter(rng, p["small_share"])
            pool = region
            if style == "random" and region == "deep" and rng.random() < 0.4:
                pool = "periventricular"
            centre = _sample_point(rng, pools[pool], anat, pose)
            if all(np.linalg.norm(centre - c) > diameter / 2 + r + 5.0 for c, r in occupied):
                break
        else:
            continue
        rot = L.random_rotation(rng)
        elong = tuple(rng.uniform(1.0, 1.3, size=2))
        depth, bloom = rng.uniform(*p["depth"]), rng.uniform(*p["bloom"])
        edge, halo = (rng.uniform(*p["edge"]) if style == "random" else 0.2), True
        if half_drop_share > 0 and rng.random() < half_drop_share:
            edge, halo, bloom = float(rng.uniform(0.3, 1.0)), False, 0.0
        L.stamp_microbleed(factor, labels, grid, len(bleeds) + 1, centre, diameter, rot, elong, depth, bloom,
                           edge, halo)
        occupied.append((centre, diameter / 2))
        bleeds.append({"id": len(bleeds) + 1, "type": "microbleed", "region": region,
                       "centre": [round(float(v), 3) for v in centre], "diameter_mm": round(diameter, 3),
                       "depth": round(float(depth), 3), "bloom_mm": round(float(bloom), 3),
                       "edge_mm": round(float(edge), 3)})

    def clear(points, margin):
        return all(np.min(np.linalg.norm(points - c, axis=1)) > r + margin for c, r in occupied)

    mimics = _stamp_mimics(rng, factor, grid, anat, pose, pools, clear, style == "random", p["end_on_mm"])
    signal = image * factor * A.bias_field(rng, grid.shape, p["bias"])
    if p["ringing"]:
        signal = A.ringing(rng, signal)
    if p["motion"]:
        signal = A.motion(rng, signal)
    sigma = contrast["wm"] / p["snr"]
    magnitude = A.rician(rng, signal, sigma)
    array = A.store(rng, magnitude, contrast["wm"], p["storage"])
    origin, direction = np.asarray(grid.origin, float), np.eye(3)
    if p["ras"]:
        array, origin, direction = A.to_ras_axes(array, spacing, origin)
        labels = np.ascontiguousarray(labels[:, ::-1, ::-1])
    volume = Volume(array, spacing=spacing, origin=tuple(origin), direction=direction, modality="MR",
                    description=f"SWI-like phantom {seed}/{index} ({resolution}, {style})")
    truth = {
        "schema": TRUTH_SCHEMA, "seed": seed, "index": index, "resolution": resolution, "style": style,
        "spacing": list(spacing), "origin": [float(v) for v in origin], "size": list(volume.size),
        "direction": direction.ravel().tolist(), "template_from_world": pose.affine(),
        "contrast": {k: round(float(v), 4) for k, v in contrast.items()}
        | {"bias_amplitude": round(float(p["bias"]), 4), "snr": round(p["snr"], 2)},
        "acquisition": {"skull": bool(p["skull"]), "storage": p["storage"], "axes": "RAS" if p["ras"] else "LPS",
                        "ringing": bool(p["ringing"]), "motion": bool(p["motion"])} | head_params,
        "lesions": bleeds, "mimics": mimics,
    }
    return Phantom(volume, labels, truth)


def _stamp_mimics(rng, factor, grid, anat, pose, pools, clear, more: bool, end_on_mm=(5.0, 16.0)) -> list[dict]:
    """Vessels along sulci and in white matter, vessels end-on (short straight tubes along the
    slice normal: dots in a slice), flow voids, calcifications and skull-base streaks."""
    mimics = []

    def record(kind, centre):
        mimics.append({"type": kind, "region": _region_at(anat, pose, centre),
                       "centre": [round(float(v), 3) for v in centre]})

    for _ in range(int(rng.integers(20, 45) if more else rng.integers(15, 36))):
        kind = "sulcal_vessel" if rng.random() < 0.6 else "deep_vessel"
        for _try in range(20):
            start = _sample_point(rng, pools[kind], anat, pose)
            path = L.curved_path(rng, start, rng.normal(size=3), rng.uniform(8, 30))
            if clear(path, 4.0):
                break
        else:
            continue
        L.stamp_tube(factor, grid, path, rng.uniform(0.4, 1.0), rng.uniform(0.3, 0.85))
        record("vessel", start)
    for _ in range(int(rng.integers(4, 12) if more else rng.integers(2, 6))):
        kind = "sulcal_vessel" if rng.random() < 0.5 else "deep_vessel"
        start = _sample_point(rng, pools[kind], anat, pose)
        axis = np.array([0.0, 0.0, 1.0]) + rng.normal(scale=0.15, size=3)
        length = rng.uniform(*end_on_mm)
        path = start + np.linspace(-0.5, 0.5, 5)[:, None] * length * axis / np.linalg.norm(axis)
        if clear(path, 4.0):
            L.stamp_tube(factor, grid, path, rng.uniform(0.5, 1.0), rng.uniform(0.3, 0.85))
            record("vessel_end_on", start)
    # random style: paired arteries and physiological calcifications are often drawn on both
    # sides (normal anatomy is bilateral, a microbleed has no twin); the clinical draws are unchanged
    for idx in rng.choice(len(ARTERIES), size=int(rng.integers(2, 5)), replace=False):
        side = 1.0 if rng.random() < 0.5 else -1.0
        sides = (side, -side) if more and rng.random() < 0.5 else (side,)
        for s in sides:
            pts = np.array(ARTERIES[idx], float) * np.array([s, 1, 1]) + rng.normal(scale=1.5, size=3)
            path = _mni_to_world(pose, pts)
            if clear(path, 4.0):
                L.stamp_tube(factor, grid, path, rng.uniform(1.0, 2.0), rng.uniform(0.7, 0.95), edge_mm=0.15)
                record("flow_void", path[len(path) // 2])
    for idx in rng.choice(len(CALCIFICATION_SITES), size=int(rng.integers(0, 4)), replace=False):
        site = np.array(CALCIFICATION_SITES[idx], float)
        sites = (site, site * [-1, 1, 1]) if more and site[0] != 0 and rng.random() < 0.7 else (site,)
        # random style: half the calcifications are one solid focus as dark as the darkest bleed
        solid = more and rng.random() < 0.5
        for at in sites:
            centre = _mni_to_world(pose, at + rng.normal(scale=1.5, size=3))
            if clear(centre[None], 5.0):
                depth = rng.uniform(0.4, 0.9) if solid else rng.uniform(0.3, 0.6)
                L.stamp_calcification(factor, grid, rng, centre, depth, solid)
                record("calcification", centre)
    for _ in range(int(rng.integers(1, 5))):
        centre = _sample_point(rng, pools["skull_base"], anat, pose)
        if clear(centre[None], 12.0):
            semi = (rng.uniform(7, 15), rng.uniform(1.5, 3.5), rng.uniform(2.0, 4.0))
            L.stamp_streak(factor, grid, centre, L.random_rotation(rng), semi, rng.uniform(0.3, 0.6))
            record("skull_base_artefact", centre)
    if more:
        _stamp_surface_veins(rng, factor, grid, anat, pose, pools, clear, record)
    return mimics


def _stamp_surface_veins(rng, factor, grid, anat, pose, pools, clear, record) -> None:
    """Random style: cortical veins on the brain's surface and bridging veins crossing the CSF to
    the skull (dark dots and tubes at the brain's edge), and subependymal veins along the ventricle
    walls (dark beside bright CSF)."""
    for kind, count, length, radius in (("surface_vein", (6, 16), (10, 40), (0.5, 1.2)),
                                        ("ventricle_wall", (2, 8), (8, 25), (0.4, 0.9))):
        for _ in range(int(rng.integers(*count))):
            start = _sample_point(rng, pools[kind], anat, pose)
            path = L.curved_path(rng, start, rng.normal(size=3), rng.uniform(*length))
            if clear(path, 4.0):
                L.stamp_tube(factor, grid, path, rng.uniform(*radius), rng.uniform(0.3, 0.85))
                record(kind, start)
