"""The JSON shapes of `workstation evaluate` and `workstation metrics` (documented in
docs/readme/metrics.md). NaN and infinities become null; every undefined figure has a reason."""
from __future__ import annotations

import math

import numpy as np

from workstation.core.metrics.binary import DEFAULT_THRESHOLD, AtThreshold, BinaryEvaluation
from workstation.core.metrics.confusion import PROPORTIONS, averages, wilson_interval
from workstation.core.metrics.multiclass import MulticlassEvaluation
from workstation.core.metrics.multilabel import MultilabelEvaluation


def clean(value):
    """Recursively turn numpy values into JSON-safe Python ones (NaN/inf -> None)."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _rates_block(at) -> dict:
    out = {}
    for name, value in at.rates.items():
        out[name] = value
        if name in PROPORTIONS:
            out[f"{name}_ci"] = list(at.intervals[name])
    return out


def binary_block(ev: BinaryEvaluation, threshold: float = DEFAULT_THRESHOLD) -> dict:
    a = ev.auc
    at = ev.at(threshold)
    block = {
        "n": ev.n, "n_positive": ev.sorted.n_pos, "n_negative": ev.sorted.n_neg,
        "auc": a.auc, "auc_ci": list(a.ci), "auc_se": a.se, "ci_method": a.method, "auc_reason": a.reason,
        "threshold": threshold, "confusion_matrix": at.matrix,
        **_rates_block(at),
        "average_precision": ev.pr.average_precision,
        "ece": ev.calibration.ece, "ece_reason": ev.calibration.reason,
        "operating_points": {k: p.to_dict() for k, p in ev.operating_points.items()},
    }
    if a.extra:
        block["ci_options"] = a.extra
    return block


def binary_report(ev: BinaryEvaluation, threshold: float = DEFAULT_THRESHOLD) -> dict:
    return clean({"task": "binary", **binary_block(ev, threshold)})


def multiclass_report(ev: MulticlassEvaluation) -> dict:
    tn, fp, fn, tp = ev.ovr_counts
    classes = {}
    for c, name in enumerate(ev.classes):
        b = ev.per_class[c]
        a = b.auc
        at = AtThreshold.from_counts(math.nan, tn[c], fp[c], fn[c], tp[c])
        classes[name] = {"n_positive": b.sorted.n_pos, "auc": a.auc, "auc_ci": list(a.ci), "auc_se": a.se,
                         "auc_reason": a.reason, "confusion_matrix": at.matrix, **_rates_block(at),
                         "average_precision": b.pr.average_precision}
    avg = averages(tn, fp, fn, tp)
    aucs = ev.auc_averages
    for kind in ("macro", "weighted", "micro"):
        avg[kind]["auc"] = aucs[kind]
    correct = int(np.trace(ev.matrix))
    return clean({
        "task": "multiclass", "n": ev.n, "class_names": list(ev.classes), "decision": "argmax",
        "threshold": None, "confusion_matrix": ev.matrix,
        # exact-match accuracy (trace / n), not the mean of the one-vs-rest accuracies
        "accuracy": correct / ev.n if ev.n else math.nan, "accuracy_ci": list(wilson_interval(correct, ev.n)),
        "balanced_accuracy": avg["macro"]["sensitivity"],
        "auc_hand_till": aucs["hand_till"], "auc_hand_till_reason": aucs["hand_till_reason"],
        "auc_ovr_macro": aucs["macro"], "auc_ovr_weighted": aucs["weighted"],
        "ece_top_label": ev.calibration.ece, "classes": classes, "averages": avg,
    })


def multilabel_report(ev: MultilabelEvaluation, threshold: float = DEFAULT_THRESHOLD) -> dict:
    classes = {name: binary_block(b, threshold) for name, b in zip(ev.labels, ev.per_label)}
    avg = ev.rate_averages(threshold)
    aucs = ev.auc_averages
    for kind in ("macro", "weighted", "micro"):
        avg[kind]["auc"] = aucs[kind]
    return clean({"task": "multilabel", "n": ev.n, "label_names": list(ev.labels), "threshold": threshold,
                  "classes": classes, "averages": avg})


def report(ev, threshold: float = DEFAULT_THRESHOLD) -> dict:
    if isinstance(ev, BinaryEvaluation):
        return binary_report(ev, threshold)
    if isinstance(ev, MulticlassEvaluation):
        return multiclass_report(ev)
    if isinstance(ev, MultilabelEvaluation):
        return multilabel_report(ev, threshold)
    raise TypeError(f"not an evaluation: {type(ev).__name__}")
