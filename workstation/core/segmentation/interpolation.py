"""Filling the slices between painted slices.

SimpleITK's wheels do not carry ITK's MorphologicalContourInterpolator (a remote module), so when
`sitk.MorphologicalContourInterpolator` is missing this uses shape-based interpolation (Raya and
Udupa 1990): each painted slice becomes a signed distance map in mm (in-plane spacing respected),
the maps of two neighbouring painted slices are blended linearly, and the zero level is the contour.
Two disks of radii r1 and r2 thus give a cone whose radius changes linearly between them. Slices
already painted are kept as they are; only empty slices between two painted ones are filled.
"""
from __future__ import annotations

import numpy as np


def _signed_distance(plane: np.ndarray, sampling) -> np.ndarray:
    from scipy import ndimage

    inside = plane != 0
    return (ndimage.distance_transform_edt(inside, sampling=sampling)
            - ndimage.distance_transform_edt(~inside, sampling=sampling))


def _with_itk(mask: np.ndarray, axis: int) -> np.ndarray | None:
    try:
        import SimpleITK as sitk
    except ImportError:
        return None
    make = getattr(sitk, "MorphologicalContourInterpolator", None)
    if make is None:
        return None
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    out = sitk.GetArrayFromImage(make(image, label=1, axis=2 - axis))  # sitk axes are i, j, k
    return np.maximum(out.astype(np.uint8), mask.astype(np.uint8))


def interpolate_slices(mask: np.ndarray, axis: int = 0, spacing=(1.0, 1.0, 1.0), use_itk: bool = True) -> np.ndarray:
    """The mask with the empty slices between painted slices (along numpy `axis`) filled.
    `spacing` is per numpy axis (k, j, i) in mm."""
    mask = np.asarray(mask)
    if use_itk:
        found = _with_itk(mask, axis)
        if found is not None:
            return found
    moved = np.moveaxis(mask != 0, axis, 0)
    sampling = [s for a, s in enumerate(spacing) if a != axis]
    painted = np.nonzero(moved.reshape(moved.shape[0], -1).any(axis=1))[0]
    out = moved.astype(np.uint8).copy()
    for a, b in zip(painted[:-1], painted[1:]):
        if b - a < 2:
            continue
        da, db = _signed_distance(moved[a], sampling), _signed_distance(moved[b], sampling)
        for s in range(a + 1, b):
            t = (s - a) / (b - a)
            out[s] = ((1 - t) * da + t * db) > 0
    return np.moveaxis(out, 0, axis).copy()
