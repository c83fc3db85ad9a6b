"""Held-out T2*/SWI magnitude phantoms with microbleeds, written from docs/phantom-spec.md alone.

`python -m tests.heldout.generator OUT --n N --seed S [--variant NAME ...]` writes, per variant,
OUT/VARIANT/hs-NNN.nii.gz and OUT/VARIANT/truth.json ("workstation.detection-truth/1", world mm LPS).
A subject is one scene in world coordinates (contrast, bias, susceptibility dropout, bleeds, mimics);
each variant samples that scene on its own grid, with slice partial voluming, and adds its own noise."""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

try:
    from . import base as base_mod
except ImportError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.heldout import base as base_mod

SCHEMA = "workstation.detection-truth/1"
SUB_MM = 0.5  # object fields are sampled at least this finely inside each voxel
VARIANTS = {  # spacing (mm), orientation, storage
    "iso1": ((1.0, 1.0, 1.0), "lps", "int16"), "aniso045": ((0.45, 0.45, 2.5), "lps", "int16"),
    "aniso113": ((1.0, 1.0, 3.0), "lps", "int16"), "ras": ((1.0, 1.0, 1.0), "ras", "int16"),
    "oblique": ((1.0, 1.0, 1.0), "oblique", "int16"), "scale01": ((1.0, 1.0, 1.0), "lps", "scale01"),
    "scale10": ((1.0, 1.0, 1.0), "lps", "scale10"), "uint16": ((1.0, 1.0, 1.0), "lps", "uint16"),
    "float": ((1.0, 1.0, 1.0), "lps", "float"),
}
# MNI mm (RAS) positions: flow-void paths, calcification sites, air-bone sources (centre, sigma mm)
FLOW_VOIDS = {"basilar": [(0, -8, -42), (0, -9, -30), (0, -12, -18)],
              "carotid": [(16, 2, -42), (17, 5, -30), (14, 10, -21), (13, 5, -15)],
              "mca": [(13, 5, -15), (25, 4, -12), (38, 0, -7)],
              "vertebral": [(10, -35, -62), (6, -22, -50), (0, -10, -43)]}
CALCIFICATIONS = {"pineal": [(0, -32, 2)], "choroid-plexus": [(28, -42, 14), (-28, -42, 14)],
                  "pallidum": [(19, -3, -1), (-19, -3, -1)]}
AIR_BONE = [((0, 45, -28), (16, 8, 7)), ((0, 12, -36), (10, 8, 7)), ((45, -32, -40), (8, 10, 9)),
            ((-45, -32, -40), (8, 10, 9))]


@dataclass
class Grid:
    shape: tuple
    spacing: np.ndarray
    direction: np.ndarray  # columns: voxel axes in world LPS
    origin: np.ndarray

    def affine(self) -> np.ndarray:
        a = np.eye(4)
        a[:3, :3] = self.direction * self.spacing
        a[:3, 3] = self.origin
        return a

    def to_index(self, pts):
        return (np.asarray(pts, float) - self.origin) @ self.direction / self.spacing


def _rotation(rng, max_deg=180.0):
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    ang = math.radians(rng.uniform(-max_deg, max_deg))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(ang) * k + (1 - math.cos(ang)) * k @ k


def variant_grid(base, name: str, seed: int = 0) -> Grid:
    """The variant's grid over the head from the vertex to 15 mm below the brain, with skull and scalp."""
    spacing, orient, _ = VARIANTS[name]
    if orient == "ras":
        direction = np.diag([-1.0, -1.0, 1.0])
    elif orient == "oblique":
        rng = np.random.default_rng([seed, 99])
        ax, ay = np.radians(rng.uniform(10, 25, 2) * rng.choice([-1, 1], 2))
        rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
        ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
        direction = rx @ ry
    else:
        direction = np.eye(3)
    zb = base.index_to_world(np.argwhere(base.brain[:, :, ::4]) * (1, 1, 4))[:, 2].min() - 15
    head = base.index_to_world(np.argwhere(base.t1[::3, ::3, ::3] > 40) * 3)
    head = head[head[:, 2] >= zb]
    lo, hi = head.min(0) - 4, head.max(0) + 4
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    u = corners @ direction
    spacing = np.asarray(spacing, float)
    shape = tuple(int(v) for v in np.ceil((u.max(0) - u.min(0)) / spacing) + 1)
    return Grid(shape, spacing, direction, direction @ u.min(0))


