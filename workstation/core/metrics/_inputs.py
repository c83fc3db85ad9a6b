"""Input checks shared by the metric functions: one clear ValueError per problem."""
from __future__ import annotations

import numpy as np


def binary_labels(y) -> np.ndarray:
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {a.shape}")
    if a.dtype == bool:
        return a
    if a.size == 0:
        return a.astype(bool)
    if np.issubdtype(a.dtype, np.integer):
        ok = a.min() >= 0 and a.max() <= 1
    else:
        ok = a.dtype != object and bool(((a == 0) | (a == 1)).all())
    if not ok:
        bad = a[(a != 0) & (a != 1)][0] if a.dtype != object else next(v for v in a if v not in (0, 1))
        raise ValueError(f"binary labels must be 0 or 1, found {bad!r}")
    return a.astype(bool)


def scores(s, n: int | None = None, name: str = "scores") -> np.ndarray:
    a = np.asarray(s, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    if n is not None and a.size != n:
        raise ValueError(f"{name} has {a.size} values for {n} labels")
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{name} contain {int(bad.sum())} missing or infinite value(s) "
                         f"(first at position {int(np.argmax(bad))})")
    return a


def class_indices(y, n_classes: int) -> np.ndarray:
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"class labels must be one-dimensional, got shape {a.shape}")
    if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= n_classes):
        raise ValueError(f"class labels must be integers 0..{n_classes - 1}")
    return a.astype(np.intp)


def probability_matrix(p, n: int, name: str = "probabilities") -> np.ndarray:
    a = np.asarray(p, dtype=float)
    if a.ndim != 2 or a.shape[0] != n:
        raise ValueError(f"{name} must be cases x classes with {n} rows, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contain missing or infinite values")
    return a
