"""Measurements in a project, per reader: each is a label of the reader under the tag "final" whose
candidate_id is "meas:<n>" and whose value is {"kind", "points" (world LPS mm), "normal"?,
"result", "state": "drawn" | "deleted", "label"?}. Written through the project's audited, undoable
edit (as boxes are), so `Project.undo` takes a measurement back and the audit says who drew what."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from workstation.core.measurements import geometry
from workstation.core.project.config import ProjectError

MEAS_PREFIX = "meas:"
CSV_COLUMNS = ("case_id", "reader", "measurement_id", "kind", "label", "length_mm", "angle_deg", "area_mm2",
               "volume_mm3", "voxels", "mean", "sd", "min", "max", "points", "updated_at")


@dataclass(frozen=True)
class Measurement:
    case_id: str
    measurement_id: str
    reader: str
    kind: str
    points: list
    result: dict
    state: str
    label: str
    updated_at: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _rows(project, case_id: str | None, reader: str | None):
    from sqlalchemy import select

    from workstation.core.project import store as db
    from workstation.core.project.models import LabelRow

    L = LabelRow.__table__
    query = select(L.c.case_id, L.c.reader, L.c.candidate_id, L.c.value, L.c.updated_at).where(
        L.c.tag == "final", L.c.candidate_id.startswith(MEAS_PREFIX))
    if case_id is not None:
        query = query.where(L.c.case_id == case_id)
    if reader is not None:
        query = query.where(L.c.reader == reader)
    with db.translated_errors(project.db_url), project.engine.connect() as conn:
        return conn.execute(query.order_by(L.c.id)).all()


def measurements(project, case_id: str | None = None, reader: str | None = None,
                 deleted: bool = False) -> list[Measurement]:
    import json

    out = []
    for r in _rows(project, case_id, reader):
        v = r.value if isinstance(r.value, dict) else json.loads(r.value)
        m = Measurement(r.case_id, r.candidate_id, r.reader, v["kind"], v["points"], v["result"],
                        v.get("state", "drawn"), v.get("label", ""), r.updated_at)
        if deleted or m.state != "deleted":
            out.append(m)
    out.sort(key=lambda m: (m.case_id, _number(m.measurement_id)))
    return out


def _number(mid: str) -> int:
    tail = mid[len(MEAS_PREFIX):]
    return int(tail) if tail.isdigit() else 0


def add(project, case_id: str, reader: str, kind: str, points, grid=None, image=None, normal=None,
        label: str = "", note: str | None = None) -> Measurement:
    """Measure and store (audited, undoable); returns the stored measurement with its new id."""
    if not reader or not str(reader).strip():
        raise ProjectError("a measurement needs a reader name")
    project.case(case_id)
    try:
        result = geometry.measure(kind, points, grid, image, normal)
    except geometry.MeasurementError as exc:
        raise ProjectError(str(exc)) from None
    taken = {m.measurement_id for m in measurements(project, case_id, deleted=True)}
    n = len(taken) + 1
    while f"{MEAS_PREFIX}{n}" in taken:
        n += 1
    mid = f"{MEAS_PREFIX}{n}"
    value: dict[str, Any] = {"kind": kind, "points": [[float(c) for c in p] for p in
                                                      geometry._points(points)], "result": result,
                             "state": "drawn", "label": str(label)}
    if normal is not None:
        value["normal"] = [float(c) for c in normal]
    project._edit(case_id, mid, reader, "final", value, note, "correct", None, True)
    return _find(project, case_id, reader, mid)


def _find(project, case_id, reader, mid) -> Measurement:
    for m in measurements(project, case_id, reader, deleted=True):
        if m.measurement_id == mid:
            return m
    raise ProjectError(f"{reader!r} has no measurement {mid!r} on case {case_id!r}")


def delete(project, case_id: str, reader: str, measurement_id: str, note: str | None = None) -> Measurement:
    """Mark a reader's own measurement deleted (its row stays, so the audit says who deleted it);
    returns it as it was."""
    m = _find(project, case_id, reader, measurement_id)
    value = {"kind": m.kind, "points": m.points, "result": m.result, "state": "deleted", "label": m.label}
    project._edit(case_id, measurement_id, reader, "final", value, note, "correct", None, True)
    return m


def to_csv(project, case_id: str | None = None, reader: str | None = None) -> str:
    """All drawn measurements as CSV (CSV_COLUMNS)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for m in measurements(project, case_id, reader):
        w.writerow(csv_row(m))
    return buf.getvalue()


def csv_row(m: Measurement) -> dict[str, Any]:
    """One measurement as a row of CSV_COLUMNS (the export writes the same rows)."""
    import json

    return {"case_id": m.case_id, "reader": m.reader, "measurement_id": m.measurement_id, "kind": m.kind,
            "label": m.label, **m.result, "points": json.dumps(m.points), "updated_at": m.updated_at}
