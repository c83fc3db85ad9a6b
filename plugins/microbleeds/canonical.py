"""The detector's one working frame: any input (orientation, spacing, storage type, intensity
scale) is resampled onto an axis-aligned 1 mm LPS grid, so nothing downstream depends on how the
scanner or the file laid the voxels out."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

WORK_SPACING = 1.0


def to_work_grid(array: np.ndarray, spacing, origin, direction) -> tuple[np.ndarray, np.ndarray]:
    """Resample a volume (numpy [k, j, i]) onto an axis-aligned 1 mm grid covering its extent.
    Returns (array [k, j, i] float32, world origin of voxel 0). Axes finer than 1 mm are smoothed
    first (anti-aliasing), so a 0.45 mm in-plane grid and a 1 mm one give the same image."""
    import SimpleITK as sitk

    data = np.asarray(array, dtype=np.float32)
    if not np.all(np.isfinite(data)):
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    sp_kji = np.asarray(spacing, float)[::-1]
    sigma = np.where(sp_kji < WORK_SPACING * 0.9, 0.42 * np.sqrt(np.maximum(WORK_SPACING ** 2 - sp_kji ** 2, 0)) / sp_kji, 0)
    if np.any(sigma > 0):
        data = ndimage.gaussian_filter(data, sigma)
    image = sitk.GetImageFromArray(np.ascontiguousarray(data))
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(float(o) for o in origin))
    image.SetDirection(tuple(np.asarray(direction, float).ravel()))
    size = np.array(image.GetSize())
    corners = np.array([[a, b, c] for a in (0, size[0] - 1) for b in (0, size[1] - 1) for c in (0, size[2] - 1)], float)
    world = np.array([image.TransformContinuousIndexToPhysicalPoint(tuple(c)) for c in corners])
    # snap the grid to whole millimetres so shifted or flipped copies of an image share voxels
    lo = np.floor(world.min(axis=0) / WORK_SPACING) * WORK_SPACING
    hi = world.max(axis=0)
    out_size = [int(n) for n in np.floor((hi - lo) / WORK_SPACING) + 1]
    resampled = sitk.Resample(image, out_size, sitk.Transform(), sitk.sitkLinear, tuple(lo),
                              (WORK_SPACING,) * 3, (1, 0, 0, 0, 1, 0, 0, 0, 1), 0.0, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(resampled), lo


def to_input_grid(mask: np.ndarray, work_origin, volume) -> np.ndarray:
    """A working-grid mask (bool [k, j, i]) resampled (nearest) onto `volume`'s own voxel grid."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(mask, np.uint8))
    image.SetSpacing((WORK_SPACING,) * 3)
    image.SetOrigin(tuple(float(o) for o in work_origin))
    ref = sitk.Image([int(n) for n in volume.size], sitk.sitkUInt8)
    ref.SetSpacing(tuple(float(s) for s in volume.spacing))
    ref.SetOrigin(tuple(float(o) for o in volume.origin))
    ref.SetDirection(tuple(np.asarray(volume.direction, float).ravel()))
    out = sitk.Resample(image, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    return sitk.GetArrayFromImage(out).astype(bool)


def robust_scale(array: np.ndarray, mask: np.ndarray) -> float:
    """A scale-free tissue level: the median inside `mask` (any storage type, any gain)."""
    values = array[mask]
    level = float(np.median(values)) if values.size else 0.0
    if not np.isfinite(level) or level <= 0:
        raise ValueError("no tissue signal found (the image is blank or not finite)")
    return level
