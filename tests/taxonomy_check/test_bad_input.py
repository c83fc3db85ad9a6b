"""Bad trees and bad labels (issue 18, point 6, and the validation of point 1): exit status nonzero,
exactly one clear line on stderr naming the culprit, no traceback, and nothing stored."""
from __future__ import annotations

import csv
import json

import pytest

import taxonomy_checks as ck
import taxonomy_reference as ref

BAD_TREES = {
    "leaf_twice": ({"malignant": {"melanoma": {}, "bcc": {}}, "benign": {"nevus": {}, "melanoma": {}}}, "melanoma"),
    "inner_and_leaf_share_a_name": ({"malignant": {"melanoma": {}, "carcinoma": {"bcc": {}, "scc": {}}},
                                     "benign": {"carcinoma": {}, "nevus": {}}}, "carcinoma"),
    "cycle_a_node_under_itself": ({"lesion": {"tumour": {"lesion": {}}}, "normal": {}}, "lesion"),
    "leaf_twice_in_one_object": ('{"malignant": {"melanoma": {}, "melanoma": {}}, "benign": {"nevus": {}}}',
                                 "melanoma"),
    "leaf_is_a_list": ({"malignant": {"melanoma": [], "bcc": {}}, "benign": {"nevus": {}}}, "melanoma"),
    "leaf_is_null": ({"malignant": {"melanoma": None, "bcc": {}}, "benign": {"nevus": {}}}, "melanoma"),
    "leaf_is_a_string": ({"malignant": {"melanoma": "leaf", "bcc": {}}, "benign": {"nevus": {}}}, "melanoma"),
    "leaf_is_a_number": ({"malignant": {"melanoma": 1, "bcc": {}}, "benign": {"nevus": {}}}, "melanoma"),
    "not_json": ('{"malignant": {"melanoma": {}', None),
    "top_is_a_list": ('["malignant", "benign"]', None),
    "empty": ("{}", None),
}


@pytest.fixture(scope="module")
def skin(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    tree = ref.Tree(ref.SKIN)
    cases = ref.make_cases(tree, 40, 5)
    return d, tree, cases, ref.write_predictions(d / "pred.csv", cases), ref.write_tree(d / "good.json", ref.SKIN)


@pytest.mark.parametrize("case", list(BAD_TREES))
def test_evaluate_refuses_a_bad_tree(skin, tmp_path, case):
    spec, culprit = BAD_TREES[case]
    _, _, _, pred, _ = skin
    tree = ref.write_tree(tmp_path / "tree.json", spec)
    ck.assert_one_clear_line(ck.cli("evaluate", pred, "--taxonomy", tree, "--level", 1, "--json"),
                             *([culprit] if culprit else []))


# init reads the tree like evaluate does: a few kinds of fault are enough here (keeps the check fast)
@pytest.mark.parametrize("case", ["leaf_twice", "inner_and_leaf_share_a_name", "cycle_a_node_under_itself",
                                  "leaf_is_a_list", "not_json"])
def test_project_init_refuses_a_bad_tree_and_stores_nothing(tmp_path, case):
    spec, culprit = BAD_TREES[case]
    tree = ref.write_tree(tmp_path / "tree.json", spec)
    target = tmp_path / "proj"
    ck.assert_one_clear_line(ck.cli("project", "init", target, "--task", "multiclass", "--taxonomy", tree),
                             *([culprit] if culprit else []))
    assert not target.exists() or not any(target.iterdir()), \
        f"a refused init left files behind: {sorted(p.name for p in target.iterdir())}"


def test_project_init_refuses_a_reserved_label_as_a_node(tmp_path):
    """project.md: class names may not be `uncertain` or `not_assessable` (they are label values)."""
    tree = ref.write_tree(tmp_path / "tree.json", {"malignant": {"melanoma": {}, "uncertain": {}},
                                                   "benign": {"nevus": {}}})
    target = tmp_path / "proj"
    ck.assert_one_clear_line(ck.cli("project", "init", target, "--task", "multiclass", "--taxonomy", tree),
                             "uncertain")
    assert not target.exists() or not any(target.iterdir())


def test_evaluate_refuses_a_taxonomy_that_does_not_cover_the_classes(skin, tmp_path):
    """The prediction file has a class (p_wart) that is no leaf of the tree."""
    _, _, cases, _, good = skin
    path = tmp_path / "pred.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_id", "label"] + [f"p_{c}" for c in cases.leaf_names] + ["p_wart"])
        for cid, lab, row in zip(cases.ids, cases.labels, ref.read_back(cases)):
            w.writerow([cid, lab] + [f"{p * 0.9:.7f}" for p in row] + ["0.1"])
    ck.assert_one_clear_line(ck.cli("evaluate", path, "--taxonomy", good, "--level", 1, "--json"), "wart")


