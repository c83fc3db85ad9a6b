"""`workstation train --level`: a tiny DenseNet trained on the labels of a taxonomy level (labels at
inner nodes included), on real PNG files; the leaf model is evaluated at the levels above it."""
import json

import pytest
from training_shapes import make_shapes_project

from workstation.cli import main
from workstation.core.project import Project
from workstation.ml.checkpoint import load_checkpoint
from workstation.ml.training import TrainConfig, TrainingError, train

TREE = {"solid": {"disc": {}, "square": {}}, "bar": {"hbar": {}, "vbar": {}}}
FAST = dict(tiny=True, size=(32, 32), batch_size=8, device="cpu", augment=False, epochs=2)


def test_training_at_the_top_level_uses_the_mapped_labels(tmp_path, capsys):
    project = make_shapes_project(tmp_path / "p", 32, classes=("disc", "square", "hbar", "vbar"), task="multiclass")
    project.set_taxonomy(TREE)
    for case_id in ("c000", "c004"):  # discs a reader called only "solid"; c002, an hbar, only "bar"
        project.set_label(case_id, "solid", reader="reader1")
    project.set_label("c002", "bar", reader="reader1")
    result = train(project, TrainConfig(**FAST, level="1", out=str(tmp_path / "run")))
    card = result.card
    assert card["task"] == "binary" and card["classes"] == ["solid", "bar"] and card["settings"]["level"] == "1"
    used = [c for split in card["data"]["splits"].values() for c in split["case_ids"]]
    assert len(used) == 32 and {"c000", "c002", "c004"} <= set(used)
    balance = [split["class_balance"] for split in card["data"]["splits"].values()]
    assert sum(b.get("solid", 0) for b in balance) == sum(b.get("bar", 0) for b in balance) == 16
    checkpoint = load_checkpoint(result.checkpoint)
    assert checkpoint.task == "binary" and list(checkpoint.classes) == ["solid", "bar"]
    directory = str(project.directory)
    project.close()

    # the command: a level-1 model is not re-run over the project (its predictions are leaf probabilities)
    code = main(["train", directory, "--tiny", "--size", "32,32", "--epochs", "1", "--device", "cpu", "--threads",
                 "1", "--level", "1", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and json.loads(out)["inference"] is None and "not re-run over the project" in err
    # the leaf model (the three inner-node labels cannot be read at the leaves: 29 cases) is re-run
    # over the project and read at every level above its leaves
    code = main(["train", directory, "--tiny", "--size", "32,32", "--epochs", "1", "--device", "cpu", "--threads",
                 "1", "--level", "leaf", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["inference"]["stored"] == 32
    card = json.loads(open(out["model_card"]).read())
    assert card["classes"] == ["disc", "square", "hbar", "vbar"]
    assert sum(s["cases"] for s in card["data"]["splits"].values()) == 29
    for level, n in (("1", 32), ("leaf", 29)):
        assert main(["metrics", directory, "--level", level, "--json"]) == 0
        r = json.loads(capsys.readouterr().out)
        assert r["n"] == n and r["excluded"] == 32 - n and r["model"] == "densenet2d"


def test_a_level_needs_a_taxonomy(tmp_path, capsys):
    project = make_shapes_project(tmp_path / "p", 8, classes=("disc", "square", "hbar"), task="multiclass")
    with pytest.raises(TrainingError, match="--level needs a project with a taxonomy"):
        train(project, TrainConfig(**FAST, level="1"))
    project.set_taxonomy({"round": {"disc": {}}, "angular": {"square": {}, "hbar": {}}})
    directory = str(project.directory)
    project.close()
    assert main(["train", directory, "--tiny", "--level", "5", "--epochs", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "expected 1 to 2 or 'leaf'" in err and len(err.strip().splitlines()) == 1
