"""The audit trail is a hash chain: tampering through SQL (on SQLite and PostgreSQL) is found by
`Project.verify` and by `workstation project verify`, which names the row."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text


def _labelled(make_project):
    project = make_project()
    project.add_case(["/x/a.png"], case_id="a")
    project.add_case(["/x/b.png"], case_id="b")
    project.set_label("a", "abnormal", reader="ann", action="correct")
    project.set_label("b", "normal", reader="ann")
    project.set_label("a", "normal", reader="bob")
    project.set_label("a", "normal", reader="ann", action="correct")
    return project


def _sql(project, *statements):
    with project.engine.connect() as conn, conn.begin():
        for s in statements:
            conn.execute(text(s))


def _drop_triggers(project):
    if project.engine.dialect.name == "sqlite":
        _sql(project, "DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete")
    else:
        _sql(project, "DROP TRIGGER audit_no_change ON audit")


def test_untouched_project_verifies(make_project):
    project = _labelled(make_project)
    result = project.verify()
    assert result.ok, result.findings
    assert result.rows == 4 and result.labels == 3 and len(result.head) == 64
    assert project.verify(expect_head=result.head).ok
    entries = project.audit()
    assert entries[0].prev_hash == "" and all(e.prev_hash == p.row_hash for p, e in zip(entries, entries[1:]))


def test_rewritten_audit_row_is_named(make_project):
    project = _labelled(make_project)
    second = project.audit()[1].id
    _drop_triggers(project)
    _sql(project, f"UPDATE audit SET reader = 'mallory' WHERE id = {second}")
    found = project.verify().findings
    assert any(f.kind == "chain" and f.where == f"audit row {second}" for f in found), found
    assert any(f.kind == "schema" for f in found)


def test_deleted_audit_row_breaks_the_chain(make_project):
    project = _labelled(make_project)
    rows = project.audit()
    _drop_triggers(project)
    _sql(project, f"DELETE FROM audit WHERE id = {rows[1].id}")
    found = project.verify().findings
    assert any(f.kind == "chain" and f.where == f"audit row {rows[2].id}" for f in found), found


def test_label_changed_without_audit_row(make_project):
    project = _labelled(make_project)
    _sql(project, "UPDATE labels SET value = '\"abnormal\"' WHERE case_id = 'b'")
    found = project.verify().findings
    assert [(f.kind, f.where) for f in found] == [("label", "b/ann/final")], found
    _sql(project, "INSERT INTO labels (case_id, candidate_id, reader, tag, value, updated_at) "
                  "VALUES ('b', '', 'eve', 'final', '\"normal\"', 'now')")
    assert ("label", "b/eve/final") in [(f.kind, f.where) for f in project.verify().findings]


def test_whole_chain_rewrite_is_caught_by_the_recorded_head(make_project):
    from workstation.core.project import audit_chain

    project = _labelled(make_project)
    recorded = project.verify().head
    _drop_triggers(project)
    # the attacker recomputes every hash after changing a row
    with project.engine.connect() as conn, conn.begin():
        conn.execute(text("UPDATE audit SET note = 'edited'"))
        prev = ""
        for row in conn.execute(text("SELECT * FROM audit ORDER BY id")).mappings().all():
            fields = {f: row[f] for f in audit_chain.FIELDS}
            for f in ("old_value", "new_value", "shown"):
                if isinstance(fields[f], str) and conn.dialect.name == "sqlite":  # psycopg decodes JSON itself
                    fields[f] = json.loads(fields[f])
            digest = audit_chain.row_hash(prev, fields)
            conn.execute(text("UPDATE audit SET prev_hash = :p, row_hash = :h WHERE id = :i"),
                         dict(p=prev, h=digest, i=row["id"]))
            prev = digest
    found = project.verify(expect_head=recorded).findings
    assert ("chain", "head") in [(f.kind, f.where) for f in found]


def test_cli_verify_exit_codes(tmp_path):
    from workstation.core.project import Project

    with Project.create(tmp_path / "p", "binary", ["normal", "abnormal"]) as project:
        project.add_case(["/x/a.png"], case_id="a")
        project.set_label("a", "abnormal", reader="ann")
    cli = [sys.executable, "-m", "workstation.cli", "project", "verify", str(tmp_path / "p"), "--json"]
    ok = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    with Project.open(tmp_path / "p") as project:
        _sql(project, "UPDATE labels SET value = '\"normal\"'")
    bad = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["problems"][0]["where"] == "a/ann/final"
    assert len(bad.stderr.strip().splitlines()) == 1


def test_migration_chains_rows_written_before(tmp_path):
    """A project made before the chain (revision 0002) gets its old rows chained on open."""
    from alembic import command
    from alembic.config import Config

    from workstation.core.project import Project, store

    with Project.create(tmp_path / "p", "binary", ["normal", "abnormal"]) as project:
        project.add_case(["/x/a.png"], case_id="a")
        project.set_label("a", "abnormal", reader="ann")
        project.set_label("a", "normal", reader="ann")
        url = project.db_url
    engine = store._sqlite_engine(url) if url.startswith("sqlite") else None
    cfg = Config()
    cfg.set_main_option("script_location", str(store.MIGRATIONS_DIR))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
        conn.commit()
    engine.dispose()
    with Project.open(tmp_path / "p") as project:
        assert project.verify().ok
        assert all(e.row_hash for e in project.audit())
