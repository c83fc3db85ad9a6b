"""Parsing and validating a taxonomy, its levels, and node probabilities as sums of leaves'."""
import json

import numpy as np
import pytest
from tree6 import LEAVES, LEVEL1, LEVEL2, LEVEL1_NODES, LEVEL2_NODES, TREE6

from workstation.core.taxonomy import Taxonomy, TaxonomyError, TreeCursor

ISSUE_TREE = {"malignant": {"melanoma": {}, "carcinoma": {"bcc": {}, "scc": {}}},
              "benign": {"nevus": {}, "seborrhoeic_keratosis": {}}}


def test_structure_of_the_issue_tree():
    t = Taxonomy.from_json(json.dumps(ISSUE_TREE))
    assert t.leaves == ["melanoma", "bcc", "scc", "nevus", "seborrhoeic_keratosis"]
    assert t.inner_nodes == ["malignant", "carcinoma", "benign"]
    assert t.depth == 3 and t.level_names == ["1", "2", "leaf"]
    assert t.children(None) == ["malignant", "benign"] and t.children("carcinoma") == ["bcc", "scc"]
    assert t.parent("bcc") == "carcinoma" and t.parent("malignant") is None
    assert t.path("scc") == ["malignant", "carcinoma", "scc"]
    # a level is a partition of the leaves: melanoma (a leaf at depth 2) stays itself at level 3
    assert t.level_nodes(2) == ["melanoma", "carcinoma", "nevus", "seborrhoeic_keratosis"]
    assert t.level_nodes("leaf") == t.leaves == t.level_nodes(3)
    assert t.ancestor_at("bcc", 1) == "malignant" and t.ancestor_at("bcc", "2") == "carcinoma"
    assert t.ancestor_at("melanoma", "leaf") == "melanoma"
    assert t.ancestor_at("malignant", 2) is None and t.ancestor_at("carcinoma", "leaf") is None
    assert Taxonomy.from_json(t.to_json()) == t


def test_the_six_leaf_tree_matches_the_hand_mapping():
    t = Taxonomy(TREE6)
    assert t.leaves == LEAVES and t.level_nodes(1) == LEVEL1_NODES and t.level_nodes(2) == LEVEL2_NODES
    assert {leaf: t.ancestor_at(leaf, 1) for leaf in LEAVES} == LEVEL1
    assert {leaf: t.ancestor_at(leaf, 2) for leaf in LEAVES} == LEVEL2


@pytest.mark.parametrize("text, phrase", [
    ('{"a": {"x": {}}, "b": {"x": {}}}', "leaf 'x' appears twice"),
    ('{"a": {"x": {"y": {}}}, "x": {"z": {}}}', "node name 'x' appears twice"),
    ('{"a": {"b": {"a": {}}}}', "cycle: node 'a' is its own ancestor (a > b > a)"),
    ('{"a": {"b": {"c": {"b": {}}}}}', "cycle: node 'b' is its own ancestor"),
    ('{"a": [], "b": {}}', "node a: must be an object ({} for a leaf), not a list"),
    ('{"a": {"b": "leaf"}, "c": {}}', "node a > b: must be an object ({} for a leaf), not text"),
    ('{"a": {"b": null}, "c": {}}', "not null"),
    ('{"a": 1, "c": {}}', "not a number"),
    ('{"a": {}, "a": {}}', "node 'a' appears twice under one parent"),
    ('["a", "b"]', "a taxonomy is a JSON object of nodes, not a list"),
    ("{}", "the taxonomy is empty"),
    ('{"uncertain": {}, "b": {}}', "label state"),
    ('{" a": {}, "b": {}}', "without surrounding spaces"),
    ('{"a": {}', "not JSON"),
])
def test_bad_trees_are_one_clear_line(text, phrase):
    with pytest.raises(TaxonomyError) as info:
        Taxonomy.from_json(text)
    message = str(info.value)
    assert phrase in message and "\n" not in message


def test_load_names_the_file(tmp_path):
    path = tmp_path / "tree.json"
    path.write_text('{"a": {"b": {"a": {}}}}')
    with pytest.raises(TaxonomyError, match=r"tree\.json: cycle"):
        Taxonomy.load(path)
    with pytest.raises(TaxonomyError, match="cannot read"):
        Taxonomy.load(tmp_path / "missing.json")


def test_levels_the_tree_lacks():
    t = Taxonomy(TREE6)
    for bad in ("0", "4", "top", -1):
        with pytest.raises(TaxonomyError, match="expected 1 to 3 or 'leaf'"):
            t.level(bad)
    with pytest.raises(TaxonomyError, match="names no node"):
        t.ancestor_at("psoriasis", 1)


def test_classes_must_be_exactly_the_leaves():
    t = Taxonomy(TREE6)
    t.check_classes(list(reversed(LEAVES)))
    with pytest.raises(TaxonomyError, match="does not cover the model's classes: not in the tree: 'psoriasis'"):
        t.check_classes(LEAVES + ["psoriasis"], what="the model's classes")
    with pytest.raises(TaxonomyError, match="inner node"):
        t.check_classes(LEAVES[:-1] + ["benign"])
    with pytest.raises(TaxonomyError, match="'scc' are missing"):
        t.check_classes([c for c in LEAVES if c != "scc"])


def test_node_probabilities_sum_to_one_at_every_level():
    t = Taxonomy(TREE6)
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(6), size=200)
    for level in t.level_names:
        nodes = t.level_nodes(level)
        p = t.node_probabilities(probs, level)
        assert p.shape == (200, len(nodes))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        # each node is the sum of its own leaves' columns
        for j, node in enumerate(nodes):
            cols = [LEAVES.index(leaf) for leaf in t.leaves_under(node)]
            np.testing.assert_allclose(p[:, j], probs[:, cols].sum(axis=1))
    one = dict(zip(LEAVES, probs[0]))
    as_dict = t.node_probabilities(one, 1)
    assert as_dict["malignant"] == pytest.approx(sum(one[k] for k, v in LEVEL1.items() if v == "malignant"))
    assert sum(as_dict.values()) == pytest.approx(1.0)
    assert t.top_node(one, 1) == max(as_dict.items(), key=lambda kv: kv[1])
    # columns in another order than the tree's leaves
    shuffled = LEAVES[::-1]
    np.testing.assert_allclose(t.node_probabilities(probs[:, ::-1], 2, shuffled), t.node_probabilities(probs, 2))


def test_cursor_walks_down_and_up():
    cursor = TreeCursor(Taxonomy(TREE6))
    assert cursor.choices() == LEVEL1_NODES and cursor.choice(3) is None
    assert cursor.down(cursor.choice(1)) and cursor.choices() == ["melanocytic_malignant", "epithelial_malignant"]
    assert cursor.down("epithelial_malignant") and cursor.choices() == ["bcc", "scc"]
    assert not cursor.down("bcc")
    assert cursor.up() and cursor.node == "malignant"
    assert cursor.up() and cursor.node is None and not cursor.up()


def test_a_level_of_one_node_has_nothing_to_tell_apart():
    from workstation.core.taxonomy import level_classes

    t = Taxonomy({"lesion": {"melanoma": {}, "nevus": {}}})
    with pytest.raises(TaxonomyError, match="level 1 has one node"):
        level_classes(t, 1)
    assert level_classes(t, "leaf") == ("binary", ["melanoma", "nevus"])
    flat = Taxonomy({"a": {}, "b": {}, "c": {}})
    assert flat.level_names == ["leaf"] and flat.level_nodes(1) == ["a", "b", "c"]
