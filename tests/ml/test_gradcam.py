"""Grad-CAM on a model trained here to find a bright square: the heat map peaks inside the square.
Runs the whole plugin path: checkpoint -> densenet2d -> resize and pad -> Grad-CAM -> image grid."""
from __future__ import annotations

import numpy as np
import torch

from plugins.densenet2d.plugin import DenseNet2D
from workstation.core.volume import Volume

SIDE = 20
SHAPE = (48, 64)  # wider than high: the plugin pads above and below, and the heat map must come back
# A fixed window, as a DICOM header gives: with a per-image percentile window the square would darken
# the rest of a positive image, and the network could learn that shortcut instead of the square.
# A dark background, as in an X-ray, so that the image's border with the zero padding is no edge.
WINDOW = (160.0, 320.0)


def _image(rng, square_at=None):
    image = rng.normal(30, 10, SHAPE).astype(np.float32)
    if square_at is not None:
        r, c = square_at
        image[r:r + SIDE, c:c + SIDE] += 150
    return Volume(image, window=WINDOW)


def _corner(rng):
    return int(rng.integers(0, SHAPE[0] - SIDE)), int(rng.integers(0, SHAPE[1] - SIDE))


def test_heatmap_peaks_inside_the_bright_square(tiny_checkpoint):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # one dense block: its feature maps are 1/4 of the input (4-pixel cells), fine enough to place the square
    path, _ = tiny_checkpoint(task="binary", classes=("empty", "square"), block_config=[3])
    plugin = DenseNet2D(checkpoint=str(path), options={"heatmap": True})
    plugin.load("cpu")

    vols = [_image(rng, _corner(rng) if n % 2 else None) for n in range(256)]
    x = torch.stack([plugin.prepare(v)[0] for v in vols])
    y = torch.tensor([float(n % 2) for n in range(256)])[:, None]
    net = plugin.model.train()
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    for epoch in range(6):
        for idx in torch.randperm(len(x)).split(32):
            batch = x[idx]
            for axis in (-1, -2):  # flips keep the learned filters from favouring one side of the square
                if torch.rand(1) < 0.5:
                    batch = batch.flip(axis)
            optimiser.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(net(batch), y[idx]).backward()
            optimiser.step()
    net.eval()

    assert plugin.predict([_image(rng)])[0].probabilities.values[1] < 0.5
    for trial in range(8):
        r, c = _corner(rng)
        pred = plugin.predict([_image(rng, (r, c))])[0]
        assert pred.probabilities.values[1] > 0.5
        heat = pred.heatmap.array[0]
        assert heat.shape == SHAPE and pred.heatmap.target == "square"
        peak = np.unravel_index(np.argmax(heat), heat.shape)
        assert r <= peak[0] < r + SIDE and c <= peak[1] < c + SIDE, (trial, (r, c), peak)
