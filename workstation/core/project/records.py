"""Plain records the project hands out: cases, labels, predictions, audit entries, evaluation tables."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy only for annotations: a scripted label need not import it
    import numpy as np

from workstation.core.vocab import Action, CandidateState, LabelState, Tag

UNCERTAIN = LabelState.UNCERTAIN.value
NOT_ASSESSABLE = LabelState.NOT_ASSESSABLE.value
STATES = LabelState.values()
TAGS = Tag.values()
ACTIONS = tuple(a for a in Action.values() if a != Action.CLEAR)  # "clear" is clear_label's alone
CANDIDATE_STATES = CandidateState.values()


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Case:
    case_id: str
    paths: list[str]
    patient_id: str | None = None
    study_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Label:
    case_id: str
    reader: str
    tag: str
    value: Any
    note: str | None
    updated_at: str
    candidate_id: str = ""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    case_id: str
    candidate_id: str
    reader: str
    tag: str
    action: str
    old_value: Any
    new_value: Any
    shown: Any
    note: str | None
    prev_hash: str | None = None
    row_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PredictionRecord:
    """One model output for one case. `probabilities` maps class name -> probability; detection
    results list `candidates` as dicts with id, centre (world mm, LPS), diameter_mm and score."""
    case_id: str
    probabilities: dict[str, float]
    plugin_id: str
    plugin_version: str = ""
    weights_sha256: str = ""
    device: str = ""
    created_at: str = field(default_factory=now)
    candidates: list[dict[str, Any]] | None = None
    heatmap_path: str | None = None

    def top(self) -> tuple[str | None, float | None]:
        if not self.probabilities:
            return None, None
        name = max(self.probabilities, key=self.probabilities.get)
        return name, float(self.probabilities[name])

    def shown(self) -> dict[str, Any]:
        """What a reader sees of this prediction; stored in the audit trail with each decision."""
        return {"plugin_id": self.plugin_id, "plugin_version": self.plugin_version,
                "probabilities": self.probabilities, "created_at": self.created_at}

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class EvaluationTable:
    """Truth and scores on the cases that have both, in project case order.
    y_true: class indices (binary, multiclass) or an n x K 0/1 matrix (multilabel).
    scores: n x K probabilities in `classes` order."""
    case_ids: list[str]
    y_true: np.ndarray
    scores: np.ndarray
    classes: list[str]
    task: str
    truth: str = "final"
    plugin_id: str | None = None
    level: str | None = None    # read at this level of the taxonomy (classes are its nodes)
    excluded: list[str] = field(default_factory=list)  # cases labelled coarser than the level

    def __len__(self) -> int:
        return len(self.case_ids)
