"""The reference side of the taxonomy check: trees, prediction files and per-level metrics computed
here from the issue's definitions (numpy, scikit-learn, scipy), never from the workstation package.

A level is a depth (1 = the top split) or "leaf". At depth d the classes are the nodes at depth d
plus the leaves shallower than d (a leaf is its own class all the way down); a node's probability
is the sum of its leaves'. A label at an inner node shallower than d (or any inner node at "leaf")
is not counted at that level: it is excluded."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import norm
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

SKIN = {"malignant": {"melanoma": {}, "carcinoma": {"bcc": {}, "scc": {}}},
        "benign": {"nevus": {}, "seborrhoeic_keratosis": {}}}
# 6 leaves, 3 levels, balanced in depth: every leaf at depth 3.
SIX = {"abnormal": {"inflammatory": {"pneumonia": {}, "abscess": {}},
                    "neoplastic": {"nodule": {}, "mass": {}}},
       "normal": {"clear": {"clear_adult": {}, "clear_child": {}}}}
# Unbalanced: leaves at depths 1, 2, 3 and 4, and three nodes at the top.
UNBALANCED = {"artefact": {},
              "lesion": {"cyst": {},
                         "tumour": {"benign_tumour": {}, "malignant_tumour": {"primary": {}, "metastasis": {}}}},
              "normal_tissue": {"fat": {}, "muscle": {}}}


@dataclass
class Tree:
    spec: dict
    parent: dict = field(default_factory=dict)
    depth: dict = field(default_factory=dict)
    order: list = field(default_factory=list)  # every node, depth first, in file order

    def __post_init__(self):
        def walk(children, parent, depth):
            for name, sub in children.items():
                self.parent[name], self.depth[name] = parent, depth
                self.order.append(name)
                walk(sub, name, depth + 1)
        self.children = {}

        def kids(children):
            for name, sub in children.items():
                self.children[name] = list(sub)
                kids(sub)
        walk(self.spec, None, 1)
        kids(self.spec)

    @property
    def leaves(self) -> list[str]:
        return [n for n in self.order if not self.children[n]]

    @property
    def max_depth(self) -> int:
        return max(self.depth.values())

    def is_leaf(self, node) -> bool:
        return not self.children[node]

    def path(self, node) -> list[str]:
        out = []
        while node is not None:
            out.append(node)
            node = self.parent[node]
        return out[::-1]

    def level_nodes(self, level) -> list[str]:
        if level == "leaf":
            return self.leaves
        return [n for n in self.order if self.depth[n] == level or (self.is_leaf(n) and self.depth[n] < level)]

    def at_level(self, node, level):
        """The class at `level` that `node` counts as, or None when the label is too coarse for it."""
        if level == "leaf":
            return node if self.is_leaf(node) else None
        if self.depth[node] >= level:
            return self.path(node)[level - 1]
        return node if self.is_leaf(node) else None

    def leaves_under(self, node) -> list[str]:
        return [leaf for leaf in self.leaves if node in self.path(leaf)]


@dataclass
class Cases:
    ids: list[str]
    labels: list[str]        # any node of the tree
    leaf_names: list[str]    # the column order of probs (as written to the file)
    probs: np.ndarray        # n x leaves, as read back from the file


def make_cases(tree: Tree, n: int, seed: int, coarse_fraction: float = 0.2, informative: float = 3.0) -> Cases:
    """Seeded cases: a true leaf each (unequal prevalence), Dirichlet probabilities that lean towards
    it (a fifth of the cases are uninformative), and a share of labels given at an inner ancestor.
    Probabilities are whole millionths summing to exactly 1, with no two cases tied at any node and no
    near-tie for the top class at any level, so summation order cannot change an answer."""
    rng = np.random.default_rng(seed)
    leaves = tree.leaves
    columns = list(rng.permutation(leaves))  # the file's column order differs from the tree's
    prevalence = rng.dirichlet(np.full(len(leaves), 4.0))
    levels = list(range(1, tree.max_depth + 1)) + ["leaf"]
    while True:
        true = rng.choice(len(leaves), size=n, p=prevalence)
        alpha = np.full((n, len(leaves)), 0.8)
        lean = rng.random(n) > 0.2
        alpha[np.arange(n)[lean], true[lean]] += informative
        micro = np.floor(np.array([rng.dirichlet(a) for a in alpha]) * 1e6).astype(np.int64)
        micro[:, -1] = 1_000_000 - micro[:, :-1].sum(axis=1)
        if _no_ties(tree, leaves, micro, levels):
            break
    labels = []
    for t in true:
        path = tree.path(leaves[t])
        labels.append(path[rng.integers(len(path) - 1)] if len(path) > 1 and rng.random() < coarse_fraction
                      else leaves[t])
    order = [leaves.index(c) for c in columns]
    return Cases([f"case{i:04d}" for i in range(n)], labels, columns, micro[:, order] / 1e6)


def _no_ties(tree, leaves, micro, levels) -> bool:
    for level in levels:
        nodes = tree.level_nodes(level)
        sums = np.stack([micro[:, [leaves.index(x) for x in tree.leaves_under(node)]].sum(axis=1)
                         for node in nodes], axis=1)
        if any(len(np.unique(col)) < len(col) for col in sums.T) or (sums == 500_000).any():
            return False
        top2 = np.sort(sums, axis=1)[:, -2:]
        if (top2[:, 1] - top2[:, 0] < 200).any():
            return False
    return True


def write_predictions(path: Path, cases: Cases, with_label: bool = True) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_id"] + (["label"] if with_label else []) + [f"p_{c}" for c in cases.leaf_names])
        for cid, label, row in zip(cases.ids, cases.labels, cases.probs):
            w.writerow([cid] + ([label] if with_label else []) + [f"{p:.6f}" for p in row])
    return path


def write_truth(path: Path, ids, labels) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_id", "label"])
        w.writerows(zip(ids, labels))
    return path


def write_tree(path: Path, spec) -> Path:
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return path


def read_back(cases: Cases) -> np.ndarray:
    """The probabilities exactly as the file holds them (6 decimals)."""
    return np.array([[float(f"{p:.6f}") for p in row] for row in cases.probs])


def delong(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """AUC and its DeLong (1988) standard error, from the structural components directly (O(mn))."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    var = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    return float(auc), float(np.sqrt(var))


