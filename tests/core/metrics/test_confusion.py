"""Confusion matrices, rates, Wilson intervals and averages against scikit-learn and published values."""
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from workstation.core.metrics import confusion


def test_wilson_interval_published_values():
    # Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 and 0/10
    lo, hi = confusion.wilson_interval(81, 263)
    assert (float(lo), float(hi)) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    lo, hi = confusion.wilson_interval(0, 10)
    assert (float(lo), float(hi)) == pytest.approx((0.0, 0.2775), abs=5e-5)
    lo, hi = confusion.wilson_interval(0, 0)
    assert math.isnan(lo) and math.isnan(hi)


@pytest.mark.parametrize("seed", range(4))
def test_binary_matrix_and_rates_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y, p = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    cm = confusion.binary_confusion(y, p)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, p, labels=[0, 1]))
    r = confusion.rates(*cm.ravel())
    assert r["sensitivity"] == pytest.approx(skm.recall_score(y, p))
    assert r["specificity"] == pytest.approx(skm.recall_score(y, p, pos_label=0))
    assert r["precision"] == pytest.approx(skm.precision_score(y, p))
    assert r["npv"] == pytest.approx(skm.precision_score(y, p, pos_label=0))
    assert r["f1"] == pytest.approx(skm.f1_score(y, p))
    assert r["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
    assert r["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, p))
    assert r["fpr"] == pytest.approx(1 - r["specificity"]) and r["fnr"] == pytest.approx(1 - r["sensitivity"])


def test_multiclass_matrix_and_averages_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    p = np.where(rng.random(300) < 0.6, y, rng.integers(0, 4, 300))
    cm = confusion.confusion_matrix(y, p, 4)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, p))
    avg = confusion.averages(*confusion.one_vs_rest(cm))
    for kind in ("macro", "micro", "weighted"):
        assert avg[kind]["sensitivity"] == pytest.approx(skm.recall_score(y, p, average=kind))
        assert avg[kind]["precision"] == pytest.approx(skm.precision_score(y, p, average=kind))
    assert avg["micro"]["sensitivity"] == pytest.approx(skm.accuracy_score(y, p))
    assert avg["macro"]["f1"] == pytest.approx(skm.f1_score(y, p, average="macro"))


def test_undefined_rates_are_nan_and_skipped_by_macro():
    r = confusion.rates(5, 0, 0, 0)  # no positives and nothing called positive
    assert math.isnan(r["sensitivity"]) and math.isnan(r["precision"]) and r["specificity"] == 1
    avg = confusion.averages(np.array([5, 3]), np.array([0, 1]), np.array([0, 1]), np.array([0, 2]))
    assert avg["macro"]["sensitivity"] == pytest.approx(2 / 3)  # the class without positives is left out
