"""An export set lands whole or not at all: kill -9 at any point leaves the previous complete set
or the new one (checked by `verify_manifest`), and no staging folder outlives the next run."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workstation.core.export.output import MANIFEST_NAME, ExportError, OutputTree, verify_manifest

WRITER = textwrap.dedent("""
    import sys, time
    from workstation.core.export.output import OutputTree
    out, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tree = OutputTree(out, force=True)
    for i in range(n):
        tree.path(f"cases/{i // 10}/case{i}.txt").write_text(f"{tag} {i}\\n" * 200)
    tree.path("datalist.json").write_text('{"tag": "%s"}' % tag)
    print("staged", flush=True)
    tree.commit({"tag": tag})
""")


def _write_set(out: Path, tag: str, n: int = 40) -> dict:
    tree = OutputTree(out, force=True)
    for i in range(n):
        tree.path(f"cases/{i // 10}/case{i}.txt").write_text(f"{tag} {i}\n" * 200)
    tree.path("datalist.json").write_text(json.dumps({"tag": tag}))
    return tree.commit({"tag": tag})


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if ".workstation-export-" in p.name and p.is_dir())


def test_replaced_set_is_whole_and_keeps_foreign_files(tmp_path):
    out = tmp_path / "out"
    _write_set(out, "old", n=60)
    (out / "notes-of-the-user.txt").write_text("mine")
    _write_set(out, "new", n=20)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["tag"] == "new" and verify_manifest(out) == ["notes-of-the-user.txt: not in the manifest"]
    assert not (out / "cases/5/case50.txt").exists()  # the old set's files are gone
    assert (out / "notes-of-the-user.txt").read_text() == "mine"
    assert _leftovers(out) == []


def test_not_empty_without_force_and_a_second_export_at_once(tmp_path):
    out = tmp_path / "out"
    _write_set(out, "old")
    with pytest.raises(ExportError, match="not empty"):
        OutputTree(out)
    first = OutputTree(out, force=True)
    with pytest.raises(ExportError, match="another export"):
        OutputTree(out, force=True)
    first.abort()
    assert _leftovers(out) == [] and json.loads((out / MANIFEST_NAME).read_text())["tag"] == "old"


def test_kill_at_random_points_leaves_old_or_new_set(tmp_path):
    out = tmp_path / "out"
    _write_set(out, "old", n=300)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(7)
    seen = set()
    for attempt in range(12):
        proc = subprocess.Popen([sys.executable, str(script), str(out), f"new{attempt}", "300"],
                                stdout=subprocess.PIPE, text=True)
        if attempt % 3 == 2:  # the final step: right after staging is done
            assert proc.stdout.readline() == "staged\n"  # the writer did run
            time.sleep(rng.uniform(0, 0.02))
        else:
            time.sleep(rng.uniform(0.05, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        problems = verify_manifest(out)
        assert problems == [], (attempt, problems[:5])
        tag = json.loads((out / MANIFEST_NAME).read_text())["tag"]
        assert tag == "old" or tag.startswith("new"), tag
        assert json.loads((out / "datalist.json").read_text())["tag"] == tag
        seen.add("old" if tag == "old" else "new")
    _write_set(out, "final", n=5)
    assert verify_manifest(out) == [] and _leftovers(out) == []


def test_recovers_a_set_left_aside_by_a_two_rename_swap(tmp_path):
    out = tmp_path / "out"
    _write_set(out, "old")
    aside = tmp_path / ".out.workstation-export-0123456789ab-previous"
    os.rename(out, aside)  # what a kill between the two renames leaves
    tree = OutputTree(out, force=True)
    assert json.loads((out / MANIFEST_NAME).read_text())["tag"] == "old" and verify_manifest(out) == []
    tree.abort()
    assert _leftovers(out) == []
