"""Finding plugins: every entry point in the group `workstation.plugins` becomes a `PluginEntry`.
A plugin whose manifest fails to import or validate is listed with its error; it never stops the
others. Plugin model code is not imported here (see `load_factory`)."""
from __future__ import annotations

import importlib
import importlib.metadata as md
from dataclasses import dataclass
from typing import Any, Callable

from workstation.core import settings
from workstation.core.errors import WorkstationError
from workstation.plugin_api import PluginManifest, as_manifest

GROUP = "workstation.plugins"
DISABLED_KEY = "disabled_plugins"


class PluginNotFound(WorkstationError, LookupError):
    pass


class PluginUnavailable(WorkstationError, RuntimeError):
    """The plugin exists but cannot be used: broken manifest, disabled, or its code fails to import."""


@dataclass
class PluginEntry:
    name: str  # the entry point's name; equals the manifest id for a valid plugin
    value: str  # "module:attr" of the manifest
    distribution: str  # "name version" of the distribution that declares it
    manifest: PluginManifest | None = None
    error: str | None = None
    enabled: bool = True

    @property
    def id(self) -> str:
        return self.manifest.id if self.manifest else self.name

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        return "enabled" if self.enabled else "disabled"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "error": self.error, "entry_point": self.value,
                "distribution": self.distribution,
                "manifest": self.manifest.to_dict() if self.manifest else None}


def _entry_points() -> list[md.EntryPoint]:
    importlib.invalidate_caches()  # a distribution installed while we run must show up
    return sorted(md.entry_points(group=GROUP), key=lambda ep: ep.name)


def _distribution(ep: md.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.metadata['Name']} {dist.version}" if dist is not None else "?"


def discover() -> list[PluginEntry]:
    disabled = set(settings.load().get(DISABLED_KEY) or [])
    entries: list[PluginEntry] = []
    seen: dict[str, PluginEntry] = {}
    for ep in _entry_points():
        entry = PluginEntry(name=ep.name, value=ep.value, distribution=_distribution(ep))
        try:
            entry.manifest = as_manifest(ep.load())
        except Exception as exc:  # a broken third-party plugin is listed, never fatal
            entry.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        else:
            if entry.manifest.id != ep.name:
                entry.error = f"entry point name {ep.name!r} differs from manifest id {entry.manifest.id!r}"
            elif entry.manifest.id in seen:
                entry.error = f"id {entry.manifest.id!r} is already provided by {seen[entry.manifest.id].distribution}"
        entry.enabled = entry.id not in disabled
        if entry.error is None and entry.manifest:
            seen[entry.manifest.id] = entry
        entries.append(entry)
    return entries


def find(plugin_id: str, entries: list[PluginEntry] | None = None) -> PluginEntry:
    entries = discover() if entries is None else entries
    for entry in entries:
        if entry.id == plugin_id and entry.error is None:
            return entry
    for entry in entries:
        if entry.id == plugin_id:
            return entry
    names = ", ".join(e.id for e in entries) or "none installed"
    raise PluginNotFound(f"no plugin {plugin_id!r} (available: {names})")


def usable_manifest(plugin_id: str) -> PluginManifest:
    """The manifest of an enabled, valid plugin, or PluginNotFound / PluginUnavailable saying why not."""
    entry = find(plugin_id)
    if entry.error:
        raise PluginUnavailable(f"plugin {plugin_id!r} is broken: {entry.error}")
    if not entry.enabled:
        raise PluginUnavailable(f"plugin {plugin_id!r} is disabled (enable it with `workstation plugins --enable {plugin_id}`)")
    return entry.manifest


def set_enabled(plugin_id: str, enabled: bool) -> None:
    disabled = set(settings.load().get(DISABLED_KEY) or [])
    (disabled.discard if enabled else disabled.add)(plugin_id)
    settings.update(**{DISABLED_KEY: sorted(disabled)})


_factories: dict[str, Callable[..., Any]] = {}


def load_factory(manifest: PluginManifest) -> Callable[..., Any]:
    """Import the plugin's code on first use (cached); PluginUnavailable when that fails."""
    if manifest.factory not in _factories:
        module_name, _, attr = manifest.factory.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as exc:
            raise PluginUnavailable(f"plugin {manifest.id!r}: cannot import {manifest.factory}: {exc}") from exc
        if not callable(obj):
            raise PluginUnavailable(f"plugin {manifest.id!r}: {manifest.factory} is not callable")
        _factories[manifest.factory] = obj
    return _factories[manifest.factory]
