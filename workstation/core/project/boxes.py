"""Localisation boxes in a project: readers' boxes on 2D images, and boxes taken from a classifier's
heat map or a detector, stored as labels (so they are audited and undoable like every label).

Each box is one label row of the reader under the tag "final" whose `candidate_id` is "box:<n>"
(n unique within the case). Its value is {"state": "drawn" | "deleted", "finding", "x", "y", "w",
"h", "source": "reader" | "heatmap" | "detector", "score"?} with x, y, w, h in image pixels as in
`workstation.core.boxes.localisation.Box` (x, y the column and row of the top-left corner). A deleted box keeps
its row, so the audit trail and the table say who deleted what.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workstation.core.project.config import ProjectError
from workstation.core.vocab import BoxSource, BoxState

if TYPE_CHECKING:  # localisation imports scipy: not for every project open
    from workstation.core.boxes.localisation import Box

BOX_PREFIX = "box:"
BOX_STATES = BoxState.values()
BOX_SOURCES = BoxSource.values()


@dataclass(frozen=True)
class StoredBox:
    case_id: str
    box_id: str
    reader: str
    finding: str
    x: float
    y: float
    w: float
    h: float
    source: str
    state: str
    updated_at: str
    score: float | None = None

    def to_box(self) -> "Box":
        from workstation.core.boxes.localisation import Box

        return Box(self.x, self.y, self.w, self.h, finding=self.finding, score=self.score)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def is_box_id(candidate_id: str) -> bool:
    return str(candidate_id).startswith(BOX_PREFIX)


def box_value(finding, x, y, w, h, state: str, source: str, score, classes: list[str]) -> dict[str, Any]:
    """The stored value of a box, or a ProjectError saying what is wrong with it."""
    if state not in BOX_STATES:
        raise ProjectError(f"unknown box state {state!r}; expected one of {BOX_STATES}")
    if source not in BOX_SOURCES:
        raise ProjectError(f"unknown box source {source!r}; expected one of {BOX_SOURCES}")
    if finding not in classes:
        raise ProjectError(f"unknown finding {finding!r} for a box; expected one of {classes}")
    try:
        numbers = [float(v) for v in (x, y, w, h)]
    except (TypeError, ValueError):
        raise ProjectError(f"a box needs numbers x, y, w, h; got {[x, y, w, h]!r}") from None
    if not all(math.isfinite(v) for v in numbers):
        raise ProjectError(f"box coordinates must be finite numbers, got {numbers}")
    if numbers[2] <= 0 or numbers[3] <= 0:
        raise ProjectError(f"a box needs a positive width and height, got w={numbers[2]:g}, h={numbers[3]:g}")
    value: dict[str, Any] = {"state": state, "finding": finding, "x": numbers[0], "y": numbers[1],
                             "w": numbers[2], "h": numbers[3], "source": source}
    if score is not None:
        value["score"] = float(score)
    return value


def box_number(box_id: str) -> int:
    tail = str(box_id)[len(BOX_PREFIX):]
    return int(tail) if tail.isdigit() else 0


def new_box_id(taken: set[str]) -> str:
    n = len(taken) + 1
    while f"{BOX_PREFIX}{n}" in taken:
        n += 1
    return f"{BOX_PREFIX}{n}"


def from_label(label) -> StoredBox:
    v = label.value
    return StoredBox(label.case_id, label.candidate_id, label.reader, v["finding"], float(v["x"]), float(v["y"]),
                     float(v["w"]), float(v["h"]), v.get("source", "reader"), v.get("state", "drawn"),
                     label.updated_at, v.get("score"))


def box_file(project, reader: str | None = None, source: str | None = None) -> dict[str, Any]:
    """The project's boxes in the `workstation evaluate-boxes` file format (image id = case id),
    e.g. one reader's boxes as truth and the heat-map boxes as predictions."""
    images = []
    for case_id in project.case_ids():
        found = [b for b in project.boxes(case_id, reader=reader) if source is None or b.source == source]
        if found:
            images.append({"image_id": case_id, "boxes": [b.to_box().to_json() for b in found]})
    return {"images": images}
