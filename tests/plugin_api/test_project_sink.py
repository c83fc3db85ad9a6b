"""Storing outcomes: records with provenance, heat map files that stay inside the project."""
from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from workstation.core.project import Project
from workstation.plugin_api import Candidate, ClassProbabilities, HeatMap, Prediction
from workstation.plugin_host import PredictionOutcome
from workstation.plugin_host.project_sink import ProjectSink, case_inputs, default_checkpoint


def _outcome(case_id, heat=True):
    pred = Prediction(ClassProbabilities(("normal", "abnormal"), [0.25, 0.75]),
                      heatmap=HeatMap(np.linspace(0, 1, 12, dtype=np.float32).reshape(1, 3, 4)) if heat else None)
    return PredictionOutcome(case_id, pred, "p", "1.2", "ab" * 32, "cpu", "2026-11-26T18:00:00+00:00",
                             (1, 3, 4), {"spacing": (0.5, 0.7, 1.0), "origin": (1, 2, 3), "direction": np.eye(3).tolist()})


def test_records_and_heatmaps_inside_the_project(tmp_path):
    with Project.create(tmp_path / "s", task="binary", classes=["normal", "abnormal"]) as project:
        project.add_case([str(tmp_path / "a.png")], case_id="../../escape")
        project.add_case([str(tmp_path / "b.png")], case_id="b")
        ProjectSink(project)([_outcome("../../escape"), _outcome("b", heat=False)])
        latest = project.latest_predictions("p")
        rec = latest["../../escape"]
        assert rec.probabilities == {"normal": 0.25, "abnormal": 0.75}
        assert (rec.plugin_version, rec.weights_sha256, rec.device, rec.created_at) == \
            ("1.2", "ab" * 32, "cpu", "2026-11-26T18:00:00+00:00")
        path = (project.directory / rec.heatmap_path).resolve()
        assert path.is_relative_to(project.directory.resolve() / "heatmaps" / "p")
        image = sitk.ReadImage(str(path))
        assert np.allclose(image.GetSpacing(), (0.5, 0.7, 1.0)) and np.allclose(image.GetOrigin(), (1, 2, 3))
        assert np.allclose(sitk.GetArrayFromImage(image), np.linspace(0, 1, 12).reshape(1, 3, 4))
        assert latest["b"].heatmap_path is None
        assert [c.case_id for c in case_inputs(project, "unlabelled")] == ["../../escape", "b"]
        project.set_label("b", "normal", reader="r")
        assert [c.case_id for c in case_inputs(project, "unlabelled")] == ["../../escape"]


def test_detection_candidates_are_stored_as_dicts(tmp_path):
    with Project.create(tmp_path / "d", task="detection", classes=["microbleed"]) as project:
        project.add_case([str(tmp_path / "v.nii.gz")], case_id="v")
        pred = Prediction(candidates=[Candidate((1.0, 2.0, 3.0), 4.5, 0.9, "microbleed")])
        outcome = PredictionOutcome("v", pred, "det", "1", "", "cpu", "2026-11-26T18:00:00+00:00")
        ProjectSink(project)([outcome])
        cands = project.latest_predictions("det")["v"].candidates
        assert cands == [{"centre": [1.0, 2.0, 3.0], "diameter_mm": 4.5, "score": 0.9, "label": "microbleed",
                          "id": "det-0"}]


def test_default_checkpoint_is_the_newest(tmp_path):
    import os

    folder = tmp_path / "models" / "densenet2d"
    folder.mkdir(parents=True)
    assert default_checkpoint(tmp_path, "densenet2d") is None
    for n, name in enumerate(["old.pt", "new.pt"]):
        (folder / name).write_bytes(b"x")
        os.utime(folder / name, (1000 + n, 1000 + n))
    assert default_checkpoint(tmp_path, "densenet2d").name == "new.pt"
