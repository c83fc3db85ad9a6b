"""Many labels at once (`workstation label DIR --from CSV`): each row decided exactly as a single
label is (session.decide), written one transaction per batch."""
from __future__ import annotations

from typing import Iterable

from workstation.core.vocab import Action, Tag


def label_many(session, items: Iterable, batch_size: int = 2000) -> int:
    from workstation.core.review.session import Change, LabelItem, ReviewError

    project = session.project
    if project is None:
        raise ReviewError("no project is open")
    session.worklist.data()  # one bulk read of predictions instead of one query per row
    stored = 0
    batch: list[tuple[int, LabelItem, object]] = []

    def flush() -> None:
        nonlocal stored
        if not batch:
            return
        rows = [dict(case_id=it.case_id, value=d.value, reader=reader, tag=it.tag, action=action, shown=d.shown,
                     note=it.note) for _n, it, (d, reader, action) in batch]
        olds = project.set_labels(rows)
        for (_n, it, (d, reader, action)), old in zip(batch, olds):
            session._announce(Change(it.case_id, reader, str(it.tag), old, d.value, action, shown=d.shown,
                                     note=it.note))
        stored += len(batch)
        batch.clear()

    for n, item in enumerate(items, start=1):
        if isinstance(item, dict):
            item = LabelItem(**item)
        try:
            reader = session.require_reader(item.reader)
            tag = Tag(item.tag or Tag.FINAL)
            item.tag = tag
            if not session.worklist.has_case(item.case_id):
                raise ReviewError(f"no case {item.case_id!r} in this project")
            decision = session.decide(item.case_id, item.value, tag)
            action = Action(item.action) if item.action else decision.action
        except ValueError as exc:
            raise ReviewError(f"row {n}: {exc}") from None
        except Exception as exc:
            from workstation.core.errors import WorkstationError

            if isinstance(exc, WorkstationError):
                raise ReviewError(f"row {n}: {exc}") from None
            raise
        batch.append((n, item, (decision, reader, action)))
        if len(batch) >= batch_size:
            flush()
    flush()
    return stored
