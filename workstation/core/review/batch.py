"""Many labels at once (`workstation label DIR --from CSV`): every row is decided exactly as a
single label is (`ReviewSession.decide`: action and what was shown), all rows are checked before
anything is written, then they are written one transaction per batch."""
from __future__ import annotations

from typing import Iterable

from workstation.core.errors import WorkstationError
from workstation.core.vocab import Action, Tag


def label_many(session, items: Iterable, batch_size: int = 2000) -> int:
    from workstation.core.review.session import Change, LabelItem, ReviewError

    project = session.project
    if project is None:
        raise ReviewError("no project is open")
    if batch_size < 1:
        raise ReviewError("the batch size must be at least 1")
    session.worklist.preload_predictions()  # one bulk read of cases, labels and predictions, not a query per row
    planned = []
    for n, item in enumerate(items, start=1):
        try:
            if isinstance(item, dict):
                item = LabelItem(**item)
            reader = session.require_reader(item.reader)
            tag = Tag(item.tag or Tag.FINAL)
            if not session.worklist.has_case(item.case_id):
                raise ReviewError(f"no case {item.case_id!r} in this project")
            decision = session.decide(item.case_id, item.value, tag, reader)
            action = Action(item.action) if item.action else decision.action
        except (WorkstationError, ValueError, TypeError) as exc:
            where = getattr(item, "where", None) or f"row {n}"
            raise ReviewError(f"{where}: {exc}") from None
        planned.append((item.case_id, reader, tag, item.note, decision, action))
    stored = 0
    for start in range(0, len(planned), batch_size):
        chunk = planned[start:start + batch_size]
        olds = project.set_labels([dict(case_id=c, value=d.value, reader=r, tag=t, action=a, shown=d.shown, note=note)
                                   for c, r, t, note, d, a in chunk])
        for (case_id, reader, tag, note, decision, action), old in zip(chunk, olds):
            session._announce(Change(case_id, reader, tag, old, decision.value, action, shown=decision.shown,
                                     note=note))
        stored += len(chunk)
    return stored
