"""A class hierarchy: nested JSON objects whose keys are node names and whose leaves are `{}`.

    {"malignant": {"melanoma": {}, "carcinoma": {"bcc": {}, "scc": {}}},
     "benign": {"nevus": {}, "seborrhoeic_keratosis": {}}}

The leaves are a project's classes. A level is named by depth: 1 is the top split, `leaf` the
leaves. The nodes of level d are the nodes at depth d plus the leaves shallower than d (a leaf is
its own descendant at every finer level), so every level is a partition of the leaves and a
node's probability, the sum of its leaves' (Esteva et al. 2017), sums to 1 over a level.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from workstation.core.errors import WorkstationError

LEAF = "leaf"
RESERVED = ("uncertain", "not_assessable")  # label states, never node names


class TaxonomyError(WorkstationError, ValueError):
    """A tree, level or node name that cannot be used; str() is one line."""


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise TaxonomyError(f"node {key!r} appears twice under one parent")
        seen[key] = value
    return seen


class Taxonomy:
    """An immutable, validated tree. Nodes are listed in document (pre-)order everywhere."""

    def __init__(self, tree: Mapping[str, Any]):
        if not isinstance(tree, Mapping):
            raise TaxonomyError(f"a taxonomy is a JSON object of nodes, not {_kind(tree)}")
        if not tree:
            raise TaxonomyError("the taxonomy is empty")
        self._children: dict[str | None, list[str]] = {None: []}
        self._parent: dict[str, str | None] = {}
        self._depth: dict[str, int] = {}
        self._walk(tree, None, ())
        self.nodes: list[str] = list(self._parent)
        self.leaves: list[str] = [n for n in self.nodes if not self._children[n]]
        self.inner_nodes: list[str] = [n for n in self.nodes if self._children[n]]
        self.depth: int = max(self._depth.values())
        self._under = {n: self._leaves_below(n) for n in self.nodes}

    def _walk(self, tree: Mapping, parent: str | None, path: tuple[str, ...]) -> None:
        for name, sub in tree.items():
            if not isinstance(name, str) or not name.strip() or name != name.strip():
                raise TaxonomyError(f"node name {name!r} must be non-empty text without surrounding spaces")
            if name in RESERVED:
                raise TaxonomyError(f"node name {name!r} is a label state ({', '.join(RESERVED)}), not a class")
            where = " > ".join(path + (name,))
            if name in path:
                raise TaxonomyError(f"cycle: node {name!r} is its own ancestor ({where})")
            if not isinstance(sub, Mapping):
                raise TaxonomyError(f"node {where}: must be an object ({{}} for a leaf), not {_kind(sub)}")
            if name in self._parent:
                first = " > ".join(self.path(name))
                both_leaves = not sub and not self._children[name]
                raise TaxonomyError(f"{'leaf' if both_leaves else 'node name'} {name!r} appears twice "
                                    f"({first} and {where}); names must be unique")
            self._parent[name] = parent
            self._depth[name] = len(path) + 1
            self._children[name] = []
            self._children[parent].append(name)
            self._walk(sub, name, path + (name,))

    def _leaves_below(self, node: str) -> list[str]:
        if not self._children[node]:
            return [node]
        return [leaf for child in self._children[node] for leaf in self._leaves_below(child)]

    # ---- reading ---------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: str | bytes | Mapping) -> "Taxonomy":
        """From JSON text or an already parsed object; raises TaxonomyError saying what is wrong."""
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data, object_pairs_hook=_no_repeated_keys)
            except json.JSONDecodeError as exc:
                raise TaxonomyError(f"not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
        return cls(data)

    @classmethod
    def load(cls, path) -> "Taxonomy":
        """From a file; errors name the file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise TaxonomyError(f"{p}: cannot read the taxonomy ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise TaxonomyError(f"{p}: the taxonomy is not UTF-8 text") from None
        try:
            return cls.from_json(text)
        except TaxonomyError as exc:
            raise TaxonomyError(f"{p}: {exc}") from None

    def to_json(self) -> dict:
        """The nested-object form (what from_json reads)."""
        def build(parent):
            return {child: build(child) for child in self._children[parent]}
        return build(None)

    def __eq__(self, other) -> bool:
        return isinstance(other, Taxonomy) and self.to_json() == other.to_json() and self.nodes == other.nodes

    def __repr__(self) -> str:
        return f"Taxonomy({len(self.leaves)} leaves, {len(self.nodes)} nodes, depth {self.depth})"

    # ---- structure -------------------------------------------------------------------------------
    def __contains__(self, node) -> bool:
        return node in self._parent

    def _known(self, node: str) -> str:
        if node not in self._parent:
            raise TaxonomyError(f"{node!r} names no node of the taxonomy")
        return node

    def children(self, node: str | None = None) -> list[str]:
        """The children of `node`; of the root (the top split, level 1) when None."""
        return list(self._children[None if node is None else self._known(node)])

    def parent(self, node: str) -> str | None:
        """None for a top-level node."""
        return self._parent[self._known(node)]

    def path(self, node: str) -> list[str]:
        """From the top-level node down to `node`."""
        out = [self._known(node)]
        while self._parent[out[-1]] is not None:
            out.append(self._parent[out[-1]])
        return out[::-1]

    def depth_of(self, node: str) -> int:
        """1 for a top-level node."""
        return self._depth[self._known(node)]

    def is_leaf(self, node: str) -> bool:
        return not self._children[self._known(node)]

    def leaves_under(self, node: str) -> list[str]:
        return list(self._under[self._known(node)])

    # ---- levels ----------------------------------------------------------------------------------
    @property
    def level_names(self) -> list[str]:
        """"1" ... str(depth - 1) and "leaf" (the deepest level is the leaves)."""
        return [str(d) for d in range(1, self.depth)] + [LEAF]

    def level(self, level: int | str) -> int:
        """A level name ("1", 2, "leaf") as a depth; raises TaxonomyError for one the tree lacks."""
        if isinstance(level, str) and level.strip().lower() == LEAF:
            return self.depth
        try:
            d = int(str(level).strip())
        except ValueError:
            d = 0
        if not 1 <= d <= self.depth:
            raise TaxonomyError(f"level {level!r}: expected 1 to {self.depth} or {LEAF!r}")
        return d

    def level_name(self, level: int | str) -> str:
        d = self.level(level)
        return LEAF if d == self.depth else str(d)

    def level_nodes(self, level: int | str) -> list[str]:
        """The nodes of a level, in document order: a partition of the leaves."""
        d = self.level(level)
        return [n for n in self.nodes if self._depth[n] == d or (self._depth[n] < d and not self._children[n])]

    def ancestor_at(self, node: str, level: int | str) -> str | None:
        """The node of `level` that holds `node` (node itself when it is of that level), or None when
        `node` is an inner node coarser than the level (a label that cannot be read there)."""
        d = self.level(level)
        here = self._known(node)
        if self._depth[here] < d:
            return here if not self._children[here] else None
        while self._depth[here] > d:
            here = self._parent[here]
        return here

    def node_probabilities(self, leaf_probs, level: int | str, classes: Iterable[str] | None = None):
        """Each node's probability at `level`: the sum of its leaves'.

        A mapping {leaf: p} gives {node: p}. An array (n x K or K) whose columns follow `classes`
        (default: self.leaves) gives an array whose columns follow `level_nodes(level)`."""
        nodes = self.level_nodes(level)
        if isinstance(leaf_probs, Mapping):
            self.check_classes(leaf_probs.keys(), what="the probabilities")
            return {n: float(sum(leaf_probs[leaf] for leaf in self._under[n])) for n in nodes}
        import numpy as np

        columns = list(self.leaves if classes is None else classes)
        self.check_classes(columns, what="the probabilities")
        probs = np.asarray(leaf_probs, dtype=float)
        if probs.shape[-1] != len(columns):
            raise TaxonomyError(f"{probs.shape[-1]} probability column(s) for {len(columns)} classes")
        return probs @ self.summing_matrix(level, columns)

    def top_node(self, leaf_probs: Mapping[str, float], level: int | str) -> tuple[str, float]:
        """The most probable node of `level` and its probability (a worklist's prediction there)."""
        probs = self.node_probabilities(leaf_probs, level)
        node = max(probs, key=probs.get)
        return node, probs[node]

    def summing_matrix(self, level: int | str, classes: Iterable[str] | None = None):
        """K x m 0/1 matrix: leaf probabilities (columns in `classes` order) @ it = node probabilities."""
        import numpy as np

        columns = list(self.leaves if classes is None else classes)
        index = {c: k for k, c in enumerate(columns)}
        nodes = self.level_nodes(level)
        matrix = np.zeros((len(columns), len(nodes)))
        for j, n in enumerate(nodes):
            matrix[[index[leaf] for leaf in self._under[n]], j] = 1.0
        return matrix

    def check_classes(self, classes: Iterable[str], what: str = "the classes") -> None:
        """Raise TaxonomyError unless `classes` are exactly the leaves (in any order)."""
        classes = list(classes)
        repeated = sorted({c for c in classes if classes.count(c) > 1})
        if repeated:
            raise TaxonomyError(f"{what} name {', '.join(map(repr, repeated))} more than once")
        not_leaves = [c for c in classes if c not in self._parent or self._children[c]]
        missing = [leaf for leaf in self.leaves if leaf not in set(classes)]
        if not_leaves:
            inner = [c for c in not_leaves if c in self._parent]
            raise TaxonomyError(f"the taxonomy does not cover {what}: "
                                + ("inner node(s), not leaves: " if inner == not_leaves else "not in the tree: ")
                                + ", ".join(map(repr, not_leaves)))
        if missing:
            raise TaxonomyError(f"the taxonomy's leaves {', '.join(map(repr, missing))} are missing from {what}")


def _kind(value) -> str:
    return {list: "a list", str: "text", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)
