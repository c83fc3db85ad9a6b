"""Multi-class evaluation: K x K matrix from argmax, one-vs-rest rates and AUCs (macro and
prevalence-weighted), and Hand & Till's (2001) pairwise multi-class AUC."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations

import numpy as np

from workstation.core.metrics import _inputs, calibration, confusion
from workstation.core.metrics.binary import BinaryEvaluation
from workstation.core.metrics.roc import auc as mw_auc


def hand_till(y_class, proba) -> tuple[float, str | None]:
    """Hand & Till's M: the mean over class pairs of (A(i|j) + A(j|i)) / 2, over the classes
    present in the truth. Returns (M, reason) with M NaN when fewer than 2 classes are present."""
    P = np.asarray(proba, float)
    y = np.asarray(y_class)
    present = [k for k in range(P.shape[1]) if (y == k).any()]
    if len(present) < 2:
        return math.nan, "Hand & Till AUC needs at least two classes present in the truth"
    pair_aucs = []
    for i, j in combinations(present, 2):
        m = (y == i) | (y == j)
        pair_aucs.append((mw_auc(y[m] == i, P[m, i]) + mw_auc(y[m] == j, P[m, j])) / 2)
    return float(np.mean(pair_aucs)), None


def _mean_defined(values, weights=None) -> float:
    v = np.asarray(values, float)
    ok = ~np.isnan(v)
    if not ok.any():
        return math.nan
    w = np.ones_like(v) if weights is None else np.asarray(weights, float)
    return float((v[ok] * w[ok]).sum() / w[ok].sum()) if w[ok].sum() > 0 else math.nan


@dataclass
class MulticlassEvaluation:
    y_true: np.ndarray       # class indices 0..K-1
    proba: np.ndarray        # cases x K
    classes: list[str]
    ci_method: str = "delong"
    per_class: list[BinaryEvaluation] = field(init=False)

    def __post_init__(self):
        k = len(self.classes)
        self.y_true = _inputs.class_indices(self.y_true, k)
        self.proba = _inputs.probability_matrix(self.proba, self.y_true.size)
        if self.proba.shape[1] != k:
            raise ValueError(f"{self.proba.shape[1]} probability columns for {k} classes")
        self.per_class = [BinaryEvaluation(self.y_true == c, self.proba[:, c], self.ci_method) for c in range(k)]

    @property
    def n(self) -> int:
        return int(self.y_true.size)

    @cached_property
    def predicted(self) -> np.ndarray:
        return self.proba.argmax(1) if self.n else np.zeros(0, np.intp)

    @cached_property
    def matrix(self) -> np.ndarray:
        return confusion.confusion_matrix(self.y_true, self.predicted, len(self.classes))

    @cached_property
    def ovr_counts(self):
        return confusion.one_vs_rest(self.matrix)

    @cached_property
    def prevalence(self) -> np.ndarray:
        return np.bincount(self.y_true, minlength=len(self.classes))

    @cached_property
    def auc_averages(self) -> dict:
        aucs = [e.auc.auc for e in self.per_class]
        ht, ht_reason = hand_till(self.y_true, self.proba)
        onehot = np.eye(len(self.classes), dtype=bool)[self.y_true].ravel()
        micro = BinaryEvaluation(onehot, self.proba.ravel()).auc.auc if self.n else math.nan
        return {"macro": _mean_defined(aucs), "weighted": _mean_defined(aucs, self.prevalence),
                "micro": micro, "hand_till": ht, "hand_till_reason": ht_reason}

    @cached_property
    def calibration(self) -> calibration.Reliability:
        return calibration.top_label(self.y_true, self.proba)

    def cell_mask(self, truth: int, predicted: int) -> np.ndarray:
        return (self.y_true == truth) & (self.predicted == predicted)
