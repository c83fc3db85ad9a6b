"""The demo builds from real runs into a temporary data folder (2 phantoms, a short training run),
reuses its cache on a second build, and `workstation demo --screenshot` exits 0 with a PNG."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.commands import demo_build as demo
from workstation.core.project import Project


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    info = demo.build(root, n_phantoms=2, epochs=2, log=lines.append)
    return info, lines


def test_detection_project_holds_the_detectors_real_output(built):
    info, lines = built
    project = Project.open(info.detection)
    try:
        assert project.task == "detection" and len(project) == 2
        predictions = project.latest_predictions()
        weights = demo.shipped_weights()
        if weights is None:  # this build ships no detector weights: the demo must say so, not fake
            assert predictions == {}
            assert any("not shipped" in note for note in info.notes)
            assert all("not shipped" in c.metadata["note"] for c in project.cases())
        else:
            from plugins.microbleeds.detector import SHIPPED_TREES, weights_identity

            sha = weights_identity(weights, SHIPPED_TREES)  # the CNN's and the stage-2 trees' files
            assert sorted(predictions) == sorted(project.case_ids())
            for record in predictions.values():
                assert record.plugin_id == "microbleeds" and record.weights_sha256 == sha
                assert record.candidates and all(0 <= c["score"] <= 1 for c in record.candidates)
            assert not any("detector" in note for note in info.notes)
            assert any(line.startswith("running: workstation infer") for line in lines)
        for case in project.cases():
            assert case.metadata["template_from_world"] and Path(case.paths[0]).is_file()
    finally:
        project.close()


def test_classification_project_has_folder_labels_and_a_trained_models_predictions(built):
    info, _lines = built
    project = Project.open(info.classification)
    try:
        assert project.task == "binary" and len(project) == 16
        truth = project.truth("original")
        assert sorted(truth.values()).count("normal") == 8 and sorted(truth.values()).count("pneumonia") == 8
        for case in project.cases():
            assert truth[case.case_id] == Path(case.paths[0]).parent.name.lower()
        records = project.latest_predictions()
        if info.state["classification"]["trained"]:
            checkpoint = Path(info.state["classification"]["train"]["checkpoint"])
            sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
            assert len(records) == 16 and {r.weights_sha256 for r in records.values()} == {sha}
            assert {r.plugin_id for r in records.values()} == {"densenet2d"}
        else:
            assert records == {} and any("No model has run" in n for n in info.notes)
    finally:
        project.close()


def test_second_build_reuses_the_cache(built):
    info, _ = built
    lines: list[str] = []
    again = demo.build(info.root, n_phantoms=2, epochs=2, log=lines.append)
    assert not any(line.startswith(("running:", "phantom")) for line in lines)
    assert again.detection == info.detection and again.notes == info.notes


@pytest.mark.gui
def test_demo_command_screenshot(built, tmp_path):
    info, _ = built
    out = tmp_path / "demo.png"
    proc = subprocess.run([sys.executable, "-m", "workstation.cli", "demo", "--dir", str(info.root),
                           "--phantoms", "2", "--screenshot", str(out), "--size", "1200x800"],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20000
    assert "running:" not in proc.stderr  # the cached demo opens without new model runs


def test_without_shipped_weights_the_demo_says_so_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "shipped_weights", lambda: None)
    lines: list[str] = []
    state = demo._State(tmp_path)
    demo._detection_project(tmp_path, state, 1, lines.append, 600)
    assert state.data["detection"]["ran"] is False
    assert not any(line.startswith("running:") for line in lines)
    project = Project.open(tmp_path / demo.DETECTION_DIR)
    try:
        assert project.latest_predictions() == {}
        assert "not shipped" in project.cases()[0].metadata["note"]
    finally:
        project.close()
    assert "not shipped" in state.data["detection"]["notes"][0]


def test_new_weights_start_the_detection_project_again(tmp_path, monkeypatch):
    """Decisions on one run's candidate ids must not be carried onto another run's candidates."""
    monkeypatch.setattr(demo, "shipped_weights", lambda: None)
    state = demo._State(tmp_path)
    demo._detection_project(tmp_path, state, 1, lambda text: None, 600)
    project = Project.open(tmp_path / demo.DETECTION_DIR)
    case_id = project.case_ids()[0]
    project.set_candidate_state(case_id, None, "added", "alice", centre=[0, 0, 0], diameter=3)
    project.close()
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"other weights")
    monkeypatch.setattr(demo, "shipped_weights", lambda: weights)
    calls = []
    monkeypatch.setattr(demo, "_cli", lambda args, log, timeout_s: calls.append(args) or (1, None, "boom"))
    demo._detection_project(tmp_path, state, 1, lambda text: None, 600)
    assert calls and calls[0][0] == "infer"
    project = Project.open(tmp_path / demo.DETECTION_DIR)
    try:
        assert project.candidate_states(case_id) == {}
        assert "failed (boom)" in project.case(case_id).metadata["note"]
    finally:
        project.close()
