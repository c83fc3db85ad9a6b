"""PR curves, average precision, calibration and operating points against scikit-learn."""
import math

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from workstation.core.metrics import calibration, operating, pr, roc


def data(seed, ties):
    rng = np.random.default_rng(seed)
    y = (rng.random(400) < 0.35).astype(int)
    s = 1 / (1 + np.exp(-(rng.normal(size=400) + 1.5 * y - 0.7)))
    return y, (np.round(s, 1) if ties else s)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_pr_curve_and_ap_match_sklearn(seed, ties):
    y, s = data(seed, ties)
    curve = pr.pr_curve(y, s)
    assert curve.average_precision == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    precision, recall, thr = skm.precision_recall_curve(y, s)
    # scikit-learn lists thresholds ascending and ends with (recall 0, precision 1)
    np.testing.assert_allclose(curve.precision[::-1][: precision.size], precision)
    np.testing.assert_allclose(curve.recall[::-1][: recall.size], recall)
    np.testing.assert_allclose(curve.thresholds[1:][::-1][: thr.size], thr)


def test_pr_without_positives_is_undefined():
    c = pr.pr_curve([0, 0, 0], [0.1, 0.5, 0.9])
    assert math.isnan(c.average_precision) and c.reason == "no positive cases"


@pytest.mark.parametrize("seed", range(3))
def test_reliability_matches_sklearn_calibration_curve(seed):
    y, s = data(seed, False)
    rel = calibration.reliability(y, s)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=15, strategy="uniform")
    filled = rel.count > 0
    np.testing.assert_allclose(rel.observed[filled], prob_true)
    np.testing.assert_allclose(rel.confidence[filled], prob_pred)
    ece = np.nansum(rel.count / rel.count.sum() * np.abs(rel.observed - rel.confidence))
    assert rel.ece == pytest.approx(ece)
    assert rel.edges.size == 16


def test_ece_known_values_and_edge_cases():
    # perfectly calibrated within each bin: 10 cases at 0.3 with 3 events, 10 at 0.8 with 8
    y = np.r_[np.ones(3), np.zeros(7), np.ones(8), np.zeros(2)]
    p = np.r_[np.full(10, 0.3), np.full(10, 0.8)]
    assert calibration.expected_calibration_error(y, p) == pytest.approx(0.0, abs=1e-12)
    assert calibration.expected_calibration_error([1, 0], [0.0, 1.0]) == pytest.approx(1.0)
    assert "not probabilities" in calibration.reliability([0, 1], [-2.0, 3.0]).reason
    top = calibration.top_label([0, 1], [[0.9, 0.1], [0.8, 0.2]])
    assert top.ece == pytest.approx((abs(1 - 0.9) + abs(0 - 0.8)) / 2)


def test_operating_points():
    y, s = data(1, False)
    curve = roc.roc_curve(y, s)
    j = operating.youden(curve)
    assert j.sensitivity + j.specificity - 1 == pytest.approx(np.max(curve.tpr - curve.fpr))
    sens = operating.at_sensitivity(curve, 0.95)
    assert sens.sensitivity >= 0.95
    called = s >= sens.threshold
    assert called[y == 1].mean() == pytest.approx(sens.sensitivity)
    assert 1 - called[y == 0].mean() == pytest.approx(sens.specificity)
    # no threshold with sensitivity >= 0.95 is more specific
    ok = curve.tpr >= 0.95
    assert sens.specificity == pytest.approx(1 - curve.fpr[ok].min())
    spec = operating.at_specificity(curve, 0.9)
    assert spec.specificity >= 0.9 and spec.sensitivity == pytest.approx(curve.tpr[1 - curve.fpr >= 0.9].max())
    assert set(operating.standard_points(curve)) == {"youden", "sensitivity_0.95", "specificity_0.95"}
    undefined = operating.youden(roc.roc_curve([1, 1], [0.2, 0.4]))
    assert math.isnan(undefined.threshold) and undefined.to_dict()["threshold"] is None and undefined.reason
