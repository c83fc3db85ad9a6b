"""densenet3d: volumes resampled to the checkpoint's spacing, a segmentation head on 3D masks."""
from __future__ import annotations

import numpy as np

from workstation.core.volume import Volume
from workstation.ml.training import TrainConfig, train

from training_shapes import make_ball_project


def test_densenet3d_multitask_with_masks_loads_in_the_plugin(tmp_path):
    from plugins.densenet3d.plugin import DenseNet3D

    project = make_ball_project(tmp_path / "balls", 12)
    result = train(project, TrainConfig(plugin="densenet3d", tiny=True, size=(16, 16, 16), spacing=(2.5, 2.5, 2.5),
                                        epochs=1, batch_size=4, device="cpu", multitask=True,
                                        out=str(tmp_path / "run")))
    settings = result.card["settings"]
    assert settings["aux_target"] == "mask" and settings["input_spacing"] == [2.5, 2.5, 2.5]
    plugin = DenseNet3D(checkpoint=result.checkpoint)
    plugin.load("cpu")
    assert plugin.spacing == (2.5, 2.5, 2.5) and plugin.size == (16, 16, 16)
    volume = Volume(np.random.default_rng(0).normal(100, 20, (18, 22, 20)).astype(np.float32), spacing=(2, 2, 2))
    assert np.isclose(plugin.predict([volume])[0].probabilities.values.sum(), 1.0)
