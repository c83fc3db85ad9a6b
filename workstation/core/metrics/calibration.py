"""Calibration: reliability-diagram data and expected calibration error (equal-width bins)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

N_BINS = 15


@dataclass(frozen=True)
class Reliability:
    edges: np.ndarray        # n_bins + 1 bin edges on [0, 1]
    count: np.ndarray        # cases per bin
    confidence: np.ndarray   # mean predicted probability per bin (NaN when empty)
    observed: np.ndarray     # observed frequency per bin (NaN when empty)
    ece: float
    reason: str | None = None


def reliability(outcome, probability, n_bins: int = N_BINS) -> Reliability:
    """Bins [lo, hi) (the last one closed), as scikit-learn's calibration_curve. For a binary task
    pass the labels and P(positive); for the top label of a multi-class task pass (argmax ==
    truth) and max probability. ECE = sum over bins of n_b / N * |observed_b - confidence_b|."""
    y = np.asarray(outcome, float)
    p = np.asarray(probability, float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    nan = np.full(n_bins, np.nan)
    if p.size == 0:
        return Reliability(edges, np.zeros(n_bins, int), nan, nan, math.nan, "no cases")
    if p.min() < 0 or p.max() > 1:
        return Reliability(edges, np.zeros(n_bins, int), nan, nan, math.nan,
                           "scores are not probabilities (outside [0, 1])")
    idx = np.searchsorted(edges[1:-1], p, side="right")
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(count > 0, sum_p / np.maximum(count, 1), np.nan)
        obs = np.where(count > 0, sum_y / np.maximum(count, 1), np.nan)
    ece = float(np.abs(sum_y - sum_p).sum() / p.size)
    return Reliability(edges, count, conf, obs, ece)


def expected_calibration_error(outcome, probability, n_bins: int = N_BINS) -> float:
    return reliability(outcome, probability, n_bins).ece


def top_label(y_class, proba) -> Reliability:
    """Multi-class top-label calibration: confidence = max probability, outcome = correct."""
    P = np.asarray(proba, float)
    return reliability(P.argmax(1) == np.asarray(y_class), P.max(1) if P.size else np.zeros(0))
