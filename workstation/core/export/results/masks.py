"""The masks a SEG holds, on the source images' own frames: a reader's mask file named by the case's
`metadata["mask"]` (a label map on the image grid: each non-zero label a segment), else the
accepted detection findings as spheres of their diameter."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workstation.core.export.output import ExportError
from workstation.core.export.results.sources import has_geometry, pixel_world


@dataclass
class Segment:
    label: str
    frames: np.ndarray      # (n_sources, rows, columns) bool


def _sample(volume, world: np.ndarray) -> np.ndarray:
    """Nearest-voxel values of `volume` at world points (…, 3); 0 outside."""
    spacing, origin = np.asarray(volume.spacing, float), np.asarray(volume.origin, float)
    index = np.linalg.solve(np.asarray(volume.direction, float) * spacing, (world - origin).reshape(-1, 3).T).T
    ijk = np.rint(index).astype(int)
    shape = volume.array.shape[:3][::-1]  # (i, j, k) sizes
    inside = np.all((ijk >= 0) & (ijk < shape), axis=1)
    values = np.zeros(len(ijk), volume.array.dtype)
    i, j, k = ijk[inside].T
    values[inside] = volume.array[k, j, i]
    return values.reshape(world.shape[:-1])


def mask_segments(case_id: str, mask_path, sources) -> list[Segment]:
    from workstation.core.io import ImageReadError, read_volume

    try:
        mask = read_volume(mask_path)
    except (ImageReadError, OSError) as exc:
        raise ExportError(f"case {case_id!r}: its mask {mask_path}: {exc}") from None
    if not has_geometry(sources):
        raise ExportError(f"case {case_id!r}: the source images have no patient geometry for a mask")
    sampled = np.stack([_sample(mask, pixel_world(ds)) for ds in sources])
    labels = sorted(int(v) for v in np.unique(sampled) if v != 0)
    return [Segment(f"label {v}", sampled == v) for v in labels]


def sphere_segments(findings, sources) -> list[Segment]:
    """One segment per finding label; each finding a ball of its diameter (at least one pixel)."""
    if not has_geometry(sources):
        return []
    worlds = [pixel_world(ds) for ds in sources]
    by_label: dict[str, np.ndarray] = {}
    for f in findings:
        centre, radius = np.asarray(f["centre"], float), max(float(f.get("diameter_mm") or 0) / 2, 0.0)
        frames = np.stack([np.linalg.norm(w - centre, axis=-1) <= radius for w in worlds])
        if not frames.any():  # smaller than a pixel: the nearest pixel
            d = np.stack([np.linalg.norm(w - centre, axis=-1) for w in worlds])
            frames = d == d.min()
        label = f.get("label") or "finding"
        by_label[label] = by_label.get(label, np.zeros_like(frames)) | frames
    return [Segment(label, frames) for label, frames in sorted(by_label.items())]
