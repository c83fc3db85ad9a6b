"""Multi-label evaluation: one binary evaluation per label, plus macro, micro and
support-weighted averages."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from workstation.core.metrics import confusion
from workstation.core.metrics.binary import DEFAULT_THRESHOLD, BinaryEvaluation
from workstation.core.metrics.multiclass import _mean_defined


@dataclass
class MultilabelEvaluation:
    y_true: np.ndarray       # cases x L, 0/1
    scores: np.ndarray       # cases x L
    labels: list[str]
    ci_method: str = "delong"
    per_label: list[BinaryEvaluation] = field(init=False)

    def __post_init__(self):
        Y = np.asarray(self.y_true)
        S = np.asarray(self.scores, float)
        L = len(self.labels)
        if Y.ndim != 2 or S.shape != Y.shape or Y.shape[1] != L:
            raise ValueError(f"multi-label truth and scores must both be cases x {L} labels, "
                             f"got {Y.shape} and {S.shape}")
        self.per_label = [BinaryEvaluation(Y[:, j], S[:, j], self.ci_method) for j in range(L)]
        self.y_true = np.column_stack([e.y_true for e in self.per_label]) if L else Y.astype(bool)
        self.scores = S

    @property
    def n(self) -> int:
        return int(self.y_true.shape[0])

    @cached_property
    def support(self) -> np.ndarray:
        return self.y_true.sum(0)

    @cached_property
    def auc_averages(self) -> dict:
        aucs = [e.auc.auc for e in self.per_label]
        micro = BinaryEvaluation(self.y_true.ravel(), self.scores.ravel()).auc.auc if self.y_true.size else math.nan
        return {"macro": _mean_defined(aucs), "weighted": _mean_defined(aucs, self.support), "micro": micro}

    def rate_averages(self, threshold: float = DEFAULT_THRESHOLD) -> dict:
        counts = np.array([[getattr(e.at(threshold), c) for c in ("tn", "fp", "fn", "tp")] for e in self.per_label])
        if counts.size == 0:
            counts = np.zeros((0, 4))
        return confusion.averages(*counts.T)
