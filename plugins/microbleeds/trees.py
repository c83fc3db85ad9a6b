"""A fitted scikit-learn HistGradientBoostingClassifier (binary) as plain arrays, and its
prediction in numpy: the shipped stage-2 model loads with `np.load(allow_pickle=False)` (no pickle,
no code in the weights file) and needs no scikit-learn at run time."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIELDS = ("feature", "threshold", "left", "right", "leaf", "value", "nan_left")


@dataclass
class TreeEnsemble:
    baseline: float
    offsets: np.ndarray   # (n_trees + 1,) start of each tree's nodes in the flat arrays
    feature: np.ndarray   # per node: the feature compared (inner nodes)
    threshold: np.ndarray  # go left when x <= threshold
    left: np.ndarray      # child indices within the tree
    right: np.ndarray
    leaf: np.ndarray      # bool
    value: np.ndarray     # a leaf's contribution to the logit
    nan_left: np.ndarray  # bool: where a missing value goes
    names: tuple[str, ...]  # the feature each column holds

    @classmethod
    def from_sklearn(cls, clf, names) -> "TreeEnsemble":
        if getattr(clf, "n_trees_per_iteration_", 1) != 1:
            raise ValueError("only a binary classifier can be exported")
        trees = [predictors[0].nodes for predictors in clf._predictors]
        cat = np.concatenate(trees)
        if cat["is_categorical"].any():
            raise ValueError("categorical splits are not supported")
        offsets = np.concatenate([[0], np.cumsum([len(t) for t in trees])])
        return cls(float(np.ravel(clf._baseline_prediction)[0]), offsets, cat["feature_idx"].astype(np.int32),
                   cat["num_threshold"].astype(np.float64), cat["left"].astype(np.int32), cat["right"].astype(np.int32),
                   cat["is_leaf"].astype(bool), cat["value"].astype(np.float64), cat["missing_go_to_left"].astype(bool),
                   tuple(names))

    def save(self, path: Path, meta: str = "") -> None:
        np.savez(path, baseline=np.float64(self.baseline), offsets=self.offsets, names=np.array(self.names),
                 meta=np.array(meta), **{f: getattr(self, f) for f in FIELDS})

    @classmethod
    def load(cls, path: Path) -> "TreeEnsemble":
        with np.load(path, allow_pickle=False) as z:
            return cls(float(z["baseline"]), z["offsets"], *(z[f] for f in FIELDS), tuple(str(n) for n in z["names"]))

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """The logit per row of x (n, n_features), as the classifier's own decision_function."""
        x = np.asarray(x, np.float64)
        rows = np.arange(len(x))
        raw = np.full(len(x), self.baseline)
        for t in range(len(self.offsets) - 1):
            base = self.offsets[t]
            node = np.zeros(len(x), np.int64)
            while True:
                at = base + node
                inner = ~self.leaf[at]
                if not inner.any():
                    break
                v = x[rows[inner], self.feature[at[inner]]]
                go_left = np.where(np.isnan(v), self.nan_left[at[inner]], v <= self.threshold[at[inner]])
                node[inner] = np.where(go_left, self.left[at[inner]], self.right[at[inner]])
            raw += self.value[base + node]
        return raw

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """P(class 1) per row."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(x)))
