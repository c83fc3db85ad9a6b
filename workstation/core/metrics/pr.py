"""Precision-recall curves (one point per distinct score) and average precision."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workstation.core.metrics.roc import SortedScores, dot, sort_scores


@dataclass(frozen=True)
class PrCurve:
    precision: np.ndarray    # highest threshold first; starts at (recall 0, precision 1)
    recall: np.ndarray
    thresholds: np.ndarray   # first is +inf
    average_precision: float
    reason: str | None = None


def pr_curve(sorted_or_y, y_score=None) -> PrCurve:
    """PR curve and average precision, AP = sum (R_k - R_{k-1}) P_k as in scikit-learn (no
    interpolation). Undefined, with a reason, without positive cases."""
    ss = sorted_or_y if isinstance(sorted_or_y, SortedScores) else sort_scores(sorted_or_y, y_score)
    if ss.n_pos == 0:
        e = np.zeros(0)
        return PrCurve(e, e, e, math.nan, "no positive cases" if ss.n else "no cases")
    tps = ss.cum_pos
    called = tps + ss.cum_neg
    precision = tps / called
    recall = tps / ss.n_pos
    ap = dot(np.diff(recall, prepend=0.0), precision)
    return PrCurve(np.concatenate(([1.0], precision)), np.concatenate(([0.0], recall)),
                   np.concatenate(([np.inf], ss.thresholds)), ap)


def average_precision(y_true, y_score) -> float:
    return pr_curve(y_true, y_score).average_precision
