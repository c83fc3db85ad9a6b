"""Truth and scores read at one level of a taxonomy: each label and each leaf prediction is mapped
to its ancestor at that level. A label at an inner node coarser than the level cannot be read there:
its case is excluded (and counted), never guessed. A level of two nodes is a binary task
(negative, positive), scored with the positive node's summed probability."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from workstation.core.taxonomy.tree import Taxonomy, TaxonomyError
from workstation.core.vocab import Task


@dataclass
class LevelTable:
    level: str                  # the level's name ("1", "2", ..., "leaf")
    classes: list[str]          # the level's nodes; binary: (negative, positive)
    task: str                   # "binary" | "multiclass"
    case_ids: list[str]
    y_true: np.ndarray          # indices into classes
    scores: np.ndarray          # n x len(classes) summed leaf probabilities
    excluded: list[str] = field(default_factory=list)  # cases labelled at a node coarser than the level

    def __len__(self) -> int:
        return len(self.case_ids)

    @property
    def positive(self) -> str | None:
        return self.classes[1] if self.task == Task.BINARY else None


def level_classes(taxonomy: Taxonomy, level, positive: str | None = None) -> tuple[str, list[str]]:
    """(task, classes) of a level: two nodes are binary (negative, positive; by default the second
    node is positive), more are multi-class; `positive` needs a two-node level."""
    nodes = taxonomy.level_nodes(level)
    name = taxonomy.level_name(level)
    if len(nodes) < 2:
        raise TaxonomyError(f"level {name} has one node ({nodes[0]}): nothing to tell apart")
    if len(nodes) > 2:
        if positive is not None:
            raise TaxonomyError(f"--positive needs a level of two nodes; level {name} has {len(nodes)} "
                                f"({', '.join(nodes)})")
        return "multiclass", nodes
    if positive is None:
        return "binary", nodes
    if positive not in nodes:
        raise TaxonomyError(f"--positive {positive!r} is not a node of level {name} ({', '.join(nodes)})")
    return "binary", [n for n in nodes if n != positive] + [positive]


def map_labels(taxonomy: Taxonomy, labels: Iterable[str], level) -> list[str | None]:
    """Each label's node at `level` (None: an inner node coarser than the level)."""
    return [taxonomy.ancestor_at(label, level) for label in labels]


def at_level(taxonomy: Taxonomy, case_ids: Sequence[str], labels: Sequence[str], leaf_scores, classes: Sequence[str],
             level, positive: str | None = None) -> LevelTable:
    """`labels` name any node; `leaf_scores` (n x K) follow `classes`, which must be the leaves."""
    task, nodes = level_classes(taxonomy, level, positive)
    taxonomy.check_classes(classes, what="the model's classes")
    for case_id, label in zip(case_ids, labels):
        if label not in taxonomy:
            raise TaxonomyError(f"case {case_id!r}: label {label!r} names no node of the taxonomy")
    scores = np.asarray(leaf_scores, dtype=float).reshape(len(case_ids), len(classes))
    summed = scores @ taxonomy.summing_matrix(level, classes)
    order = [taxonomy.level_nodes(level).index(n) for n in nodes]
    summed = summed[:, order]
    mapped = map_labels(taxonomy, labels, level)
    keep = [i for i, m in enumerate(mapped) if m is not None]
    index = {n: j for j, n in enumerate(nodes)}
    return LevelTable(level=taxonomy.level_name(level), classes=nodes, task=task,
                      case_ids=[case_ids[i] for i in keep],
                      y_true=np.array([index[mapped[i]] for i in keep], dtype=np.intp),
                      scores=summed[keep].reshape(len(keep), len(nodes)),
                      excluded=[case_ids[i] for i, m in enumerate(mapped) if m is None])
