"""Worklist orderings for the active-learning loop: show readers first the cases where a label
changes the model most.

Probabilities come as the metrics engine takes them:
- binary: shape (n,) — the positive class's probability;
- multiclass: shape (n, k) — one row per case, summing to 1;
- multilabel: shape (n, k) — independent per-label probabilities.
A case without a prediction has a NaN row; it sorts after every scored case.

Scores grow with priority: `uncertainty_entropy` (normalised to [0, 1]), `uncertainty_margin`
(1 - margin, in [0, 1]) and `disagreement` (distance between the model and the reader's label,
in [0, 1]; NaN where the reader has no label yet).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workstation.core.vocab import Task

TASKS = ("binary", "multiclass", "multilabel")
ORDERINGS = ("entropy", "margin", "disagreement")
_EPS = 1e-12


def _as_probs(probs, task: str) -> np.ndarray:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    p = np.asarray(probs, dtype=float)
    if task == Task.BINARY:
        if p.ndim == 2 and p.shape[1] == 2:
            p = p[:, 1]  # (negative, positive) columns
        if p.ndim != 1:
            raise ValueError(f"binary probabilities need shape (n,) or (n, 2), got {p.shape}")
    elif p.ndim != 2:
        raise ValueError(f"{task} probabilities need shape (n, k), got {p.shape}")
    finite = p[np.isfinite(p)]
    if finite.size and (finite.min() < -1e-6 or finite.max() > 1 + 1e-6):
        raise ValueError("probabilities must lie in [0, 1]")
    return np.clip(p, 0.0, 1.0)


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))


def uncertainty_entropy(probs, task: str) -> np.ndarray:
    """Predictive entropy in [0, 1]: binary entropy in bits; multiclass entropy over log(k);
    multilabel the mean of the labels' binary entropies."""
    p = _as_probs(probs, task)
    if task == Task.BINARY:
        return _binary_entropy(p)
    if task == Task.MULTILABEL:
        return _binary_entropy(p).mean(axis=1)
    k = p.shape[1]
    q = np.clip(p, _EPS, 1.0)
    return -(p * np.log(q)).sum(axis=1) / np.log(k)


def uncertainty_margin(probs, task: str) -> np.ndarray:
    """1 - margin: binary 1 - |p - (1 - p)|; multiclass 1 - (top1 - top2); multilabel the least
    certain label, 1 - min |2p - 1|."""
    p = _as_probs(probs, task)
    if task == Task.BINARY:
        return 1.0 - np.abs(2 * p - 1)
    if task == Task.MULTILABEL:
        return 1.0 - np.abs(2 * p - 1).min(axis=1)
    top2 = -np.sort(-np.where(np.isfinite(p), p, -np.inf), axis=1)[:, :2]
    margin = top2[:, 0] - top2[:, 1]
    return np.where(np.isfinite(margin), 1.0 - margin, np.nan)


def disagreement(probs, reader_labels: Sequence, task: str) -> np.ndarray:
    """How far the model is from the reader: binary |p - y| with y in {0, 1}; multiclass
    1 - p[reader's class] with the class index; multilabel the mean |p - y| over labels with y a
    0/1 row. A label of None (or a NaN) means "not read yet" and gives NaN."""
    p = _as_probs(probs, task)
    n = p.shape[0]
    if len(reader_labels) != n:
        raise ValueError(f"{len(reader_labels)} reader labels for {n} predictions")
    out = np.full(n, np.nan)
    for i, y in enumerate(reader_labels):
        if y is None or (np.ndim(y) == 0 and isinstance(y, float) and np.isnan(y)):
            continue
        if task == Task.BINARY:
            out[i] = abs(p[i] - float(y))
        elif task == Task.MULTICLASS:
            out[i] = 1.0 - p[i, int(y)]
        else:
            row = np.asarray(y, dtype=float)
            if row.shape != (p.shape[1],):
                raise ValueError(f"multilabel reader label {i} needs {p.shape[1]} values, got {row.shape}")
            out[i] = float(np.abs(p[i] - row).mean())
    return out


def order_by_score(case_ids: Sequence[str], scores) -> list[str]:
    """Case ids by descending score; NaN (no prediction, or no reader label) last; ties keep the
    input order (the worklist's own order), so the ordering is stable and reproducible."""
    scores = np.asarray(scores, dtype=float)
    if len(case_ids) != scores.shape[0]:
        raise ValueError(f"{len(case_ids)} case ids for {scores.shape[0]} scores")
    key = np.where(np.isfinite(scores), -scores, np.inf)
    return [case_ids[i] for i in np.argsort(key, kind="stable")]


def order_worklist(case_ids: Sequence[str], probs, task: str, by: str = "entropy",
                   reader_labels: Sequence | None = None) -> list[str]:
    """The worklist in priority order: "entropy" or "margin" (most uncertain first) or
    "disagreement" (model-reader disagreement first; needs `reader_labels`)."""
    if by == "entropy":
        scores = uncertainty_entropy(probs, task)
    elif by == "margin":
        scores = uncertainty_margin(probs, task)
    elif by == "disagreement":
        if reader_labels is None:
            raise ValueError("ordering by disagreement needs the reader's labels")
        scores = disagreement(probs, reader_labels, task)
    else:
        raise ValueError(f"unknown ordering {by!r}; choose one of {', '.join(ORDERINGS)}")
    return order_by_score(case_ids, scores)


def order_project(project, by: str = "entropy", truth: str = "final", plugin_id: str | None = None) -> list[str]:
    """A project's case ids in priority order, from its latest predictions (one model: `plugin_id`,
    else the most recently used) and, for "disagreement", the labels under `truth` ("final",
    "consensus" or a reader's name). Cases without a prediction (or, for disagreement, without a
    label) come last in project order. Detection projects are not ordered here (no case scores)."""
    task, classes = project.task, list(project.classes)
    if task not in TASKS:
        raise ValueError(f"a {task} project has no case-level probabilities to order by")
    if plugin_id is None:
        used = project.prediction_plugins()
        plugin_id = used[0] if used else None
    predictions = project.latest_predictions(plugin_id) if plugin_id else {}
    case_ids = project.case_ids()
    probs = np.full((len(case_ids), len(classes)), np.nan)
    for row, case_id in enumerate(case_ids):
        record = predictions.get(case_id)
        if record is None:
            continue
        p = record.probabilities
        if task == Task.BINARY and classes[1] in p and classes[0] not in p:
            p = {classes[0]: 1.0 - p[classes[1]], classes[1]: p[classes[1]]}
        if all(c in p for c in classes):
            probs[row] = [p[c] for c in classes]
    scores_input = probs[:, 1] if task == Task.BINARY else probs
    labels = None
    if by == "disagreement":
        truth_by_case = project.truth(truth)
        index = {c: i for i, c in enumerate(classes)}
        labels = []
        for case_id in case_ids:
            value = truth_by_case.get(case_id)
            if value is None:
                labels.append(None)
            elif task == Task.MULTILABEL:
                labels.append([1 if c in value else 0 for c in classes])
            else:
                labels.append(index[value])
    return order_worklist(case_ids, scores_input, task, by, labels)
