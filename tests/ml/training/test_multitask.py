"""--multitask: a shared backbone with a classification head and a segmentation head (cases with
masks) or a localisation heat-map head (cases with accepted findings); compared with single-task."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from workstation.core.volume import Volume
from workstation.ml.training import TrainConfig, TrainingError, compare_multitask, train
from workstation.ml.training.data import gaussian_heatmap, project_items
from workstation.ml.training.losses import aux_loss
from workstation.ml.training.model import MultiTaskNet, build_model

from training_shapes import make_shapes_project

FAST = dict(tiny=True, size=(32, 32), batch_size=8, device="cpu", augment=True, epochs=2)


def test_segmentation_head_where_cases_have_masks_and_the_comparison(tmp_path):
    from plugins.densenet2d.plugin import DenseNet2D

    project = make_shapes_project(tmp_path / "p", 30, classes=("blank", "disc"), masks=True)
    multi, single = compare_multitask(project, TrainConfig(**FAST, aux_weight=0.7, out=str(tmp_path / "mt")))
    card = json.loads(Path(multi.card_json).read_text())
    assert card["settings"]["aux_target"] == "mask" and card["settings"]["aux_weight"] == 0.7
    assert card["data"]["aux_targets"]["training"] == card["data"]["splits"]["training"]["cases"]
    comparison = card["comparison"]
    assert comparison["multitask_auc"] == multi.test_auc and comparison["single_task_auc"] == single.test_auc
    assert comparison["split"] == "test" and Path(comparison["single_task_checkpoint"]).is_file()
    assert single.card["data"]["splits"] == card["data"]["splits"] and single.card["settings"]["multitask"] is False
    assert "Multi-task vs single-task" in Path(multi.card_md).read_text()
    assert (tmp_path / "mt" / "model.aux_head.pth").is_file()
    plugin = DenseNet2D(checkpoint=multi.checkpoint)  # the classification network alone
    plugin.load("cpu")
    assert plugin.predict([Volume(np.zeros((1, 32, 32), np.float32))])[0].probabilities is not None


def test_heatmap_head_from_accepted_findings(tmp_path):
    project = make_shapes_project(tmp_path / "p", 16, classes=("blank", "disc"))
    for case_id in project.case_ids()[:8]:
        project.set_candidate_state(case_id, None, "added", "reader1", centre=(10.0, 12.0, 0.0), diameter=8.0)
    project.set_candidate_state("c010", None, "added", "reader1", centre=(5.0, 5.0, 0.0), diameter=4.0)
    items = project_items(project, with_aux=True)
    kinds = {i.case_id: i.aux_kind for split in items.values() for i in split}
    assert kinds["c000"] == "heatmap" and kinds["c009"] is None
    assert next(i for s in items.values() for i in s if i.case_id == "c000").points == [(10.0, 12.0, 0.0, 4.0)]
    result = train(project, TrainConfig(**FAST, multitask=True, out=str(tmp_path / "run")))
    assert result.card["settings"]["aux_target"] == "heatmap"


def test_multitask_needs_a_second_target(tmp_path):
    project = make_shapes_project(tmp_path / "p", 10)
    with pytest.raises(TrainingError, match="--multitask needs a second target"):
        train(project, TrainConfig(**FAST, multitask=True))


def test_gaussian_heatmap_in_millimetres():
    volume = Volume(np.zeros((1, 40, 60), np.float32), spacing=(0.5, 0.5, 1.0))
    heat = gaussian_heatmap(volume, [(10.0, 5.0, 0.0, 4.0)])  # centre at i=20, j=10; sigma 4 mm = 8 voxels
    assert heat.shape == (1, 40, 60) and heat[0, 10, 20] == pytest.approx(1.0)
    assert heat[0, 10, 28] == pytest.approx(np.exp(-0.5), rel=1e-5)
    assert heat[0, 10, 20 + 25] == 0.0  # beyond three sigma


def test_both_heads_train_the_shared_backbone():
    model, net, _ = build_model("binary", ["a", "b"], 2, 1, tiny=True, multitask=True)
    assert isinstance(model, MultiTaskNet)
    logits, dense = model(torch.randn(2, 1, 32, 32))
    assert logits.shape == (2, 1) and dense.shape == (2, 1, 32, 32)
    loss = aux_loss("mask", dense, torch.ones_like(dense), torch.tensor([1.0, 0.0]))
    loss.backward()
    assert net.features.conv0.weight.grad.abs().sum() > 0  # the aux loss reaches the shared backbone
    assert net.class_layers.out.weight.grad is None
    assert aux_loss("heatmap", dense, dense, torch.zeros(2)).item() == 0.0  # no targets in the batch


def test_small_findings_survive_downsampling_of_the_target():
    from workstation.ml.training.data import Preparation

    volume = Volume(np.zeros((40, 64, 64), np.float32), spacing=(1.0, 1.0, 1.0))
    mask = np.zeros((40, 64, 64), np.uint8)
    mask[21, 33, 30] = 1  # a one-voxel finding, far smaller than the 4 mm network voxels
    prep = Preparation(dims=3, in_channels=1, size=(16, 16, 16), spacing=(4.0, 4.0, 4.0))
    target = prep.mask(mask, volume)
    image = prep.image(Volume(mask.astype(np.float32) * 1000, spacing=(1.0, 1.0, 1.0)))
    assert target.shape == image.shape == (1, 16, 16, 16) and float(target.max()) == 1.0
    z, y, x = np.argwhere(target[0].numpy() == 1.0)[0]
    assert (z, y, x) == (21 // 4 + (16 - 10) // 2, 33 // 4, 30 // 4)  # 10 slices centred in 16
    flat = Preparation(dims=2, in_channels=1, size=(32, 32))
    small = np.zeros((1, 128, 96), np.uint8)
    small[0, 64, 50] = 1
    fitted = flat.mask(small, Volume(np.zeros((1, 128, 96), np.float32)))
    assert fitted.shape == (1, 32, 32) and float(fitted.max()) == 1.0
