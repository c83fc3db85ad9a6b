"""The rules of a review decision, in one place: the model's suggestion in the project's label
form, the action an edit is audited with (confirm / correct / adjudicate), and what the reader was
shown. Pure functions; the session (session.py) applies them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from workstation.core.vocab import Action, BoxSource, BoxState, CandidateState, LabelState, Tag, Task

BLINDED = {"blinded": True}


@dataclass(frozen=True)
class Decision:
    value: Any      # the label in its stored form (multi-label: a list in class order)
    action: Action
    shown: Any      # what the reader saw of the model: {"blinded": True}, a prediction's shown(), or None


def suggestion(record, task: str | None, classes: list[str], threshold: Callable[[str], float]) -> Any:
    """The model's label for a case (a PredictionRecord or None); see `suggestion_from_row`."""
    if record is None or not record.probabilities:
        return None
    nan = float("nan")
    return suggestion_from_row([record.probabilities.get(c, nan) for c in classes], task, classes, threshold)


def suggestion_from_row(row, task: str | None, classes: list[str], threshold: Callable[[str], float]) -> Any:
    """The model's label from its probabilities in class order (NaN: not given): the top class
    (binary, multiclass); the classes at or above their thresholds, in class order (multi-label);
    None without a prediction or for detection."""
    if task is None or task == Task.DETECTION:
        return None
    given = [(float(p), c) for p, c in zip(row, classes) if p == p]  # NaN != NaN
    if not given:
        return None
    if task == Task.MULTILABEL:
        return [c for p, c in given if p >= threshold(c)]
    best = max(p for p, _c in given)
    return next(c for p, c in given if p == best)  # the first of equal tops, as argmax


def shown(record, hidden: bool) -> Any:
    if hidden:
        return dict(BLINDED)
    return record.shown() if record is not None else None


def label_action(value: Any, tag: str, suggested: Any) -> Action:
    """adjudicate for the adjudicated tag; confirm when the stored value equals the suggestion (or
    there is none to differ from); else correct. Both sides are in the project's stored form, so a
    multi-label set is compared in class order, never by how the reader happened to list it."""
    if tag == Tag.ADJUDICATED:
        return Action.ADJUDICATE
    if suggested is None or value == suggested:
        return Action.CONFIRM
    return Action.CORRECT


def decide(project, value: Any, tag: str, suggested: Any, what_was_shown: Any) -> Decision:
    from workstation.core.project.values import normalize

    stored = normalize(value, project.task, project.classes, project.label_nodes)
    return Decision(stored, label_action(stored, tag, suggested), what_was_shown)


def candidate_action(state: str) -> Action:
    """A reader who confirms a candidate (or leaves it proposed) agrees with the detector; one who
    rejects it or adds a finding corrects it."""
    return Action.CORRECT if state in (CandidateState.REJECTED, CandidateState.ADDED) else Action.CONFIRM


def box_action(state: str, source: str | None) -> Action:
    """Accepting a model's box confirms it; drawing one's own or deleting one corrects."""
    if state == BoxState.DELETED or source in (None, BoxSource.READER):
        return Action.CORRECT
    return Action.CONFIRM


def label_text(value: Any) -> str:
    """A label as a reader reads it (worklist cells, status lines)."""
    if value is None:
        return ""
    if value == LabelState.UNCERTAIN:
        return "? uncertain"
    if value == LabelState.NOT_ASSESSABLE:
        return "✗ not assessable"
    if isinstance(value, list):
        return ", ".join(value) if value else "(none)"
    if isinstance(value, dict):
        return str(value.get("state") or value.get("status") or "reviewed")
    return str(value)


def describe(change) -> str:
    target = f"{change.case_id} / {change.candidate_id}" if change.candidate_id else change.case_id
    return f"{target}: {label_text(change.new)} ({change.action}, {change.reader})"
