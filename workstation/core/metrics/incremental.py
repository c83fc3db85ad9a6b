"""Updating sorted scores for a few changed cases without sorting again: a label flip moves one
case between the positive and negative count of its score group; a new case joins its group
(or a new one); a removed case leaves it. O(n) array work instead of an O(n log n) sort — what
a clinician's confirm in a 100,000-case project needs."""
from __future__ import annotations

import numpy as np

from workstation.core.metrics.roc import SortedScores


def _finish(thresholds, pos, neg, group, labels) -> SortedScores:
    keep = (pos + neg) > 0
    if not keep.all():  # a score group emptied by removals disappears
        remap = np.cumsum(keep) - 1
        group = remap[group]
        thresholds, pos, neg = thresholds[keep], pos[keep], neg[keep]
    cum_pos, cum_neg = np.cumsum(pos), np.cumsum(neg)
    n_pos = int(cum_pos[-1]) if cum_pos.size else 0
    n_neg = int(cum_neg[-1]) if cum_neg.size else 0
    return SortedScores(thresholds, pos, neg, group, labels, n_pos, n_neg, cum_pos, cum_neg,
                        np.ascontiguousarray(thresholds[::-1]))


def update_sorted(ss: SortedScores, relabel_rows=(), relabel_to=(), remove_rows=(), add_scores=(),
                  add_labels=()) -> SortedScores:
    """The SortedScores of the cases after: relabelling `relabel_rows` to `relabel_to` (bool),
    then removing `remove_rows` (indices before removal), then appending cases with `add_scores`
    and `add_labels` at the end — the same case order a rebuilt table would have."""
    labels = ss.labels.copy()
    pos, neg = ss.pos.copy(), ss.neg.copy()
    group, thresholds = ss.group, ss.thresholds
    rows = np.asarray(relabel_rows, np.intp)
    if rows.size:
        new = np.asarray(relabel_to, bool)
        delta = new.astype(np.int64) - labels[rows]
        np.add.at(pos, group[rows], delta)
        np.add.at(neg, group[rows], -delta)
        labels[rows] = new
    gone = np.asarray(remove_rows, np.intp)
    if gone.size:
        g = group[gone]
        np.subtract.at(pos, g[labels[gone]], 1)
        np.subtract.at(neg, g[~labels[gone]], 1)
        keep = np.ones(labels.size, bool)
        keep[gone] = False
        group, labels = group[keep], labels[keep]
    scores = np.asarray(add_scores, float)
    if scores.size:
        if not np.isfinite(scores).all():
            raise ValueError("scores contain missing or infinite values")
        new_values = np.setdiff1d(scores, thresholds)
        if new_values.size:  # insert the new distinct scores, keeping descending order
            merged = np.union1d(thresholds, new_values)[::-1]
            old_at = np.searchsorted(-merged, -thresholds)
            pos_m, neg_m = np.zeros(merged.size, np.int64), np.zeros(merged.size, np.int64)
            pos_m[old_at], neg_m[old_at] = pos, neg
            group, thresholds, pos, neg = old_at[group], merged, pos_m, neg_m
        at = np.searchsorted(-thresholds, -scores)
        added = np.asarray(add_labels, bool)
        np.add.at(pos, at[added], 1)
        np.add.at(neg, at[~added], 1)
        group = np.concatenate([group, at]).astype(np.intp)
        labels = np.concatenate([labels, added])
    return _finish(thresholds, pos, neg, group, labels)
