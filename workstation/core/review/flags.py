"""Worklist flags: where a case needs a second look. The thresholds live here, not in a view."""
from __future__ import annotations

from enum import IntFlag
from typing import Any

from workstation.core.vocab import LabelState, Task

LOW_CONFIDENCE = 0.65  # a top probability below this is "low confidence"
STATES = (LabelState.UNCERTAIN, LabelState.NOT_ASSESSABLE)


class Flags(IntFlag):
    NONE = 0
    DISAGREE = 1
    LOW_CONFIDENCE = 2
    UNCERTAIN = 4
    NOTE = 8

    def names(self) -> list[str]:
        return [text for bit, text in _NAMES if self & bit]


_NAMES = [(Flags.DISAGREE, "disagree"), (Flags.LOW_CONFIDENCE, "low conf"), (Flags.UNCERTAIN, "uncertain"),
          (Flags.NOTE, "note")]
#: flags that say nothing about the model, so they stay visible in blinded mode
MODEL_FREE = Flags.UNCERTAIN | Flags.NOTE


def case_flags(task: str, suggestion: Any, value: Any, top_probability: float | None, has_note: bool,
               low_confidence: float = LOW_CONFIDENCE) -> Flags:
    """The flags of one case: its shown label `value` against the model's `suggestion`, the top
    probability (None or NaN: no prediction), whether any label of it has a note."""
    bits = Flags.NONE
    if suggestion is not None and value is not None and value not in STATES and value != suggestion:
        bits |= Flags.DISAGREE
    if task != Task.DETECTION and top_probability is not None and top_probability == top_probability \
            and top_probability < low_confidence:
        bits |= Flags.LOW_CONFIDENCE
    if value in STATES:
        bits |= Flags.UNCERTAIN
    if has_note:
        bits |= Flags.NOTE
    return bits
