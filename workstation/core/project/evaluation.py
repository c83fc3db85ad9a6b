"""Which label counts as the truth of a case, and the truth/score table for the metrics engine.

truth="final": the adjudicated label where there is one, else the newest final label of any reader.
truth="consensus": the adjudicated label, else the label a strict majority of readers gave.
truth="original": the newest imported/model label. Any other string names one reader's own final
labels (no adjudication: that is how one reader is compared with the model or with another reader).
States (uncertain, not assessable) and structured labels are never truth.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np
from sqlalchemy import Text, cast, select
from sqlalchemy.engine import Engine

from .config import ProjectError
from .models import LabelRow
from .records import EvaluationTable, PredictionRecord
from .store import decode_json
from .values import canonical, is_class_label

L = LabelRow.__table__


def truth_values(engine: Engine, truth: str, task: str, classes: list[str]) -> dict[str, Any]:
    query = select(L.c.case_id, L.c.reader, L.c.tag, cast(L.c.value, Text), L.c.updated_at)
    query = query.where(L.c.candidate_id == "")
    if truth == "original":
        query = query.where(L.c.tag == "original")
    elif truth in ("final", "consensus"):
        query = query.where(L.c.tag.in_(("final", "adjudicated")))
    else:
        query = query.where((L.c.tag == "final") & (L.c.reader == truth))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    rows = [(r[0], r[1], r[2], v, r[4]) for r, v in zip(rows, decode_json([r[3] for r in rows]))]
    adjudicated: dict[str, tuple[str, Any]] = {}
    newest: dict[str, tuple[str, Any]] = {}
    by_reader: dict[str, list[Any]] = defaultdict(list)
    for case_id, reader, tag, value, at in rows:
        if tag == "adjudicated":
            if truth in ("final", "consensus") and (case_id not in adjudicated or at > adjudicated[case_id][0]):
                adjudicated[case_id] = (at, value)
            continue
        if case_id not in newest or at > newest[case_id][0]:
            newest[case_id] = (at, value)
        by_reader[case_id].append(value)
    if truth == "consensus":
        result = {}
        for case_id, values in by_reader.items():
            counts = Counter(canonical(v) for v in values)
            key, n = counts.most_common(1)[0]
            if n * 2 > len(values):
                result[case_id] = next(v for v in values if canonical(v) == key)
    else:
        result = {case_id: value for case_id, (_, value) in newest.items()}
    result.update({case_id: value for case_id, (_, value) in adjudicated.items()})
    return {c: v for c, v in result.items() if is_class_label(v, task, classes)}


def build_table(case_order: list[str], truth_by_case: dict[str, Any], predictions: dict[str, PredictionRecord],
                task: str, classes: list[str], truth: str, plugin_id: str | None) -> EvaluationTable:
    if task == "detection":
        raise ProjectError("detection projects are scored per candidate (FROC), not with an evaluation table")
    index = {c: i for i, c in enumerate(classes)}
    ids, y, scores = [], [], []
    for case_id in case_order:
        value = truth_by_case.get(case_id)
        record = predictions.get(case_id)
        if value is None or record is None:
            continue
        probs = record.probabilities
        if any(c not in probs for c in classes):
            if task == "binary" and classes[1] in probs:
                probs = {classes[0]: 1.0 - probs[classes[1]], classes[1]: probs[classes[1]]}
            else:
                continue
        ids.append(case_id)
        scores.append([probs[c] for c in classes])
        if task == "multilabel":
            chosen = set(value)
            y.append([1 if c in chosen else 0 for c in classes])
        else:
            y.append(index[value])
    k = len(classes)
    y_arr = np.asarray(y, dtype=int).reshape((-1, k) if task == "multilabel" else (-1,))
    s_arr = np.asarray(scores, dtype=float).reshape(-1, k)
    return EvaluationTable(case_ids=ids, y_true=y_arr, scores=s_arr, classes=list(classes), task=task,
                           truth=truth, plugin_id=plugin_id)
