"""Database engines for a project: SQLite (WAL, full sync) by default, PostgreSQL by URL.

Write transactions on SQLite start with BEGIN IMMEDIATE so that two processes queue for the write
lock (busy timeout) instead of failing on a read-to-write lock upgrade. Every database error that a
user can meet is turned into a `ProjectError` with a one-line reason.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from workstation.core.project.config import ProjectError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 10.0


def _describe(url: str, exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    low = text.lower()
    where = url.split("///", 1)[-1] if url.startswith("sqlite") else _redact(url)
    if "file is not a database" in low or "malformed" in low or "disk image" in low:
        return f"{where}: the project database is corrupt ({text}); restore it from a backup"
    if "locked" in low or "busy" in low:
        return (f"{where}: the project database is locked by another program for more than "
                f"{BUSY_TIMEOUT_S:.0f} s ({text}); close the other program or try again")
    if "readonly" in low or "read-only" in low:
        return f"{where}: the project database is read-only ({text})"
    if "password authentication failed" in low or "no password supplied" in low:
        return (f"{where}: the database refused the password; give it with PGPASSWORD, ~/.pgpass or a libpq "
                f"service file (it is never kept in project.json)")
    if "connection" in low or "could not connect" in low or "no such file" in low:
        return f"{where}: cannot connect to the project database ({text})"
    return f"{where}: database error ({text})"


def _redact(url: str) -> str:
    if "@" in url and ":" in url.split("@", 1)[0].split("://", 1)[-1]:
        scheme, rest = url.split("://", 1)
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{scheme}://{user}:***@{rest.split('@', 1)[1]}"
    return url


@contextlib.contextmanager
def translated_errors(url: str) -> Iterator[None]:
    try:
        yield
    except (DBAPIError, OperationalError) as exc:
        raise ProjectError(_describe(url, exc)) from exc
    except SQLAlchemyError as exc:
        raise ProjectError(_describe(url, exc)) from exc
    except Exception as exc:
        # bulk reads use the driver's cursor directly (snapshot.py): its errors are not wrapped
        if type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg"):
            raise ProjectError(_describe(url, exc)) from exc
        raise


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a confirmed label survives power loss too, not just a killed process.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        # reads of a 100,000-case worklist: map the file instead of a read() per page
        cur.execute("PRAGMA mmap_size=268435456")
        cur.execute("PRAGMA cache_size=-32768")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


def open_engine(url: str, create: bool = False) -> Engine:
    """Connect, check the database is readable and bring its schema to the latest migration."""
    with translated_errors(url):
        if url.startswith("sqlite"):
            path = Path(url.split("///", 1)[1])
            if not create and not path.exists():
                raise ProjectError(f"{path}: the project database is missing")
            engine = _sqlite_engine(url)
        else:
            try:
                engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
            except ImportError:
                raise ProjectError('PostgreSQL support is not installed: pip install "workstation[postgres]"') from None
        try:
            _migrate(engine)
        except DBAPIError as exc:
            engine.dispose()
            low = str(exc).lower()
            if "permission denied" in low or "must be owner" in low:
                raise ProjectError(f"{_redact(url)}: the database needs a schema upgrade that this role may not "
                                   f"make; open the project once as the database owner") from None
            raise
        except BaseException:
            engine.dispose()
            raise
    return engine


def _current_revision(engine: Engine) -> str | None:
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _migrate(engine: Engine) -> None:
    from workstation.core.project.migrations import HEAD

    if _current_revision(engine) == HEAD:
        return
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
    if current == head:
        return
    from alembic import command

    with engine.connect().execution_options(write=True) as conn:
        with conn.begin():
            if engine.dialect.name == "postgresql":  # two clients opening a new database at once
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4711004)")
            if MigrationContext.configure(conn).get_current_revision() != head:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")


def decode_json(values: list) -> list:
    """Decode a column of JSON texts in one parse (about 3x faster than one json.loads per row at
    100,000 rows); values that a driver already decoded, and NULLs, pass through."""
    texts = [v for v in values if isinstance(v, str)]
    if not texts:
        return list(values)
    decoded = iter(json.loads("[" + ",".join(texts) + "]"))
    return [next(decoded) if isinstance(v, str) else v for v in values]


def raw_rows(conn: Connection, sql: str, params: tuple = ()) -> list[tuple]:
    """Bulk read through the driver's own cursor (no SQLAlchemy row objects: 100,000 rows cost a
    third as much). `{p}` in `sql` marks a parameter in either dialect's style."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql.replace("{p}", mark), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def write(engine: Engine):
    """A connection whose transactions take the write lock at BEGIN (SQLite) — use for all edits."""
    return engine.connect().execution_options(write=True)
