"""The Volume model: world <-> index mapping, statistics that ignore NaN/Inf, MONOCHROME1 flipping
without overflow, and geometry validation."""
from __future__ import annotations

import numpy as np
import pytest

from workstation.core.volume import Volume


def test_index_world_round_trip_oblique():
    angle = np.radians(35)
    direction = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    vol = Volume(np.zeros((4, 5, 6), np.int16), spacing=(0.5, 0.7, 2.0), origin=(10, -5, 3), direction=direction)
    ijk = np.array([[1, 2, 3], [5, 4, 0]], dtype=float)
    world = vol.index_to_world(ijk)
    expected = np.array([10, -5, 3]) + (ijk * [0.5, 0.7, 2.0]) @ direction.T
    np.testing.assert_allclose(world, expected)
    np.testing.assert_allclose(vol.world_to_index(world), ijk, atol=1e-9)
    assert vol.size == (6, 5, 4) and vol.kind == "3d"


def test_2d_array_becomes_one_slice_and_rgb_keeps_channels():
    assert Volume(np.zeros((3, 4), np.uint8)).array.shape == (1, 3, 4)
    rgb = Volume(np.zeros((1, 3, 4, 3), np.uint8))
    assert rgb.is_rgb and rgb.kind == "2d" and rgb.size == (4, 3, 1)


def test_stats_ignore_non_finite_values():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    a[0, 0, 0], a[1, 2, 3] = np.nan, -np.inf
    lo, hi, mean, bad = Volume(a).stats()
    finite = a[np.isfinite(a)]
    assert (lo, hi, bad) == (float(finite.min()), float(finite.max()), 2)
    assert mean == pytest.approx(float(finite.mean()))
    assert Volume(np.full((1, 2, 2), np.nan, np.float32)).stats()[3] == 4


def test_display_oriented_flips_full_int16_range_without_overflow():
    a = np.array([[[-32768, 0, 32767]]], dtype=np.int16)
    vol = Volume(a, invert=True)
    np.testing.assert_array_equal(vol.display_oriented(), np.array([[[32767, -1, -32768]]], dtype=np.int16))
    assert vol.display_oriented().dtype == np.int16
    plain = Volume(a)
    assert plain.display_oriented() is plain.array  # MONOCHROME2: no copy


def test_bad_geometry_is_refused():
    with pytest.raises(ValueError):
        Volume(np.zeros((2, 2, 2)), spacing=(1, 0, 1))
    with pytest.raises(ValueError):
        Volume(np.zeros((2,)))
