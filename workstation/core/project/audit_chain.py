"""The audit trail as a hash chain, and the check that the project's labels are what it says.

Each audit row stores `prev_hash` (the `row_hash` of the row before it, "" for the first) and
`row_hash` = SHA-256 of `prev_hash` and the row's fields in canonical JSON. Editing or deleting a
row in the middle breaks every hash after it; a label changed without an audit row no longer equals
the audit's last word for it. An editor who recomputes the whole chain is caught only by comparing
the head hash with one recorded elsewhere: `verify` reports it for that purpose
(`workstation project verify DIR --expect-head HASH`).

Appends are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory transaction lock), so the
order of ids is the order of the chain.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection

from workstation.core.project.models import AuditRow, LabelRow

A, L = AuditRow.__table__, LabelRow.__table__
FIELDS = ("at", "case_id", "candidate_id", "reader", "tag", "action", "old_value", "new_value", "shown", "note")
_PG_LOCK = 4711005


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    body = _canonical([prev_hash] + [row.get(f) for f in FIELDS])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def head(conn: Connection) -> str:
    last = conn.execute(select(A.c.row_hash).order_by(A.c.id.desc()).limit(1)).scalar()
    return last or ""


def append(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append audit rows (dicts of FIELDS) in order, chained to the current head, inside the caller's
    write transaction."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
    prev = head(conn)
    chained = []
    for row in rows:
        full = {f: row.get(f) for f in FIELDS}
        full["candidate_id"] = full["candidate_id"] or ""
        digest = row_hash(prev, full)
        chained.append({**full, "prev_hash": prev, "row_hash": digest})
        prev = digest
    conn.execute(insert(A), chained)


@dataclass
class Finding:
    kind: str        # "chain" | "label" | "schema"
    where: str       # audit row id or label target
    detail: str

    def line(self) -> str:
        return f"{self.kind} {self.where}: {self.detail}"


@dataclass
class Verification:
    rows: int = 0
    labels: int = 0
    head: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "audit_rows": self.rows, "labels": self.labels, "head": self.head,
                "problems": [f.__dict__ for f in self.findings]}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def verify(conn: Connection, expect_head: str | None = None) -> Verification:
    result = Verification()
    last_word: dict[tuple, Any] = {}
    prev = ""
    query = select(A.c.id, A.c.prev_hash, A.c.row_hash, *[A.c[f] for f in FIELDS]).order_by(A.c.id)
    for row in conn.execute(query):
        m = row._mapping
        result.rows += 1
        fields = {f: m[f] for f in FIELDS}
        if m["prev_hash"] != prev:
            result.findings.append(Finding("chain", f"audit row {m['id']}",
                                           "does not follow the row before it (a row was removed, "
                                           "inserted or reordered)"))
        if m["row_hash"] != row_hash(m["prev_hash"] or "", fields):
            result.findings.append(Finding("chain", f"audit row {m['id']}",
                                           f"was changed after it was written ({m['action']} of "
                                           f"{m['case_id']} by {m['reader']})"))
        prev = m["row_hash"] or ""
        last_word[(m["case_id"], m["candidate_id"] or "", m["reader"], m["tag"])] = m["new_value"]
    result.head = prev
    if expect_head is not None and expect_head != prev:
        result.findings.append(Finding("chain", "head", f"is {prev or '(empty)'}, expected {expect_head}"))
    stored = {}
    for row in conn.execute(select(L.c.case_id, L.c.candidate_id, L.c.reader, L.c.tag, L.c.value)):
        stored[(row.case_id, row.candidate_id or "", row.reader, row.tag)] = row.value
    result.labels = len(stored)
    for key in sorted(set(stored) | {k for k, v in last_word.items() if v is not None}, key=str):
        target = "/".join(part for part in key if part)
        if key not in last_word:
            result.findings.append(Finding("label", target, "has no audit row"))
        elif key not in stored:
            result.findings.append(Finding("label", target, f"is missing; the audit's last word is "
                                                            f"{_canonical(last_word[key])}"))
        elif _canonical(stored[key]) != _canonical(last_word[key]):
            result.findings.append(Finding("label", target, f"is {_canonical(stored[key])}; the audit's "
                                                            f"last word is {_canonical(last_word[key])}"))
    result.findings.extend(_schema_findings(conn))
    return result


def _schema_findings(conn: Connection) -> list[Finding]:
    """The append-only triggers must still be there."""
    if conn.dialect.name == "sqlite":
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))}
        wanted = {"audit_no_update", "audit_no_delete"}
    elif conn.dialect.name == "postgresql":
        names = {r[0] for r in conn.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit'::regclass AND tgenabled <> 'D'"))}
        wanted = {"audit_no_change"}
    else:
        return []
    return [Finding("schema", name, "the append-only trigger on the audit is missing or disabled")
            for name in sorted(wanted - names)]
