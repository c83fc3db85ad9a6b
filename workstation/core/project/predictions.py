"""Storing model outputs and reading back the latest one per case."""
from __future__ import annotations

import math
from typing import Iterable

from sqlalchemy import Text, cast, func, insert, select
from sqlalchemy.engine import Connection, Engine

from workstation.core.project.config import ProjectError
from workstation.core.project.store import decode_json
from workstation.core.project.models import PredictionRow
from workstation.core.project.records import PredictionRecord
from workstation.core.vocab import Task

P = PredictionRow.__table__


def check(record: PredictionRecord, task: str, classes: list[str]) -> None:
    probs = record.probabilities or {}
    unknown = set(probs) - set(classes)
    if unknown:
        raise ProjectError(f"{record.case_id}: prediction names unknown classes {sorted(unknown)}")
    for name, p in probs.items():
        if not isinstance(p, (int, float)) or math.isnan(p) or not 0.0 <= p <= 1.0:
            raise ProjectError(f"{record.case_id}: probability of {name!r} is {p!r}, not in [0, 1]")
    if task in (Task.BINARY, Task.MULTICLASS) and len(probs) == len(classes):
        total = sum(probs.values())
        if abs(total - 1.0) > 1e-3:
            raise ProjectError(f"{record.case_id}: {task} probabilities sum to {total:.4f}, not 1")
    if not record.plugin_id:
        raise ProjectError(f"{record.case_id}: a prediction needs a plugin_id")


def insert_records(conn: Connection, records: Iterable[PredictionRecord], classes: list[str]) -> int:
    rows = []
    for r in records:
        scores = ",".join(repr(float(r.probabilities[c])) if c in r.probabilities else "nan" for c in classes)
        top = max(r.probabilities.values()) if r.probabilities else None
        if r.candidates:
            top = max((float(c.get("score", 0.0)) for c in r.candidates), default=top)
        rows.append({"case_id": r.case_id, "plugin_id": r.plugin_id, "plugin_version": r.plugin_version or "",
                     "weights_sha256": r.weights_sha256 or "", "device": r.device or "",
                     "created_at": r.created_at, "probabilities": {k: float(v) for k, v in r.probabilities.items()},
                     "candidates": r.candidates, "heatmap_path": r.heatmap_path, "top_score": top,
                     "scores": scores})
    if rows:
        conn.execute(insert(P), rows)
    return len(rows)


_COLUMNS = [P.c.case_id, cast(P.c.probabilities, Text), P.c.plugin_id, P.c.plugin_version, P.c.weights_sha256,
            P.c.device, P.c.created_at, cast(P.c.candidates, Text), P.c.heatmap_path]


def _records(rows) -> list[PredictionRecord]:
    probabilities = decode_json([r[1] for r in rows])
    candidates = decode_json([r[7] for r in rows])
    return [PredictionRecord(r[0], probs, r[2], r[3], r[4], r[5], r[6], cands, r[8])
            for r, probs, cands in zip(rows, probabilities, candidates)]


def max_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.max(P.c.id))).scalar() or 0


def latest(engine: Engine, plugin_id: str | None = None, case_id: str | None = None,
           per_plugin: bool = False) -> list[PredictionRecord]:
    """The newest prediction per case (per case and plugin with per_plugin), oldest case first."""
    newest = select(func.max(P.c.id).label("id"))
    if plugin_id is not None:
        newest = newest.where(P.c.plugin_id == plugin_id)
    if case_id is not None:
        newest = newest.where(P.c.case_id == case_id)
    newest = newest.group_by(P.c.case_id, P.c.plugin_id) if per_plugin else newest.group_by(P.c.case_id)
    sub = newest.subquery()
    query = select(*_COLUMNS).join(sub, P.c.id == sub.c.id).order_by(P.c.id)
    with engine.connect() as conn:
        return _records(conn.execute(query).all())


def plugins(engine: Engine) -> list[str]:
    """Plugin ids with predictions, most recently used first."""
    query = select(P.c.plugin_id, func.max(P.c.id).label("last")).group_by(P.c.plugin_id)
    with engine.connect() as conn:
        return [r.plugin_id for r in sorted(conn.execute(query), key=lambda r: -r.last)]
