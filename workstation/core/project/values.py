"""Checking and normalising label values for a task."""
from __future__ import annotations

import json
from typing import Any, Collection

from workstation.core.project.config import ProjectError
from workstation.core.project.records import NOT_ASSESSABLE, STATES, UNCERTAIN
from workstation.core.vocab import Task

_ALIASES = {NOT_ASSESSABLE: NOT_ASSESSABLE, "not assessable": NOT_ASSESSABLE, "not-assessable": NOT_ASSESSABLE, "na": NOT_ASSESSABLE,
            "uncertain": UNCERTAIN, "?": UNCERTAIN}


def normalize(value: Any, task: str, classes: list[str], nodes: Collection[str] = ()) -> Any:
    """Return the canonical stored form of a label value, or raise ProjectError saying why not.
    Multi-label sets are stored as lists in class order; states as "uncertain"/"not_assessable".
    `nodes`: the inner nodes of the project's taxonomy, which a label may also name."""
    if isinstance(value, str):
        state = _ALIASES.get(value.strip().lower())
        if state and value.strip() not in classes:
            return state
        if value in classes:
            return [value] if task == Task.MULTILABEL else value
        if value in nodes:
            return value
        if task == Task.MULTILABEL and ";" in value:
            return normalize([v.strip() for v in value.split(";") if v.strip()], task, classes)
        raise ProjectError(f"unknown label {value!r}; expected one of {classes + list(nodes) + list(STATES)}")
    if isinstance(value, (list, tuple, set, frozenset)):
        if task != Task.MULTILABEL:
            raise ProjectError(f"a {task} label is one class name, not a list ({list(value)!r})")
        unknown = [v for v in value if v not in classes]
        if unknown:
            raise ProjectError(f"unknown label(s) {unknown!r}; expected names from {classes}")
        chosen = set(value)
        return [c for c in classes if c in chosen]
    if isinstance(value, dict):
        if task != Task.DETECTION:
            raise ProjectError(f"a structured (dict) label belongs to detection projects, not {task}")
        try:
            return json.loads(json.dumps(value))
        except (TypeError, ValueError) as exc:
            raise ProjectError(f"label is not JSON-serialisable: {exc}") from None
    raise ProjectError(f"unsupported label value {value!r} of type {type(value).__name__}")


def is_class_label(value: Any, task: str, classes: list[str], nodes: Collection[str] = ()) -> bool:
    """True when the value states a class, or one of the taxonomy's inner `nodes` (not a state such
    as uncertain, not a structured dict)."""
    if task == Task.MULTILABEL:
        return isinstance(value, list) and all(v in classes for v in value)
    return isinstance(value, str) and (value in classes or value in nodes)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
