"""A segmentation save as a review-session edit (`ReviewSession.save_segment` calls this): the new
version recorded for the reader (audited, undoable through the session's undo) and the `Change` the
session announces, candidate_id "seg:<segment>", old and new the version records (None: no mask)."""
from __future__ import annotations

from typing import Any

from workstation.core.segmentation import store
from workstation.core.vocab import Action, Tag


def save(session, case_id: str, segment: str, mask=None, grid=None, *, written: dict[str, Any] | None = None,
         reader: str | None = None, source: str = "reader", action: str | None = None, note: str | None = None):
    from workstation.core.review.session import Change

    reader = session.require_reader(reader)
    project = session.project
    segment = store.check_name(segment)
    if segment not in {s.name for s in store.segments(project)}:
        store.add_segment(project, segment)  # before a file is written: a failure leaves none
    if written is None:
        if mask is None or grid is None:
            raise ValueError("save_segment needs a mask and its grid, or the value of a written file")
        written = store.write_mask_file(project, case_id, reader, segment, mask, grid, source)
    old = store.current_value(project, case_id, reader, segment)
    action = Action(action) if action else (Action.IMPORT if source.startswith("model:") else Action.CORRECT)
    store.record_mask(project, case_id, reader, segment, written, action, note, undoable=True)
    return Change(case_id, reader, Tag.FINAL, old, written, action, candidate_id=store.SEG_PREFIX + segment,
                  note=note)
