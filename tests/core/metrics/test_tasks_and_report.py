"""Multi-class and multi-label evaluations and the JSON report shapes."""
import json
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from workstation.core.metrics.binary import BinaryEvaluation
from workstation.core.metrics.multiclass import MulticlassEvaluation, hand_till
from workstation.core.metrics.multilabel import MultilabelEvaluation
from workstation.core.metrics.report import report

BINARY_KEYS = {"n", "auc", "auc_ci", "threshold", "confusion_matrix", "sensitivity", "specificity",
               "precision", "npv", "fpr", "accuracy", "f1"}


def multiclass_data(seed, n=300, k=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.0
    p = np.exp(logits)
    return y, p / p.sum(1, keepdims=True)


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_aucs_match_sklearn(seed):
    y, p = multiclass_data(seed)
    ev = MulticlassEvaluation(y, p, ["a", "b", "c", "d"])
    aucs = ev.auc_averages
    assert aucs["macro"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", average="macro"))
    assert aucs["weighted"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", average="weighted"))
    assert aucs["hand_till"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovo", average="macro"))
    onehot = np.eye(4)[y]
    assert aucs["micro"] == pytest.approx(skm.roc_auc_score(onehot, p, average="micro"))
    np.testing.assert_array_equal(ev.matrix, skm.confusion_matrix(y, p.argmax(1)))
    rep = report(ev)
    assert rep["accuracy"] == pytest.approx(skm.accuracy_score(y, p.argmax(1)))
    assert rep["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, p.argmax(1)))
    assert rep["averages"]["macro"]["f1"] == pytest.approx(skm.f1_score(y, p.argmax(1), average="macro"))
    assert set(rep["classes"]) == {"a", "b", "c", "d"}
    assert BINARY_KEYS - {"n", "threshold"} <= set(rep["classes"]["b"])


def test_multiclass_with_an_absent_class():
    y, p = multiclass_data(1, n=60, k=3)
    y[y == 2] = 0
    rep = report(MulticlassEvaluation(y, p, ["x", "y", "z"]))
    assert rep["classes"]["z"]["auc"] is None and "no positive" in rep["classes"]["z"]["auc_reason"]
    assert rep["auc_ovr_macro"] == pytest.approx(np.mean([rep["classes"][c]["auc"] for c in "xy"]))
    assert rep["auc_hand_till"] is not None
    one = report(MulticlassEvaluation([1], [[0.2, 0.8]], ["p", "q"]))
    assert one["auc_hand_till"] is None and one["auc_hand_till_reason"]
    with pytest.raises(ValueError, match="probability columns"):
        MulticlassEvaluation([0, 1], [[0.5, 0.5, 0.0]] * 2, ["p", "q"])


def test_multilabel_matches_sklearn():
    rng = np.random.default_rng(4)
    Y = (rng.random((200, 3)) < [0.2, 0.5, 0.7]).astype(int)
    S = np.clip(Y * 0.3 + rng.random((200, 3)) * 0.7, 0, 1)
    ev = MultilabelEvaluation(Y, S, ["edema", "nodule", "effusion"])
    for kind in ("macro", "micro", "weighted"):
        assert ev.auc_averages[kind] == pytest.approx(skm.roc_auc_score(Y, S, average=kind))
    rep = report(ev, threshold=0.5)
    pred = (S >= 0.5).astype(int)
    for kind in ("macro", "micro"):
        assert rep["averages"][kind]["f1"] == pytest.approx(skm.f1_score(Y, pred, average=kind))
    assert rep["classes"]["nodule"]["confusion_matrix"] == skm.confusion_matrix(Y[:, 1], pred[:, 1]).tolist()
    assert BINARY_KEYS <= set(rep["classes"]["edema"])


def test_binary_report_keys_and_values():
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 120)
    s = np.clip(0.3 * y + 0.7 * rng.random(120), 0, 1)
    rep = report(BinaryEvaluation(y, s), threshold=0.4)
    assert BINARY_KEYS <= set(rep)
    assert rep["auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert rep["confusion_matrix"] == skm.confusion_matrix(y, s >= 0.4).tolist()
    assert rep["threshold"] == 0.4 and rep["ci_method"] == "delong"
    assert rep["auc_ci"][0] <= rep["auc"] <= rep["auc_ci"][1]
    assert rep["f1"] == pytest.approx(skm.f1_score(y, s >= 0.4))
    assert rep["average_precision"] == pytest.approx(skm.average_precision_score(y, s))
    json.dumps(rep, allow_nan=False)
    boot = report(BinaryEvaluation(y, s, ci_method="bootstrap", n_boot=300))
    assert boot["ci_method"] == "bootstrap" and boot["ci_options"]["n_boot"] == 300


@pytest.mark.parametrize("y,s,reason", [
    ([1], [0.9], "no negative"), ([0, 0], [0.1, 0.2], "no positive"), ([], [], "no cases")])
def test_binary_report_edge_cases_are_json_safe(y, s, reason):
    rep = report(BinaryEvaluation(y, s))
    assert rep["auc"] is None and reason in rep["auc_reason"]
    json.dumps(rep, allow_nan=False)


def test_all_scores_equal():
    rep = report(BinaryEvaluation([0, 1, 0, 1, 1], [0.5] * 5))
    assert rep["auc"] == 0.5 and rep["confusion_matrix"] == [[0, 2], [0, 3]]
    assert rep["specificity"] == 0 and rep["sensitivity"] == 1


def test_hand_till_directly():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.eye(3)[y] * 0.8 + 0.2 / 3
    assert hand_till(y, p)[0] == 1.0
    assert math.isnan(hand_till(np.zeros(3, int), np.full((3, 3), 1 / 3))[0])
