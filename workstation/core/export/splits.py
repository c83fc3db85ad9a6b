"""Training / validation / test splits, stratified by label and grouped by patient: every case of a
patient lands in the same split, so a model is never tested on a patient it was trained on.

A greedy assignment (in the spirit of iterative stratification): patients are taken largest first
(ties in a seeded random order) and each goes to the split that most needs the classes it brings,
measured against that split's target share of every class. Deterministic for a given seed.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPLIT_NAMES = ("training", "validation", "test")


def parse_ratios(text: str | Sequence[float]) -> tuple[float, float, float]:
    """"0.7,0.15,0.15" (or two values, test taking the rest) -> three non-negative fractions summing
    to 1. Raises ValueError with a one-line reason."""
    if isinstance(text, str):
        try:
            values = [float(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"splits {text!r}: expected numbers such as 0.7,0.15,0.15") from None
    else:
        values = [float(v) for v in text]
    if len(values) == 2:
        values.append(1.0 - sum(values))
    if len(values) != 3 or any(not np.isfinite(v) or v < -1e-9 for v in values):
        raise ValueError(f"splits {text!r}: need three non-negative fractions (training, validation, test)")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"splits {text!r}: fractions sum to {sum(values):g}, not 1")
    if values[0] <= 0:
        raise ValueError(f"splits {text!r}: the training fraction must be above 0")
    return tuple(max(0.0, v) for v in values)  # type: ignore[return-value]


def grouped_stratified_split(case_ids: Sequence[str], groups: Sequence[str | None],
                             strata: Sequence[Sequence[str]], ratios=(0.7, 0.15, 0.15),
                             seed: int = 0) -> dict[str, str]:
    """Assign each case to "training", "validation" or "test".

    `groups[i]` is the patient of case i (None: the case is its own patient); `strata[i]` lists the
    stratification keys of case i (its class; several for a multi-label case; may be empty).
    """
    if not (len(case_ids) == len(groups) == len(strata)):
        raise ValueError("case_ids, groups and strata must have the same length")
    if len(set(case_ids)) != len(case_ids):
        raise ValueError("case ids repeat")
    ratios = np.asarray(parse_ratios(ratios), dtype=float)
    keys = sorted({k for s in strata for k in s})
    key_index = {k: i for i, k in enumerate(keys)}

    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(f"patient:{g}" if g not in (None, "") else f"case:{case_ids[i]}", []).append(i)
    names = sorted(members)
    vectors = np.zeros((len(names), len(keys) + 1))  # the last column counts cases
    for row, name in enumerate(names):
        for i in members[name]:
            for k in strata[i]:
                vectors[row, key_index[k]] += 1
            vectors[row, -1] += 1

    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(names))
    order = sorted(shuffled, key=lambda r: -vectors[r, -1])  # stable: keeps the shuffle in ties
    totals = vectors.sum(axis=0)
    targets = ratios[:, None] * totals[None, :]
    counts = np.zeros_like(targets)
    open_splits = np.flatnonzero(ratios > 0)

    assignment: dict[str, str] = {}
    for row in order:
        v = vectors[row]
        weights = v / np.maximum(totals, 1)  # each key counts by its share, so rare classes matter
        need = ((targets - counts) * weights[None, :]).sum(axis=1) / max(weights.sum(), 1e-12)
        size_need = (targets[:, -1] - counts[:, -1]) / np.maximum(targets[:, -1], 1e-12)
        best = max(open_splits, key=lambda s: (round(need[s], 9), size_need[s], -s))
        counts[best] += v
        for i in members[names[row]]:
            assignment[case_ids[i]] = SPLIT_NAMES[best]
    return assignment
