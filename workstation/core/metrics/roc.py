"""ROC analysis from one sort of the scores: the curve (one point per distinct score), AUC as
the Mann-Whitney statistic (ties count 1/2), DeLong variance by the midrank shortcut of Sun & Xu
(2014), the paired DeLong test, and a stratified bootstrap interval.

With the cases grouped by distinct score, a positive's DeLong component is the fraction of
negatives scored below it plus half those tied with it, which is Sun & Xu's midrank difference
(R_combined - R_within) / n_neg; all cases of one group share it, so no per-case ranking is needed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from statistics import NormalDist

from workstation.core.metrics import _inputs

Z95 = 1.959963984540054


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """1-D dot product without BLAS: on a busy machine BLAS threads turn a 0.05 ms product into
    tens of milliseconds."""
    return float(np.einsum("i,i->", a, b, dtype=float))


@dataclass(frozen=True)
class SortedScores:
    """Cases grouped by distinct score, highest first. `group[i]` is case i's group."""
    thresholds: np.ndarray   # distinct scores, descending
    pos: np.ndarray          # positives per distinct score
    neg: np.ndarray          # negatives per distinct score
    group: np.ndarray        # per case: index into thresholds
    labels: np.ndarray       # per case, bool
    n_pos: int
    n_neg: int
    cum_pos: np.ndarray      # positives scored >= thresholds[k]
    cum_neg: np.ndarray      # negatives scored >= thresholds[k]
    ascending: np.ndarray    # thresholds in ascending order, for searchsorted

    @property
    def n(self) -> int:
        return self.n_pos + self.n_neg

    def undefined_reason(self) -> str | None:
        if self.n == 0:
            return "no cases"
        if self.n_pos == 0:
            return "AUC undefined: no positive cases"
        if self.n_neg == 0:
            return "AUC undefined: no negative cases"
        return None

    def counts_at(self, threshold: float) -> tuple[int, int, int, int]:
        """(TN, FP, FN, TP) with score >= threshold called positive."""
        k = self.ascending.size - int(np.searchsorted(self.ascending, threshold, side="left"))
        tp = int(self.cum_pos[k - 1]) if k else 0
        fp = int(self.cum_neg[k - 1]) if k else 0
        return self.n_neg - fp, fp, self.n_pos - tp, tp


def sort_scores(y_true, y_score) -> SortedScores:
    y = _inputs.binary_labels(y_true)
    s = _inputs.scores(y_score, y.size)
    n = s.size
    if n == 0:
        empty, ints = np.zeros(0), np.zeros(0, np.int64)
        return SortedScores(empty, ints, ints, ints.astype(np.intp), y, 0, 0, ints, ints, empty)
    order = np.argsort(s)[::-1]
    s_sorted = s[order]
    new = np.empty(n, bool)
    new[0] = True
    np.not_equal(s_sorted[1:], s_sorted[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, n))
    pos = np.add.reduceat(y[order].astype(np.int64), starts)
    group = np.empty(n, np.intp)
    group[order] = np.cumsum(new) - 1
    neg = sizes - pos
    cum_pos, cum_neg = np.cumsum(pos), np.cumsum(neg)
    distinct = s_sorted[starts]
    return SortedScores(distinct, pos, neg, group, y, int(cum_pos[-1]), int(cum_neg[-1]), cum_pos, cum_neg,
                        np.ascontiguousarray(distinct[::-1]))


@dataclass(frozen=True)
class RocCurve:
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray   # first is +inf: nothing called positive
    reason: str | None = None


def roc_curve(sorted_or_y, y_score=None) -> RocCurve:
    """ROC points, one per distinct score plus the (0, 0) start, like scikit-learn's
    roc_curve(drop_intermediate=False). Empty, with a reason, when a class is absent."""
    ss = sorted_or_y if isinstance(sorted_or_y, SortedScores) else sort_scores(sorted_or_y, y_score)
    reason = ss.undefined_reason()
    if reason:
        e = np.zeros(0)
        return RocCurve(e, e, e, reason)
    tpr = np.concatenate(([0.0], ss.cum_pos / ss.n_pos))
    fpr = np.concatenate(([0.0], ss.cum_neg / ss.n_neg))
    return RocCurve(fpr, tpr, np.concatenate(([np.inf], ss.thresholds)))


def _components(ss: SortedScores) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct score: DeLong's V10 (for its positives) and V01 (for its negatives)."""
    v10 = (ss.n_neg - ss.cum_neg + ss.neg / 2) / ss.n_neg
    v01 = (ss.cum_pos - ss.pos / 2) / ss.n_pos
    return v10, v01


@dataclass(frozen=True)
class AucResult:
    auc: float
    ci: tuple[float, float]
    se: float
    method: str              # "delong" | "bootstrap" | "none"
    n_pos: int
    n_neg: int
    reason: str | None = None
    extra: dict = field(default_factory=dict)


