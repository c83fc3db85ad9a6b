"""Fixtures for the project store: a real PostgreSQL server started for the session (initdb +
pg_ctl as the postgres user, Unix socket only), and a `db_url` fixture parametrised over SQLite
(None: the project's own file) and PostgreSQL (a fresh database per test)."""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("WORKSTATION_PG_BIN", "/usr/lib/postgresql/15/bin"))
_db_numbers = itertools.count(1)


def _as_postgres(*cmd: str, **kw) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + list(cmd), check=True, capture_output=True, text=True, **kw)


class PostgresServer:
    def __init__(self, sockdir: Path):
        self.sockdir = sockdir

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@/{dbname}?host={self.sockdir}"

    def create_database(self) -> str:
        import psycopg

        name = f"ws_test_{os.getpid()}_{next(_db_numbers)}"
        with psycopg.connect(host=str(self.sockdir), user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server():
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found in {PG_BIN} (install postgresql-15 or set "
                    f"WORKSTATION_PG_BIN)")
    root = Path(tempfile.mkdtemp(prefix="ws-pg-"))
    data, sock = root / "data", root / "sock"
    data.mkdir()
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-k {sock} -c listen_addresses='' -c fsync=on -c max_connections=100"
    _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield PostgresServer(sock)
    finally:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_db_url(request):
    """A factory: None for SQLite (the project folder's own file) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return lambda: None
    return request.getfixturevalue("postgres_server").create_database


@pytest.fixture
def make_project(tmp_path, new_db_url):
    from workstation.core.project import Project

    opened = []

    def make(task="binary", classes=("normal", "abnormal"), name="proj"):
        project = Project.create(tmp_path / name, task, list(classes), db_url=new_db_url())
        opened.append(project)
        return project

    yield make
    for project in opened:
        project.close()
