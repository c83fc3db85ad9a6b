"""A project with a taxonomy: init, labels at any node (stored, audited, reviewed by keyboard),
`workstation metrics DIR --level`, the live metrics at a level, and bad input that stores nothing."""
import json

import numpy as np
import pytest
from sklearn import metrics as skm
from tree6 import LEAVES, LEVEL1, LEVEL1_NODES, LEVEL2, TREE6, write_csv

from workstation.cli import main
from workstation.core.metrics.live import LiveMetrics
from workstation.core.project import PredictionRecord, Project, ProjectError
from workstation.core.review.session import ReviewSession
from workstation.core.taxonomy import Taxonomy


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project_dir(tmp_path, capsys, tree_file, leaf_predictions):
    """A project made by `project init --taxonomy`, the prediction file's cases and probabilities
    stored as a model's predictions, each case labelled by reader alice with its leaf."""
    directory = tmp_path / "skin"
    code, out, err = cli(capsys, "project", "init", directory, "--task", "multiclass", "--taxonomy", tree_file,
                         "--json")
    assert code == 0, err
    assert json.loads(out)["classes"] == LEAVES and json.loads(out)["taxonomy"]["levels"] == ["1", "2", "leaf"]
    _path, ids, labels, probs = leaf_predictions
    with Project.open(directory) as project:
        project.add_cases([{"paths": [f"{c}.png"], "case_id": c} for c in ids])  # metadata only: no image is read
        project.add_predictions([PredictionRecord(c, dict(zip(LEAVES, map(float, p))), "model-a")
                                 for c, p in zip(ids, probs)])
        project.set_labels([{"case_id": c, "value": v, "reader": "alice"} for c, v in zip(ids, labels)])
    return directory


def test_the_taxonomy_is_kept_and_versioned(project_dir):
    with Project.open(project_dir) as project:
        assert project.taxonomy == Taxonomy(TREE6) and project.classes == LEAVES
        assert project.label_nodes == Taxonomy(TREE6).inner_nodes
        flat = {"malignant": {leaf: {} for leaf in LEAVES[:4]}, "benign": {leaf: {} for leaf in LEAVES[4:]}}
        assert project.set_taxonomy(flat) == 2
        project.set_label("lesion000", "benign", reader="bob")
        with pytest.raises(ProjectError, match="'benign', which names no node"):
            project.set_taxonomy({"all": {leaf: {} for leaf in LEAVES}})
        with pytest.raises(ProjectError, match="leaves 'psoriasis' are missing from the project's classes"):
            project.set_taxonomy({"a": {"psoriasis": {}}, **{leaf: {} for leaf in LEAVES}})
    with Project.open(project_dir) as project:
        assert project.taxonomy.depth == 2 and project.taxonomy.level_nodes(1) == ["malignant", "benign"]


