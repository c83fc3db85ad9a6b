"""The active-learning loop: train, run the new model over the project through the plugin host's
runner (a worker process), and see predictions, live metrics and worklist orderings follow."""
from __future__ import annotations

import json

import numpy as np
import pytest

from workstation.core.metrics.live import LiveMetrics
from workstation.core.review.ordering import order_project
from workstation.ml.training import TrainConfig, train
from workstation.plugin_host.predict import predict_project

from training_shapes import make_shapes_project


def test_new_model_updates_predictions_live_metrics_and_orderings(tmp_path):
    project = make_shapes_project(tmp_path / "p", 24, classes=("hbar", "vbar"), noise=0.2)
    computed, events = [], []
    live = LiveMetrics(project, plugin_id="densenet2d", scheduler=lambda delay, fn: fn())
    live.computed.connect(computed.append)
    project.events.predictions_changed.connect(lambda: events.append("predictions"))
    assert order_project(project, "entropy") == project.case_ids()  # no predictions: project order

    result = train(project, TrainConfig(tiny=True, size=(32, 32), epochs=3, device="cpu", augment=False,
                                        out=str(tmp_path / "run")))
    report = predict_project(project, "densenet2d", result.checkpoint, device="cpu")
    assert report.ok and report.stored == 24, report.to_json()

    stored = project.latest_predictions("densenet2d")
    assert set(stored) == set(project.case_ids())
    assert {r.weights_sha256 for r in stored.values()} == {result.sha256}
    assert events and computed and computed[-1].plugin_id == "densenet2d"
    assert computed[-1].evaluation is not None and computed[-1].evaluation.n == 24

    probs = np.array([stored[c].probabilities["vbar"] for c in project.case_ids()])
    entropy = order_project(project, "entropy")
    assert sorted(entropy) == sorted(project.case_ids())
    assert abs(probs[project.case_ids().index(entropy[0])] - 0.5) == pytest.approx(np.min(np.abs(probs - 0.5)))
    disagreement = order_project(project, "disagreement")
    truth = project.truth()
    worst = disagreement[0]
    assert abs(stored[worst].probabilities["vbar"] - (truth[worst] == "vbar")) == pytest.approx(
        max(abs(stored[c].probabilities["vbar"] - (truth[c] == "vbar")) for c in project.case_ids()))
    live.close()


def test_train_command_end_to_end(tmp_path, capsys):
    from workstation.cli import main

    project = make_shapes_project(tmp_path / "p", 20, classes=("hbar", "vbar"))
    directory = str(project.directory)
    project.close()
    code = main(["train", directory, "--tiny", "--size", "32,32", "--epochs", "2", "--device", "cpu",
                 "--threads", "1", "--seed", "4", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["checkpoint"].startswith(directory) and out["inference"]["stored"] == 20
    assert out["validation"]["auc_ci"] is not None and len(out["history"]) == 2
    card = json.loads(open(out["model_card"]).read())
    assert card["settings"]["seed"] == 4 and card["checkpoint"]["sha256"] == out["sha256"]

    # `workstation infer` without --checkpoint picks the newly trained model up
    from workstation.core.project import Project
    from workstation.plugin_host.project_sink import default_checkpoint

    assert str(default_checkpoint(directory, "densenet2d")) == out["checkpoint"]
    assert main(["infer", directory, "--plugin", "densenet2d", "--device", "cpu", "--json"]) == 0
    capsys.readouterr()
    with Project.open(directory) as reopened:
        stored = reopened.latest_predictions("densenet2d")
        assert len(stored) == 20 and {r.weights_sha256 for r in stored.values()} == {out["sha256"]}

    assert main(["train", directory, "--mode", "features"]) == 2
    assert "needs --pretrained" in capsys.readouterr().err
    assert main(["train", directory, "--compare"]) == 2
    assert main(["train", str(tmp_path / "nowhere")]) == 2
