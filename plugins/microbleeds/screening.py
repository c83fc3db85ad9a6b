"""Stage 1: screen the whole brain for dark blobs with a multiscale Laplacian of Gaussian.

The image is resampled to a 1 mm isotropic LPS working grid (canonical.py), the brain is
extracted (brainmask.py), the image is divided by its smoothed brain intensity (removes the bias
field, the storage type and the gain), and the log image is filtered at scales matched to 2-10 mm
foci. Local maxima of the scale-normalised response inside the brain are the candidates; the top
`max_candidates` go to stage 2. Numpy/scipy/SimpleITK only: no network, a few seconds a volume,
no training, so it cannot learn a generator."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from plugins.microbleeds.brainmask import extract_brain
from plugins.microbleeds.canonical import WORK_SPACING, to_work_grid

SIGMAS_MM = (1.0, 1.4, 2.0, 2.8)
BIAS_SIGMA_MM = 12.0
EDGE_MM = 2.0
PATCH_SHAPE = (20, 20, 20)  # k (z), j (y), i (x) voxels of the working grid: 20 mm cube
CHANNELS = 2  # log intensity, brain mask
STAGE1_CANDIDATES = 500  # the operating point: stage 1 hands its top 500 maxima to stage 2


@dataclass
class WorkImage:
    """The volume on the working grid: axis-aligned LPS, numpy order [k, j, i], 1 mm."""
    array: np.ndarray      # normalised intensity: ~1 for the local tissue level (0 outside the brain)
    mask: np.ndarray       # bool: the brain (what is screened)
    log: np.ndarray        # log of the normalised intensity, clipped; also outside the brain
    origin: np.ndarray     # world mm (x, y, z) of voxel [0, 0, 0]
    spacing: float = WORK_SPACING

    def to_world(self, kji) -> np.ndarray:
        kji = np.asarray(kji, float).reshape(-1, 3)
        return self.origin + kji[:, ::-1] * self.spacing

    def to_index(self, xyz) -> np.ndarray:
        """Continuous (k, j, i) of world points."""
        xyz = np.asarray(xyz, float).reshape(-1, 3)
        return ((xyz - self.origin) / self.spacing)[:, ::-1]


@dataclass
class Screened:
    centres: np.ndarray    # (n, 3) world mm
    response: np.ndarray   # (n,) LoG response, descending
    diameter: np.ndarray   # (n,) mm, from the best scale
    work: WorkImage
    kji: np.ndarray        # (n, 3) working-grid voxel of each candidate
    response_map: np.ndarray  # the best scale-normalised response per voxel


def block_mean(a: np.ndarray, step: int) -> np.ndarray:
    pad = [(0, (-n) % step) for n in a.shape]
    a = np.pad(a, pad)
    k, j, i = (n // step for n in a.shape)
    return a.reshape(k, step, j, step, i, step).mean(axis=(1, 3, 5))


def normalise(array: np.ndarray, mask: np.ndarray, step: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Divide by the local foreground mean (bias field and scale), 1 = tissue level. The mean is
    smooth, so it is computed on a grid `step` times coarser and interpolated back."""
    m = mask.astype(np.float32)
    sigma = BIAS_SIGMA_MM / (WORK_SPACING * step)
    num = ndimage.gaussian_filter(block_mean(array * m, step), sigma)
    den = ndimage.gaussian_filter(block_mean(m, step), sigma)
    local = ndimage.zoom(num / np.maximum(den, 1e-3), step, order=1, grid_mode=True, mode="nearest")
    local = local[:array.shape[0], :array.shape[1], :array.shape[2]]
    local = np.maximum(local, 1e-3 * float(local.max()))
    out = np.where(mask, array / local, 0.0)
    return out.astype(np.float32), local.astype(np.float32)


