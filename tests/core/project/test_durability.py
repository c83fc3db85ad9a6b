"""Crashes, concurrent writers and damaged databases."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.core.project import Project, ProjectError
from workstation.core.project import store

WORKER = Path(__file__).with_name("label_worker.py")


def _project_with_cases(make_project, n):
    project = make_project()
    project.add_cases([{"paths": [f"/d/c{i}.png"], "case_id": f"c{i}"} for i in range(n)])
    return project


def _spawn(directory, reader, first, last, repeat=1):
    return subprocess.Popen([sys.executable, str(WORKER), str(directory), reader, str(first), str(last),
                             str(repeat)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_right_after_confirm_loses_nothing(make_project):
    project = _project_with_cases(make_project, 200)
    worker = _spawn(project.directory, "alice", 0, 200)
    assert worker.stdout.readline().strip() == "ready"
    confirmed = {}
    for line in worker.stdout:
        _, case_id, value = line.split()
        confirmed[case_id] = value
        if len(confirmed) == 37:
            os.kill(worker.pid, signal.SIGKILL)  # the instant the 37th label is confirmed
            break
    worker.wait()
    assert worker.returncode == -signal.SIGKILL
    reopened = Project.open(project.directory)
    stored = {lab.case_id: lab.value for lab in reopened.labels(reader="alice")}
    assert all(stored.get(case_id) == value for case_id, value in confirmed.items())
    assert len(stored) in (37, 38)  # the one in flight may or may not have committed
    assert len(reopened.audit()) == len(stored)
    if reopened.engine.dialect.name == "sqlite":
        with reopened.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    reopened.close()


def test_two_processes_write_at_once_without_loss(make_project):
    """Two readers (and each one twice over the same cases) write concurrently: every write is kept,
    and the audit chain of each label has no gap (old value = the previous new value)."""
    project = _project_with_cases(make_project, 60)
    workers = [_spawn(project.directory, reader, 0, 60, repeat=2) for reader in ("alice", "bob")]
    workers.append(_spawn(project.directory, "alice", 0, 60))  # same reader, same cases, at once
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        assert out.count("confirmed") in (60, 120)
    reopened = Project.open(project.directory)
    audit = reopened.audit()
    assert len(audit) == 60 * 2 + 60 * 2 + 60
    chains: dict[tuple, list] = {}
    for entry in audit:
        chains.setdefault((entry.case_id, entry.reader), []).append(entry)
    for key, entries in chains.items():
        for before, after in zip(entries, entries[1:]):
            assert after.old_value == before.new_value, key  # no lost update
        stored = reopened.label(key[0], key[1]).value
        assert stored == entries[-1].new_value
    if reopened.engine.dialect.name == "sqlite":
        with reopened.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    reopened.close()


def test_corrupt_database_gets_a_clear_message(tmp_path):
    project = Project.create(tmp_path / "p", "binary", ["no", "yes"])
    project.add_case(["/d/a.png"], case_id="a")
    project.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / "p" / f"project.db{suffix}").unlink(missing_ok=True)
    (tmp_path / "p" / "project.db").write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(ProjectError, match="corrupt") as info:
        Project.open(tmp_path / "p")
    assert "\n" not in str(info.value) and "project.db" in str(info.value)


def test_missing_database_and_bad_config(tmp_path):
    Project.create(tmp_path / "p", "binary", ["no", "yes"]).close()
    (tmp_path / "p" / "project.db").unlink()
    with pytest.raises(ProjectError, match="missing"):
        Project.open(tmp_path / "p")
    (tmp_path / "p" / "project.json").write_text("{ not json")
    with pytest.raises(ProjectError, match="cannot read project configuration"):
        Project.open(tmp_path / "p")


def test_locked_database_gets_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.3)
    project = Project.create(tmp_path / "p", "binary", ["no", "yes"])
    project.add_case(["/d/a.png"], case_id="a")
    other = sqlite3.connect(tmp_path / "p" / "project.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with pytest.raises(ProjectError, match="locked by another program"):
            project.set_label("a", "yes", reader="alice")
        assert project.labels() == [] and [c.case_id for c in project.cases()] == ["a"]  # reads still work
    finally:
        other.execute("ROLLBACK")
        other.close()
    project.set_label("a", "yes", reader="alice")  # and writing works again once it lets go
    assert project.label("a").value == "yes"
    project.close()


def test_unreachable_postgres_gets_a_clear_message(tmp_path):
    with pytest.raises(ProjectError, match="cannot connect") as info:
        Project.create(tmp_path / "p", "binary", ["no", "yes"],
                       db_url=f"postgresql://alice:secret@/nodb?host={tmp_path}")
    assert "secret" not in str(info.value)
    assert not Project.is_project_dir(tmp_path / "p")
