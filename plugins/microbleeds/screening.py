"""Stage 1: screen the whole brain for dark blobs with a multiscale Laplacian of Gaussian.

The image is resampled to a 1 mm isotropic LPS working grid, divided by its smoothed foreground
intensity (removes the bias field and global contrast), and filtered at a few scales matched to
2-10 mm foci. Local maxima of the scale-normalised response inside the head mask are the
candidates; the top `max_candidates` go to stage 2. Numpy/scipy/SimpleITK only: no network, so it
costs a few seconds per volume and needs no training."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

WORK_SPACING = 1.0
SIGMAS_MM = (0.8, 1.2, 1.8, 2.6)
BIAS_SIGMA_MM = 12.0
PATCH_SHAPE = (16, 20, 20)  # k (z), j (y), i (x) voxels of the working grid: 16 x 20 x 20 mm


@dataclass
class WorkImage:
    """The volume on the working grid: axis-aligned LPS, numpy order [k, j, i], 1 mm."""
    array: np.ndarray      # normalised intensity: ~1 for the local tissue level
    mask: np.ndarray       # bool: the head/brain foreground
    log: np.ndarray        # log of `array`, clipped; tissue level (0) outside the mask
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


def to_work_grid(array: np.ndarray, spacing, origin, direction) -> tuple[np.ndarray, np.ndarray]:
    """Resample a volume (numpy [k, j, i]) onto an axis-aligned 1 mm grid covering its extent."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(array, dtype=np.float32))
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(float(o) for o in origin))
    image.SetDirection(tuple(np.asarray(direction, float).ravel()))
    size = np.array(image.GetSize())
    corners = np.array([[a, b, c] for a in (0, size[0] - 1) for b in (0, size[1] - 1) for c in (0, size[2] - 1)], float)
    world = np.array([image.TransformContinuousIndexToPhysicalPoint(tuple(c)) for c in corners])
    lo, hi = world.min(axis=0), world.max(axis=0)
    out_size = [int(n) for n in np.floor((hi - lo) / WORK_SPACING) + 1]
    resampled = sitk.Resample(image, out_size, sitk.Transform(), sitk.sitkLinear, tuple(lo),
                              (WORK_SPACING,) * 3, (1, 0, 0, 0, 1, 0, 0, 0, 1), 0.0, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(resampled), lo


def foreground(array: np.ndarray) -> np.ndarray:
    """Head mask: above a fraction of the bright tissue level, holes filled, largest component."""
    smooth = ndimage.gaussian_filter(array, 1.0)
    bright = smooth[smooth > smooth.mean()]
    if bright.size == 0 or not np.isfinite(bright).all():
        raise ValueError("no head found in the image (it is blank or not finite)")
    level = np.percentile(bright, 50)
    mask = smooth > 0.5 * level
    mask = ndimage.binary_opening(mask, iterations=2)
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, n + 1))
        mask = labels == (1 + int(np.argmax(sizes)))
    # closing keeps dark foci that touch the brain surface inside the mask
    pad = 4
    mask = ndimage.binary_closing(np.pad(mask, pad), iterations=3)[pad:-pad, pad:-pad, pad:-pad]
    for k in range(mask.shape[0]):  # close each slice's holes (dark lesions, vessels)
        mask[k] = ndimage.binary_fill_holes(mask[k])
    return ndimage.binary_fill_holes(mask)


def _block_mean(a: np.ndarray, step: int) -> np.ndarray:
    pad = [(0, (-n) % step) for n in a.shape]
    a = np.pad(a, pad)
    k, j, i = (n // step for n in a.shape)
    return a.reshape(k, step, j, step, i, step).mean(axis=(1, 3, 5))


def normalise(array: np.ndarray, mask: np.ndarray, step: int = 4) -> np.ndarray:
    """Divide by the local foreground mean (bias field and scale), 1 = tissue level. The mean is
    smooth, so it is computed on a grid `step` times coarser and interpolated back."""
    m = mask.astype(np.float32)
    sigma = BIAS_SIGMA_MM / (WORK_SPACING * step)
    num = ndimage.gaussian_filter(_block_mean(array * m, step), sigma)
    den = ndimage.gaussian_filter(_block_mean(m, step), sigma)
    local = ndimage.zoom(num / np.maximum(den, 1e-3), step, order=1, grid_mode=True, mode="nearest")
    local = local[:array.shape[0], :array.shape[1], :array.shape[2]]
    out = np.where(mask, array / np.maximum(local, 1e-3 * float(local.max())), 0.0)
    return out.astype(np.float32)


def prepare(array, spacing, origin, direction) -> WorkImage:
    work, lo = to_work_grid(array, spacing, origin, direction)
    mask = foreground(work)
    if mask.sum() < 1000:
        raise ValueError("no head found in the image (the foreground is almost empty)")
    # crop to the head (and a margin for the filters) so empty field of view costs nothing
    kk, jj, ii = np.nonzero(mask)
    lo_kji = np.maximum([kk.min() - 12, jj.min() - 12, ii.min() - 12], 0)
    hi_kji = np.minimum([kk.max() + 13, jj.max() + 13, ii.max() + 13], mask.shape)
    box = tuple(slice(a, b) for a, b in zip(lo_kji, hi_kji))
    work, mask = work[box], mask[box]
    lo = lo + lo_kji[::-1] * WORK_SPACING
    norm = normalise(work, mask)
    # in log intensity a multiplicative signal drop (hemosiderin) stands out from tissue contrast;
    # outside the mask is set to tissue level so the brain edge does not look like a dark blob
    log = np.log(np.clip(np.where(mask, norm, 1.0), 0.05, None)).astype(np.float32)
    return WorkImage(norm, mask, log, lo)


def screen(work: WorkImage, max_candidates: int = 400, min_response: float = 0.04) -> Screened:
    best = np.zeros(work.array.shape, np.float32)
    scale = np.zeros(work.array.shape, np.uint8)
    for n, sigma_mm in enumerate(SIGMAS_MM):
        s = sigma_mm / work.spacing
        response = (s * s) * ndimage.gaussian_laplace(work.log, s)
        better = response > best
        best[better] = response[better]
        scale[better] = n
    inner = ndimage.binary_erosion(work.mask, iterations=1)
    peaks = (best == ndimage.maximum_filter(best, size=3)) & inner & (best > min_response)
    peaks &= work.array < 0.97  # a dark focus is darker than its surroundings
    kji = np.argwhere(peaks)
    values = best[peaks]
    order = np.argsort(-values)[:max_candidates]
    kji, values = kji[order], values[order]
    sigma = np.asarray(SIGMAS_MM)[scale[tuple(kji.T)]]
    # a ball of radius r gives its strongest normalised LoG response at sigma = r / sqrt(3)
    diameter = 2.0 * np.sqrt(3.0) * sigma
    return Screened(work.to_world(kji), values, diameter, work, kji)


def extract_patches(log: np.ndarray, kji: np.ndarray, shape=PATCH_SHAPE) -> np.ndarray:
    """Patches (n, k, j, i) of the log image centred on voxel indices `kji` (zero-padded)."""
    half = np.array(shape) // 2
    padded = np.pad(log, [(h, h) for h in half], mode="constant")
    out = np.empty((len(kji),) + tuple(shape), np.float32)
    for n, (k, j, i) in enumerate(np.asarray(kji, int)):
        out[n] = padded[k:k + shape[0], j:j + shape[1], i:i + shape[2]]
    return out
