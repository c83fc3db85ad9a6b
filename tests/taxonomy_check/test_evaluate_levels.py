"""`workstation evaluate PRED.csv [--truth TRUTH.csv] --taxonomy TREE.json --level DEPTH|leaf --json`
against per-level metrics computed here, on three trees: the skin-lesion tree of the issue (leaves at
depths 2 and 3), a 6-leaf 3-level tree and an unbalanced tree with three nodes at the top (leaves at
depths 1 to 4). A fifth of the labels name an inner node."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import taxonomy_checks as ck
import taxonomy_reference as ref

TREES = {"skin": (ref.SKIN, 120, 11), "six": (ref.SIX, 150, 12), "unbalanced": (ref.UNBALANCED, 160, 13)}
LEVELS = [(name, level) for name, (spec, _, _) in TREES.items()
          for level in [*range(1, ref.Tree(spec).max_depth + 1), "leaf"]]
_runs: dict = {}


def evaluate(*args):
    """One CLI run per distinct argument list in the module (the checks share them)."""
    key = tuple(map(str, args))
    if key not in _runs:
        _runs[key] = ck.cli("evaluate", *args)
    return _runs[key]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = {}
    for name, (spec, n, seed) in TREES.items():
        d = tmp_path_factory.mktemp(name)
        tree = ref.Tree(spec)
        cases = ref.make_cases(tree, n, seed)
        # the truth file: rows in another order, and two cases the predictions do not have
        ids = cases.ids[::-1] + ["extra1", "extra2"]
        labels = cases.labels[::-1] + [tree.leaves[0], tree.leaves[-1]]
        out[name] = SimpleNamespace(
            tree=tree, cases=cases, tree_file=ref.write_tree(d / "tree.json", spec),
            pred=ref.write_predictions(d / "pred.csv", cases),
            scores=ref.write_predictions(d / "scores.csv", cases, with_label=False),
            truth=ref.write_truth(d / "truth.csv", ids, labels))
    return out


def test_the_data_is_what_the_check_needs(data):
    """Every tree has inner-node labels, so that exclusion is exercised, and the model is informative."""
    for name, d in data.items():
        inner = [lab for lab in d.cases.labels if not d.tree.is_leaf(lab)]
        assert len(inner) >= 10, name
        assert ref.expected(d.tree, d.cases, 1).accuracy > 0.6, name


@pytest.mark.parametrize("name,level", LEVELS)
def test_level_matches_reference(data, name, level):
    d = data[name]
    doc = evaluate(d.pred, "--taxonomy", d.tree_file, "--level", level, "--json").json()
    ck.check_level(doc, ref.expected(d.tree, d.cases, level), name)


@pytest.mark.parametrize("name,level", [("skin", 1), ("skin", "leaf"), ("unbalanced", 3)])
def test_level_with_truth_file(data, name, level):
    d = data[name]
    doc = evaluate(d.scores, "--truth", d.truth, "--taxonomy", d.tree_file, "--level", level, "--json").json()
    ck.check_level(doc, ref.expected(d.tree, d.cases, level), f"{name} (--truth)")


@pytest.mark.parametrize("name,positive", [("skin", "malignant"), ("skin", "benign"), ("six", "abnormal")])
def test_binary_top_with_positive(data, name, positive):
    d = data[name]
    doc = evaluate(d.pred, "--taxonomy", d.tree_file, "--level", 1, "--positive", positive, "--json").json()
    exp = ref.expected(d.tree, d.cases, 1, positive=positive)
    ck.check_level(doc, exp, f"{name} --positive {positive}")


def test_default_level_is_leaf(data):
    """`evaluate --help`: --level defaults to leaf."""
    d = data["unbalanced"]
    doc = evaluate(d.pred, "--taxonomy", d.tree_file, "--json").json()
    ck.check_level(doc, ref.expected(d.tree, d.cases, "leaf"), "unbalanced, no --level")


def test_default_positive_is_the_second_top_node(data):
    """The issue: `--positive NODE` names the positive class, default the second node. In the skin tree
    of the issue the second top node is "benign"."""
    d = data["skin"]
    doc = evaluate(d.pred, "--taxonomy", d.tree_file, "--level", 1, "--json").json()
    exp = ref.expected(d.tree, d.cases, 1)
    assert exp.binary["positive"] == "benign"
    assert doc["n_positive"] == exp.binary["n_positive"], \
        f"n_positive {doc['n_positive']}: expected the benign count {exp.binary['n_positive']}"
    ck.check_binary(doc, exp.binary, "skin default positive")


def test_binary_top_is_sklearn_on_the_summed_scores(data):
    """The top AUC equals roc_auc_score of the truth against P(node) = the sum of its leaves, and differs
    from the AUC of any single leaf's probability (so a summing mistake shows)."""
    from sklearn.metrics import roc_auc_score

    d = data["six"]
    doc = evaluate(d.pred, "--taxonomy", d.tree_file, "--level", 1, "--positive", "abnormal", "--json").json()
    probs = ref.read_back(d.cases)
    top = [d.tree.at_level(lab, 1) for lab in d.cases.labels]
    y = np.array([t == "abnormal" for t in top])
    under = [d.cases.leaf_names.index(x) for x in d.tree.leaves_under("abnormal")]
    summed = roc_auc_score(y, probs[:, under].sum(axis=1))
    ck.close(doc["auc"], summed, what="AUC of P(abnormal)")
    for k in under:
        assert abs(roc_auc_score(y, probs[:, k]) - summed) > 1e-3


