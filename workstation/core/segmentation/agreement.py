"""Agreement between segmentations: Dice and the 95th-percentile Hausdorff distance, computed as
MONAI's `compute_dice` and `compute_hausdorff_distance(percentile=95)` do (edges = mask XOR its
binary erosion, nearest-edge distances in mm both ways, the larger of the two percentiles), with
numpy and scipy so that core needs no torch; tests compare the two."""
from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """2|A∩B| / (|A| + |B|); NaN when both are empty (MONAI: nothing to compare)."""
    a, b = np.asarray(a) != 0, np.asarray(b) != 0
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return float("nan")
    return 2.0 * int(np.logical_and(a, b).sum()) / total


def _edges(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_erosion(mask) ^ mask


def hausdorff(a: np.ndarray, b: np.ndarray, spacing=(1.0, 1.0, 1.0), percentile: float | None = 95) -> float:
    """Symmetric Hausdorff distance in mm between the edges of two masks (numpy order; spacing per
    numpy axis); `percentile` None for the maximum. NaN when both are empty, inf when one is."""
    from scipy.spatial import KDTree

    a, b = np.asarray(a) != 0, np.asarray(b) != 0
    if not a.any() and not b.any():
        return float("nan")
    if not a.any() or not b.any():
        return float("inf")
    scale = np.asarray(spacing, dtype=np.float64)
    pa = np.argwhere(_edges(a)).astype(np.float64) * scale
    pb = np.argwhere(_edges(b)).astype(np.float64) * scale
    d_ab = KDTree(pb, leafsize=32).query(pa, k=1)[0]
    d_ba = KDTree(pa, leafsize=32).query(pb, k=1)[0]
    if percentile is None:
        return float(max(d_ab.max(), d_ba.max()))
    return float(max(np.percentile(d_ab, percentile), np.percentile(d_ba, percentile)))


def _number(x: float) -> float | None:
    return None if math.isnan(x) else (x if math.isfinite(x) else None)


def compare(a: np.ndarray, b: np.ndarray, spacing) -> dict[str, Any]:
    """Dice, HD95 (mm) and both volumes (mm³) of two masks; spacing per numpy axis."""
    voxel = float(np.prod(spacing))
    hd = hausdorff(a, b, spacing)
    return {"dice": _number(dice(a, b)), "hd95_mm": _number(hd), "hd95_infinite": math.isinf(hd),
            "volume_a_mm3": float(np.count_nonzero(a)) * voxel, "volume_b_mm3": float(np.count_nonzero(b)) * voxel}


def segmentation_section(project) -> list[dict[str, Any]]:
    """For `workstation metrics --json`: per case, segment and pair of sources (readers, and model
    masks named "model:<plugin>"), Dice and HD95. Only pairs that both have a stored mask."""
    from workstation.core.project.config import ProjectError
    from workstation.core.segmentation import store

    rows = []
    by_case: dict[str, dict[str, dict[str, Any]]] = {}
    for v in store.latest_versions(project, None):  # one query, also for a project of many cases
        by_case.setdefault(v.case_id, {}).setdefault(v.segment, {})[v.reader] = v
    for case_id, by_segment in sorted(by_case.items()):
        for segment, sources in sorted(by_segment.items()):
            for ra, rb in combinations(sorted(sources), 2):
                row = {"case_id": case_id, "segment": segment, "a": ra, "b": rb}
                try:  # a missing or altered file spoils its pairs, not the whole report
                    ma, grid = store.load_mask(project, sources[ra])
                    mb, other = store.load_mask(project, sources[rb])
                except ProjectError as exc:
                    rows.append({**row, "error": str(exc)})
                    continue
                if not grid.same_as(other):
                    rows.append({**row, "error": "the two masks lie on different grids"})
                    continue
                rows.append({**row, **compare(ma, mb, grid.spacing[::-1])})
    return rows
