from __future__ import annotations

import numpy as np

from workstation.core.volume import Volume
from workstation.ml import preprocess as pp


def test_window_from_header_scales_to_unit():
    vol = Volume(np.array([[0, 40, 80, 200]], np.int16), window=(40, 80))
    assert np.allclose(pp.to_unit_intensity(vol)[0, 0, 0], [0, 0.5, 1, 1])


def test_rgb_and_channel_matching():
    rgb = Volume(np.zeros((1, 4, 5, 3), np.uint8) + np.array([255, 0, 0], np.uint8))
    data = pp.to_unit_intensity(rgb)
    assert data.shape == (3, 1, 4, 5) and data[0].max() == 1
    grey = pp.match_channels(data, 1)
    assert grey.shape == (1, 1, 4, 5) and np.allclose(grey, 0.299)
    assert pp.match_channels(grey, 3).shape == (3, 1, 4, 5)


def test_fit_2d_keeps_aspect_and_pads_centred():
    image = np.ones((1, 1, 50, 100), np.float32)  # wide: 100 x 50
    tensor, place = pp.fit_2d(image, (64, 64))
    assert tuple(tensor.shape) == (1, 64, 64)
    assert place.resized == (32, 64) and place.offset == (16, 0)
    rows = tensor[0].numpy().max(axis=1)
    assert rows[:16].max() == 0 and rows[16:48].min() > 0.99 and rows[48:].max() == 0


def test_heatmap_maps_back_to_the_same_place():
    image = np.zeros((1, 1, 60, 120), np.float32)
    _, place = pp.fit_2d(image, (64, 64))
    heat = np.zeros((64, 64), np.float32)
    heat[16 + 8:16 + 12, 30:34] = 1.0  # a spot inside the image area of the network grid
    back = pp.heatmap_to_image(heat, place)
    assert back.shape == (60, 120)
    r, c = np.unravel_index(np.argmax(back), back.shape)
    assert 8 * 60 / 32 - 3 <= r <= 12 * 60 / 32 + 3 and 30 * 120 / 64 - 3 <= c <= 34 * 120 / 64 + 3


def test_fit_3d_resamples_and_crops():
    data = np.zeros((1, 40, 100, 100), np.float32)  # k, j, i at 0.5 x 0.5 x 2 mm
    data[0, 20, 50, 50] = 1
    tensor, place = pp.fit_3d(data, (0.5, 0.5, 2.0), (1.0, 1.0, 1.0), (32, 32, 32))
    assert tuple(tensor.shape) == (1, 32, 32, 32)
    assert place.resized == (80, 50, 50) and place.offset == (-24, -9, -9)
    back = pp.heatmap_to_image(tensor[0].numpy(), place)
    assert back.shape == (40, 100, 100)
    assert np.unravel_index(np.argmax(back), back.shape) in {(20, 50, 50), (20, 49, 49), (20, 50, 49), (20, 49, 50)}
