"""Metrics at one level of a taxonomy: a table whose classes are the level's nodes (a
core.taxonomy.LevelTable, or a project's EvaluationTable read at a level) goes through the same
engine as any other; a two-node level gets the binary report (ROC, DeLong CI, operating points)."""
from __future__ import annotations

from workstation.core.metrics.binary import DEFAULT_THRESHOLD
from workstation.core.metrics.report import report
from workstation.core.metrics.tables import evaluate
from workstation.core.vocab import Task


def level_report(table, threshold: float = DEFAULT_THRESHOLD, ci_method: str = "delong") -> dict:
    """The JSON of a binary or multi-class evaluation of `table` plus level, positive/negative
    (binary), excluded (how many cases were labelled at a node coarser than the level) and
    excluded_cases."""
    if len(table):
        result = report(evaluate(table.task, table.y_true, table.scores, table.classes, ci_method), threshold)
    else:
        result = {"task": table.task, "n": 0, "reason": "no case has a label and a prediction at level "
                                                      f"{table.level}"}
    result["level"] = table.level
    result["level_classes"] = list(table.classes)
    if table.task == Task.BINARY:
        result["negative"], result["positive"] = table.classes
    result["excluded"] = len(table.excluded)
    result["excluded_cases"] = list(table.excluded)
    if table.excluded:
        result["excluded_reason"] = f"labelled at a node coarser than level {table.level}"
    return result
