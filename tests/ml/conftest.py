"""Tiny networks and checkpoints for the ML tests (CPU, seconds)."""
from __future__ import annotations

import pytest

TINY_2D = {"name": "DenseNet", "spatial_dims": 2, "in_channels": 1, "out_channels": 1, "init_features": 8,
           "growth_rate": 8, "block_config": [2, 2]}


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A factory: write a checkpoint of a freshly built tiny DenseNet; returns (path, model)."""
    import torch

    from workstation.ml.checkpoint import output_size, save_checkpoint
    from workstation.ml.networks import build_network

    def make(plugin_id="densenet2d", task="binary", classes=("normal", "abnormal"), dims=2, channels=1,
             size=(64, 64), spacing=None, name="tiny.pt", seed=0, model=None, block_config=None):
        torch.manual_seed(seed)
        arch = dict(TINY_2D, spatial_dims=dims, in_channels=channels, out_channels=output_size(task, list(classes)))
        if block_config is not None:
            arch["block_config"] = list(block_config)
        model = model if model is not None else build_network(arch)
        path = tmp_path / name
        save_checkpoint(path, model.state_dict(), plugin_id=plugin_id, task=task, classes=list(classes),
                        architecture=arch, preprocessing={"size": list(size), "spacing": spacing},
                        metadata={"note": "test"})
        return path, model

    return make
