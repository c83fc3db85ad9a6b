"""Many case labels in one transaction, with a handful of statements instead of three per label:
one read of the labels already there, one executemany of inserts, one of updates, and the audit
rows appended to the chain at once. Each label is audited exactly as `Project.set_label` would
(old value, new value, action, shown, note), in the order given; a case labelled twice in one
batch gets two audit rows, the second with the first as its old value."""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update

from workstation.core.project.models import CaseRow, LabelRow
from workstation.core.project.records import now

C, L = CaseRow.__table__, LabelRow.__table__
CHUNK = 500  # ids per IN (...): far below every database's limit on bound parameters


def write(conn, rows: list[tuple]) -> tuple[list[tuple[Any, Any]], list[dict], set[str]]:
    """rows: (case_id, value, reader, tag, note, action, shown), values already normalised.
    Returns ((old value, old note) per row, the audit rows to append, the case ids not in the project)."""
    ids = sorted({r[0] for r in rows})
    known: set[str] = set()
    current: dict[tuple, list] = {}  # (case, reader, tag) -> [row id or None, value, note]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        known.update(conn.execute(select(C.c.case_id).where(C.c.case_id.in_(chunk))).scalars())
        query = select(L.c.id, L.c.case_id, L.c.reader, L.c.tag, L.c.value, L.c.note).where(
            L.c.candidate_id == "", L.c.case_id.in_(chunk))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        for row in conn.execute(query):
            current[(row.case_id, row.reader, row.tag)] = [row.id, row.value, row.note]
    missing = set(ids) - known
    if missing:
        return [], [], missing
    olds, audit = [], []
    for case_id, value, reader, tag, note, action, shown in rows:
        key = (case_id, reader, tag)
        found = current.setdefault(key, [None, None, None])
        olds.append((found[1], found[2]))
        stamp = now()
        audit.append(dict(at=stamp, case_id=case_id, candidate_id="", reader=reader, tag=tag, action=action,
                          old_value=found[1], new_value=value, shown=shown, note=note))
        found[1:] = [value, note]
        found.append(stamp)
    inserts = [dict(case_id=k[0], candidate_id="", reader=k[1], tag=k[2], value=v[1], note=v[2], updated_at=v[-1])
               for k, v in current.items() if v[0] is None and len(v) > 3]
    updates = [dict(row_id=v[0], new_value=v[1], new_note=v[2], stamp=v[-1])
               for v in current.values() if v[0] is not None and len(v) > 3]
    if inserts:
        conn.execute(insert(L), inserts)
    if updates:
        conn.execute(update(L).where(L.c.id == bindparam("row_id")).values(
            value=bindparam("new_value"), note=bindparam("new_note"), updated_at=bindparam("stamp")), updates)
    return olds, audit, set()