def _undefined(ss: SortedScores, reason: str, method: str) -> AucResult:
    return AucResult(math.nan, (math.nan, math.nan), math.nan, method, ss.n_pos, ss.n_neg, reason)


def auc(y_true, y_score) -> float:
    """Mann-Whitney AUC (ties 1/2); NaN when a class is absent."""
    return delong(sort_scores(y_true, y_score)).auc


def delong(ss: SortedScores, confidence: float = 0.95) -> AucResult:
    """AUC with DeLong's variance and a Wald interval clipped to [0, 1]."""
    reason = ss.undefined_reason()
    if reason:
        return _undefined(ss, reason, "delong")
    v10, v01 = _components(ss)
    a = dot(ss.pos, v10) / ss.n_pos
    if ss.n_pos < 2 or ss.n_neg < 2:
        return AucResult(a, (math.nan, math.nan), math.nan, "delong", ss.n_pos, ss.n_neg,
                         "DeLong interval needs at least 2 positive and 2 negative cases")
    s10 = dot(ss.pos, (v10 - a) ** 2) / (ss.n_pos - 1)
    s01 = dot(ss.neg, (v01 - a) ** 2) / (ss.n_neg - 1)
    se = math.sqrt(s10 / ss.n_pos + s01 / ss.n_neg)
    z = Z95 if confidence == 0.95 else float(NormalDist().inv_cdf(0.5 + confidence / 2))
    return AucResult(a, (max(0.0, a - z * se), min(1.0, a + z * se)), se, "delong", ss.n_pos, ss.n_neg)


def bootstrap(ss: SortedScores, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> AucResult:
    """AUC with a percentile interval from a bootstrap stratified by class (positives and
    negatives resampled separately, so every replicate keeps both classes)."""
    reason = ss.undefined_reason()
    if reason:
        return _undefined(ss, reason, "bootstrap")
    rng = np.random.default_rng(seed)
    g_pos = ss.group[ss.labels]
    g_neg = ss.group[~ss.labels]
    k = ss.thresholds.size
    aucs = np.empty(n_boot)
    for b in range(n_boot):
        pos = np.bincount(g_pos[rng.integers(0, ss.n_pos, ss.n_pos)], minlength=k)
        neg = np.bincount(g_neg[rng.integers(0, ss.n_neg, ss.n_neg)], minlength=k)
        aucs[b] = dot(pos, ss.n_neg - np.cumsum(neg) + neg / 2) / (ss.n_pos * ss.n_neg)
    a = delong(ss).auc
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(aucs, [tail, 100 - tail])
    return AucResult(a, (float(lo), float(hi)), float(aucs.std(ddof=1)), "bootstrap", ss.n_pos, ss.n_neg,
                     extra={"n_boot": n_boot, "seed": seed})


def auc_with_ci(y_true, y_score, method: str = "delong", **kw) -> AucResult:
    ss = sort_scores(y_true, y_score)
    if method == "delong":
        return delong(ss, **kw)
    if method == "bootstrap":
        return bootstrap(ss, **kw)
    raise ValueError(f"CI method must be 'delong' or 'bootstrap', not {method!r}")


@dataclass(frozen=True)
class PairedTest:
    auc1: float
    auc2: float
    difference: float
    se: float
    ci: tuple[float, float]
    z: float
    p_value: float
    correlation: float
    reason: str | None = None


def delong_paired(y_true, score1, score2) -> PairedTest:
    """DeLong's test of two models' AUCs on the same cases (two-sided)."""
    ss1, ss2 = sort_scores(y_true, score1), sort_scores(y_true, score2)
    nan = math.nan
    reason = ss1.undefined_reason() or (
        "DeLong test needs at least 2 positive and 2 negative cases" if min(ss1.n_pos, ss1.n_neg) < 2 else None)
    if reason:
        return PairedTest(nan, nan, nan, nan, (nan, nan), nan, nan, nan, reason)
    v10s, v01s = [], []
    for ss in (ss1, ss2):
        v10, v01 = _components(ss)
        v10s.append(v10[ss.group[ss.labels]])
        v01s.append(v01[ss.group[~ss.labels]])
    v10, v01 = np.array(v10s), np.array(v01s)
    a1, a2 = v10.mean(1)
    cov = np.cov(v10) / ss1.n_pos + np.cov(v01) / ss1.n_neg
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    d = float(a1 - a2)
    corr = float(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])) if cov[0, 0] > 0 and cov[1, 1] > 0 else nan
    if var <= 0:
        same = math.isclose(d, 0.0, abs_tol=1e-15)
        return PairedTest(float(a1), float(a2), d, 0.0, (d, d), 0.0 if same else math.copysign(math.inf, d),
                          1.0 if same else 0.0, corr, "the difference has zero variance")
    se = math.sqrt(var)
    z = d / se
    return PairedTest(float(a1), float(a2), d, se, (d - Z95 * se, d + Z95 * se), z,
                      math.erfc(abs(z) / math.sqrt(2)), corr)
