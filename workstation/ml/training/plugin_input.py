"""The input a trained network must take: the `input` of the installed plugin's manifest (2D/3D,
channels, size or spacing). Read from the plugin's entry point through the plugin API, so training
needs nothing of the plugin host (which runs plugins; `ml` sits below it)."""
from __future__ import annotations

import importlib.metadata as md

from workstation.ml.training.config import PLUGINS
from workstation.ml.training.errors import TrainingError

ENTRY_POINT_GROUP = "workstation.plugins"  # the group plugin_host.discovery reads (GROUP there)


def plugin_input(plugin: str):
    from workstation.plugin_api import as_manifest

    if plugin not in PLUGINS:
        raise TrainingError(f"training supports the plugins {', '.join(PLUGINS)}, not {plugin!r}")
    found = [ep for ep in md.entry_points(group=ENTRY_POINT_GROUP) if ep.name == plugin]
    if not found:
        raise TrainingError(f"plugin {plugin!r} is not installed (its manifest gives the network's input)")
    try:
        return as_manifest(found[0].load()).input
    except Exception as exc:  # a broken manifest: one line, as the host would say it
        raise TrainingError(f"plugin {plugin!r} is broken: {type(exc).__name__}: {exc}".splitlines()[0]) from None
