"""PostgreSQL for a team: migrations run as the owner, the app connects as a role that can add labels
and audit rows but cannot alter the schema or the audit; passwords never reach project.json."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.postgres


def _admin(server, dbname, statement):
    import psycopg

    with psycopg.connect(host=str(server.sockdir), user="postgres", dbname=dbname, autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture
def team_project(tmp_path, postgres_server):
    from workstation.core.project import Project

    from urllib.parse import urlsplit

    url = postgres_server.create_database()
    dbname = urlsplit(url).path.strip("/")
    role = f"app_{dbname}".lower()
    _admin(postgres_server, "postgres", f"CREATE ROLE {role} LOGIN")
    project = Project.create(tmp_path / "team", "binary", ["normal", "abnormal"], db_url=url, app_role=role)
    yield project, role, url
    project.close()


def test_app_role_labels_but_cannot_touch_schema_or_audit(team_project):
    from workstation.core.project import Project

    project, role, owner_url = team_project
    saved = json.loads((project.directory / "project.json").read_text())["db_url"]
    assert f"//{role}@" in saved
    project.add_case(["/x/a.png"], case_id="a")
    project.set_label("a", "abnormal", reader="ann")
    project.set_label("a", "normal", reader="ann")
    assert project.verify().ok
    app = project.engine
    for statement in ("DROP TRIGGER audit_no_change ON audit", "ALTER TABLE audit DISABLE TRIGGER audit_no_change",
                      "UPDATE audit SET reader = 'mallory'", "DELETE FROM audit", "TRUNCATE audit",
                      "ALTER TABLE labels ADD COLUMN x int", "DROP TABLE audit", "CREATE TABLE evil (x int)"):
        with pytest.raises(Exception, match="(?i)permission denied|must be owner"):
            with app.connect() as conn, conn.begin():
                conn.execute(text(statement))
    with Project.open(project.directory) as again:  # a reader's workstation, as the app role
        again.set_label("a", "abnormal", reader="bob")
        assert again.verify().ok and len(again.audit()) == 3


def test_app_role_cannot_migrate_and_says_so(team_project, postgres_server):
    from workstation.core.project import Project, ProjectError

    project, role, owner_url = team_project
    owner = create_engine(owner_url)
    with owner.connect() as conn, conn.begin():
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
        conn.execute(text("ALTER TABLE audit DROP COLUMN prev_hash"))
        conn.execute(text("ALTER TABLE audit DROP COLUMN row_hash"))
    owner.dispose()
    with pytest.raises(ProjectError, match="as the database owner"):
        Project.open(project.directory)


def test_migration_0004_lets_an_earlier_app_role_read_the_taxonomy(team_project):
    """A team database from before the taxonomy table: the owner's migration grants the app role
    what it needs, so a reader's workstation can still label (every label is checked against it)."""
    from workstation.core.project import Project, store

    project, role, owner_url = team_project
    owner = create_engine(owner_url)
    with owner.connect() as conn, conn.begin():
        conn.execute(text("DROP TABLE taxonomy"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    owner.dispose()
    store.open_engine(owner_url).dispose()  # the owner opens it once: migrated to 0004
    with Project.open(project.directory) as again:  # as the app role
        again.add_case(["/x/b.png"], case_id="b")
        again.set_label("b", "abnormal", reader="ann")
        assert again.taxonomy is None and again.verify().ok


def test_password_never_written_and_file_private(tmp_path, postgres_server):
    url = postgres_server.create_database()
    with_password = url.replace("postgres@", "postgres:s3cret-pass@")
    proc = subprocess.run([sys.executable, "-m", "workstation.cli", "project", "init", str(tmp_path / "p"),
                           "--task", "binary", "--classes", "a,b", "--db", with_password],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "p" / "project.json"
    assert "s3cret" not in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "PGPASSWORD" in proc.stderr


def test_missing_driver_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['psycopg'] = None\n"
            "from workstation.cli import main\n"
            f"sys.exit(main(['project', 'init', {str(tmp_path / 'p')!r}, '--task', 'binary', '--classes', 'a,b',"
            " '--db', 'postgresql://u@/db?host=/nonexistent']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert 'pip install "workstation[postgres]"' in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
