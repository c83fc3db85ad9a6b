"""Grad-CAM on a model trained here to find a bright square: the heat map peaks inside the square.
Runs the whole plugin path: checkpoint -> densenet2d -> preprocessing -> Grad-CAM -> image grid."""
from __future__ import annotations

import numpy as np
import torch

from plugins.densenet2d.plugin import DenseNet2D
from workstation.core.volume import Volume

SIDE = 14


def _image(rng, square_at=None, shape=(64, 64)):
    image = rng.normal(100, 10, shape).astype(np.float32)
    if square_at is not None:
        r, c = square_at
        image[r:r + SIDE, c:c + SIDE] += 120
    return Volume(image)


def test_heatmap_peaks_inside_the_bright_square(tiny_checkpoint):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # one dense block: its feature maps are 1/4 of the input, fine enough to place a 14-pixel square
    path, model = tiny_checkpoint(task="binary", classes=("empty", "square"), block_config=[3])
    plugin = DenseNet2D(checkpoint=str(path), options={"heatmap": True})
    plugin.load("cpu")

    vols, labels = [], []
    for n in range(256):
        positive = n % 2 == 1
        at = tuple(rng.integers(0, 64 - SIDE, 2)) if positive else None
        vols.append(_image(rng, at))
        labels.append(float(positive))
    x = torch.stack([plugin.prepare(v)[0] for v in vols])
    y = torch.tensor(labels)[:, None]
    net = plugin.model.train()
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    for epoch in range(6):
        for idx in torch.randperm(len(x)).split(32):
            optimiser.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x[idx]), y[idx])
            loss.backward()
            optimiser.step()
    net.eval()

    # a wide image (so padding and resizing are undone on the way back), square away from the centre
    hits = 0
    for trial in range(5):
        image = rng.normal(100, 10, (60, 110)).astype(np.float32)
        r, c = int(rng.integers(0, 60 - SIDE)), int(rng.integers(0, 110 - SIDE))
        image[r:r + SIDE, c:c + SIDE] += 120
        pred = plugin.predict([Volume(image)])[0]
        assert pred.probabilities.values[1] > 0.5
        heat = pred.heatmap.array[0]
        assert heat.shape == (60, 110) and pred.heatmap.target == "square"
        pr, pc = np.unravel_index(np.argmax(heat), heat.shape)
        hits += (r <= pr < r + SIDE) and (c <= pc < c + SIDE)
    assert hits == 5
