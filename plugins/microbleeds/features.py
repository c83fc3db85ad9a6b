"""Stage 2's measurements of a candidate: 44 numbers from its 20 mm patch (log intensity, brain
mask), each a physical property a reader judges a dark focus by, and none tied to an orientation:

- the radial profile of log intensity in the brain (shells 0-9 mm): how dark, how wide, how
  sharp-edged; the share of CSF-bright voxels per shell (a focus in a ventricle or cistern is a
  calcification or a vessel); the brain's share at 3, 6 and 9 mm (the brain's edge); zero padding
  (the field of view's edge);
- the noise of the patch (robust, from the high-pass residual) and the focus's contrast to it;
- the Hessian's eigenvalues at the centre at 1, 1.5 and 2.2 mm (a dark blob has three positive
  ones of a size; a vessel one near zero; an edge one of each sign);
- the dark region joined to the centre (below half the centre's contrast): its size, its
  elongation (the inertia axes' ratios: a vessel seen end-on is a tube in 3D) and its share
  outside the brain (a notch open to the dark space around the brain);
- the centre's depth in the brain (mm to the nearest voxel outside it).

A small boosted-tree model on these (trees.py) generalises better to images the training
generator did not make than the patch CNN does (docs/readme/microbleeds.md gives the figures)."""
from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage

CENTRE = 10
_grid = np.indices((20, 20, 20)).astype(np.float32) - CENTRE
RADIUS = np.sqrt((_grid ** 2).sum(0))
SHELL = np.minimum(RADIUS.astype(int), 10)
CSF_LOG = 0.3
HESSIAN_SIGMAS = (1.0, 1.5, 2.2)


def _hessian_eigenvalues(log: np.ndarray, sigma: float) -> np.ndarray:
    """(n, 3) ascending eigenvalues of the scale-normalised Hessian at each patch's centre."""
    n = len(log)
    h = np.empty((n, 3, 3), np.float32)
    core = log[:, CENTRE - 6:CENTRE + 7, CENTRE - 6:CENTRE + 7, CENTRE - 6:CENTRE + 7]
    for a in range(3):
        for b in range(a, 3):
            order = [0, 0, 0, 0]
            order[1 + a] += 1
            order[1 + b] += 1
            v = ndimage.gaussian_filter(core, (0, sigma, sigma, sigma), order=order)[:, 6, 6, 6]
            h[:, a, b] = h[:, b, a] = v * sigma * sigma
    return np.linalg.eigvalsh(h)


def _dark_region(smooth: np.ndarray, half: np.ndarray, brain: np.ndarray):
    """log(1 + voxels), longest/shortest and middle/shortest inertia axis ratios of the region
    below `half` joined to each patch's centre (within 9 mm), and the share of it outside the
    brain (a dark notch open to the dark space outside the brain is a sulcus or a surface vessel)."""
    n = len(smooth)
    size, elong, mid = np.zeros(n, np.float32), np.ones(n, np.float32), np.ones(n, np.float32)
    outside = np.zeros(n, np.float32)
    for i in range(n):
        lab, _ = ndimage.label((smooth[i] < half[i]) & (RADIUS <= 9))
        k = lab[CENTRE, CENTRE, CENTRE]
        if k == 0:
            continue
        region = lab == k
        outside[i] = 1.0 - brain[i][region].mean()
        pts = np.argwhere(region).astype(np.float32)
        size[i] = len(pts)
        if len(pts) >= 4:
            e = np.linalg.eigvalsh(np.cov(pts.T) + 1e-3 * np.eye(3))
            elong[i], mid[i] = np.sqrt(e[2] / e[0]), np.sqrt(e[1] / e[0])
    return np.log1p(size), elong, mid, outside


def _depth_in_brain(brain: np.ndarray) -> np.ndarray:
    """mm from each patch's centre to the nearest voxel outside the brain (at most 10: the patch's
    own border counts as brain)."""
    out = np.empty(len(brain), np.float32)
    for i, m in enumerate(brain):
        out[i] = ndimage.distance_transform_edt(np.pad(m, 1, constant_values=True))[CENTRE + 1, CENTRE + 1, CENTRE + 1]
    return np.minimum(out, 10.0)


def features(patches: np.ndarray) -> dict[str, np.ndarray]:
    """patches (n, 2, 20, 20, 20) -> {name: (n,) float32}."""
    p = np.asarray(patches, np.float32)
    log, brain = p[:, 0], p[:, 1] > 0.5
    n = len(p)
    out: dict[str, np.ndarray] = {}
    profile = np.zeros((n, 10), np.float32)
    bright = np.zeros((n, 10), np.float32)
    share = np.zeros((n, 10), np.float32)
    for s in range(10):
        shell = SHELL == s
        m, v = brain[:, shell], log[:, shell]
        count = m.sum(1)
        profile[:, s] = np.where(count > 0, (v * m).sum(1) / np.maximum(count, 1), 0)
        bright[:, s] = ((v > CSF_LOG) & m).sum(1) / shell.sum()
        share[:, s] = count / shell.sum()
    out.update({f"prof{s}": profile[:, s] for s in range(10)})
    out.update({f"bright{s}": bright[:, s] for s in range(1, 8)})
    out.update({f"mask{s}": share[:, s] for s in (3, 6, 9)})
    out["pad"] = ((log == 0) & ~brain).mean((1, 2, 3))
    residual = np.where(brain, np.abs(log - ndimage.gaussian_filter(log, (0, 1, 1, 1))), np.nan)
    with warnings.catch_warnings():  # a patch without brain has no residual: noise 1 below
        warnings.simplefilter("ignore", RuntimeWarning)
        noise = np.nanmedian(residual.reshape(n, -1), axis=1) * 1.4826 / 0.6
    noise = np.where(np.isfinite(noise), noise, 1.0).astype(np.float32)
    out["noise"] = noise
    ring = profile[:, 5:8].mean(1)
    scale = np.maximum(noise, 1e-3)
    out.update({f"cnr{s}": (ring - profile[:, s]) / scale for s in range(4)})
    for sigma in HESSIAN_SIGMAS:
        ev = _hessian_eigenvalues(log, sigma)
        t = f"{sigma:g}"
        out[f"h3_{t}"], out[f"h1_{t}"] = ev[:, 2] / scale, ev[:, 0] / scale
        out[f"hr_{t}"] = ev[:, 0] / np.maximum(np.abs(ev[:, 2]), 1e-4)
        out[f"hm_{t}"] = ev[:, 1] / np.maximum(np.abs(ev[:, 2]), 1e-4)
    smooth = ndimage.gaussian_filter(log, (0, 0.7, 0.7, 0.7))
    centre = smooth[:, CENTRE, CENTRE, CENTRE]
    out["dsize"], out["elong"], out["elong_mid"], out["dark_outside"] = _dark_region(smooth, (centre + ring) / 2, brain)
    out["brain_depth"] = _depth_in_brain(brain)
    out["depth"] = ring - centre
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def feature_matrix(patches: np.ndarray, names, context: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The named columns: the patch's own measurements, and those of `context` (measurements of the
    whole volume per candidate, such as symmetry.mirror_features)."""
    f = features(patches)
    f.update(context or {})
    return np.stack([f[name] for name in names], 1)
