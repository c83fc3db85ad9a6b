"""Confusion matrices, the rates read off them, Wilson intervals and class averages."""
from __future__ import annotations

import numpy as np
from statistics import NormalDist

Z95 = 1.959963984540054

# name -> (numerator, denominator) as attribute names of the 2x2 counts
PROPORTIONS = {
    "sensitivity": ("tp", "p"),
    "specificity": ("tn", "n"),
    "precision": ("tp", "pp"),
    "npv": ("tn", "pn"),
    "fpr": ("fp", "n"),
    "fnr": ("fn", "p"),
    "accuracy": ("correct", "total"),
}
RATE_NAMES = (*PROPORTIONS, "balanced_accuracy", "f1")


def _div(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def wilson_interval(k, n, confidence: float = 0.95):
    """Wilson score interval for k successes of n (vectorised); NaN where n == 0."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    z = Z95 if confidence == 0.95 else NormalDist().inv_cdf(0.5 + confidence / 2)
    safe = np.where(n > 0, n, 1)
    p = k / safe
    centre = (p + z * z / (2 * safe)) / (1 + z * z / safe)
    half = z / (1 + z * z / safe) * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe))
    lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lo, hi


def _counts(tn, fp, fn, tp) -> dict:
    tn, fp, fn, tp = (np.asarray(x, float) for x in (tn, fp, fn, tp))
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp, "p": tp + fn, "n": tn + fp, "pp": tp + fp,
            "pn": tn + fn, "correct": tp + tn, "total": tn + fp + fn + tp}


def rates(tn, fp, fn, tp) -> dict:
    """Sensitivity, specificity, precision, NPV, FPR, FNR, accuracy, balanced accuracy and F1
    from 2x2 counts (scalars or arrays); NaN where a denominator is zero."""
    c = _counts(tn, fp, fn, tp)
    out = {name: _div(c[num], c[den]) for name, (num, den) in PROPORTIONS.items()}
    out["balanced_accuracy"] = (out["sensitivity"] + out["specificity"]) / 2
    out["f1"] = _div(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"])
    return out


def rate_intervals(tn, fp, fn, tp, confidence: float = 0.95) -> dict:
    """Wilson intervals of the proportions in PROPORTIONS: name -> (low, high)."""
    c = _counts(tn, fp, fn, tp)
    return {name: wilson_interval(c[num], c[den], confidence) for name, (num, den) in PROPORTIONS.items()}


def binary_confusion(y_true, y_pred) -> np.ndarray:
    """[[TN, FP], [FN, TP]] of boolean truth and prediction."""
    t = np.asarray(y_true, bool)
    p = np.asarray(y_pred, bool)
    return np.bincount(t * 2 + p, minlength=4).reshape(2, 2)


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """K x K counts, rows = truth, columns = prediction (class indices 0..K-1)."""
    t = np.asarray(y_true, np.intp)
    p = np.asarray(y_pred, np.intp)
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def one_vs_rest(cm) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class (TN, FP, FN, TP) arrays of a K x K matrix, each class against the rest."""
    cm = np.asarray(cm, np.int64)
    tp = np.diag(cm)
    fn = cm.sum(1) - tp
    fp = cm.sum(0) - tp
    tn = cm.sum() - tp - fn - fp
    return tn, fp, fn, tp


def averages(tn, fp, fn, tp) -> dict:
    """Macro (mean over classes with the rate defined), micro (pooled counts) and
    prevalence-weighted averages of the per-class rates: {"macro": {...}, ...}."""
    per_class = rates(tn, fp, fn, tp)
    prevalence = np.asarray(tp, float) + np.asarray(fn, float)
    out = {"macro": {}, "micro": rates(*(np.sum(x) for x in (tn, fp, fn, tp))), "weighted": {}}
    for name, values in per_class.items():
        ok = ~np.isnan(values)
        out["macro"][name] = float(values[ok].mean()) if ok.any() else float("nan")
        w = prevalence * ok
        out["weighted"][name] = float((values[ok] * w[ok]).sum() / w.sum()) if w.sum() > 0 else float("nan")
    out["micro"] = {k: float(v) for k, v in out["micro"].items()}
    return out
