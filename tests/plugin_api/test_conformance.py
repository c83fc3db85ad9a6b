"""Every discovered plugin, bundled or third-party, against the plugin contract."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conformance import check_plugin
from workstation.plugin_host import discover

ENTRIES = discover()


def test_bundled_plugins_are_discovered():
    ids = {e.id for e in ENTRIES}
    assert {"densenet2d", "densenet3d"} <= ids


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_plugin_conforms(entry):
    check_plugin(entry)


def test_discovery_imports_no_model_code():
    code = ("import sys, json; from workstation.plugin_host import discover; es = discover(); "
            "print(json.dumps({'ids': [e.id for e in es], 'torch': 'torch' in sys.modules, "
            "'models': sorted(m for m in sys.modules if m.startswith('plugins.') and m.count('.') > 1)}))")
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert out["torch"] is False
    assert not any(m.endswith((".plugin", ".model", ".labeler")) for m in out["models"]), out["models"]
