"""Training on a project: checkpoint + model card, the plugin loads and predicts, splits, losses,
transfer modes, determinism, progress and cancel. Tiny DenseNets on 32x32 PNGs: seconds on a CPU."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from workstation.core.export.from_project import project_splits
from workstation.core.volume import Volume
from workstation.ml.training import TrainConfig, TrainingCancelled, TrainingError, train, use_amp
from workstation.ml.training.losses import TaskLoss, multilabel_weights
from workstation.ml.training.model import build_model, parameter_groups

from training_shapes import make_shapes_project

FAST = dict(tiny=True, size=(32, 32), batch_size=8, device="cpu", augment=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_shapes_project(tmp_path_factory.mktemp("train") / "bars", 40, classes=("hbar", "vbar"), noise=0.2)


def test_checkpoint_loads_in_the_plugin_and_predicts(project, tmp_path):
    from plugins.densenet2d.plugin import DenseNet2D

    result = train(project, TrainConfig(**FAST, epochs=2, out=str(tmp_path / "run")))
    assert (tmp_path / "run" / "model.pt").is_file()
    plugin = DenseNet2D(checkpoint=result.checkpoint)
    plugin.load("cpu")
    assert plugin.task == "binary" and plugin.classes == ["hbar", "vbar"] and plugin.size == (32, 32)
    volume = Volume(np.random.default_rng(0).integers(0, 255, (1, 40, 30)).astype(np.uint8))
    probs = plugin.predict([volume])[0].probabilities
    assert probs.classes == ("hbar", "vbar") and np.isclose(probs.values.sum(), 1.0)
    assert plugin.weights_sha256 == result.sha256


def test_model_card_records_data_splits_metrics_and_settings(project, tmp_path):
    result = train(project, TrainConfig(**FAST, epochs=2, seed=3, out=str(tmp_path / "run")))
    card = json.loads((tmp_path / "run" / "model_card.json").read_text())
    md = (tmp_path / "run" / "model_card.md").read_text()
    splits = card["data"]["splits"]
    expected = project_splits(project, "final", (0.7, 0.15, 0.15), 3)
    for name, block in splits.items():
        assert sorted(block["case_ids"]) == sorted(c for c, s in expected.items() if s == name)
    patients = {name: {project.case(c).patient_id for c in block["case_ids"]} for name, block in splits.items()}
    assert not patients["training"] & patients["validation"] and not patients["training"] & patients["test"]
    assert not patients["validation"] & patients["test"]
    val = card["validation"]
    assert val["n"] == splits["validation"]["cases"] and val["metrics"]["ci_method"] == "delong"
    assert 0 <= val["auc_ci"][0] <= val["auc"] <= val["auc_ci"][1] <= 1
    assert card["settings"]["mode"] == "finetune" and card["settings"]["seed"] == 3
    assert card["settings"]["loss"] == "binary cross-entropy"
    assert card["checkpoint"]["sha256"] == result.sha256 and len(card["history"]) == card["epochs_run"]
    assert "95% CI" in md and "DeLong" in md and "| training |" in md


def test_same_seed_same_model(project, tmp_path):
    config = dict(FAST, epochs=2, augment=True, seed=5)
    a = train(project, TrainConfig(**config, out=str(tmp_path / "a")))
    b = train(project, TrainConfig(**config, out=str(tmp_path / "b")))
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    sa = torch.load(a.checkpoint, weights_only=True)["state_dict"]
    sb = torch.load(b.checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_early_stopping_keeps_the_best_epoch(project, tmp_path):
    result = train(project, TrainConfig(**FAST, epochs=12, patience=2, lr=0.05, out=str(tmp_path / "run")))
    aucs = [h["val_auc"] for h in result.history]
    best = int(np.nanargmax(aucs)) + 1
    assert result.best_epoch == best
    assert len(result.history) <= best + 2
    assert result.val_auc == pytest.approx(aucs[best - 1])


def test_progress_reaches_the_end_and_cancel_writes_nothing(project, tmp_path):
    seen = []
    train(project, TrainConfig(**FAST, epochs=2, out=str(tmp_path / "ok")), progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {"prepare", "ready", "train", "validate", "finish"} <= {p.stage for p in seen}
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 45  # after the data is prepared, during the first epochs

    with pytest.raises(TrainingCancelled, match="no checkpoint was written"):
        train(project, TrainConfig(**FAST, epochs=5, out=str(tmp_path / "stopped")), cancel=cancel)
    assert not (tmp_path / "stopped").exists()


def test_refusals_are_one_line(project, tmp_path):
    with pytest.raises(TrainingError, match="needs --pretrained"):
        train(project, TrainConfig(**FAST, mode="features"))
    with pytest.raises(TrainingError, match="densenet2d"):
        train(project, TrainConfig(**FAST, plugin="resnet"))
    with pytest.raises(TrainingError, match="pretrained weights .*missing.pt do not exist"):
        train(project, TrainConfig(**{**FAST, "tiny": False}, pretrained=str(tmp_path / "missing.pt")))
    empty = make_shapes_project(tmp_path / "empty", 4)
    for case_id in empty.case_ids():
        empty.clear_label(case_id, "reader1")
    with pytest.raises(TrainingError, match="no labelled training cases"):
        train(empty, TrainConfig(**FAST))


def test_unreadable_cases_are_skipped_and_named(tmp_path):
    project = make_shapes_project(tmp_path / "broken", 20, classes=("hbar", "vbar"))
    bad = project.case("c004").paths[0]
    open(bad, "wb").write(b"not a png")
    result = train(project, TrainConfig(**FAST, epochs=1, out=str(tmp_path / "run")))
    skipped = result.card["data"]["skipped"]
    assert [s["case_id"] for s in skipped] == ["c004"] and skipped[0]["reason"]
    assert "Skipped 1 unreadable case(s): c004" in open(result.card_md).read()


@pytest.mark.parametrize("task, classes", [("multiclass", ("hbar", "vbar", "disc")),
                                           ("multilabel", ("hbar", "vbar"))])
def test_multiclass_and_multilabel_heads(tmp_path, task, classes):
    from plugins.densenet2d.plugin import DenseNet2D

    project = make_shapes_project(tmp_path / task, 30, classes=classes, task=task)
    result = train(project, TrainConfig(**FAST, epochs=1, out=str(tmp_path / "run")))
    settings = result.card["settings"]
    assert settings["loss"] == {"multiclass": "categorical cross-entropy (softmax)",
                                "multilabel": "per-label binary cross-entropy"}[task]
    if task == "multilabel":
        assert len(settings["label_weights"]["positive"]) == len(classes)
    plugin = DenseNet2D(checkpoint=result.checkpoint)
    plugin.load("cpu")
    assert plugin.task == task and plugin.classes == list(classes)


def test_multilabel_weights_follow_chestxray8():
    y = np.array([[1, 0], [0, 0], [0, 0], [1, 1]])
    w_pos, w_neg = multilabel_weights(y)
    assert np.allclose(w_pos, [4 / 2, 4 / 1]) and np.allclose(w_neg, [4 / 2, 4 / 3])
    loss = TaskLoss("multilabel", w_pos, w_neg)
    logits = torch.zeros(4, 2)
    expected = np.log(2) * (y * w_pos + (1 - y) * w_neg).mean()
    assert float(loss(logits, torch.as_tensor(y))) == pytest.approx(expected, rel=1e-6)
    assert multilabel_weights(np.array([[0], [0]]))[0].tolist() == [1.0]  # no positives: unweighted


def test_task_losses():
    assert float(TaskLoss("binary")(torch.zeros(2, 1), torch.tensor([[1.0], [0.0]]))) == pytest.approx(np.log(2))
    assert float(TaskLoss("multiclass")(torch.zeros(2, 3), torch.tensor([0, 2]))) == pytest.approx(np.log(3))


def test_mixed_precision_only_on_cuda():
    assert use_amp("cpu") is False and use_amp("mps", "auto") is False
    assert use_amp("cuda") is True and use_amp("cuda:1", "on") is True and use_amp("cuda", "off") is False
    with pytest.raises(TrainingError, match="needs a CUDA device"):
        use_amp("cpu", "on")
    with pytest.raises(ValueError):
        use_amp("cuda", "sometimes")


def test_cuda_request_without_a_gpu_is_refused(project):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal cannot be seen here")
    with pytest.raises(TrainingError, match="no CUDA GPU"):
        train(project, TrainConfig(**{**FAST, "device": "cuda"}))


def test_transfer_modes_choose_what_learns():
    class Pre:
        architecture = {"name": "DenseNet", "spatial_dims": 2, "in_channels": 1, "out_channels": 3,
                        "init_features": 8, "growth_rate": 8, "block_config": [2, 2]}
        from workstation.ml.networks import build_network
        state_dict = build_network(architecture).state_dict()

    model, net, arch = build_model("binary", ["a", "b"], 2, 1, Pre(), seed=0)
    assert arch["out_channels"] == 1 and net.class_layers.out.out_features == 1
    groups = parameter_groups(model, net, "finetune", True, lr=1e-3, backbone_lr_factor=0.1)
    assert [(g["name"], g["lr"]) for g in groups] == [("backbone", pytest.approx(1e-4)), ("head", 1e-3)]
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(p.numel() for p in model.parameters())
    groups = parameter_groups(model, net, "features", True, lr=1e-3, backbone_lr_factor=0.1)
    assert [g["name"] for g in groups] == ["head"]
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"class_layers.out.weight", "class_layers.out.bias"}
