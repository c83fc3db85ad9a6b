"""Discovery of plugins through entry points: broken ones listed with their error, enable/disable,
and a third-party distribution pip-installed during the test."""
from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance import check_plugin
from workstation.core.volume import Volume
from workstation.plugin_api import ManifestError, PluginManifest, as_manifest
from workstation.plugin_host import (CaseInput, InferenceRunner, JobSpec, PluginUnavailable, discover, find,
                                     set_enabled, usable_manifest)
from workstation.plugin_host import discovery

THIRDPARTY = Path(__file__).parent / "thirdparty_plugin"


class _FakeEP:
    def __init__(self, name, value, obj=None, error=None):
        self.name, self.value, self.dist = name, value, None
        self._obj, self._error = obj, error

    def load(self):
        if self._error:
            raise self._error
        return self._obj


def test_broken_plugins_are_listed_with_their_error(monkeypatch):
    good = {"id": "ok", "name": "OK", "version": "1", "kind": "classifier", "task": "binary",
            "classes": ["n", "p"], "input": {"dims": 2}, "factory": "m:f"}
    eps = [
        _FakeEP("ok", "good:M", obj=good),
        _FakeEP("boom", "boom:M", error=ImportError("No module named 'boom'")),
        _FakeEP("bad", "bad:M", obj={**good, "id": "bad", "task": "regression"}),
        _FakeEP("future", "f:M", obj={**good, "id": "future", "api_version": "2.0"}),
        _FakeEP("other", "o:M", obj={**good}),  # name differs from the manifest id
        _FakeEP("ok", "dup:M", obj=good),
        _FakeEP("weird", "w:M", obj=42),
    ]
    monkeypatch.setattr(discovery, "_entry_points", lambda: eps)
    entries = {(e.name, e.value): e for e in discover()}
    assert entries[("ok", "good:M")].status == "enabled"
    assert "No module named 'boom'" in entries[("boom", "boom:M")].error
    assert "task 'regression' is not one of" in entries[("bad", "bad:M")].error
    assert "does not fit this host's API 1.0" in entries[("future", "f:M")].error
    assert "differs from manifest id 'ok'" in entries[("other", "o:M")].error
    assert "already provided by" in entries[("ok", "dup:M")].error
    assert "gives a int, not a PluginManifest" in entries[("weird", "w:M")].error
    assert find("ok").error is None
    with pytest.raises(PluginUnavailable, match="is broken"):
        usable_manifest("bad")


def test_manifest_validation_messages():
    with pytest.raises(ManifestError, match="exactly two classes"):
        as_manifest({"id": "x", "name": "X", "version": "1", "kind": "classifier", "task": "binary",
                     "classes": ["a"], "input": {"dims": 2}, "factory": "m:f"})
    with pytest.raises(ManifestError, match="unknown manifest fields: colour"):
        PluginManifest.from_dict({"colour": "red"})
    with pytest.raises(ManifestError, match="a detector has task 'detection'"):
        as_manifest({"id": "x", "name": "X", "version": "1", "kind": "detector", "task": "binary",
                     "classes": ["a", "b"], "input": {"dims": 3, "spacing": [1, 1]}, "factory": "nocolon"})


def test_enable_and_disable_persist_in_settings():
    set_enabled("densenet3d", False)
    try:
        assert find("densenet3d").status == "disabled"
        with pytest.raises(PluginUnavailable, match="is disabled"):
            usable_manifest("densenet3d")
    finally:
        set_enabled("densenet3d", True)
    assert find("densenet3d").status == "enabled"


def _pip(*args):
    return subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "-q"],
                          capture_output=True, text=True)


@pytest.fixture
def thirdparty_installed(tmp_path):
    built = _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(THIRDPARTY))
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("ws_thirdparty_example-0.2.0-*.whl"))
    installed = _pip("install", "--no-deps", "--force-reinstall", str(wheel))
    assert installed.returncode == 0, installed.stderr
    try:
        yield
    finally:
        _pip("uninstall", "-y", "ws-thirdparty-example")
        for name in [m for m in sys.modules if m.startswith("ws_thirdparty_example")]:
            del sys.modules[name]


def test_thirdparty_plugin_installed_by_pip_is_discovered_and_runs(thirdparty_installed, make_case, collect):
    entry = find("thirdparty-brightness")
    assert entry.error is None and entry.distribution == "ws-thirdparty-example 0.2.0"
    assert entry.value == "ws_thirdparty_example:MANIFEST"
    check_plugin(entry)
    listed = subprocess.run([sys.executable, "-m", "workstation.cli", "plugins", "--json"],
                            capture_output=True, text=True, check=True)
    assert "thirdparty-brightness" in {p["id"] for p in json.loads(listed.stdout)["plugins"]}
    with InferenceRunner(timeout_s=60) as runner:  # the worker process imports it from site-packages
        cases = [CaseInput(name, volume=Volume(np.full((20, 30), value, np.uint8), window=(128, 256)))
                 for name, value in (("dark", 10), ("light", 200))]
        report = runner.run(JobSpec(entry.manifest, cases), collect)
    assert report.ok and report.stored == 2
    assert [round(o.prediction.probabilities.values[1], 3) for o in collect.outcomes] == [0.039, 0.781]


def test_uninstalled_thirdparty_plugin_is_gone():
    assert "thirdparty-brightness" not in {ep.name for ep in md.entry_points(group="workstation.plugins")}