def hand_till(y: np.ndarray, p: np.ndarray) -> float:
    k = p.shape[1]
    total, pairs = 0.0, 0
    for i in range(k):
        for j in range(i + 1, k):
            mask = (y == i) | (y == j)
            if (y == i).sum() == 0 or (y == j).sum() == 0:
                continue
            a_ij = roc_auc_score(y[mask] == i, p[mask, i])
            a_ji = roc_auc_score(y[mask] == j, p[mask, j])
            total += (a_ij + a_ji) / 2
            pairs += 1
    return total / pairs


@dataclass
class LevelResult:
    level: object
    nodes: list[str]
    n: int
    excluded: int
    excluded_ids: list[str]
    y: np.ndarray            # index into nodes, counted cases only
    p: np.ndarray            # node probabilities, counted cases only
    confusion: np.ndarray    # rows truth, columns argmax prediction
    auc_ovr: dict
    hand_till: float | None
    accuracy: float
    binary: dict | None      # the binary block when the level has two classes


def expected(tree: Tree, cases: Cases, level, positive: str | None = None, labels=None) -> LevelResult:
    labels = cases.labels if labels is None else labels
    probs = read_back(cases)
    nodes = tree.level_nodes(level)
    node_p = np.stack([probs[:, [cases.leaf_names.index(x) for x in tree.leaves_under(node)]].sum(axis=1)
                       for node in nodes], axis=1)
    assert np.allclose(node_p.sum(axis=1), 1.0, atol=1e-5)
    mapped = [tree.at_level(lab, level) for lab in labels]
    keep = np.array([m is not None for m in mapped])
    y = np.array([nodes.index(m) for m in mapped if m is not None])
    p = node_p[keep]
    pred = p.argmax(axis=1)
    cm = confusion_matrix(y, pred, labels=list(range(len(nodes))))
    auc_ovr = {node: (float(roc_auc_score(y == k, p[:, k])) if 0 < (y == k).sum() < len(y) else None)
               for k, node in enumerate(nodes)}
    binary = None
    if len(nodes) == 2:
        pos = nodes.index(positive) if positive else 1
        yb, sb = (y == pos).astype(int), p[:, pos]
        auc, se = delong(yb, sb)
        z = norm.ppf(0.975)
        fpr, tpr, _ = roc_curve(yb, sb)
        binary = {"positive": nodes[pos], "y": yb, "score": sb, "auc": auc, "se": se,
                  "ci": (max(0.0, auc - z * se), min(1.0, auc + z * se)),
                  "confusion": confusion_matrix(yb, (sb >= 0.5).astype(int), labels=[0, 1]),
                  "n_positive": int(yb.sum()), "n_negative": int((1 - yb).sum()),
                  "youden_j": float((tpr - fpr).max()),
                  "sklearn_auc": float(roc_auc_score(yb, sb))}
    excluded_ids = [cid for cid, k in zip(cases.ids, keep) if not k]
    return LevelResult(level, nodes, int(keep.sum()), int((~keep).sum()), excluded_ids, y, p, cm, auc_ovr,
                       hand_till(y, p) if len(nodes) > 2 else None, float((pred == y).mean()), binary)
