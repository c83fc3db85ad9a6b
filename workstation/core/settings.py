"""User settings in one JSON file (reader name, device, recent files, window state).

The location is the platform's config folder, or $WORKSTATION_CONFIG_DIR when set (tests set it).
"""
from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {"reader": "", "device": "auto", "recent_files": [], "plugin_timeout_s": 120,
                           "pacs_nodes": {}}  # core/pacs/nodes.py: no secrets in here


def config_dir() -> Path:
    env = os.environ.get("WORKSTATION_CONFIG_DIR")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("workstation"))


def data_dir() -> Path:
    env = os.environ.get("WORKSTATION_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("workstation"))


def load() -> dict[str, Any]:
    path = config_dir() / "settings.json"
    values = dict(DEFAULTS)
    try:
        values.update(json.loads(path.read_text()))
    except (OSError, ValueError):
        pass
    return values


def save(values: dict[str, Any]) -> None:
    path = config_dir() / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(values, indent=2))
    tmp.replace(path)  # atomic: a crash never leaves half a settings file


def update(**changes: Any) -> dict[str, Any]:
    values = load()
    values.update(changes)
    save(values)
    return values


def default_reader() -> str:
    return load().get("reader") or getpass.getuser()
