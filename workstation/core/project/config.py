"""The project's configuration file, `project.json`: task, class names, readers, database URL.

The file is small and rarely written, so it is rewritten whole (atomically) on every change.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from workstation.core.errors import WorkstationError
from workstation.core.vocab import Task

CONFIG_NAME = "project.json"
DB_NAME = "project.db"
TASKS = Task.values()
FORMAT_VERSION = 1


class ProjectError(WorkstationError):
    """A problem with a project that the user can act on; str() is a one-line reason."""


@dataclass
class ProjectConfig:
    task: str
    classes: list[str]
    readers: list[str] = field(default_factory=list)
    db_url: str | None = None
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    format: int = FORMAT_VERSION

    def validate(self) -> None:
        if self.task not in TASKS:
            raise ProjectError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        if not self.classes or any(not isinstance(c, str) or not c.strip() for c in self.classes):
            raise ProjectError("a project needs at least one non-empty class name")
        if len(set(self.classes)) != len(self.classes):
            raise ProjectError(f"class names repeat: {self.classes}")
        reserved = {"uncertain", "not_assessable"}
        if reserved & set(self.classes):
            raise ProjectError(f"class names may not be {sorted(reserved)} (they are label states)")
        if self.task == Task.BINARY and len(self.classes) != 2:
            raise ProjectError(f"a binary task needs exactly two classes (negative, positive), got {self.classes}")
        if self.task == Task.MULTICLASS and len(self.classes) < 2:
            raise ProjectError("a multiclass task needs at least two classes")


def database_url(directory: Path, config: ProjectConfig) -> str:
    if config.db_url:
        url = config.db_url
        # Only psycopg 3 is installed; a bare postgresql:// would ask SQLAlchemy for psycopg2.
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{(directory / DB_NAME).resolve()}"


def load(directory: Path) -> ProjectConfig:
    path = directory / CONFIG_NAME
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ProjectError(f"{directory}: not a project folder (no {CONFIG_NAME}); create one with "
                           f"`workstation project init`") from None
    except (OSError, ValueError) as exc:
        raise ProjectError(f"{path}: cannot read project configuration ({exc})") from None
    if not isinstance(raw, dict):
        raise ProjectError(f"{path}: project configuration is not a JSON object")
    known = {k: raw[k] for k in ("task", "classes", "readers", "db_url", "created", "format") if k in raw}
    try:
        config = ProjectConfig(**known)
    except TypeError as exc:
        raise ProjectError(f"{path}: incomplete project configuration ({exc})") from None
    if config.format > FORMAT_VERSION:
        raise ProjectError(f"{path}: made by a newer workstation (format {config.format}); upgrade to open it")
    config.validate()
    if config.db_url and path.stat().st_mode & 0o077:
        try:  # a file from before passwords were kept out of it may still hold one
            os.chmod(path, 0o600)
        except OSError:
            pass
    return config


def save(directory: Path, config: ProjectConfig) -> None:
    """Atomically; readable only by the user when it names a database server."""
    from workstation.core.project.server_roles import split_password

    saved = asdict(config)
    saved["db_url"] = split_password(config.db_url)[0]  # a password is never written down
    path = directory / CONFIG_NAME
    tmp = path.with_suffix(".json.tmp")
    mode = 0o600 if config.db_url else 0o644
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(saved, indent=2) + "\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)
