"""The application's vocabularies, each defined once. They are `str` Enums: a member compares equal
to its value (`Tag.FINAL == "final"`), so the database and JSON keep plain strings and code that
still holds strings keeps working."""
from __future__ import annotations

from enum import Enum


class _Vocab(str, Enum):
    def __str__(self) -> str:  # f"{Tag.FINAL}" is "final", as stored
        return self.value

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class Task(_Vocab):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    MULTILABEL = "multilabel"
    DETECTION = "detection"


class Tag(_Vocab):
    """Which reading a label is: the model's import (original), a reader's own (final), the
    adjudicator's decision (adjudicated), or mined from the report (report)."""
    ORIGINAL = "original"
    FINAL = "final"
    ADJUDICATED = "adjudicated"
    REPORT = "report"


class Truth(_Vocab):
    """Where the truth of an evaluation comes from (besides a reader's name: that reader's labels)."""
    FINAL = "final"              # the newest reader label, an adjudication first
    CONSENSUS = "consensus"      # the adjudication, else the label a strict majority of readers gave
    ORIGINAL = "original"        # the labels imported with the images
    REPORT = "report"            # the labels mined from the reports


class Action(_Vocab):
    """What an audited edit was: agreeing with the model (confirm), differing from it (correct), ..."""
    CONFIRM = "confirm"
    CORRECT = "correct"
    IMPORT = "import"
    ADJUDICATE = "adjudicate"
    UNDO = "undo"
    REDO = "redo"
    CLEAR = "clear"


class LabelState(_Vocab):
    """A reader's case label that is not a class."""
    UNCERTAIN = "uncertain"
    NOT_ASSESSABLE = "not_assessable"


class CandidateState(_Vocab):
    """A detection candidate's (or an overlay mark's) review state."""
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    ADDED = "added"


class BoxState(_Vocab):
    DRAWN = "drawn"
    DELETED = "deleted"


class BoxSource(_Vocab):
    READER = "reader"
    HEATMAP = "heatmap"
    DETECTOR = "detector"


#: candidate states a reader's truth is made of (lesions), and states that are a decision
ACCEPTED_STATES = (CandidateState.CONFIRMED, CandidateState.ADDED)
DECIDED_STATES = (CandidateState.CONFIRMED, CandidateState.REJECTED)
