"""Independent robustness tests (issue 12), written from the user docs only: damaged files made
from real ones, planted identifiers, symlinks and unreadable folders, all through the CLI.

The helper modules are loaded under unique names (the suite runs with --import-mode=importlib,
where sibling modules are not importable by plain name)."""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _load(name: str):
    full = f"ws_robustness_{name}"
    if full not in sys.modules:
        spec = importlib.util.spec_from_file_location(full, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
    return sys.modules[full]


corpus = _load("corpus")
runner = _load("runner")
planted = _load("planted")


@pytest.fixture(scope="session")
def damaged(tmp_path_factory):
    """Every generated entry (damaged files, series folders, specials, intact originals)."""
    return corpus.build_corpus(tmp_path_factory.mktemp("damaged"))


@pytest.fixture(scope="session")
def info_outcomes(damaged):
    """`workstation info --json` on every entry: batched, bisected when a batch's output cannot
    be attributed; the entries that may hang or eat memory each on their own."""
    batch = [e.path for e in damaged if not e.solo]
    out = runner.info_many(batch)
    for e in damaged:
        if e.solo:
            out[e.path] = runner.info_alone(e.path)
    return out


@pytest.fixture(scope="session")
def template_project(tmp_path_factory):
    """One empty binary project; tests copy it (init runs the migrations: seconds)."""
    d = tmp_path_factory.mktemp("template") / "project"
    run = runner.cli("project", "init", d, "--task", "binary", "--classes", "normal,abnormal",
                     "--json")
    assert run.rc == 0, run.tail()
    return d


@pytest.fixture(scope="session")
def new_project(template_project, tmp_path_factory):
    def make(name: str) -> Path:
        d = tmp_path_factory.mktemp(name) / "project"
        shutil.copytree(template_project, d)
        return d
    return make

