"""Fixtures for the taxonomy tests: the 6-leaf tree (tree6.py) as a file and a prediction CSV of the
multi-class schema written from seeded random probabilities. This folder is put on sys.path (tests
here are not a package) so that tree6 imports by name."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tree6 import LEAVES, TREE6, write_csv  # noqa: E402


@pytest.fixture
def tree_file(tmp_path):
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(TREE6))
    return str(path)


@pytest.fixture
def leaf_predictions(tmp_path):
    """(path, case ids, leaf labels, n x 6 probabilities): informative scores, every leaf present."""
    rng = np.random.default_rng(7)
    n = 120
    y = np.arange(n) % len(LEAVES)
    rng.shuffle(y)
    logits = rng.normal(0, 1, (n, len(LEAVES)))
    logits[np.arange(n), y] += 1.2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs = np.round(probs, 6)
    probs[:, -1] = 1 - probs[:, :-1].sum(axis=1)
    ids = [f"lesion{i:03d}" for i in range(n)]
    labels = [LEAVES[k] for k in y]
    path = write_csv(tmp_path / "pred.csv", ["case_id", "label"] + [f"p_{c}" for c in LEAVES],
                     [[ids[i], labels[i], *probs[i]] for i in range(n)])
    return path, ids, labels, probs
