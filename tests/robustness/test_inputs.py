"""Folders as an attacker or an unlucky user leaves them: symlinks out of the folder given to
`project add`, and folders and files that cannot be read."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

runner = sys.modules["ws_robustness_runner"]


def _real(name: str) -> Path:
    return Path(get_testdata_file(name, download=False))


@pytest.fixture(scope="session")
def linked_tree(tmp_path_factory):
    """root/ holds a real CT, links to /etc/hostname (with and without an image extension),
    a link to a real DICOM outside root and a link to a folder of DICOMs outside root."""
    base = tmp_path_factory.mktemp("links")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    (outside / "series").mkdir(parents=True)
    shutil.copy(_real("CT_small.dcm"), root / "ct.dcm")
    shutil.copy(_real("MR_small.dcm"), outside / "mr.dcm")
    shutil.copy(_real("MR_small_RLE.dcm"), outside / "series" / "mr_rle.dcm")
    secret = Path("/etc/hostname")
    if not secret.is_file():
        secret = outside / "secret.txt"
        secret.write_text("a file outside the folder given\n")
    links = {"hostname": secret, "hostname.dcm": secret, "outside_mr.dcm": outside / "mr.dcm",
             "outside_folder": outside / "series"}
    for name, target in links.items():
        os.symlink(target, root / name)
    return root, outside, links


@pytest.fixture(scope="session")
def linked_add(linked_tree, new_project):
    root, _, _ = linked_tree
    project = new_project("links")
    run = runner.cli("project", "add", project, root, "--json")
    return run, runner.project_state(project)


def test_project_add_never_follows_a_symlink_out_of_its_root(linked_tree, linked_add):
    root, outside, links = linked_tree
    run, state = linked_add
    assert runner.crashed(run) is None, run.tail()
    real_root = os.path.realpath(root)
    escaped = []
    for case in state["cases"]:
        for p in case["paths"]:
            real = os.path.realpath(p)
            if not real.startswith(real_root + os.sep):
                escaped.append(f"case {case['case_id']}: {p} -> {real}")
    assert not escaped, "\n".join(escaped)
    ids = [c["case_id"] for c in state["cases"]]
    assert len(ids) == 1 and any(p.endswith("ct.dcm") for p in state["cases"][0]["paths"]), ids


def test_project_add_lists_the_links_it_did_not_follow(linked_tree, linked_add):
    root, _, links = linked_tree
    run, _ = linked_add
    assert run.rc == 0, run.tail()
    skipped = json.loads(run.out).get("skipped", [])
    missing = [n for n in links if not any(str(root / n) in s for s in skipped)]
    assert not missing, f"not listed as skipped: {missing}; skipped: {skipped}"


@pytest.fixture(scope="session")
def locked_tree(tmp_path_factory):
    """tree/ok/ct.dcm readable; tree/ok/unreadable.dcm mode 000; tree/locked/ mode 000 holding
    a real MR. As root, the CLI runs without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (dropped
    from its bounding set), so modes apply to it as to anyone."""
    tree = tmp_path_factory.mktemp("locked") / "tree"
    (tree / "ok").mkdir(parents=True)
    (tree / "locked").mkdir()
    shutil.copy(_real("CT_small.dcm"), tree / "ok" / "ct.dcm")
    shutil.copy(_real("MR_small.dcm"), tree / "ok" / "unreadable.dcm")
    shutil.copy(_real("MR_small.dcm"), tree / "locked" / "mr.dcm")
    os.chmod(tree / "ok" / "unreadable.dcm", 0)
    os.chmod(tree / "locked", 0)
    probe = subprocess.run(
        [sys.executable, "-c", f"import os; os.listdir({str(tree / 'locked')!r})"],
        preexec_fn=runner._limits(True), capture_output=True)
    if probe.returncode == 0:
        os.chmod(tree / "locked", 0o755)
        pytest.skip("cannot make a folder unreadable here (root without CAP_SETPCAP, or a "
                    "file system that ignores modes)")
    yield tree
    os.chmod(tree / "locked", 0o755)
    os.chmod(tree / "ok" / "unreadable.dcm", 0o644)


def test_info_reports_unreadable_folder_and_file(locked_tree):
    run = runner.cli("info", "--json", locked_tree, honour_modes=True)
    assert runner.crashed(run) is None, run.tail()
    assert run.rc == 2, run.tail()
    lines = [ln for ln in run.err.splitlines() if ln.strip()]
    assert len(lines) == 2, lines
    assert any("locked" in ln for ln in lines) and any("unreadable.dcm" in ln for ln in lines), (
        lines)
    data = json.loads(run.out)
    images = data["images"] if isinstance(data, dict) else data
    assert [Path(r["path"]).name for r in images] == ["ct.dcm"], images


def test_project_add_reports_unreadable_folder_and_file(locked_tree, new_project):
    project = new_project("locked")
    run = runner.cli("project", "add", project, locked_tree, "--json", honour_modes=True)
    assert runner.crashed(run) is None, run.tail()
    assert run.rc == 0, run.tail()
    skipped = json.loads(run.out).get("skipped", [])
    assert any(str(locked_tree / "locked") in s for s in skipped), skipped
    assert any(str(locked_tree / "ok" / "unreadable.dcm") in s for s in skipped), skipped
    cases = runner.project_state(project)["cases"]
    assert [Path(p).name for c in cases for p in c["paths"]] == ["ct.dcm"], cases