def test_evaluate_refuses_a_label_naming_no_node(skin, tmp_path):
    _, _, cases, _, good = skin
    labels = list(cases.labels)
    labels[7] = "wart"
    path = ref.write_predictions(tmp_path / "pred.csv", ref.Cases(cases.ids, labels, cases.leaf_names, cases.probs))
    ck.assert_one_clear_line(ck.cli("evaluate", path, "--taxonomy", good, "--level", 1, "--json"), "wart")


def test_evaluate_refuses_a_truth_label_naming_no_node(skin, tmp_path):
    _, _, cases, _, good = skin
    scores = ref.write_predictions(tmp_path / "scores.csv", cases, with_label=False)
    truth = ref.write_truth(tmp_path / "truth.csv", cases.ids, cases.labels[:-1] + ["wart"])
    ck.assert_one_clear_line(ck.cli("evaluate", scores, "--truth", truth, "--taxonomy", good, "--level", 2,
                                    "--json"), "wart")


@pytest.mark.parametrize("level", ["0", "4", "deep"])
def test_evaluate_refuses_a_level_the_tree_has_not(skin, level):
    _, _, _, pred, good = skin   # the skin tree is 3 deep
    ck.assert_one_clear_line(ck.cli("evaluate", pred, "--taxonomy", good, "--level", level, "--json"))


@pytest.mark.parametrize("positive", ["melanoma", "wart"])
def test_evaluate_refuses_a_positive_that_is_not_a_top_node(skin, positive):
    _, _, _, pred, good = skin
    ck.assert_one_clear_line(ck.cli("evaluate", pred, "--taxonomy", good, "--level", 1, "--positive", positive,
                                    "--json"), positive)


def test_the_good_tree_is_accepted(skin):
    """The same files with the good tree work: the refusals above come from the bad part alone."""
    _, tree, cases, pred, good = skin
    doc = ck.cli("evaluate", pred, "--taxonomy", good, "--level", 1, "--json").json()
    assert doc["n"] == len(cases.ids)
    assert json.loads(good.read_text()) == ref.SKIN


def test_evaluate_refuses_a_tree_leaf_the_file_has_no_column_for(skin, tmp_path):
    """The tree has `scc`, the file has no p_scc: node probabilities could not be summed."""
    _, _, cases, _, good = skin
    keep = [i for i, c in enumerate(cases.leaf_names) if c != "scc"]
    probs = ref.read_back(cases)[:, keep]
    probs /= probs.sum(axis=1, keepdims=True)
    labels = ["bcc" if lab == "scc" else lab for lab in cases.labels]
    path = ref.write_predictions(tmp_path / "pred.csv", ref.Cases(cases.ids, labels,
                                                                   [cases.leaf_names[i] for i in keep], probs))
    ck.assert_one_clear_line(ck.cli("evaluate", path, "--taxonomy", good, "--level", 1, "--json"), "scc")


def test_evaluate_refuses_positive_at_a_level_of_more_than_two_nodes(skin):
    _, _, _, pred, good = skin
    ck.assert_one_clear_line(ck.cli("evaluate", pred, "--taxonomy", good, "--level", 2, "--positive", "melanoma",
                                    "--json"))


def test_evaluate_refuses_a_level_without_a_taxonomy(skin):
    _, _, _, pred, _ = skin
    ck.assert_one_clear_line(ck.cli("evaluate", pred, "--level", 1, "--json"))


def test_evaluate_refuses_a_taxonomy_for_a_binary_file(tmp_path, skin):
    _, _, _, _, good = skin
    path = tmp_path / "binary.csv"
    path.write_text("case_id,label,score\na,0,0.2\nb,1,0.7\nc,0,0.4\nd,1,0.9\n")
    ck.assert_one_clear_line(ck.cli("evaluate", path, "--taxonomy", good, "--json"))


def test_metrics_refuses_a_level_in_a_project_without_a_taxonomy(tmp_path):
    flat = tmp_path / "flat"
    assert ck.cli("project", "init", flat, "--task", "multiclass", "--classes", "a,b,c").rc == 0
    ck.assert_one_clear_line(ck.cli("metrics", flat, "--level", 1, "--json"), "taxonomy")
