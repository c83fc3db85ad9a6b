"""Losses by task, and the auxiliary (multi-task) loss.

- binary: binary cross-entropy on the one logit;
- multiclass: categorical cross-entropy on softmax (`cross_entropy` on the logits);
- multilabel: per-label binary cross-entropy weighted as in ChestX-ray8 (Wang et al. 2017): with
  |P| positives and |N| negatives of a label in the training set, positives weigh (|P|+|N|)/|P| and
  negatives (|P|+|N|)/|N|, so that rare findings are not drowned by the many negatives.
- auxiliary head: Dice + BCE for a segmentation mask, BCE with soft targets for a heat map; only
  cases that have an auxiliary target count.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from workstation.core.vocab import Task


def multilabel_weights(targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positive weights, negative weights) per label from the training targets (cases x labels).
    A label without positives (or negatives) in the training set gets weight 1 for both."""
    y = np.asarray(targets, float)
    n = y.shape[0]
    pos = y.sum(0)
    neg = n - pos
    ok = (pos > 0) & (neg > 0)
    w_pos = np.where(ok, n / np.maximum(pos, 1), 1.0)
    w_neg = np.where(ok, n / np.maximum(neg, 1), 1.0)
    return w_pos.astype(np.float32), w_neg.astype(np.float32)


class TaskLoss:
    def __init__(self, task: str, w_pos=None, w_neg=None):
        self.task = task
        self.w_pos = None if w_pos is None else torch.as_tensor(w_pos, dtype=torch.float32)
        self.w_neg = None if w_neg is None else torch.as_tensor(w_neg, dtype=torch.float32)

    def __call__(self, logits, target):
        logits = logits.float()
        if self.task == Task.BINARY:
            return F.binary_cross_entropy_with_logits(logits[:, 0], target.float().reshape(-1))
        if self.task == Task.MULTICLASS:
            return F.cross_entropy(logits, target.long().reshape(-1))
        target = target.float()
        if self.w_pos is None:
            return F.binary_cross_entropy_with_logits(logits, target)
        w_pos, w_neg = self.w_pos.to(logits.device), self.w_neg.to(logits.device)
        weight = target * w_pos + (1 - target) * w_neg
        return F.binary_cross_entropy_with_logits(logits, target, weight=weight)

    def describe(self) -> dict:
        names = {"binary": "binary cross-entropy", "multiclass": "categorical cross-entropy (softmax)",
                 "multilabel": "per-label binary cross-entropy"}
        out = {"loss": names[self.task]}
        if self.w_pos is not None:
            out["label_weights"] = {"positive": self.w_pos.tolist(), "negative": self.w_neg.tolist(),
                                    "scheme": "ChestX-ray8: (P+N)/P for positives, (P+N)/N for negatives"}
        return out


def aux_loss(kind: str, logits, target, has_aux):
    """Mean auxiliary loss over the cases that have a target (0 when none in the batch)."""
    mask = has_aux.float().reshape(-1)
    if mask.sum() == 0:
        return logits.sum() * 0.0
    logits, target = logits.float(), target.float()
    dims = tuple(range(1, logits.dim()))
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(dim=dims)
    if kind == "mask":
        p = torch.sigmoid(logits)
        inter = (p * target).sum(dim=dims)
        dice = 1 - (2 * inter + 1) / (p.sum(dim=dims) + target.sum(dim=dims) + 1)
        per_case = bce + dice
    else:
        per_case = bce
    return (per_case * mask).sum() / mask.sum()
