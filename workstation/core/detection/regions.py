"""Which MARS region (lobar / deep / infratentorial) a microbleed lies in.

The region map is the phantom generator's own (`workstation.core.phantoms.anatomy.load_anatomy`:
the MNI152 brain split into lobar, deep — basal ganglia and thalamus — and infratentorial —
brainstem and cerebellum — from MNI coordinates and the tissue maps). A point in an image's world
mm is taken to the template by the image's `template_from_world` 4x4 matrix (the phantom truth
JSON records it); an image without one is assumed to be registered to MNI152 already (world LPS mm
= MNI LPS mm). A point just outside the brain mask (a cortical bleed's centre can sit on the pial
edge after resampling) takes the region of the nearest brain voxel within `SNAP_MM`.
"""
from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

REGIONS = ("lobar", "deep", "infratentorial")
OUTSIDE = "outside"
SNAP_MM = 4.0


_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _load_region_map():
    from workstation.core.phantoms.anatomy import load_anatomy

    anat = load_anatomy()
    return anat.region, np.asarray(anat.origin, float)


def _region_map():
    with _LOAD_LOCK:  # one load of the MNI152 maps, however many threads ask at once
        return _load_region_map()


def _nearest_code(region: np.ndarray, k: int, j: int, i: int) -> int:
    """The region code of the nearest brain voxel within SNAP_MM (1 mm grid), else 0."""
    r = int(np.ceil(SNAP_MM))
    lo = np.maximum([k - r, j - r, i - r], 0)
    block = region[lo[0]:k + r + 1, lo[1]:j + r + 1, lo[2]:i + r + 1]
    found = np.argwhere(block > 0)
    if not len(found):
        return 0
    dist = np.linalg.norm(found + lo - [k, j, i], axis=1)
    best = int(dist.argmin())
    return int(block[tuple(found[best])]) if dist[best] <= SNAP_MM else 0


def regions_of(points_world: Iterable[Sequence[float]], template_from_world=None) -> list[str]:
    """The MARS region of each world-mm point ("outside" when it is not in or near the brain)."""
    points = np.asarray(list(points_world), float).reshape(-1, 3)
    if not len(points):
        return []
    matrix = np.eye(4) if template_from_world is None else np.asarray(template_from_world, float)
    template = points @ matrix[:3, :3].T + matrix[:3, 3]
    region, origin = _region_map()
    idx = np.round(template - origin).astype(int)[:, ::-1]  # (k, j, i)
    out = []
    for k, j, i in idx:
        if not (0 <= k < region.shape[0] and 0 <= j < region.shape[1] and 0 <= i < region.shape[2]):
            out.append(OUTSIDE)
            continue
        code = int(region[k, j, i])
        if code == 0:
            code = _nearest_code(region, k, j, i)
        out.append(REGIONS[code - 1] if code else OUTSIDE)
    return out


def template_matrix(metadata: dict | None, paths: Sequence[str] = ()) -> list | None:
    """A case's world -> MNI matrix: `metadata["template_from_world"]`, else the phantom truth JSON
    beside its image (NAME.nii.gz -> NAME.json), else None (the image is taken as MNI-registered)."""
    if metadata and metadata.get("template_from_world") is not None:
        return metadata["template_from_world"]
    for path in paths[:1]:
        p = Path(path)
        name = p.name
        for suffix in (".nii.gz", ".nii", ".nrrd", ".mha"):
            if name.endswith(suffix):
                sidecar = p.with_name(name[: -len(suffix)] + ".json")
                try:
                    truth = json.loads(sidecar.read_text())
                except (OSError, ValueError):
                    return None
                return truth.get("template_from_world") if isinstance(truth, dict) else None
    return None


def count_by_region(regions: Iterable[str]) -> dict[str, int]:
    counts = {name: 0 for name in REGIONS}
    for name in regions:
        if name in counts:
            counts[name] += 1
    return counts
