"""The bundled classifier plugins, in-process (the runner tests cover the worker process)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from plugins.densenet2d import MANIFEST as M2D
from plugins.densenet2d.plugin import DenseNet2D
from plugins.densenet3d import MANIFEST as M3D
from plugins.densenet3d.plugin import DenseNet3D
from workstation.core.volume import Volume
from workstation.plugin_api import CheckpointMissing, PluginError, prediction_problems


def test_refuses_to_run_without_weights():
    with pytest.raises(CheckpointMissing, match="densenet2d has no weights: pass --checkpoint PATH"):
        DenseNet2D().load("cpu")


@pytest.mark.parametrize("task, classes", [
    ("binary", ("normal", "abnormal")), ("multiclass", ("a", "b", "c")), ("multilabel", ("x", "y", "z", "w"))])
def test_heads_give_valid_probabilities_and_heatmaps(tiny_checkpoint, task, classes):
    path, _ = tiny_checkpoint(task=task, classes=classes)
    plugin = DenseNet2D(checkpoint=str(path), options={"heatmap": True})
    plugin.load("cpu")
    assert plugin.task == task and plugin.classes == list(classes)
    grey = Volume(np.random.default_rng(0).integers(0, 4096, (1, 70, 50)).astype(np.int16), window=(2048, 4096))
    rgb = Volume(np.random.default_rng(1).integers(0, 255, (1, 40, 90, 3)).astype(np.uint8))
    done = []
    preds = plugin.predict([grey, rgb], progress=done.append)
    manifest = replace(M2D, task=task, classes=tuple(classes))
    for volume, pred in zip([grey, rgb], preds):
        assert prediction_problems(manifest, volume.array.shape[:3], pred) == []
        assert pred.heatmap.array.shape == volume.array.shape[:3]
    assert done == [0.5, 1.0]
    if task == "multilabel":
        assert not np.isclose(preds[0].probabilities.values.sum(), 1.0)


def test_same_input_same_output_and_batch_independence(tiny_checkpoint):
    path, _ = tiny_checkpoint()
    plugin = DenseNet2D(checkpoint=str(path))
    plugin.load("cpu")
    vols = [Volume(np.random.default_rng(i).random((1, 64, 64)).astype(np.float32)) for i in range(3)]
    together = [p.probabilities.values for p in plugin.predict(vols)]
    alone = [plugin.predict([v])[0].probabilities.values for v in vols]
    assert np.allclose(together, alone, atol=1e-5)


def test_wrong_dimensionality_and_wrong_checkpoint(tiny_checkpoint):
    path, _ = tiny_checkpoint()
    plugin = DenseNet2D(checkpoint=str(path))
    plugin.load("cpu")
    with pytest.raises(PluginError, match="reads 2D images; this is a volume of 5 slices"):
        plugin.predict([Volume(np.zeros((5, 8, 8), np.float32))])
    with pytest.raises(PluginError, match="is for plugin 'densenet2d', not 'densenet3d'"):
        DenseNet3D(checkpoint=str(path)).load("cpu")


def test_densenet3d_resamples_and_maps_heatmap_back(tiny_checkpoint):
    path, _ = tiny_checkpoint(plugin_id="densenet3d", dims=3, size=(32, 32, 32), spacing=[2.0, 2.0, 2.0])
    plugin = DenseNet3D(checkpoint=str(path), options={"heatmap": True})
    plugin.load("cpu")
    volume = Volume(np.random.default_rng(0).random((20, 60, 50)).astype(np.float32), spacing=(1.0, 1.0, 3.0))
    pred = plugin.predict([volume])[0]
    assert prediction_problems(replace(M3D, classes=("normal", "abnormal")), volume.array.shape, pred) == []
    assert pred.heatmap.array.shape == (20, 60, 50)


def test_untrained_only_when_asked():
    plugin = DenseNet3D(options={"allow_untrained": True, "size": (32, 32, 32)})
    plugin.load("cpu")
    assert plugin.weights_sha256 == "untrained"
    pred = plugin.predict([Volume(np.zeros((10, 20, 20), np.float32))])[0]
    assert prediction_problems(M3D, (10, 20, 20), pred) == []
