"""Which label counts as the truth of a case, and the truth/score table for the metrics engine.

truth="final": the adjudicated label where there is one, else the newest final label of any reader.
truth="consensus": the adjudicated label, else the label a strict majority of readers gave.
truth="original": the newest imported/model label. truth="report": the newest label mined from the
case's report (tag "report", see core/reports.py). Any other string names one reader's own final
labels (no adjudication: that is how one reader is compared with the model or with another reader).
States (uncertain, not assessable) and structured labels are never truth.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Iterable

import numpy as np
from sqlalchemy.engine import Engine

from workstation.core.project.records import EvaluationTable
from workstation.core.project.store import decode_json, raw_rows
from workstation.core.project.values import canonical, is_class_label
from workstation.core.vocab import Tag, Task, Truth



def truth_values(engine: Engine, truth: str, task: str, classes: list[str],
                 case_ids: Iterable[str] | None = None, nodes: Iterable[str] = ()) -> dict[str, Any]:
    """{case_id: truth value} (all cases, or only `case_ids`: the live metrics' one-case update).
    Labels naming one of `nodes` (a taxonomy's inner nodes) count as truth too."""
    sql = "SELECT case_id, reader, tag, CAST(value AS TEXT), updated_at FROM labels WHERE candidate_id = ''"
    params: tuple = ()
    if truth == Truth.ORIGINAL:
        sql += " AND tag = 'original'"
    elif truth == Truth.REPORT:
        sql += " AND tag = 'report'"
    elif truth in (Truth.FINAL, Truth.CONSENSUS):
        sql += " AND tag IN ('final', 'adjudicated')"
    else:
        sql += " AND tag = 'final' AND reader = {p}"
        params = (truth,)
    with engine.connect() as conn:
        if case_ids is None:
            rows = raw_rows(conn, sql, params)
        else:
            wanted, rows = list(dict.fromkeys(case_ids)), []
            for start in range(0, len(wanted), 500):
                chunk = tuple(wanted[start:start + 500])
                rows += raw_rows(conn, sql + " AND case_id IN (" + ", ".join("{p}" for _ in chunk) + ")",
                                 params + chunk)
    rows = [(r[0], r[1], r[2], v, r[4]) for r, v in zip(rows, decode_json([r[3] for r in rows]))]
    adjudicated: dict[str, tuple[str, Any]] = {}
    newest: dict[str, tuple[str, Any]] = {}
    by_reader: dict[str, list[Any]] = defaultdict(list)
    for case_id, reader, tag, value, at in rows:
        if tag == Tag.ADJUDICATED:
            if truth in (Truth.FINAL, Truth.CONSENSUS) and (case_id not in adjudicated or at > adjudicated[case_id][0]):
                adjudicated[case_id] = (at, value)
            continue
        if case_id not in newest or at > newest[case_id][0]:
            newest[case_id] = (at, value)
        by_reader[case_id].append(value)
    if truth == Truth.CONSENSUS:
        result = {}
        for case_id, values in by_reader.items():
            counts = Counter(canonical(v) for v in values)
            key, n = counts.most_common(1)[0]
            if n * 2 > len(values):
                result[case_id] = next(v for v in values if canonical(v) == key)
    else:
        result = {case_id: value for case_id, (_, value) in newest.items()}
    result.update({case_id: value for case_id, (_, value) in adjudicated.items()})
    nodes = set(nodes)
    return {c: v for c, v in result.items() if is_class_label(v, task, classes, nodes)}


def build_table(matrix, truth_by_case: dict[str, Any], task: str, classes: list[str], truth: str,
                plugin_id: str | None) -> EvaluationTable:
    """Rows for the cases with both a truth and a prediction, in project case order. `matrix` is a
    snapshot.PredictionMatrix (None: no predictions)."""
    k = len(classes)
    if matrix is None or not truth_by_case:
        return EvaluationTable([], np.zeros((0, k) if task == Task.MULTILABEL else 0, dtype=int), np.zeros((0, k)),
                               list(classes), task, truth, plugin_id)
    probs, rows = _scored_rows(matrix, truth_by_case, task)
    ids = [matrix.case_ids[i] for i in rows]
    if task == Task.MULTILABEL:
        y = [[1 if c in set(truth_by_case[case_id]) else 0 for c in classes] for case_id in ids]
    else:
        index = {c: j for j, c in enumerate(classes)}
        y = [index[truth_by_case[case_id]] for case_id in ids]
    y_arr = np.asarray(y, dtype=int).reshape((-1, k) if task == Task.MULTILABEL else (-1,))
    return EvaluationTable(case_ids=ids, y_true=y_arr, scores=probs[rows].reshape(-1, k), classes=list(classes),
                           task=task, truth=truth, plugin_id=plugin_id)


def _scored_rows(matrix, truth_by_case: dict[str, Any], task: str):
    """(probabilities, rows of the matrix with a truth and a complete prediction, in case order)."""
    probs = matrix.probs
    if task == Task.BINARY:  # a plugin may give only the positive class
        probs = probs.copy()
        only_positive = np.isnan(probs[:, 0]) & ~np.isnan(probs[:, 1])
        probs[only_positive, 0] = 1.0 - probs[only_positive, 1]
    complete = matrix.has_prediction & ~np.isnan(probs).any(axis=1)
    rows = sorted(matrix.row_of[c] for c in truth_by_case if c in matrix.row_of)
    return probs, [i for i in rows if complete[i]]


def build_level_table(matrix, truth_by_case: dict[str, Any], taxonomy, classes: list[str], level,
                      positive: str | None, truth: str, plugin_id: str | None) -> EvaluationTable:
    """The table at one taxonomy level (core/taxonomy/levels.py): labels may name any node; a case
    labelled coarser than the level is left out and listed in `excluded`."""
    from workstation.core.taxonomy import at_level, level_classes

    task, nodes = level_classes(taxonomy, level, positive)
    name = taxonomy.level_name(level)
    if matrix is None or not truth_by_case:
        return EvaluationTable([], np.zeros(0, dtype=int), np.zeros((0, len(nodes))), nodes, task, truth,
                               plugin_id, name)
    probs, rows = _scored_rows(matrix, truth_by_case, Task.MULTICLASS)
    ids = [matrix.case_ids[i] for i in rows]
    t = at_level(taxonomy, ids, [truth_by_case[c] for c in ids], probs[rows].reshape(-1, len(classes)), classes,
                 level, positive)
    if t.task == Task.MULTICLASS and t.level == "leaf":  # the leaves in the project's class order
        order = [t.classes.index(c) for c in classes]
        back = np.argsort(order)
        return EvaluationTable(t.case_ids, back[t.y_true], t.scores[:, order], list(classes), t.task, truth,
                               plugin_id, t.level, t.excluded)
    return EvaluationTable(t.case_ids, t.y_true, t.scores, t.classes, t.task, truth, plugin_id, t.level, t.excluded)