def test_inner_node_labels_are_stored_and_audited(project_dir, capsys):
    code, out, err = cli(capsys, "label", project_dir, "lesion001", "epithelial_malignant", "--reader", "bob",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["value"] == "epithelial_malignant"
    code, out, _ = cli(capsys, "project", "audit", project_dir, "--case", "lesion001", "--json")
    assert json.loads(out)[-1]["new_value"] == "epithelial_malignant" and json.loads(out)[-1]["reader"] == "bob"
    code, out, _ = cli(capsys, "project", "status", project_dir, "--json")
    assert json.loads(out)["taxonomy"]["per_node"]["epithelial_malignant"] == 1
    code, out, _ = cli(capsys, "project", "verify", project_dir)
    assert code == 0


def test_metrics_at_a_level_equal_evaluate_and_scikit_learn(project_dir, capsys, tmp_path, tree_file,
                                                            leaf_predictions):
    path, ids, labels, probs = leaf_predictions
    # bob's coarser labels win as the newest final labels of cases 0-2
    for case_id, node in (("lesion000", "malignant"), ("lesion001", "benign"), ("lesion002", "melanocytic_benign")):
        assert cli(capsys, "label", project_dir, case_id, node, "--reader", "bob")[0] == 0
    truth = write_csv(tmp_path / "truth.csv", ["case_id", "label"],
                      [(c, {"lesion000": "malignant", "lesion001": "benign", "lesion002": "melanocytic_benign"}
                        .get(c, lab)) for c, lab in zip(ids, labels)])
    for level, excluded in (("1", 0), ("2", 2), ("leaf", 3)):
        code, out, err = cli(capsys, "metrics", project_dir, "--level", level, "--json")
        assert code == 0, err
        from_project = json.loads(out)
        code, out, err = cli(capsys, "evaluate", path, "--truth", truth, "--taxonomy", tree_file, "--level", level,
                             "--json")
        from_file = json.loads(out)
        assert from_project["excluded"] == from_file["excluded"] == excluded
        assert from_project["level"] == level and from_project["model"] == "model-a"
        for key in from_file:
            assert from_project[key] == (pytest.approx(from_file[key]) if key.startswith("auc") else from_file[key]), key
    top = json.loads(cli(capsys, "metrics", project_dir, "--level", "1", "--positive", "malignant", "--json")[1])
    y = np.array([LEVEL1.get(lab, lab) == "malignant" for lab in labels])
    y[:3] = [True, False, False]
    s = probs[:, [LEAVES.index(k) for k, v in LEVEL1.items() if v == "malignant"]].sum(axis=1)
    assert top["task"] == "binary" and top["auc"] == pytest.approx(skm.roc_auc_score(y, s))
    code, out, _ = cli(capsys, "metrics", project_dir, "--level", "2")
    assert code == 0 and "2 case(s) excluded: labelled at a node coarser than level 2" in out
    # without --level: the leaves, saying how many coarser labels were left out
    plain = json.loads(cli(capsys, "metrics", project_dir, "--json")[1])
    assert plain["level"] == "leaf" and plain["excluded"] == 3 and plain["class_names"] == LEAVES


def test_the_leaf_level_keeps_the_project_class_order(tmp_path, tree_file, leaf_predictions):
    _path, ids, labels, probs = leaf_predictions
    order = LEAVES[::-1]
    with Project.create(tmp_path / "p", "multiclass", order, taxonomy=Taxonomy.load(tree_file)) as project:
        project.add_cases([{"paths": [f"{c}.png"], "case_id": c} for c in ids])
        project.add_predictions([PredictionRecord(c, dict(zip(LEAVES, map(float, p))), "m")
                                 for c, p in zip(ids, probs)])
        project.set_labels([{"case_id": c, "value": v, "reader": "r"} for c, v in zip(ids, labels)])
        flat, leaf = project.evaluation_table(), project.evaluation_table(level="leaf")
        assert leaf.classes == flat.classes == order and leaf.level == "leaf" and flat.level is None
        np.testing.assert_array_equal(leaf.y_true, flat.y_true)
        np.testing.assert_allclose(leaf.scores, flat.scores)


def test_live_metrics_at_a_level(project_dir):
    with Project.open(project_dir) as project:
        live = LiveMetrics(project, scheduler=lambda delay, fn: None)
        assert live.level_choices() == ["1", "2", "leaf"]
        live.set_level("1", positive="malignant")
        first = live.recompute()
        assert first.table.task == "binary" and first.table.classes == ["benign", "malignant"]
        project.set_label("lesion005", "benign", reader="carol")
        after = live.flush()
        assert after.table.y_true[after.table.case_ids.index("lesion005")] == 0
        live.set_level("2")
        second = live.flush()
        assert second.table.classes == [LEVEL2[leaf] for leaf in ("melanoma", "bcc", "nevus", "seborrhoeic_keratosis")]
        project.set_label("lesion006", "malignant", reader="carol")
        assert "lesion006" in live.flush().table.excluded
        live.close()


def test_keyboard_review_goes_down_and_up_the_tree(project_dir):
    with Project.open(project_dir) as project:
        session = ReviewSession(project, reader="dana")
        seen = []
        session.events.tree_changed.connect(seen.append)
        session.go_to("lesion010")
        assert session.choices() == LEVEL1_NODES
        session.pick(1)  # malignant: stored, the digits now name its children, the case stays
        assert session.current == "lesion010" and session.reader_label("lesion010") == "malignant"
        assert session.choices() == ["melanocytic_malignant", "epithelial_malignant"]
        session.pick(2)
        assert session.reader_label("lesion010") == "epithelial_malignant" and session.choices() == ["bcc", "scc"]
        assert session.tree_up() and session.choices() == ["melanocytic_malignant", "epithelial_malignant"]
        assert session.tree_down(2) and session.pick(2).new == "scc"  # a leaf: on to the next case
        assert session.current == "lesion011" and session.choices() == LEVEL1_NODES
        assert session.pick(3) is None  # no third node at the top
        assert seen == ["malignant", "epithelial_malignant", "malignant", "epithelial_malignant", None]
        trail = [(e.new_value, e.reader) for e in project.audit("lesion010")][-3:]
        assert trail == [("malignant", "dana"), ("epithelial_malignant", "dana"), ("scc", "dana")]
        session.go_to("lesion012")
        session.pick(2)
        session.move(1)  # a reader who knows only "benign" moves on
        assert project.label("lesion012", reader="dana").value == "benign" and session.choices() == LEVEL1_NODES


def test_bad_input_is_one_line_and_stores_nothing(project_dir, capsys, tmp_path, tree_file):
    def fails(*argv):
        code, out, err = cli(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        return err

    before = len(Project.open(project_dir).audit())
    assert "unknown label 'psoriasis'" in fails("label", project_dir, "lesion003", "psoriasis", "--reader", "bob")
    rows = write_csv(tmp_path / "labels.csv", ["case_id", "label"], [("lesion003", "benign"), ("lesion004", "wart")])
    assert "wart" in fails("label", project_dir, "--from", rows, "--reader", "bob")
    with Project.open(project_dir) as project:
        assert len(project.audit()) == before and project.label("lesion003", reader="bob") is None
    other_model = write_csv(tmp_path / "other.csv", ["case_id"] + [f"p_{c}" for c in LEAVES + ["psoriasis"]],
                            [("lesion003", *([1 / 7] * 7))])
    assert "does not cover the model's classes: not in the tree: 'psoriasis'" in fails(
        "project", "add", project_dir, "--predictions", other_model)
    with Project.open(project_dir) as project:
        assert project.prediction_plugins() == ["model-a"]
    cycle = tmp_path / "cycle.json"
    cycle.write_text('{"malignant": {"melanoma": {"malignant": {}}}, "benign": {"nevus": {}}}')
    for tree, extra, phrase in ((cycle, [], "cycle"),
                                (tree_file, ["--classes", ",".join(LEAVES + ["psoriasis"])], "does not cover the project's classes"),
                                (tree_file, ["--classes", "melanoma,nevus"], "are missing from the project's classes"),
                                (tree_file, ["--task", "binary"], "needs a multiclass project")):
        target = tmp_path / f"new-{len(phrase)}"
        argv = ["project", "init", target, "--taxonomy", tree] + (extra if "--task" in extra else
                                                                 ["--task", "multiclass"] + extra)
        assert phrase in fails(*argv)
        assert not target.exists()
    flat = tmp_path / "flat"
    assert cli(capsys, "project", "init", flat, "--task", "multiclass", "--classes", "a,b,c")[0] == 0
    assert "no taxonomy" in fails("metrics", flat, "--level", "1")
    assert "expected 1 to 3" in fails("metrics", project_dir, "--level", "7")
