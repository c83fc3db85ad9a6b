"""Turning a `Volume` into a network input, and a network-grid heat map back onto the image grid.

Steps: intensity to [0, 1] (the DICOM window where the header has one, else the 1st-99th percentile
window; RGB 8-bit divided by 255), channel matching (grey <-> RGB), then 2D: aspect-preserving resize
and centred zero padding to the network size; 3D: resampling to the target spacing and centred
crop or pad. `Placement` remembers the geometry so that a heat map can be mapped back.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Placement:
    original: tuple[int, ...]  # spatial shape of the image, numpy order
    resized: tuple[int, ...]  # after resizing / resampling
    offset: tuple[int, ...]  # where the resized image starts in the network grid (negative: cropped)
    network: tuple[int, ...]  # the network grid


def to_unit_intensity(volume) -> np.ndarray:
    """float32 (C, k, j, i) in [0, 1]."""
    array = volume.array
    if volume.is_rgb:
        data = array.astype(np.float32)
        data = data / 255.0 if array.dtype == np.uint8 else _minmax(data)
        return np.clip(np.moveaxis(data, -1, 0), 0, 1)
    center, width = volume.default_window()
    low = center - width / 2.0
    data = (array.astype(np.float32) - np.float32(low)) / np.float32(max(width, 1e-6))
    return np.clip(np.nan_to_num(data, nan=0.0), 0, 1)[np.newaxis]


def _minmax(data: np.ndarray) -> np.ndarray:
    lo, hi = float(np.nanmin(data)), float(np.nanmax(data))
    return (data - lo) / (hi - lo) if hi > lo else np.zeros_like(data)


def match_channels(data: np.ndarray, channels: int) -> np.ndarray:
    if data.shape[0] == channels:
        return data
    if channels == 1:  # RGB -> luminance (ITU-R BT.601)
        weights = np.array([0.299, 0.587, 0.114], np.float32)[:data.shape[0]]
        return np.tensordot(weights / weights.sum(), data, axes=1)[np.newaxis].astype(np.float32)
    return np.repeat(data[:1], channels, axis=0)


def _resize(tensor, shape: tuple[int, ...]):
    import torch.nn.functional as F

    if tuple(tensor.shape[1:]) == tuple(shape):
        return tensor
    if len(shape) == 2:
        return F.interpolate(tensor[None], size=shape, mode="bilinear", align_corners=False, antialias=True)[0]
    return F.interpolate(tensor[None], size=shape, mode="trilinear", align_corners=False)[0]


def _place(tensor, network: tuple[int, ...]):
    """Centre `tensor` (C, *spatial) in a zero grid of `network` shape, cropping where it is larger."""
    import torch

    spatial = tuple(tensor.shape[1:])
    offset = tuple((n - s) // 2 for n, s in zip(network, spatial))
    out = torch.zeros((tensor.shape[0], *network), dtype=tensor.dtype)
    src = tuple(slice(max(0, -o), max(0, -o) + min(s, n)) for o, s, n in zip(offset, spatial, network))
    dst = tuple(slice(max(0, o), max(0, o) + min(s, n)) for o, s, n in zip(offset, spatial, network))
    out[(slice(None), *dst)] = tensor[(slice(None), *src)]
    return out, offset


def fit_2d(data: np.ndarray, size_xy: tuple[int, int]):
    """(C, 1, H, W) or (C, H, W) in [0, 1] -> tensor (C, h, w) of network size (w, h) = size_xy, and its Placement."""
    import torch

    image = torch.from_numpy(np.ascontiguousarray(data.reshape(data.shape[0], *data.shape[-2:])))
    original = tuple(image.shape[1:])
    network = (int(size_xy[1]), int(size_xy[0]))
    scale = min(network[0] / original[0], network[1] / original[1])
    resized = tuple(max(1, min(n, round(o * scale))) for o, n in zip(original, network))
    out, offset = _place(_resize(image, resized), network)
    return out, Placement(original, resized, offset, network)


def fit_3d(data: np.ndarray, spacing_xyz, target_spacing_xyz, size_xyz):
    """(C, k, j, i) in [0, 1] -> tensor (C, K, J, I) resampled to the target spacing (when given) and
    centre-cropped or padded to size_xyz (x, y, z), and its Placement."""
    import torch

    image = torch.from_numpy(np.ascontiguousarray(data))
    original = tuple(image.shape[1:])
    if target_spacing_xyz is not None:
        factors = np.asarray(spacing_xyz[::-1], float) / np.asarray(target_spacing_xyz[::-1], float)
        resized = tuple(max(1, int(round(o * f))) for o, f in zip(original, factors))
    else:
        resized = original
    network = tuple(int(s) for s in size_xyz[::-1])
    out, offset = _place(_resize(image, resized), network)
    return out, Placement(original, resized, offset, network)


def normalise(tensor, mean=None, std=None):
    """Per-channel (x - mean) / std after scaling to [0, 1]; nothing when the checkpoint gives none."""
    if mean is None or std is None:
        return tensor
    import torch

    shape = (-1,) + (1,) * (tensor.dim() - 1)
    mean_t = torch.as_tensor(mean, dtype=tensor.dtype).reshape(shape)
    std_t = torch.as_tensor(std, dtype=tensor.dtype).reshape(shape)
    return (tensor - mean_t) / std_t


def heatmap_to_image(heat: np.ndarray, placement: Placement) -> np.ndarray:
    """A map on the network grid back onto the image grid (the inverse of fit_2d / fit_3d); areas the
    network never saw (cropped away) get 0. Returns float32 of shape `placement.original`."""
    import torch

    heat = np.asarray(heat, np.float32).reshape(placement.network)
    canvas = np.zeros(placement.resized, np.float32)
    src, dst = [], []
    for o, r, n in zip(placement.offset, placement.resized, placement.network):
        start = max(0, o)  # first network voxel that holds the image
        first = max(0, -o)  # first image voxel inside the network grid
        length = min(r - first, n - start)
        src.append(slice(start, start + length))
        dst.append(slice(first, first + length))
    canvas[tuple(dst)] = heat[tuple(src)]
    back = _resize(torch.from_numpy(canvas)[None], placement.original)[0].numpy()
    return np.clip(back, 0, None).astype(np.float32)
