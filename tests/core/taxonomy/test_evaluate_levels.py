"""`workstation evaluate PRED.csv --taxonomy TREE.json --level L` against a hand-made mapping of the
6-leaf tree and scikit-learn: confusion matrices and AUCs at every level; the binary top equals
roc_auc_score on the summed scores; labels at inner nodes are counted at and above their level."""
import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn import metrics as skm
from tree6 import LEAVES, LEVEL1, LEVEL1_NODES, LEVEL2, LEVEL2_NODES, write_csv

from workstation.cli import main


def run_json(capsys, *argv):
    code = main(["evaluate", *map(str, argv), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def hand_scores(probs, mapping, nodes):
    """Summed by hand: column j adds the leaves that the hand mapping sends to nodes[j]."""
    return np.stack([sum(probs[:, LEAVES.index(leaf)] for leaf, node in mapping.items() if node == n)
                     for n in nodes], axis=1)


@pytest.mark.parametrize("level, mapping, nodes", [
    ("2", LEVEL2, LEVEL2_NODES),
    ("leaf", {leaf: leaf for leaf in LEAVES}, LEAVES),
    ("3", {leaf: leaf for leaf in LEAVES}, LEAVES),
])
def test_multiclass_levels_equal_the_hand_mapping(capsys, tree_file, leaf_predictions, level, mapping, nodes):
    path, _ids, labels, probs = leaf_predictions
    r = run_json(capsys, path, "--taxonomy", tree_file, "--level", level)
    y = np.array([nodes.index(mapping[lab]) for lab in labels])
    scores = hand_scores(probs, mapping, nodes)
    assert r["task"] == "multiclass" and r["class_names"] == nodes and r["n"] == len(labels)
    assert r["excluded"] == 0
    assert r["confusion_matrix"] == skm.confusion_matrix(y, scores.argmax(axis=1), labels=range(len(nodes))).tolist()
    for k, node in enumerate(nodes):
        assert r["classes"][node]["auc"] == pytest.approx(skm.roc_auc_score(y == k, scores[:, k]))
    assert r["auc_ovr_macro"] == pytest.approx(skm.roc_auc_score(y, scores, multi_class="ovr", average="macro"))
    assert r["accuracy"] == pytest.approx(skm.accuracy_score(y, scores.argmax(axis=1)))


def test_binary_top_is_the_binary_evaluation_of_the_summed_scores(capsys, tree_file, leaf_predictions):
    path, _ids, labels, probs = leaf_predictions
    summed = hand_scores(probs, LEVEL1, LEVEL1_NODES)
    top = np.array([LEVEL1[lab] for lab in labels])
    # default: the second node of the level (benign) is positive
    r = run_json(capsys, path, "--taxonomy", tree_file, "--level", "1")
    assert r["task"] == "binary" and r["positive"] == "benign" and r["negative"] == "malignant"
    assert r["auc"] == pytest.approx(skm.roc_auc_score(top == "benign", summed[:, 1]))
    r = run_json(capsys, path, "--taxonomy", tree_file, "--level", "1", "--positive", "malignant",
                 "--threshold", "0.4")
    y, s = top == "malignant", summed[:, 0]
    assert r["positive"] == "malignant" and r["n_positive"] == int(y.sum())
    assert r["auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert r["confusion_matrix"] == skm.confusion_matrix(y, s >= 0.4).tolist()
    assert r["sensitivity"] == pytest.approx(skm.recall_score(y, s >= 0.4))
    lo, hi = r["auc_ci"]
    assert lo < r["auc"] < hi and r["ci_method"] == "delong"
    assert set(r["operating_points"]) == {"youden", "sensitivity_0.95", "specificity_0.95"}
    # the keys of a plain binary evaluation of the same numbers
    plain = write_csv(path.replace("pred.csv", "binary.csv"), ["case_id", "label", "score"],
                      [(f"c{i}", int(y[i]), s[i]) for i in range(len(y))])
    binary = run_json(capsys, plain, "--threshold", "0.4")
    assert set(binary) <= set(r)
    assert {k: r[k] for k in binary if k != "n"} == {k: v for k, v in binary.items() if k != "n"}


def test_inner_node_labels_count_at_and_above_their_level_and_are_excluded_below(capsys, tmp_path, tree_file,
                                                                                  leaf_predictions):
    path, ids, labels, probs = leaf_predictions
    coarse = {0: "malignant", 1: "benign", 2: "epithelial_malignant", 3: "melanocytic_benign", 4: "malignant"}
    truth_labels = [coarse.get(i, lab) for i, lab in enumerate(labels)]
    truth = write_csv(tmp_path / "truth.csv", ["case_id", "label"], list(zip(ids, truth_labels)))
    up = {**LEVEL1, "malignant": "malignant", "benign": "benign", "epithelial_malignant": "malignant",
          "melanocytic_benign": "benign"}
    r1 = run_json(capsys, path, "--truth", truth, "--taxonomy", tree_file, "--level", "1")
    assert r1["n"] == len(ids) and r1["excluded"] == 0
    y1 = np.array([up[lab] == "benign" for lab in truth_labels])
    assert r1["auc"] == pytest.approx(skm.roc_auc_score(y1, hand_scores(probs, LEVEL1, LEVEL1_NODES)[:, 1]))
    r2 = run_json(capsys, path, "--truth", truth, "--taxonomy", tree_file, "--level", "2")
    assert r2["excluded"] == 3 and sorted(r2["excluded_cases"]) == [ids[0], ids[1], ids[4]]
    assert r2["n"] == len(ids) - 3
    assert sum(map(sum, r2["confusion_matrix"])) == len(ids) - 3
    # the epithelial_malignant and melanocytic_benign labels are counted at level 2
    kept = [i for i in range(len(ids)) if i not in (0, 1, 4)]
    y2 = np.array([LEVEL2_NODES.index(LEVEL2.get(truth_labels[i], truth_labels[i])) for i in kept])
    assert r2["confusion_matrix"] == skm.confusion_matrix(
        y2, hand_scores(probs, LEVEL2, LEVEL2_NODES)[kept].argmax(axis=1), labels=range(4)).tolist()
    leaf = run_json(capsys, path, "--truth", truth, "--taxonomy", tree_file, "--level", "leaf")
    assert leaf["excluded"] == 5 and leaf["n"] == len(ids) - 5
    assert "coarser than level leaf" in leaf["excluded_reason"]


def test_a_real_command_line_run(tmp_path, tree_file, leaf_predictions):
    path, _ids, labels, probs = leaf_predictions
    run = subprocess.run([sys.executable, "-m", "workstation.cli", "evaluate", path, "--taxonomy", tree_file,
                          "--level", "1", "--positive", "malignant", "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    r = json.loads(run.stdout)
    y = np.array([LEVEL1[lab] == "malignant" for lab in labels])
    assert r["auc"] == pytest.approx(skm.roc_auc_score(y, hand_scores(probs, LEVEL1, LEVEL1_NODES)[:, 0]))
    text = subprocess.run([sys.executable, "-m", "workstation.cli", "evaluate", path, "--taxonomy", tree_file,
                           "--level", "2"], capture_output=True, text=True)
    assert text.returncode == 0 and text.stdout.startswith("level 2") and "accuracy" in text.stdout


def one_line_failure(capsys, *argv) -> str:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_bad_input_is_one_clear_line(capsys, tmp_path, tree_file, leaf_predictions):
    path, ids, labels, probs = leaf_predictions
    other = write_csv(tmp_path / "other.csv", ["case_id", "label", "p_melanoma", "p_psoriasis"],
                      [("a", "melanoma", 0.5, 0.5)])
    assert "does not cover the model's classes" in one_line_failure(
        capsys, "evaluate", other, "--taxonomy", tree_file, "--level", "1")
    missing = write_csv(tmp_path / "missing.csv", ["case_id", "label"] + [f"p_{c}" for c in LEAVES[:-1]],
                        [("a", "melanoma", *([0.2] * 5))])
    assert "seborrhoeic_keratosis" in one_line_failure(capsys, "evaluate", missing, "--taxonomy", tree_file)
    bad_label = write_csv(tmp_path / "bad.csv", ["case_id", "label"], [(ids[0], "psoriasis")])
    line = one_line_failure(capsys, "evaluate", path, "--truth", bad_label, "--taxonomy", tree_file, "--level", "1")
    assert "'psoriasis' names no node" in line and ids[0] in line
    cycle = tmp_path / "cycle.json"
    cycle.write_text('{"malignant": {"melanoma": {"malignant": {}}}, "benign": {}}')
    assert "cycle" in one_line_failure(capsys, "evaluate", path, "--taxonomy", cycle, "--level", "1")
    assert "expected 1 to 3" in one_line_failure(capsys, "evaluate", path, "--taxonomy", tree_file, "--level", "9")
    assert "not a node of level 1" in one_line_failure(capsys, "evaluate", path, "--taxonomy", tree_file,
                                                       "--level", "1", "--positive", "melanoma")
    assert "two nodes" in one_line_failure(capsys, "evaluate", path, "--taxonomy", tree_file, "--level", "2",
                                           "--positive", "melanocytic_benign")
    assert "need --taxonomy" in one_line_failure(capsys, "evaluate", path, "--level", "1")
