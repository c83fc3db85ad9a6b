"""What a scripted `workstation label` loads: in a fresh process, as a script calls it, the call
stores and audits the label and imports neither the heavy libraries nor the store's unused parts
(the ORM, alembic while the schema is current); its start-up garbage collection settings stay out
of a process that already holds the store (a test run, the GUI). Timings are in
benchmarks/bench_review.py, not here."""
from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys

import pytest
from pydicom.data import get_testdata_file

from workstation.cli import main
from workstation.core.project import PredictionRecord, Project
from workstation.core.taxonomy import Taxonomy

NEVER = ("numpy", "scipy", "pandas", "pyarrow", "PIL", "pydicom", "nibabel", "SimpleITK", "PySide6", "vtkmodules",
         "torch", "monai", "pydantic", "sqlalchemy.orm", "alembic", "pkg_resources", "workstation.qt",
         "workstation.ml", "workstation.plugin_host", "workstation.core.taxonomy.levels")


def make_project(tmp_path, task, classes, probabilities, taxonomy=None):
    project = Project.create(tmp_path / task, task, classes, taxonomy=taxonomy)
    for i, name in enumerate(["RG1_UNCR.dcm", "CT_small.dcm"]):
        target = tmp_path / f"c{i}.dcm"
        shutil.copy(get_testdata_file(name), target)
        project.add_case([str(target)], case_id=f"c{i}")
    project.add_predictions([PredictionRecord(f"c{i}", probabilities, "densenet2d") for i in range(2)])
    project.close()
    return project.directory


@pytest.fixture
def binary_dir(tmp_path):
    return make_project(tmp_path, "binary", ["normal", "abnormal"], {"normal": 0.2, "abnormal": 0.8})


@pytest.fixture
def taxonomy_dir(tmp_path):
    tree = Taxonomy({"benign": {"naevus": {}, "keratosis": {}}, "malignant": {"melanoma": {}, "bcc": {}}})
    return make_project(tmp_path, "multiclass", ["naevus", "keratosis", "melanoma", "bcc"],
                        {"naevus": 0.1, "keratosis": 0.1, "melanoma": 0.7, "bcc": 0.1}, taxonomy=tree)


def label_in_fresh_process(directory, *argv):
    """`python -X importtime -m workstation.cli label ...`: (exit code, stdout, stderr without the
    import lines, the modules it imported)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "workstation.cli", "label", str(directory),
                           *argv], capture_output=True, text=True, timeout=120)
    lines = done.stderr.splitlines()
    modules = {line.split("|")[2].strip() for line in lines if line.startswith("import time:")} - {"imported package"}
    errors = "\n".join(line for line in lines if not line.startswith("import time:"))
    return done.returncode, done.stdout, errors, modules


def heavy(modules):
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in NEVER))


def test_a_binary_label_stores_and_audits_and_imports_only_the_store(binary_dir):
    code, out, err, modules = label_in_fresh_process(binary_dir, "c0", "abnormal", "--reader", "alice", "--json")
    assert code == 0, err
    assert json.loads(out) == {"case_id": "c0", "reader": "alice", "tag": "final", "value": "abnormal",
                               "action": "confirm"}
    assert {"sqlalchemy.engine", "sqlalchemy.dialects.sqlite", "workstation.core.review.session"} <= modules
    assert heavy(modules) == []
    assert "workstation.core.taxonomy" not in modules  # a binary project has no tree to read
    with Project.open(binary_dir) as project:
        assert [(e.case_id, e.reader, e.action, e.new_value) for e in project.audit()] == [
            ("c0", "alice", "confirm", "abnormal")]
        assert project.verify().ok


def test_a_taxonomy_label_reads_the_tree_without_numpy(taxonomy_dir):
    code, out, err, modules = label_in_fresh_process(taxonomy_dir, "c1", "malignant", "--reader", "bob")
    assert code == 0, err
    assert out.strip() == "c1: 'malignant' (bob, final, correct)"  # an inner node of the tree
    assert "workstation.core.taxonomy.tree" in modules and heavy(modules) == []
    code, out, err, modules = label_in_fresh_process(taxonomy_dir, "c1", "benign_ish", "--reader", "bob")
    assert code == 2 and out == "" and err.startswith("workstation label: ") and err.count("\n") == 0
    assert "Traceback" not in err and heavy(modules) == []
    with Project.open(taxonomy_dir) as project:
        assert [(e.case_id, e.action, e.new_value) for e in project.audit()] == [("c1", "correct", "malignant")]


def test_a_fresh_call_freezes_the_loaded_store_and_collects_again_after():
    """The start-up setting behind the call's speed: the store's objects are frozen out of the
    cyclic collections (those at shutdown cost a third of the call), and the collector is on again
    for the label itself."""
    code = ("import gc, sys\n"
            "from workstation.commands import label\n"
            "with label._first_import():\n"
            "    assert not gc.isenabled()\n"
            "    import workstation.core.project, workstation.core.review.session\n"
            "print(gc.isenabled(), gc.get_freeze_count())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    enabled, frozen = done.stdout.split()
    assert enabled == "True" and int(frozen) > 10_000  # SQLAlchemy alone leaves some 40,000 objects


def test_an_in_process_call_leaves_the_collector_as_it_was(binary_dir, capsys):
    frozen = gc.get_freeze_count()
    assert main(["label", str(binary_dir), "c1", "normal", "--reader", "carol"]) == 0
    assert capsys.readouterr().out.strip() == "c1: 'normal' (carol, final, correct)"
    assert gc.isenabled() and gc.get_freeze_count() == frozen
