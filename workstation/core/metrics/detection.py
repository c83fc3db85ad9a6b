"""Detection metrics for point-like lesions (microbleeds): hits in world mm, the LUNA16 rule, FROC,
CPM and bootstrap confidence intervals over subjects.

Matching: a candidate hits a lesion when its centre lies within the lesion's radius (at least
`min_radius_mm`) of the lesion centre. A lesion counts once, scored by its best hit; further hits
on the same lesion are ignored (neither true nor false positives, as in LUNA16). A candidate that
hits no lesion is a false positive. Precision is found lesions / (found lesions + false positives).

The FROC curve has one operating point per distinct candidate score (keep candidates with
score >= threshold). CPM is the mean sensitivity at 1/8, 1/4, 1/2, 1, 2, 4 and 8 false positives
per subject, interpolated on the curve as MONAI's `compute_froc_score` does."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

CPM_FP_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class SubjectMatch:
    """One subject's candidates matched to its lesions."""
    subject_id: str
    lesion_scores: np.ndarray   # best hit score per lesion; NaN where no candidate hit it
    fp_scores: np.ndarray       # scores of candidates that hit no lesion
    hit_lesion: np.ndarray      # per candidate: index of the nearest lesion it hits, -1 for none

    @property
    def n_lesions(self) -> int:
        return len(self.lesion_scores)


def match_subject(centres, scores, lesion_centres, lesion_diameters, subject_id: str = "",
                  min_radius_mm: float = 2.0) -> SubjectMatch:
    """Match candidates (centres (n, 3) world mm, scores (n,)) to lesions (centres (m, 3),
    diameters (m,) mm)."""
    centres = np.asarray(centres, float).reshape(-1, 3)
    scores = np.asarray(scores, float).reshape(-1)
    lesions = np.asarray(lesion_centres, float).reshape(-1, 3)
    radii = np.maximum(np.asarray(lesion_diameters, float).reshape(-1) / 2.0, min_radius_mm)
    if len(centres) != len(scores):
        raise ValueError(f"{len(centres)} candidate centres but {len(scores)} scores")
    if len(lesions) != len(radii):
        raise ValueError(f"{len(lesions)} lesion centres but {len(radii)} diameters")
    if not (np.all(np.isfinite(centres)) and np.all(np.isfinite(scores)) and np.all(np.isfinite(lesions))):
        raise ValueError("candidate or lesion coordinates/scores are not finite")
    dist = np.linalg.norm(centres[:, None, :] - lesions[None, :, :], axis=2)  # (n, m)
    hits = dist <= radii[None, :]
    lesion_scores = np.full(len(lesions), np.nan)
    for m in range(len(lesions)):
        if hits[:, m].any():
            lesion_scores[m] = scores[hits[:, m]].max()
    any_hit = hits.any(axis=1)
    nearest = np.where(hits, dist, np.inf).argmin(axis=1) if len(lesions) else np.zeros(len(centres), int)
    hit_lesion = np.where(any_hit, nearest, -1)
    return SubjectMatch(subject_id, lesion_scores, scores[~any_hit], hit_lesion)


@dataclass(frozen=True)
class FrocCurve:
    thresholds: np.ndarray       # descending candidate scores
    fp_per_subject: np.ndarray   # ascending
    sensitivity: np.ndarray

    def points(self) -> list[dict]:
        return [{"threshold": float(t), "fp_per_subject": float(f), "sensitivity": float(s)}
                for t, f, s in zip(self.thresholds, self.fp_per_subject, self.sensitivity)]


def froc_curve(subjects: Sequence[SubjectMatch]) -> FrocCurve:
    fp = np.concatenate([s.fp_scores for s in subjects]) if subjects else np.zeros(0)
    tp = np.concatenate([s.lesion_scores for s in subjects]) if subjects else np.zeros(0)
    n_lesions, n_subjects = len(tp), max(len(subjects), 1)
    found = tp[np.isfinite(tp)]
    thresholds = np.unique(np.concatenate([fp, found]))[::-1]
    fp_sorted, tp_sorted = np.sort(fp), np.sort(found)
    n_fp = len(fp_sorted) - np.searchsorted(fp_sorted, thresholds, side="left")
    n_tp = len(tp_sorted) - np.searchsorted(tp_sorted, thresholds, side="left")
    sens = n_tp / n_lesions if n_lesions else np.full(len(thresholds), np.nan)
    return FrocCurve(thresholds, n_fp / n_subjects, np.asarray(sens, float))


