"""A small real project (SQLite) with a model's predictions and three readers' labels."""
import numpy as np
import pytest

from workstation.core.project import PredictionRecord, Project


def build_project(directory, n=40, labelled=30, seed=0):
    project = Project.create(directory, "binary", ["normal", "abnormal"], readers=["alice", "bob", "carol"])
    project.add_cases([dict(paths=[f"/data/{i}.dcm"], case_id=f"c{i:03d}") for i in range(n)])
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    s = np.round(np.clip(0.4 * y + 0.6 * rng.random(n), 0, 1), 3)
    project.add_predictions([PredictionRecord(f"c{i:03d}", {"normal": 1 - s[i], "abnormal": s[i]}, "model-a")
                             for i in range(n)])
    for i in range(labelled):
        truth = "abnormal" if y[i] else "normal"
        project.set_label(f"c{i:03d}", truth, reader="alice")
    return project, y, s


@pytest.fixture
def small_project(tmp_path):
    project, y, s = build_project(tmp_path / "study")
    yield project, y, s
    project.close()