def prepare(array, spacing, origin, direction) -> WorkImage:
    work, lo = to_work_grid(array, spacing, origin, direction)
    masks = extract_brain(work)
    mask = masks.brain
    if mask.sum() < 20000:
        raise ValueError("no brain found in the image (the brain mask is almost empty)")
    # crop to the brain (and a margin for the filters and patches) so the field of view costs nothing
    kk, jj, ii = np.nonzero(masks.rough)
    m = PATCH_SHAPE[0] // 2 + 2
    lo_kji = np.maximum([kk.min() - m, jj.min() - m, ii.min() - m], 0)
    hi_kji = np.minimum([kk.max() + m + 1, jj.max() + m + 1, ii.max() + m + 1], mask.shape)
    box = tuple(slice(a, b) for a, b in zip(lo_kji, hi_kji))
    work, mask = work[box] / masks.level, mask[box]
    lo = lo + lo_kji[::-1] * WORK_SPACING
    norm, local = normalise(work, mask)
    # in log intensity a multiplicative signal drop (hemosiderin) stands out from tissue contrast;
    # outside the brain the image is kept (the patch network sees skull and sinus context)
    outside = work / np.maximum(local, 0.2)
    log = np.log(np.clip(np.where(mask, norm, outside), 0.05, 4.0)).astype(np.float32)
    return WorkImage(norm, mask, log, lo)


def screen(work: WorkImage, max_candidates: int = STAGE1_CANDIDATES, min_response: float = 0.03) -> Screened:
    best = np.zeros(work.array.shape, np.float32)
    scale = np.zeros(work.array.shape, np.uint8)
    # outside the brain, continue the nearby brain's own level (normalised convolution), so the
    # brain's edge is no step and gives no blob response
    m = work.mask.astype(np.float32)
    num = ndimage.gaussian_filter(np.where(work.mask, work.log, 0.0).astype(np.float32), 3.0)
    fill = num / np.maximum(ndimage.gaussian_filter(m, 3.0), 1e-3)
    inside_log = np.where(work.mask, work.log, fill).astype(np.float32)
    for n, sigma_mm in enumerate(SIGMAS_MM):
        s = sigma_mm / work.spacing
        response = (s * s) * ndimage.gaussian_laplace(inside_log, s)
        better = response > best
        best[better] = response[better]
        scale[better] = n
    # the outer 2 mm of the brain carries the skull's and the sinuses' dark partial volume; a
    # bleed's centre lies deeper than that (at least its radius plus 0.5 mm inside the parenchyma).
    # Where the field of view cuts the brain (the medulla at the bottom of an axial slab), the cut
    # is an edge too: the mask is padded with background before the distance is taken
    inner = ndimage.distance_transform_edt(np.pad(work.mask, 1))[1:-1, 1:-1, 1:-1] > EDGE_MM
    peaks = (best == ndimage.maximum_filter(best, size=3)) & inner & (best > min_response)
    peaks &= work.array < 0.97  # a dark focus is darker than its surroundings
    kji = np.argwhere(peaks)
    values = best[peaks]
    order = np.argsort(-values)[:max_candidates]
    kji, values = kji[order], values[order]
    sigma = np.asarray(SIGMAS_MM)[scale[tuple(kji.T)]]
    # a ball of radius r gives its strongest normalised LoG response at sigma = r / sqrt(3)
    diameter = 2.0 * np.sqrt(3.0) * sigma
    return Screened(work.to_world(kji), values, diameter, work, kji, best)


def extract_patches(work: WorkImage, kji: np.ndarray, shape=PATCH_SHAPE) -> np.ndarray:
    """Patches (n, 2, k, j, i) centred on voxel indices `kji` (zero-padded): the log image and
    the brain mask."""
    half = np.array(shape) // 2
    pads = [(h, h) for h in half]
    log = np.pad(work.log, pads, mode="constant")
    mask = np.pad(work.mask.astype(np.float32), pads, mode="constant")
    out = np.empty((len(kji), CHANNELS) + tuple(shape), np.float32)
    for n, (k, j, i) in enumerate(np.asarray(kji, int)):
        sl = np.s_[k:k + shape[0], j:j + shape[1], i:i + shape[2]]
        out[n, 0], out[n, 1] = log[sl], mask[sl]
    return out
