"""A binary evaluation: sort once, then read the matrix and rates at any threshold cheaply
(what the live panels' threshold slider needs)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from workstation.core.metrics import calibration, confusion, operating, pr, roc

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class AtThreshold:
    threshold: float
    tn: int
    fp: int
    fn: int
    tp: int
    rates: dict       # name -> float (NaN when undefined)
    intervals: dict   # name -> (low, high) Wilson 95%

    @property
    def matrix(self) -> list[list[int]]:
        return [[self.tn, self.fp], [self.fn, self.tp]]

    @classmethod
    def from_counts(cls, threshold: float, tn: int, fp: int, fn: int, tp: int) -> "AtThreshold":
        rates = {k: float(v) for k, v in confusion.rates(tn, fp, fn, tp).items()}
        ivs = {k: (float(lo), float(hi)) for k, (lo, hi) in confusion.rate_intervals(tn, fp, fn, tp).items()}
        return cls(float(threshold), int(tn), int(fp), int(fn), int(tp), rates, ivs)


@dataclass
class BinaryEvaluation:
    """Truth (0/1) and scores of one model; ROC, AUC and its interval are computed once."""
    y_true: np.ndarray
    y_score: np.ndarray
    ci_method: str = "delong"
    n_boot: int = 2000
    presorted: roc.SortedScores | None = field(default=None, repr=False)  # already sorted (live updates)
    sorted: roc.SortedScores = field(init=False)

    def __post_init__(self):
        self.sorted = self.presorted if self.presorted is not None else roc.sort_scores(self.y_true, self.y_score)
        self.presorted = None
        self.y_true = self.sorted.labels
        self.y_score = np.asarray(self.y_score, float)
        if self.ci_method not in ("delong", "bootstrap"):
            raise ValueError(f"CI method must be 'delong' or 'bootstrap', not {self.ci_method!r}")

    @property
    def n(self) -> int:
        return self.sorted.n

    @cached_property
    def auc(self) -> roc.AucResult:
        if self.ci_method == "bootstrap":
            return roc.bootstrap(self.sorted, n_boot=self.n_boot)
        return roc.delong(self.sorted)

    @cached_property
    def roc(self) -> roc.RocCurve:
        return roc.roc_curve(self.sorted)

    @cached_property
    def pr(self) -> pr.PrCurve:
        return pr.pr_curve(self.sorted)

    @cached_property
    def calibration(self) -> calibration.Reliability:
        return calibration.reliability(self.y_true, self.y_score)

    @cached_property
    def operating_points(self) -> dict[str, operating.OperatingPoint]:
        return operating.standard_points(self.roc)

    def at(self, threshold: float = DEFAULT_THRESHOLD) -> AtThreshold:
        return AtThreshold.from_counts(threshold, *self.sorted.counts_at(threshold))

    def predicted(self, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        return self.y_score >= threshold

    def cell_mask(self, truth: int, predicted: int, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        """Cases in one matrix cell (truth 0/1, predicted 0/1) at the threshold."""
        return (self.y_true == bool(truth)) & (self.predicted(threshold) == bool(predicted))
