"""Evaluations from a project's evaluation table (`Project.evaluation_table`): case ids, truth as
class indices (binary, multi-class) or an n x K 0/1 matrix (multi-label), and n x K scores."""
from __future__ import annotations

from workstation.core.metrics.binary import BinaryEvaluation
from workstation.core.metrics.multiclass import MulticlassEvaluation
from workstation.core.metrics.multilabel import MultilabelEvaluation
from workstation.core.vocab import Task


def evaluate(task: str, y_true, scores, classes, ci_method: str = "delong"):
    """Binary: classes = (negative, positive); the score is the positive class's column."""
    if task == Task.BINARY:
        if len(classes) != 2:
            raise ValueError(f"a binary task has two classes (negative, positive), got {list(classes)}")
        return BinaryEvaluation(y_true, scores[:, 1] if scores.ndim == 2 else scores, ci_method)
    if task == Task.MULTICLASS:
        return MulticlassEvaluation(y_true, scores, list(classes), ci_method)
    if task == Task.MULTILABEL:
        return MultilabelEvaluation(y_true, scores, list(classes), ci_method)
    raise ValueError(f"no case-level metrics for a {task!r} task")


def evaluate_table(table, ci_method: str = "delong"):
    return evaluate(table.task, table.y_true, table.scores, table.classes, ci_method)
