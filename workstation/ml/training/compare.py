"""Multi-task against single-task on the same split: both runs use the same project, splits,
seed, settings and epochs; only the auxiliary head differs. The comparison (AUCs and DeLong's
paired test on the test split, or on validation when the test split is empty) goes into the
multi-task model card."""
from __future__ import annotations

import dataclasses

import numpy as np

from workstation.core.metrics import delong_paired
from workstation.core.metrics.report import clean

from workstation.core.vocab import Task
from workstation.ml.training.card import write_card
from workstation.ml.training.config import TrainConfig, TrainResult
from workstation.ml.training.trainer import train


def _scores(result: TrainResult, split: str, task: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    block = result.predictions[split]
    probs = block["probs"]
    return block["y_true"], (probs[:, 1] if task == Task.BINARY else probs), block["case_ids"]


def compare_multitask(project, config: TrainConfig, progress=None, cancel=None) -> tuple[TrainResult, TrainResult]:
    """Train the multi-task model and the single-task model; returns (multitask, single_task)."""
    multi = train(project, dataclasses.replace(config, multitask=True), _scaled(progress, 0.0, 0.5), cancel)
    single_out = f"{config.out.rstrip('/')}-single-task" if config.out else None
    single = train(project, dataclasses.replace(config, multitask=False, out=single_out),
                   _scaled(progress, 0.5, 1.0), cancel)
    split = "test" if len(multi.predictions["test"]["case_ids"]) else "validation"
    task = multi.card["task"]  # a taxonomy level's task when trained at one
    y, s_multi, ids = _scores(multi, split, task)
    _, s_single, ids_single = _scores(single, split, task)
    assert ids == ids_single, "both runs must score the same cases"
    comparison = {"split": split, "n": len(ids), "multitask_auc": multi.card[split]["auc"],
                  "single_task_auc": single.card[split]["auc"], "single_task_checkpoint": single.checkpoint}
    if task == Task.BINARY:
        test = delong_paired(y.astype(bool), s_multi, s_single)
        comparison.update(difference=test.difference, ci=list(test.ci), p_value=test.p_value, reason=test.reason)
    else:
        comparison.update(difference=None, p_value=None, reason="paired DeLong test reported for binary tasks only")
    multi.card["comparison"] = clean(comparison)
    write_card(multi.card_json, multi.card_md, multi.card)
    return multi, single


def _scaled(progress, start: float, end: float):
    if progress is None:
        return None

    def inner(p):
        progress(dataclasses.replace(p, fraction=start + (end - start) * p.fraction))

    return inner