def cpm(curve: FrocCurve, fp_rates: Iterable[float] = CPM_FP_RATES) -> tuple[float, list[float]]:
    """Competition performance metric and the sensitivities it averages. Before the first
    operating point the curve starts at (0 FP, 0 sensitivity), as MONAI's does."""
    fps = np.concatenate([[0.0], curve.fp_per_subject])
    sens = np.concatenate([[0.0], curve.sensitivity])
    at = np.interp(np.asarray(list(fp_rates), float), fps, sens)
    return float(np.mean(at)), [float(v) for v in at]


def sensitivity_at(curve: FrocCurve, max_fp_per_subject: float) -> tuple[float, float, float]:
    """The best operating point with at most `max_fp_per_subject`: (sensitivity, fp, threshold);
    (0, 0, inf) when even the top-scored candidate costs more."""
    ok = curve.fp_per_subject <= max_fp_per_subject
    if not ok.any():
        return 0.0, 0.0, float("inf")
    best = np.flatnonzero(ok)[-1]
    return float(curve.sensitivity[best]), float(curve.fp_per_subject[best]), float(curve.thresholds[best])


def at_threshold(subjects: Sequence[SubjectMatch], threshold: float) -> dict:
    tp = sum(int(np.sum(s.lesion_scores >= threshold)) for s in subjects)  # NaN compares False
    fp = sum(int(np.sum(s.fp_scores >= threshold)) for s in subjects)
    n_lesions = sum(s.n_lesions for s in subjects)
    sens = tp / n_lesions if n_lesions else float("nan")
    prec = tp / (tp + fp) if tp + fp else float("nan")
    f1 = 2 * tp / (2 * tp + fp + (n_lesions - tp)) if (2 * tp + fp + n_lesions - tp) else float("nan")
    return {"threshold": float(threshold), "tp": tp, "fp": fp, "fn": n_lesions - tp,
            "sensitivity": sens, "precision": prec, "f1": f1,
            "fp_per_subject": fp / len(subjects) if subjects else float("nan")}


@dataclass
class DetectionReport:
    n_subjects: int
    n_lesions: int
    operating_point: dict
    froc: FrocCurve
    cpm: float
    cpm_sensitivities: list[float]
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    confidence: float = 0.95

    def to_json(self) -> dict:
        op = self.operating_point
        return {"n_subjects": self.n_subjects, "n_lesions": self.n_lesions, **op,
                "cpm": self.cpm, "cpm_fp_rates": list(CPM_FP_RATES), "cpm_sensitivities": self.cpm_sensitivities,
                "froc": self.froc.points(), "confidence": self.confidence,
                "ci": {k: [lo, hi] for k, (lo, hi) in self.ci.items()}}


def evaluate(subjects: Sequence[SubjectMatch], threshold: float = 0.5, bootstrap: int = 1000,
             confidence: float = 0.95, seed: int = 0) -> DetectionReport:
    """All metrics for matched subjects; percentile bootstrap CIs resampling whole subjects."""
    subjects = list(subjects)
    curve = froc_curve(subjects)
    score, per_rate = cpm(curve)
    report = DetectionReport(len(subjects), sum(s.n_lesions for s in subjects), at_threshold(subjects, threshold),
                             curve, score, per_rate, confidence=confidence)
    if bootstrap and len(subjects) > 1:
        rng = np.random.default_rng(seed)
        names = ("sensitivity", "precision", "f1", "fp_per_subject", "cpm")
        draws = {k: [] for k in names}
        for _ in range(int(bootstrap)):
            sample = [subjects[i] for i in rng.integers(0, len(subjects), len(subjects))]
            op = at_threshold(sample, threshold)
            for k in names[:-1]:
                draws[k].append(op[k])
            draws["cpm"].append(cpm(froc_curve(sample))[0])
        alpha = (1.0 - confidence) / 2.0
        for k, values in draws.items():
            values = np.asarray(values, float)
            values = values[np.isfinite(values)]
            if len(values):
                report.ci[k] = (float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha)))
    return report
