"""ROC, AUC, DeLong and bootstrap against scikit-learn, a direct O(n^2) DeLong, and
Hanley & McNeil (1982)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from workstation.core.metrics import roc


def random_case(seed, n=300, ties=False, prevalence=0.3):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    y[:2], y[2:4] = 1, 0
    s = rng.normal(size=n) + 1.2 * y
    if ties:
        s = np.round(s)  # a handful of distinct values: heavy ties
    return y, s


def direct_delong(y, s):
    """DeLong et al. (1988) straight from the definition: psi over all positive-negative pairs."""
    x, z = s[y == 1], s[y == 0]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    v10, v01 = psi.mean(1), psi.mean(0)
    return psi.mean(), v10.var(ddof=1) / x.size + v01.var(ddof=1) / z.size


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_curve_and_auc_match_sklearn(seed, ties):
    y, s = random_case(seed, ties=ties)
    curve = roc.roc_curve(y, s)
    fpr, tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(curve.fpr, fpr)
    np.testing.assert_allclose(curve.tpr, tpr)
    np.testing.assert_array_equal(curve.thresholds, thr)
    assert curve.thresholds.size == np.unique(s).size + 1  # one point per distinct score
    assert roc.auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
def test_delong_variance_matches_direct_definition(ties):
    y, s = random_case(7, n=400, ties=ties)
    result = roc.delong(roc.sort_scores(y, s))
    a, var = direct_delong(y, s)
    assert result.auc == pytest.approx(a, abs=1e-12)
    assert result.se == pytest.approx(math.sqrt(var), rel=1e-10)
    assert result.ci == pytest.approx((a - 1.959964 * math.sqrt(var), a + 1.959964 * math.sqrt(var)), abs=1e-6)


def test_hanley_mcneil_ct_ratings():
    normals, abnormals = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    y = np.r_[np.zeros(sum(normals)), np.ones(sum(abnormals))]
    s = np.r_[np.repeat(np.arange(1, 6), normals), np.repeat(np.arange(1, 6), abnormals)]
    result = roc.delong(roc.sort_scores(y, s))
    assert round(result.auc, 4) == 0.8932
    assert roc.roc_curve(y, s).fpr.size == 6  # five rating levels + the start
    # Hanley & McNeil's exponential-approximation SE for this table; DeLong's exact one is close
    a, n1, n0 = result.auc, 51, 58
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    hm_se = math.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0))
    assert hm_se == pytest.approx(0.0325, abs=5e-4)
    assert result.se == pytest.approx(hm_se, abs=0.003)


def test_delong_interval_agrees_with_bootstrap():
    y, s = random_case(11, n=600)
    ss = roc.sort_scores(y, s)
    d, b = roc.delong(ss), roc.bootstrap(ss, n_boot=2000, seed=3)
    assert b.auc == d.auc
    assert b.se == pytest.approx(d.se, rel=0.15)
    assert b.ci[0] == pytest.approx(d.ci[0], abs=0.015)
    assert b.ci[1] == pytest.approx(d.ci[1], abs=0.015)
    assert roc.bootstrap(ss, n_boot=200, seed=3).ci == roc.bootstrap(ss, n_boot=200, seed=3).ci


def test_paired_delong_sanity():
    rng = np.random.default_rng(5)
    y = (rng.random(500) < 0.4).astype(int)
    strong = rng.normal(size=500) + 2.0 * y
    weak = strong + rng.normal(scale=3.0, size=500)
    same = roc.delong_paired(y, strong, strong)
    assert same.difference == 0 and same.p_value == 1.0
    better = roc.delong_paired(y, strong, weak)
    assert better.difference > 0 and better.p_value < 1e-6 and better.ci[0] > 0
    swapped = roc.delong_paired(y, weak, strong)
    assert swapped.z == pytest.approx(-better.z) and swapped.p_value == pytest.approx(better.p_value)
    assert 0 < better.correlation < 1
    # equal AUC by construction (a monotone copy): zero difference, no evidence
    assert roc.delong_paired(y, strong, np.exp(strong)).p_value == 1.0


def test_paired_delong_matches_direct_covariance():
    y, s1 = random_case(21, n=250)
    s2 = s1 + np.random.default_rng(2).normal(scale=1.5, size=s1.size)
    res = roc.delong_paired(y, s1, s2)
    comps = []
    for s in (s1, s2):
        x, z = s[y == 1], s[y == 0]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        comps.append((psi.mean(1), psi.mean(0)))
    s10 = np.cov([comps[0][0], comps[1][0]])
    s01 = np.cov([comps[0][1], comps[1][1]])
    cov = s10 / (y == 1).sum() + s01 / (y == 0).sum()
    assert res.se == pytest.approx(math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]), rel=1e-10)


def test_paired_delong_null_rejection_rate_is_near_nominal():
    rng = np.random.default_rng(8)
    rejections = 0
    for _ in range(300):
        y = (rng.random(150) < 0.5).astype(int)
        latent = rng.normal(size=150) + y
        a, b = latent + rng.normal(size=150), latent + rng.normal(size=150)
        rejections += roc.delong_paired(y, a, b).p_value < 0.05
    assert 0.02 <= rejections / 300 <= 0.09


def test_edge_cases_have_reasons():
    only_pos = roc.delong(roc.sort_scores([1, 1, 1], [0.1, 0.2, 0.3]))
    assert math.isnan(only_pos.auc) and "no negative" in only_pos.reason
    only_neg = roc.roc_curve([0, 0], [0.1, 0.2])
    assert only_neg.fpr.size == 0 and "no positive" in only_neg.reason
    single = roc.delong(roc.sort_scores([1], [0.7]))
    assert math.isnan(single.auc) and single.reason
    empty = roc.delong(roc.sort_scores([], []))
    assert empty.reason == "no cases"
    flat = roc.delong(roc.sort_scores([0, 1, 0, 1], [0.5] * 4))
    assert flat.auc == 0.5 and flat.ci == (0.5, 0.5)
    np.testing.assert_array_equal(roc.roc_curve([0, 1, 0, 1], [0.5] * 4).tpr, [0, 1])
    one_each = roc.delong(roc.sort_scores([0, 1], [0.2, 0.9]))
    assert one_each.auc == 1.0 and math.isnan(one_each.se) and "at least 2" in one_each.reason
    assert math.isnan(roc.bootstrap(roc.sort_scores([1, 1], [0.1, 0.2])).auc)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="0 or 1"):
        roc.sort_scores([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="missing or infinite"):
        roc.sort_scores([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        roc.sort_scores([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="delong"):
        roc.auc_with_ci([0, 1], [0.1, 0.2], method="jackknife")


def test_counts_at_threshold_match_sklearn():
    y, s = random_case(3, ties=True)
    ss = roc.sort_scores(y, s)
    for t in (-5, -1, 0, 0.5, 1, 1.0001, 10, float(s[0])):
        tn, fp, fn, tp = ss.counts_at(t)
        assert [tn, fp, fn, tp] == skm.confusion_matrix(y, s >= t, labels=[0, 1]).ravel().tolist()


labelled_scores = st.integers(2, 60).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < len(v)),
    st.lists(st.integers(-20, 20).map(lambda i: i / 4), min_size=n, max_size=n)))


@settings(max_examples=150, deadline=None)
@given(labelled_scores)
def test_auc_is_unchanged_by_a_monotone_transform(data):
    y, s = np.array(data[0]), np.array(data[1])
    assert roc.auc(y, np.exp(s) * 3 - 7) == pytest.approx(roc.auc(y, s), abs=1e-12)
    assert roc.auc(y, np.arctan(s)) == pytest.approx(roc.auc(y, s), abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(labelled_scores)
def test_flipping_labels_gives_one_minus_auc(data):
    y, s = np.array(data[0]), np.array(data[1])
    assert roc.auc(1 - y, s) == pytest.approx(1 - roc.auc(y, s), abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(labelled_scores)
def test_delong_interval_contains_the_auc(data):
    y, s = np.array(data[0]), np.array(data[1])
    r = roc.delong(roc.sort_scores(y, s))
    if r.reason is None:
        assert 0 <= r.ci[0] <= r.auc <= r.ci[1] <= 1
    else:
        assert min(r.n_pos, r.n_neg) == 1 and math.isnan(r.ci[0])
