"""Sorted scores updated case by case equal sorted scores rebuilt from scratch."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.core.metrics.incremental import update_sorted
from workstation.core.metrics.roc import delong, roc_curve, sort_scores


def assert_same(a, b):
    for name in ("thresholds", "pos", "neg", "group", "labels", "cum_pos", "cum_neg", "ascending"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.n_pos, a.n_neg) == (b.n_pos, b.n_neg)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_updates_equal_a_rebuild(data):
    n = data.draw(st.integers(1, 40))
    score = st.integers(0, 12).map(lambda i: i / 4)
    s = np.array(data.draw(st.lists(score, min_size=n, max_size=n)))
    y = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    rows = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
    to = data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
    gone = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n - 1))
    k = data.draw(st.integers(0, 5))
    add_s = np.array(data.draw(st.lists(st.integers(-4, 16).map(lambda i: i / 4), min_size=k, max_size=k)))
    add_y = np.array(data.draw(st.lists(st.booleans(), min_size=k, max_size=k)), bool)

    updated = update_sorted(sort_scores(y, s), rows, to, gone, add_s, add_y)
    y2 = y.copy()
    y2[rows] = to
    keep = np.ones(n, bool)
    keep[gone] = False
    rebuilt = sort_scores(np.r_[y2[keep], add_y], np.r_[s[keep], add_s])
    assert_same(updated, rebuilt)


def test_update_keeps_auc_and_curve_exact():
    rng = np.random.default_rng(0)
    y, s = rng.random(5000) < 0.3, np.round(rng.normal(size=5000), 2)
    ss = sort_scores(y, s)
    upd = update_sorted(ss, [3, 10], [True, False], [7], [0.123456, 9.0], [True, False])
    y2 = y.copy()
    y2[[3, 10]] = [True, False]
    keep = np.ones(5000, bool)
    keep[7] = False
    ref = sort_scores(np.r_[y2[keep], True, False], np.r_[s[keep], 0.123456, 9.0])
    assert delong(upd).auc == delong(ref).auc and delong(upd).se == delong(ref).se
    np.testing.assert_array_equal(roc_curve(upd).tpr, roc_curve(ref).tpr)
