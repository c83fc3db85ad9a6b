"""A team database on PostgreSQL where the application cannot alter the schema or the audit.

The owner role (the one named at `project init`) runs the migrations; readers' workstations connect
as an application role that may read and write cases, labels and predictions, may only INSERT into
the audit, and owns nothing, so it cannot drop the append-only trigger, alter a table or rewrite
history. `grant_app_role` gives those rights; the project file then names the application role.

Passwords never go into `project.json`: libpq finds them in PGPASSWORD, the password file
(~/.pgpass, PGPASSFILE) or a service file (`postgresql:///db?service=NAME`, ~/.pg_service.conf).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import text
from sqlalchemy.engine import Engine

from workstation.core.project.config import ProjectError

WRITE_TABLES = ("cases", "labels", "predictions")
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def split_password(url: str | None) -> tuple[str | None, bool]:
    """The URL without its password, and whether it had one."""
    if not url or "://" not in url:
        return url, False
    parts = urlsplit(url)
    if parts.password is None:
        return url, False
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[1]}")), True


def with_user(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def grant_app_role(engine: Engine, role: str) -> None:
    """As the owner: let `role` (which must exist and may log in) use the project, nothing more."""
    if engine.dialect.name != "postgresql":
        raise ProjectError("an application role exists only for PostgreSQL projects")
    if not _ROLE.match(role):
        raise ProjectError(f"{role!r} is not a plain PostgreSQL role name (lower case letters, digits, _)")
    with engine.connect() as conn, conn.begin():
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
        if not exists:
            raise ProjectError(f"no PostgreSQL role {role!r}: create it first (CREATE ROLE {role} LOGIN)")
        database = conn.execute(text("SELECT current_database()")).scalar()
        for statement in (
            f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"REVOKE CREATE ON SCHEMA public FROM {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(WRITE_TABLES)} TO {role}",
            f"GRANT SELECT, INSERT ON audit TO {role}",
            f"GRANT SELECT, INSERT ON taxonomy TO {role}",  # versions are appended, never changed
            f"REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM {role}",
            f"GRANT SELECT ON alembic_version TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        ):
            conn.execute(text(statement))
