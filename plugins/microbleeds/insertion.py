"""Training-time domain randomisation of the bleed itself: microbleeds drawn into stage-1 patches.

The phantom generator draws bleeds one way (a core plus blooming); a network trained on those alone
learned that look and scored plainer bleeds low (on the project's own validation phantoms, 2-3 mm
bleeds drawn as below reached 0.13 of the sensitivity at one false positive per volume that the
generator's own 2-4 mm bleeds reached, 0.56). Here a bleed is drawn straight into a patch of the
working grid (log intensity, 1 mm), centred within half a voxel of the patch centre, with its
appearance drawn per bleed: diameter 1.2-10 mm (35 % below 3), a multiplicative drop of 20-85 %
at the centre, a sigmoid edge 0.15-0.9 mm wide, ovoid (axes 0.85-1.15, any rotation), a faint
blooming halo for some, partial volume (3x supersampled), and the noise a darker voxel carries
(the patch's own noise level, estimated from it). Backgrounds are stage-1 negatives, so the bleed
sits among the vessels, edges and texture that the screen proposes.

The same draw inside cerebrospinal fluid (a dark focus mostly surrounded by CSF: choroid plexus
calcification, a vessel in a cistern) is labelled negative: a microbleed lies in the parenchyma."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

CENTRE = 10  # the candidate voxel of a 20-voxel patch (extract_patches)
CSF_LOG = 0.15  # log normalised intensity above which a voxel is taken for CSF (1.16x the local level, which CSF raises)


def draw_bleed(rng) -> dict:
    u = rng.random()
    # from 1.2 mm: a 2 mm bleed with a soft edge, partial-volumed, looks smaller than its size; the
    # generator's own bleeds bloom, so compact dark dots were almost all negatives (vessels) there
    d = (rng.uniform(1.2, 3) if u < 0.35 else rng.uniform(3, 4.5) if u < 0.55 else rng.uniform(4.5, 6.5) if u < 0.8
         else rng.uniform(6.5, 10))
    return {"d": float(d), "drop": float(rng.uniform(0.2, 0.85)), "edge": float(rng.uniform(0.15, 0.9)),
            "bloom": float(rng.uniform(0.3, 1.0)) if rng.random() < 0.3 else 0.0,
            "axes": rng.uniform(0.85, 1.15, 3), "rot": np.linalg.qr(rng.normal(size=(3, 3)))[0],
            "shift": rng.uniform(-0.5, 0.5, 3)}


def bleed_profile(b: dict, size: int = 20, sub: int = 3) -> np.ndarray:
    """Fraction of the drop per voxel (1 at the centre), averaged over sub^3 points per voxel."""
    g = (np.arange(size * sub, dtype=np.float32) + 0.5) / sub - 0.5 - CENTRE  # voxel v is centred at v - CENTRE
    pts = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1) - b["shift"]
    r = np.sqrt(((pts @ b["rot"] / b["axes"]) ** 2).sum(-1))
    f = 1 / (1 + np.exp((r - b["d"] / 2) / b["edge"]))
    f /= 1 / (1 + np.exp(-b["d"] / 2 / b["edge"]))
    if b["bloom"] > 0:
        f = np.maximum(f, 0.35 / (1 + np.exp((r - b["d"] / 2 - b["bloom"]) / 0.5)))
    return np.clip(f.reshape(size, sub, size, sub, size, sub).mean(axis=(1, 3, 5)), 0, 1)


def noise_level(log: np.ndarray, brain: np.ndarray) -> float:
    """Robust noise sigma of the log image in the brain: the median absolute residual after a
    1-voxel Gaussian (which keeps 0.95 of white noise's sigma), as a normal sigma."""
    residual = np.abs(log - ndimage.gaussian_filter(log, 1.0))[brain]
    return float(np.median(residual) * 1.4826 / 0.95) if residual.size > 50 else 0.05


def site(log: np.ndarray, brain: np.ndarray, d: float) -> str | None:
    """'parenchyma', 'csf' or None (too near the brain's edge, or neither) for a bleed of diameter d
    at the patch centre."""
    c = CENTRE
    if not brain[c, c, c] or ndimage.distance_transform_edt(brain)[c, c, c] < d / 2 + 1.0:
        return None
    r = int(np.ceil(d / 2)) + 1
    box = log[c - r:c + r + 1, c - r:c + r + 1, c - r:c + r + 1]
    if float(np.percentile(box, 90)) < CSF_LOG:
        return "parenchyma"
    rr = np.sqrt(((np.indices(log.shape) - c) ** 2).sum(0))
    shell = (rr >= d / 2 + 0.5) & (rr <= d / 2 + 2.5)
    return "csf" if float(np.mean(log[shell] > CSF_LOG)) > 0.5 else None


def draw_into(patch: np.ndarray, b: dict, rng) -> np.ndarray:
    """patch (2, 20, 20, 20): channel 0 log intensity, channel 1 brain mask. A copy with the bleed."""
    log, brain = patch[0].astype(np.float32), patch[1] > 0.5
    sigma = noise_level(log, brain)
    keep = 1 - b["drop"] * bleed_profile(b, log.shape[0])
    level = float(np.exp(np.median(log[brain])))
    # a darker voxel keeps the noise of the full signal: add what the scaling took away
    extra = np.sqrt(np.clip(1 - keep ** 2, 0, 1)) * sigma * level * rng.standard_normal(log.shape).astype(np.float32)
    out = patch.astype(np.float32, copy=True)
    out[0] = np.where(brain, np.log(np.clip(np.exp(log) * keep + extra, 0.05, 4.0)), log)
    return out


def inserted_batch(x: np.ndarray, backgrounds: np.ndarray, n_pos: int, n_csf: int, rng, tries: int = 20):
    """(patches, labels, diameters): n_pos bleeds drawn into parenchyma and up to n_csf into CSF
    (labelled 0), each on a background patch x[i] for i drawn from `backgrounds`."""
    out, labels, diams = [], [], []
    want = {"parenchyma": n_pos, "csf": n_csf}
    for _ in range((n_pos + n_csf) * tries):
        if not any(want.values()):
            break
        i = int(rng.choice(backgrounds))
        b = draw_bleed(rng)
        where = site(x[i, 0].astype(np.float32), x[i, 1] > 0.5, b["d"])
        if where is None or want[where] == 0:
            continue
        want[where] -= 1
        out.append(draw_into(x[i], b, rng))
        labels.append(1.0 if where == "parenchyma" else 0.0)
        diams.append(max(b["d"], 2.0) if where == "parenchyma" else 0.0)
    if not out:
        return np.zeros((0,) + x.shape[1:], np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.stack(out), np.asarray(labels, np.float32), np.asarray(diams, np.float32)
