"""Measurements as review-session edits (`ReviewSession.measure` / `delete_measurement` call these):
stored for the reader through core.measurements.store (audited, undoable through the session's
undo), returned as the `Change` the session announces (candidate_id "meas:<n>")."""
from __future__ import annotations

from workstation.core.measurements import store
from workstation.core.vocab import Action, Tag


def _value(m) -> dict:
    return {"kind": m.kind, "points": m.points, "result": m.result, "state": m.state, "label": m.label}


def measure(session, case_id: str, kind: str, points, grid=None, image=None, normal=None, *, label: str = "",
            note: str | None = None, reader: str | None = None):
    from workstation.core.review.session import Change

    reader = session.require_reader(reader)
    m = store.add(session.project, case_id, reader, kind, points, grid, image, normal, label=label, note=note)
    return Change(case_id, reader, Tag.FINAL, None, _value(m), Action.CORRECT, candidate_id=m.measurement_id,
                  note=note)


def delete(session, case_id: str, measurement_id: str, *, note: str | None = None, reader: str | None = None):
    from workstation.core.review.session import Change

    reader = session.require_reader(reader)
    old = store.delete(session.project, case_id, reader, measurement_id, note)
    return Change(case_id, reader, Tag.FINAL, _value(old), {**_value(old), "state": "deleted"}, Action.CORRECT,
                  candidate_id=measurement_id, note=note)