def test_excluded_labels_are_counted_above(data):
    """A label at "carcinoma" counts at levels 1 and 2 and is excluded at 3 and leaf; one at
    "malignant" counts only at level 1."""
    d = data["skin"]
    labels = np.array(d.cases.labels)
    n_malignant = int((labels == "malignant").sum())
    n_carcinoma = int((labels == "carcinoma").sum())
    n_benign = int((labels == "benign").sum())
    assert n_malignant and n_carcinoma and n_benign
    n = len(labels)
    for level, excluded in [(1, 0), (2, n_malignant + n_benign), (3, n_malignant + n_benign + n_carcinoma),
                            ("leaf", n_malignant + n_benign + n_carcinoma)]:
        doc = evaluate(d.pred, "--taxonomy", d.tree_file, "--level", level, "--json").json()
        assert doc["n"] == n - excluded, f"level {level}: n {doc['n']}, expected {n - excluded}"
        if excluded:
            assert excluded in ck.find_excluded(doc), \
                f"level {level}: {excluded} excluded, output says {ck.find_excluded(doc)}"
    text = evaluate(d.pred, "--taxonomy", d.tree_file, "--level", 2)
    assert text.rc == 0 and f"{n_malignant + n_benign} case" in text.out and "exclu" in text.out, \
        f"the text summary should say how many were excluded: {text.out[:300]}"


def test_every_label_coarser_than_the_level(data, tmp_path):
    """Nothing left to evaluate at level 2 when every label is a top node: n 0, every case excluded."""
    d = data["skin"]
    top = [d.tree.path(lab)[0] for lab in d.cases.labels]
    path = ref.write_predictions(tmp_path / "coarse.csv", ref.Cases(d.cases.ids, top, d.cases.leaf_names,
                                                                    d.cases.probs))
    doc = evaluate(path, "--taxonomy", d.tree_file, "--level", 2, "--json").json()
    assert doc["n"] == 0 and ck.find_excluded(doc) and set(ck.find_excluded(doc)) == {len(top)}, doc
    assert ck.cli("evaluate", path, "--taxonomy", d.tree_file, "--level", 1, "--json").json()["n"] == len(top)


def test_checks_catch_a_wrong_answer(data):
    """The comparisons are not vacuous: the real output fails against shuffled labels, against the
    neighbouring level, and against the other positive class."""
    d = data["skin"]
    doc2 = evaluate(d.pred, "--taxonomy", d.tree_file, "--level", 2, "--json").json()
    shuffled = list(np.random.default_rng(0).permutation(d.cases.labels))
    with pytest.raises(AssertionError):
        ck.check_level(doc2, ref.expected(d.tree, d.cases, 2, labels=shuffled))
    with pytest.raises(AssertionError):
        ck.check_level(doc2, ref.expected(d.tree, d.cases, 3))
    doc1 = evaluate(d.pred, "--taxonomy", d.tree_file, "--level", 1, "--json").json()
    with pytest.raises(AssertionError):
        ck.check_level(doc1, ref.expected(d.tree, d.cases, 1, positive="malignant"))
    # and the truth must be matched by case_id, not by row: a truth file in row order but with the
    # labels shuffled gives other numbers
    assert ref.expected(d.tree, d.cases, 2, labels=shuffled).confusion.tolist() != \
        ref.expected(d.tree, d.cases, 2).confusion.tolist()


def test_the_reference_agrees_with_the_flat_evaluation(data, tmp_path):
    """The reference itself is checked against today's flat `evaluate` (no taxonomy): the leaf level
    of the unbalanced tree written as a plain multi-class file (inner-node labels left out), and the
    skin top written as a plain binary file with score = P(benign) summed here."""
    d = data["unbalanced"]
    exp = ref.expected(d.tree, d.cases, "leaf")
    keep = [i for i, lab in enumerate(d.cases.labels) if d.tree.is_leaf(lab)]
    flat = ref.Cases([d.cases.ids[i] for i in keep], [d.cases.labels[i] for i in keep], d.cases.leaf_names,
                     d.cases.probs[keep])
    doc = evaluate(ref.write_predictions(tmp_path / "flat.csv", flat), "--json").json()
    assert doc["n"] == exp.n
    ck.check_multiclass(doc, exp, "flat unbalanced leaf")

    d = data["skin"]
    b = ref.expected(d.tree, d.cases, 1).binary
    path = tmp_path / "binary.csv"
    path.write_text("case_id,label,score\n" + "".join(
        f"{cid},{y},{float(s)!r}\n" for cid, y, s in zip(d.cases.ids, b["y"], b["score"])))
    ck.check_binary(evaluate(path, "--json").json(), b, "flat skin top")