def _uniform_int(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def _tube(points, diameter, drop, kind):
    return {"type": kind, "points": [list(map(float, p)) for p in points], "diameter_mm": float(diameter),
            "drop": float(drop), "centre": list(map(float, np.mean(points, axis=0)))}


def _surface_vein(base, rng):
    """A pial vein: a random walk held at 1.5 mm inside the brain surface by the depth gradient."""
    cand = np.argwhere((base.brain_depth > 1.0) & (base.brain_depth < 2.5) & (base.region == 1))
    p = base.index_to_world(cand[rng.integers(len(cand))])
    step, pts = 1.0, [p]
    d = rng.normal(size=3)
    for _ in range(int(rng.uniform(20, 60))):
        probe = base.world_to_index(np.vstack([p, p + np.eye(3) * 0.5]))
        c = ndi.map_coordinates(base.brain_depth, probe.T, order=1)
        g = (c[1:] - c[0]) / 0.5
        if np.linalg.norm(g) < 1e-3 or c[0] <= 0:
            break
        g /= np.linalg.norm(g)
        d = d - (d @ g) * g + rng.normal(scale=0.15, size=3)
        d /= np.linalg.norm(d)
        p = p + step * d - (c[0] - 1.5) * g
        pts.append(p)
    return pts


def make_subject(base, seed: int, index: int) -> dict:
    """One subject's scene: contrast, acquisition, bleeds and mimics, all in world mm LPS."""
    rng = np.random.default_rng([seed, index])
    c_wm = rng.uniform(0.50, 0.70)
    scene = {"id": f"hs-{index:03d}", "seed": [int(seed), int(index)], "snr": float(rng.uniform(8, 40)), "texture": float(rng.uniform(0.02, 0.05)),
             "contrast": {"gm": float(max(rng.uniform(0.65, 0.85), c_wm + 0.08)), "wm": float(c_wm),
                          "iron_strong": float(rng.uniform(0.30, 0.50)), "iron_moderate": float(rng.uniform(0.45, 0.65)),
                          "fat": float(rng.uniform(0.55, 0.85)), "muscle": float(rng.uniform(0.30, 0.45))},
             "wm_level": float(rng.uniform(600, 1200)),
             "bias": {"grad": rng.normal(scale=0.12, size=3).tolist(), "quad": float(rng.uniform(0, 0.25))},
             "dropouts": [], "mimics": [], "lesions": []}
    for centre, sigma in AIR_BONE:
        jitter = rng.normal(scale=2.0, size=3)
        scene["dropouts"].append({"centre": base.mni(np.add(centre, jitter))[0].tolist(),
                                  "sigma": (np.array(sigma) * rng.uniform(0.8, 1.3)).tolist(),
                                  "depth": float(rng.uniform(0.6, 0.95)), "rim": float(rng.uniform(0.05, 0.2))})
    mirror = np.array([-1.0, 1.0, 1.0])
    for name, path in FLOW_VOIDS.items():
        for side in ((1.0, -1.0) if name != "basilar" else (1.0,)):
            pts = base.mni(np.array(path) * (mirror if side < 0 else 1) + rng.normal(scale=1.5, size=3))
            scene["mimics"].append(_tube(pts, rng.uniform(2.5, 4.0), rng.uniform(0.7, 0.9), f"flow-void-{name}"))
    for _ in range(_uniform_int(rng, 4, 8)):
        pts = _surface_vein(base, rng)
        if len(pts) > 5:
            scene["mimics"].append(_tube(pts, rng.uniform(1.0, 2.0), rng.uniform(0.5, 0.8), "vein-sulcal"))
    wm = np.argwhere((base.tissue == 3) | (base.region == 2))
    for _ in range(_uniform_int(rng, 6, 12)):
        c = base.index_to_world(wm[rng.integers(len(wm))])
        axis = _rotation(rng, 10.0) @ np.array([0.0, 0.0, 1.0])
        half = rng.uniform(4, 10)
        scene["mimics"].append(_tube([c - half * axis, c + half * axis], rng.uniform(1.0, 1.8),
                                     rng.uniform(0.3, 0.6), "vein-end-on"))
    for name, sites in CALCIFICATIONS.items():
        if rng.random() < {"pineal": 0.6, "choroid-plexus": 0.5, "pallidum": 0.25}[name]:
            for site in sites:
                c = base.mni(np.add(site, rng.normal(scale=1.0, size=3)))[0]
                scene["mimics"].append({"type": f"calcification-{name}", "centre": c.tolist(),
                                        "diameter_mm": float(rng.uniform(2, 5)), "drop": float(rng.uniform(0.5, 0.85))})
    _place_bleeds(base, scene, rng)
    return scene


def _min_gap(p, scene):
    gaps = [np.linalg.norm(p - np.array(b["centre"])) - b["diameter_mm"] / 2 for b in scene["lesions"]]
    for m in scene["mimics"]:
        pts = np.array(m.get("points", [m["centre"]]))
        gaps.append(np.min(np.linalg.norm(pts - p, axis=1)) - m["diameter_mm"] / 2)
    return min(gaps) if gaps else np.inf


def _place_bleeds(base, scene, rng):
    n = _uniform_int(rng, 2, 10)
    for k in range(n):
        region = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
        lo, hi = [(2, 4), (4, 6), (6, 10)][int(rng.choice(3, p=[0.4, 0.35, 0.25]))]
        diameter = float(rng.uniform(lo, hi))
        cand = np.argwhere((base.region == region) & (base.depth >= diameter / 2 + 0.5))
        for _ in range(200):
            p = base.index_to_world(cand[rng.integers(len(cand))] + rng.uniform(-0.5, 0.5, 3))
            if dropout(scene, p[None], 3.0)[0] >= 0.9 and _min_gap(p, scene) >= 5 + diameter / 2:
                break
        else:
            continue
        ratios = rng.uniform(0.85, 1.15, 3)
        scene["lesions"].append({"id": f"{scene['id']}-cmb-{k}", "type": "microbleed",
                                 "region": base_mod.REGIONS[region - 1], "centre": [float(v) for v in p],
                                 "diameter_mm": round(diameter, 3), "signal_drop": float(rng.uniform(0.2, 0.7)),
                                 "axes": (ratios / np.prod(ratios) ** (1 / 3)).tolist(),
                                 "rotation": _rotation(rng).tolist(), "edge": float(rng.uniform(0.06, 0.15))})


def _dropout_source(d, thickness):
    sigma = np.array(d["sigma"]) * (1, 1, 1 + 0.15 * (thickness - 1))
    return np.array(d["centre"]), sigma, 1 - (1 - d["depth"]) ** math.sqrt(thickness)


def _dropout_factor(d, pts, thickness):
    centre, sigma, depth = _dropout_source(d, thickness)
    q = np.linalg.norm((pts - centre) / sigma, axis=1)
    return 1 - depth * np.exp(-0.5 * q ** 2) + d["rim"] * np.exp(-((q - 2.2) ** 2) / 0.3)


def dropout(scene, pts, thickness):
    """Air-bone susceptibility: multiplicative loss, deeper and taller for thicker slices, bright rim."""
    out = np.ones(len(pts), np.float32)
    for d in scene["dropouts"]:
        out *= _dropout_factor(d, pts, thickness)
    return out


def bias(scene, pts, centre):
    u = (pts - centre) / 100.0
    b = np.exp(u @ np.array(scene["bias"]["grad"]) + scene["bias"]["quad"] * np.sum(u ** 2, axis=1))
    return np.clip(b, 0.7, 1.3)


def anatomy(base, scene) -> np.ndarray:
    """The scene's T2* magnitude on the base grid (CSF = 1), before objects, bias and noise."""
    c, (t_csf, t_gm, t_wm) = scene["contrast"], base.peaks
    t1 = base.t1
    inside = np.interp(t1, [t_csf, t_gm, t_wm], [1.0, c["gm"], c["wm"]])
    inside *= 1 - base.iron_strong * (1 - c["iron_strong"] / c["gm"]) - base.iron_moderate * (1 - c["iron_moderate"] / c["gm"])
    outside = np.interp(t1, np.array([0.12, 0.3, 0.6, 1.1]) * t_wm, [0.0, 0.05, c["muscle"], c["fat"]])
    soft = ndi.gaussian_filter(base.brain.astype(np.float32), 0.7)
    rng = np.random.default_rng(scene["seed"] + [7])
    tex = ndi.gaussian_filter(rng.normal(size=t1.shape).astype(np.float32), 1.2)
    tex /= tex.std()
    return (soft * inside * (1 + scene["texture"] * tex) + (1 - soft) * outside).astype(np.float32)


def _object_field(obj, q):
    """Fractional attenuation (0..drop) of one object at world points q (n, 3)."""
    if obj.get("type") == "microbleed":
        u = (q - np.array(obj["centre"])) @ np.array(obj["rotation"]) / (np.array(obj["axes"]) * obj["diameter_mm"] / 2)
        r = np.linalg.norm(u, axis=1)
        return obj["signal_drop"] / (1 + np.exp((r - 1) / obj["edge"]))
    if "points" in obj:
        pts = np.array(obj["points"])
        dist = np.full(len(q), np.inf)
        for a, b in zip(pts[:-1], pts[1:]):
            ab = b - a
            t = np.clip((q - a) @ ab / max(ab @ ab, 1e-9), 0, 1)
            dist = np.minimum(dist, np.linalg.norm(q - a - t[:, None] * ab, axis=1))
        r = dist / (obj["diameter_mm"] / 2)
        return obj["drop"] / (1 + np.exp((r - 1) / 0.2))
    r = np.linalg.norm(q - np.array(obj["centre"]), axis=1) / (obj["diameter_mm"] / 2)
    return obj["drop"] / (1 + np.exp((r - 1) / 0.05))


def _extent(obj):
    pts = np.array(obj.get("points", [obj["centre"]]))
    pad = obj["diameter_mm"] / 2 * (1.3 * max(obj.get("axes", [1])) + 6 * obj.get("edge", 0.2)) + 1.0
    return pts.min(0) - pad, pts.max(0) + pad


def _block(grid, e0, e1, lo, hi):
    """Index block of `grid` (clipped to lo..hi) holding the world box e0..e1."""
    corners = np.array([[x, y, z] for x in (e0[0], e1[0]) for y in (e0[1], e1[1]) for z in (e0[2], e1[2])])
    ci = grid.to_index(corners)
    return np.maximum(np.floor(ci.min(0)).astype(int), lo), np.minimum(np.ceil(ci.max(0)).astype(int) + 1, hi)


def _block_points(grid, b0, b1, off):
    m = grid.direction * grid.spacing
    ax = [(np.arange(b0[i], b1[i]) + np.broadcast_to(off, 3)[i])[:, None] * m[:, i] for i in range(3)]
    pts = grid.origin + ax[0][:, None, None] + ax[1][None, :, None] + ax[2][None, None, :]
    return pts.reshape(-1, 3)


def render(base, scene, grid: Grid, noise=True, box=None, objects=True, variant_seed=0, anat=None) -> np.ndarray:
    """The scene sampled on `grid` (or its index block box=(lo, hi)) in CSF units, float32. Each voxel
    integrates its slab: the smooth anatomy and dropout at <= 1 mm steps through the slice, bleeds
    and mimics at <= 0.5 mm steps in all three axes."""
    lo, hi = (np.zeros(3, int), np.array(grid.shape)) if box is None else (np.asarray(box[0]), np.asarray(box[1]))
    shape = tuple(hi - lo)
    anat = anatomy(base, scene) if anat is None else anat
    thick = float(grid.spacing[2])
    to_base = np.linalg.inv(base.affine) @ grid.affine()  # grid index -> base index
    axes = [np.arange(lo[i], hi[i], dtype=np.float32) for i in range(3)]
    acc = np.zeros(shape, np.float32)
    n_anat = max(1, math.ceil(thick / 1.0 - 1e-6))
    for k in range(n_anat):
        oz = (k + 0.5) / n_anat - 0.5
        coords = [np.broadcast_to(to_base[j, 3] + to_base[j, 0] * axes[0][:, None, None] + to_base[j, 1]
                                  * axes[1][None, :, None] + to_base[j, 2] * (axes[2][None, None, :] + oz), shape)
                  for j in range(3)]
        v = ndi.map_coordinates(anat, coords, order=1, mode="nearest").reshape(shape)
        for d in scene["dropouts"]:  # negligible beyond 4 sigma: evaluated in its own block only
            c, sigma, _ = _dropout_source(d, thick)
            b0, b1 = _block(grid, c - 4 * sigma, c + 4 * sigma, lo, hi)
            if np.all(b1 > b0):
                sl = tuple(slice(b0[i] - lo[i], b1[i] - lo[i]) for i in range(3))
                v[sl] *= _dropout_factor(d, _block_points(grid, b0, b1, (0, 0, oz)), thick).reshape(tuple(b1 - b0))
        acc += v / n_anat
    sub = [max(1, math.ceil(s / SUB_MM - 1e-6)) for s in grid.spacing]
    offsets = [np.array([(i + 0.5) / sub[0] - 0.5, (j + 0.5) / sub[1] - 0.5, (k + 0.5) / sub[2] - 0.5])
               for i in range(sub[0]) for j in range(sub[1]) for k in range(sub[2])]
    for obj in (scene["mimics"] + scene["lesions"]) if objects else []:
        b0, b1 = _block(grid, *_extent(obj), lo, hi)
        if np.all(b1 > b0):
            keep = 1 - sum(_object_field(obj, _block_points(grid, b0, b1, off)) for off in offsets) / len(offsets)
            acc[tuple(slice(b0[i] - lo[i], b1[i] - lo[i]) for i in range(3))] *= keep.reshape(tuple(b1 - b0))
    centre = base.index_to_world(np.array(base.t1.shape) / 2)
    acc *= bias(scene, _block_points(grid, lo, hi, 0), centre).reshape(shape).astype(np.float32)
    if noise:
        rng = np.random.default_rng(scene["seed"] + [11, variant_seed])
        sigma = scene["contrast"]["wm"] / scene["snr"]
        acc = np.hypot(acc + rng.normal(scale=sigma, size=shape).astype(np.float32),
                       rng.normal(scale=sigma, size=shape).astype(np.float32))
    return acc.astype(np.float32)


def store(values, scene, kind):
    """Cast CSF-unit values to the variant's storage scale and type."""
    level = scene["wm_level"] / scene["contrast"]["wm"]
    if kind == "int16":
        return np.clip(np.rint(values * level), 0, 32767).astype(np.int16)
    if kind == "uint16":
        return np.clip(np.rint(values * 2400), 0, 4095).astype(np.uint16)
    if kind in ("scale01", "scale10"):
        return (np.rint(values * level) * (0.1 if kind == "scale01" else 10.0)).astype(np.float32)
    return values.astype(np.float32)


def write_nifti(path, data, grid: Grid):
    import nibabel as nib
    img = nib.Nifti1Image(data, np.diag([-1.0, -1.0, 1.0, 1.0]) @ grid.affine())  # LPS -> NIfTI RAS
    img.set_qform(img.affine, code=1)
    img.set_sform(img.affine, code=1)
    img.header.set_xyzt_units("mm")
    nib.save(img, str(path))


def truth_entry(scene, image):
    keep = ("id", "type", "region", "centre", "diameter_mm", "signal_drop")
    return {"id": scene["id"], "image": image, "snr": scene["snr"],
            "lesions": [{k: les[k] for k in keep} for les in scene["lesions"]],
            "mimics": [{"type": m["type"], "centre": m["centre"], "diameter_mm": m["diameter_mm"]} for m in scene["mimics"]]}


def generate(out: Path, n: int, seed: int, variants, log=print):
    base = base_mod.load_base()
    scenes = [make_subject(base, seed, i) for i in range(n)]
    anats = {}
    for vi, name in enumerate(variants):
        grid = variant_grid(base, name, seed)
        folder = Path(out) / name
        folder.mkdir(parents=True, exist_ok=True)
        subjects = []
        for s in scenes:
            anat = anats.setdefault(s["id"], anatomy(base, s))
            data = store(render(base, s, grid, variant_seed=vi, anat=anat), s, VARIANTS[name][2])
            write_nifti(folder / f"{s['id']}.nii.gz", data, grid)
            subjects.append(truth_entry(s, f"{s['id']}.nii.gz"))
            log(f"{name}/{s['id']}: {len(s['lesions'])} bleeds, SNR {s['snr']:.0f}, grid {grid.shape}")
        (folder / "truth.json").write_text(json.dumps({"schema": SCHEMA, "seed": seed, "variant": name,
                                                       "generator": "tests/heldout", "subjects": subjects}, indent=1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.heldout.generator", description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--n", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="repeatable; default: all")
    args = p.parse_args(argv)
    try:
        generate(args.out, args.n, args.seed, args.variant or list(VARIANTS))
    except base_mod.BaseUnavailable as exc:
        print(f"heldout generator: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
