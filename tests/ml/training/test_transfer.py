"""Transfer learning pays on a small target set: pretrain on a source task (bar orientation on
160 synthetic images), save that as the "pretrained" checkpoint, then train `features` (frozen
backbone, new head) on 12 target images (fainter, noisier bars, another project) and compare with
training from scratch on the same 12 images: the test split's AUC (36 cases) must be higher.

Run: .venv/bin/python -m pytest tests/ml/training/test_transfer.py -q -s   (prints both AUCs)
"""
from __future__ import annotations

from workstation.core.metrics import delong_paired
from workstation.ml.training import TrainConfig, train

from training_shapes import make_shapes_project

COMMON = dict(size=(32, 32), batch_size=16, device="cpu", augment=False, seed=0)
TARGET_SPLITS = (0.2, 0.2, 0.6)  # 12 training, 12 validation, 36 test cases


def test_features_on_a_small_target_set_beats_training_from_scratch(tmp_path):
    source = make_shapes_project(tmp_path / "source", 160, classes=("hbar", "vbar"), seed=1, noise=0.2)
    pre = train(source, TrainConfig(**COMMON, tiny=True, epochs=6, splits=(0.8, 0.2, 0.0),
                                    out=str(tmp_path / "pretrained")))
    assert pre.val_auc > 0.9, "the source task must be learnt for this test to mean anything"

    target = make_shapes_project(tmp_path / "target", 60, classes=("hbar", "vbar"), seed=2, contrast=0.7, noise=0.3)
    features = train(target, TrainConfig(**COMMON, mode="features", pretrained=pre.checkpoint, epochs=20,
                                         patience=20, lr=0.03, splits=TARGET_SPLITS, out=str(tmp_path / "features")))
    scratch = train(target, TrainConfig(**COMMON, tiny=True, epochs=20, patience=20, splits=TARGET_SPLITS,
                                        out=str(tmp_path / "scratch")))
    assert features.card["data"]["splits"] == scratch.card["data"]["splits"]  # the same small set
    assert features.card["data"]["splits"]["training"]["cases"] == 12

    f, s = features.predictions["test"], scratch.predictions["test"]
    assert f["case_ids"] == s["case_ids"]
    paired = delong_paired(f["y_true"].astype(bool), f["probs"][:, 1], s["probs"][:, 1])
    print(f"\ntarget test AUC (n={len(f['case_ids'])}): features {features.test_auc:.3f} "
          f"(95% CI {features.card['test']['auc_ci'][0]:.3f}-{features.card['test']['auc_ci'][1]:.3f}), "
          f"scratch {scratch.test_auc:.3f} (95% CI {scratch.card['test']['auc_ci'][0]:.3f}-"
          f"{scratch.card['test']['auc_ci'][1]:.3f}); paired DeLong difference {paired.difference:.3f}, "
          f"p = {paired.p_value:.3f}")
    assert features.test_auc > scratch.test_auc + 0.1
