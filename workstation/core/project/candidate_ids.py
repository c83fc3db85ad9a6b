"""Detection candidate ids that stay with their focus across detector runs.

A detector numbers its candidates per run, but readers' decisions are keyed by candidate id, so a
re-run must not hand an old decision to whatever candidate now has the same number. When a run is
stored, each new candidate takes the id of the earlier *decided* (confirmed / rejected) candidate of
the same case it matches — centre within max(2 mm, that candidate's radius), greedy by distance,
one-to-one — and every other candidate gets an id never used before in that case (not in any
earlier run, label or audit entry). Decisions whose focus is not found again stay in the store.

Where a decided candidate is: the centre in the decision itself (added by the reader), else the
candidate with that id in the run the reader was shown when deciding (the audit's `shown`), else in
the newest run that has the id. Using the run the reader saw keeps matches from drifting over many
re-runs, and also re-keys decisions that an older, positional re-run had mis-attached.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workstation.core.project.boxes import BOX_PREFIX
from workstation.core.project.config import ProjectError
from workstation.core.project.models import AuditRow, LabelRow, PredictionRow
from workstation.core.vocab import DECIDED_STATES, Tag

MATCH_FLOOR_MM = 2.0
DECIDED = DECIDED_STATES
L, A, P = LabelRow.__table__, AuditRow.__table__, PredictionRow.__table__


@dataclass
class CaseHistory:
    """What the store holds about one case's candidates."""
    used: set[str] = field(default_factory=set)                    # every candidate id ever seen
    decisions: dict[str, list[dict]] = field(default_factory=dict)  # id -> current decision values
    shown: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # id -> runs seen, newest first
    runs: list[tuple[str, str, dict[str, dict]]] = field(default_factory=list)  # newest first

    def locate(self, candidate_id: str) -> tuple[dict, str, str] | None:
        """(candidate, plugin_id, created_at): the detector's candidate `candidate_id` in the run the
        reader last saw it in, else in the newest run that has it."""
        for plugin_id, created_at in self.shown.get(candidate_id, ()):
            for run_plugin, run_at, by_id in self.runs:
                if run_plugin == plugin_id and run_at == created_at and candidate_id in by_id:
                    return by_id[candidate_id], run_plugin, run_at
        return next(((by_id[candidate_id], p, a) for p, a, by_id in self.runs if candidate_id in by_id), None)

    def focus(self, candidate_id: str) -> tuple[list[float], float | None] | None:
        """(centre, diameter) of a decided candidate, or None where nothing says where it is."""
        for value in self.decisions.get(candidate_id, ()):
            if _centre(value.get("centre")) is not None:
                return _centre(value["centre"]), value.get("diameter")
        found = self.locate(candidate_id)
        if found is None or _centre(found[0].get("centre")) is None:
            return None
        return _centre(found[0]["centre"]), found[0].get("diameter_mm")


def load(conn: Connection, case_ids: Iterable[str], decisions: bool = True) -> dict[str, CaseHistory]:
    """The candidate history of each case (three reads, whatever the number of cases; two without
    `decisions`, which only `locate` needs to be left out)."""
    case_ids = sorted(set(case_ids))
    out = {c: CaseHistory() for c in case_ids}
    if not case_ids:
        return out
    is_candidate = (L.c.candidate_id != "") & ~L.c.candidate_id.startswith(BOX_PREFIX)
    rows = conn.execute(select(L.c.case_id, L.c.candidate_id, L.c.value)
                        .where(L.c.case_id.in_(case_ids), is_candidate, L.c.tag == Tag.FINAL)
                        .order_by(L.c.updated_at.desc())) if decisions else ()
    for case_id, cid, value in rows:
        out[case_id].used.add(cid)
        if isinstance(value, dict):
            out[case_id].decisions.setdefault(cid, []).append(value)
    audited = (A.c.candidate_id != "") & ~A.c.candidate_id.startswith(BOX_PREFIX)
    for case_id, cid, shown in conn.execute(select(A.c.case_id, A.c.candidate_id, A.c.shown)
                                            .where(A.c.case_id.in_(case_ids), audited).order_by(A.c.id.desc())):
        out[case_id].used.add(cid)
        if isinstance(shown, dict) and shown.get("created_at"):
            out[case_id].shown.setdefault(cid, []).append((shown.get("plugin_id"), shown["created_at"]))
    for case_id, plugin_id, created_at, candidates in conn.execute(
            select(P.c.case_id, P.c.plugin_id, P.c.created_at, P.c.candidates)
            .where(P.c.case_id.in_(case_ids), P.c.candidates.is_not(None)).order_by(P.c.id.desc())):
        by_id = {str(c["id"]): c for c in candidates or [] if isinstance(c, dict) and c.get("id") is not None}
        out[case_id].used.update(by_id)
        out[case_id].runs.append((plugin_id, created_at, by_id))
    return out


def check(candidates: list, case_id: str) -> None:
    for n, c in enumerate(candidates):
        if not isinstance(c, dict) or _centre(c.get("centre")) is None:
            raise ProjectError(f"{case_id}: candidate {n + 1} needs a centre of three finite numbers (world mm)")


def assign(candidates: list[dict], plugin_id: str, history: CaseHistory) -> list[dict]:
    """Copies of `candidates` with their stored ids (see the module text); marks the ids used."""
    decided = {}
    for cid, values in history.decisions.items():
        if any(v.get("state") in DECIDED for v in values):
            focus = history.focus(cid)
            if focus is not None:
                decided[cid] = focus
    pairs = []
    for i, c in enumerate(candidates):
        centre = _centre(c.get("centre"))
        for cid, (where, diameter) in decided.items():
            distance = math.dist(centre, where)
            if distance <= max(MATCH_FLOOR_MM, float(diameter or 0.0) / 2.0):
                pairs.append((distance, i, cid))
    ids: dict[int, str] = {}
    for _d, i, cid in sorted(pairs):
        if i not in ids and cid not in ids.values():
            ids[i] = cid
    taken = set(history.used) | set(ids.values())
    for i, c in enumerate(candidates):  # a run's own id is kept where nothing in the case ever used it
        own = c.get("id")
        if i not in ids and isinstance(own, str) and own and own not in taken and not own.startswith(BOX_PREFIX):
            ids[i] = own
            taken.add(own)
    pattern = re.compile(re.escape(plugin_id) + r"-(\d+)$")
    n = 1 + max((int(m.group(1)) for m in map(pattern.match, taken) if m), default=-1)
    for i in range(len(candidates)):
        if i not in ids:
            while f"{plugin_id}-{n}" in taken:
                n += 1
            ids[i] = f"{plugin_id}-{n}"
            taken.add(ids[i])
    history.used |= taken
    return [dict(c, id=ids[i]) for i, c in enumerate(candidates)]


def locate_decisions(states: dict[str, dict[str, Any]], history: CaseHistory) -> None:
    """Give each decision on a detector candidate the centre and diameter of that candidate, and
    `run` = {plugin_id, created_at} of the run they come from (reader-added ones carry their own)."""
    for cid, state in states.items():
        if state.get("centre") is None:
            found = history.locate(cid)
            if found is not None and _centre(found[0].get("centre")) is not None:
                candidate, plugin_id, created_at = found
                state["centre"] = _centre(candidate["centre"])
                if state.get("diameter") is None and candidate.get("diameter_mm") is not None:
                    state["diameter"] = float(candidate["diameter_mm"])
                state["run"] = {"plugin_id": plugin_id, "created_at": created_at}


def _centre(value) -> list[float] | None:
    try:
        centre = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return centre if len(centre) == 3 and all(math.isfinite(v) for v in centre) else None
