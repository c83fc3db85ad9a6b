"""Dice and HD95 equal MONAI's compute_dice and compute_hausdorff_distance(percentile=95)."""
from __future__ import annotations

import numpy as np
import pytest

from workstation.core.segmentation.agreement import dice, hausdorff
from workstation.core.segmentation.brush import sphere_mask
from workstation.core.segmentation.grid import Grid


def _pairs():
    grid = Grid((30, 48, 40), (0.8, 0.6, 2.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    a = sphere_mask(grid, (16.0, 14.0, 30.0), 8.0)
    b = sphere_mask(grid, (19.0, 13.0, 33.0), 7.0)
    rng = np.random.default_rng(7)
    noisy = a.copy()
    noisy[rng.random(a.shape) < 0.002] = 1  # specks far from the surface move HD95, not Dice much
    c = sphere_mask(grid, (10.0, 20.0, 20.0), 5.0) | sphere_mask(grid, (24.0, 8.0, 44.0), 4.0)
    spacing = grid.spacing[::-1]
    return [(a, b, spacing), (a, noisy, spacing), (b, c, spacing), (a, a, spacing)]


@pytest.mark.parametrize("case", range(4))
def test_equal_monai(case):
    import torch
    from monai.metrics import compute_dice, compute_hausdorff_distance

    a, b, spacing = _pairs()[case]
    ta = torch.from_numpy(a.astype(np.float32))[None, None]
    tb = torch.from_numpy(b.astype(np.float32))[None, None]
    assert dice(a, b) == pytest.approx(float(compute_dice(ta, tb, include_background=True)), abs=1e-6)
    expected = float(compute_hausdorff_distance(ta, tb, include_background=True, percentile=95,
                                                spacing=list(spacing)))
    assert hausdorff(a, b, spacing) == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_known_values():
    a = np.zeros((1, 20, 20), dtype=np.uint8)
    b = a.copy()
    a[0, 5:10, 5:10] = 1
    b[0, 5:10, 7:12] = 1
    assert dice(a, b) == pytest.approx(2 * 15 / 50)
    assert hausdorff(a, b, (1.0, 1.0, 1.0), percentile=None) == pytest.approx(2.0)
    assert np.isnan(dice(np.zeros_like(a), np.zeros_like(a)))
    assert hausdorff(a, np.zeros_like(a)) == float("inf")
