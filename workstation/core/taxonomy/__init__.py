"""Class hierarchies (Qt-free): a taxonomy whose leaves are a project's classes, its levels, labels
and predictions mapped to a level, node probabilities as sums of leaf probabilities.

    from workstation.core.taxonomy import Taxonomy, at_level
    tree = Taxonomy.load("tree.json")            # or Taxonomy.from_json(text_or_dict); validates
    tree.leaves, tree.nodes, tree.depth, tree.level_names        # [...], [...], 3, ["1", "2", "leaf"]
    tree.children(None), tree.children("malignant"), tree.parent("bcc"), tree.path("bcc")
    tree.level_nodes(1), tree.ancestor_at("bcc", 1)              # ["malignant", "benign"], "malignant"
    tree.node_probabilities({"bcc": .2, ...}, level=1)           # {"malignant": .., "benign": ..}
    TreeCursor(tree).choices()                                   # the digit keys of the review
    at_level(tree, case_ids, labels, leaf_scores, classes, level="1", positive="malignant")
"""
from workstation.core.taxonomy.cursor import TreeCursor
from workstation.core.taxonomy.tree import LEAF, Taxonomy, TaxonomyError

_LEVELS = ("LevelTable", "at_level", "level_classes", "map_labels")


def __getattr__(name: str):
    """The level tables need numpy: imported on first use, so a label call does not pay for it."""
    if name in _LEVELS:
        from workstation.core.taxonomy import levels

        return getattr(levels, name)
    raise AttributeError(name)

__all__ = ["TreeCursor", "Taxonomy", "TaxonomyError", "LEAF", "LevelTable", "at_level", "level_classes", "map_labels"]
