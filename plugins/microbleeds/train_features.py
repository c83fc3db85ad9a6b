"""Reproducible training of stage 2's boosted trees (features.py, trees.py); the shipped
`weights/stage2_trees.npz` comes from this, on the same phantom patches as the CNN:

    nice .venv/bin/python -m plugins.microbleeds.train_features --volumes 32 --validation-volumes 3 \
        --seed 1000 --cache /tmp/mb_cache_1000 --extra-seed 1001 --extra-volumes 16 \
        --extra-cache /tmp/mb_cache_1001 --out plugins/microbleeds/weights/stage2_trees.npz

Every stage-1 candidate of each phantom (positive when it hits a bleed), the patches centred on
the generator's mimics and the jittered patches on each bleed, as for the CNN (train.py), each
with its context (context.py: mirror and atlas measurements, stored in the cache); the last
`--validation-volumes` of the first series are kept out and reported. scikit-learn's
HistGradientBoostingClassifier (positives weighted x5, early stopping on a 10 % split, seed 0),
exported as arrays: the run time needs numpy only."""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from plugins.microbleeds.features import feature_matrix, features
from plugins.microbleeds.context import CONTEXT_FEATURES
from plugins.microbleeds.train import build_dataset
from plugins.microbleeds.trees import TreeEnsemble

TREES = Path(__file__).parent / "weights" / "stage2_trees.npz"


def fit(x: np.ndarray, y: np.ndarray, seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.06, max_leaf_nodes=31, min_samples_leaf=40,
                                         l2_regularization=1.0, class_weight={0: 1, 1: 5}, random_state=seed)
    return clf.fit(x, y)


def feature_rows(x: np.ndarray, context: np.ndarray, names, chunk: int = 2000) -> np.ndarray:
    """Feature rows of patches `x` with their volume context (columns in CONTEXT_FEATURES order)."""
    rows = []
    for i in range(0, len(x), chunk):
        ctx = {name: context[i:i + chunk, n] for n, name in enumerate(CONTEXT_FEATURES)}
        rows.append(feature_matrix(x[i:i + chunk], names, ctx))
    return np.concatenate(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--volumes", type=int, default=32)
    p.add_argument("--validation-volumes", type=int, default=3)
    p.add_argument("--cache", type=Path, default=None)
    p.add_argument("--extra-seed", type=int, default=None)
    p.add_argument("--extra-volumes", type=int, default=0)
    p.add_argument("--extra-cache", type=Path, default=None)
    p.add_argument("--out", type=Path, default=TREES)
    args = p.parse_args(argv)
    started = time.perf_counter()
    x, y, _, vol, ctx = build_dataset(args.seed, args.volumes, args.cache)
    train = vol < args.volumes - args.validation_volumes
    if args.extra_seed is not None and args.extra_volumes > 0:
        ex, ey, _, _, ectx = build_dataset(args.extra_seed, args.extra_volumes, args.extra_cache, half_drop_share=0.5)
        x, y, ctx = np.concatenate([x, ex]), np.concatenate([y, ey]), np.concatenate([ctx, ectx])
        train = np.concatenate([train, np.ones(len(ey), bool)])
    names = list(features(x[:1])) + list(CONTEXT_FEATURES)
    f = feature_rows(x, ctx, names)
    clf = fit(f[train], y[train])
    val = {}
    if (~train).any():
        from sklearn.metrics import roc_auc_score

        s = clf.decision_function(f[~train])
        val = {"auc": float(roc_auc_score(y[~train], s)), "n": int((~train).sum()), "positives": int(y[~train].sum())}
    meta = {"model": "HistGradientBoostingClassifier", "iterations": int(clf.n_iter_), "features": names,
            "train_seed": args.seed, "volumes": args.volumes, "validation_volumes": args.validation_volumes,
            "extra_series": None if args.extra_seed is None else {"seed": args.extra_seed, "volumes": args.extra_volumes},
            "validation": val, "data_sha256": hashlib.sha256(y.tobytes()).hexdigest()[:16],
            "train_seconds": round(time.perf_counter() - started, 1),
            "note": "trained on synthetic phantoms only; retrain on real SWI before any clinical use"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    TreeEnsemble.from_sklearn(clf, names).save(args.out, json.dumps(meta))
    print("validation", json.dumps(val))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {clf.n_iter_} trees) in "
          f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
