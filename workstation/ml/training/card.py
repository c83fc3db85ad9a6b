"""The model card written beside each checkpoint: model_card.json (for programs) and
model_card.md (for people). It records the data (project, label source, cases and class balance
per split, the case ids of each split, skipped cases), the settings, the training history and the
validation and test metrics with DeLong 95% intervals (`workstation.core.metrics.report`)."""
from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from workstation.core.metrics import evaluate, report
from workstation.core.metrics.report import clean
from workstation.core.vocab import Task


def number(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def metrics_block(task: str, classes: list[str], y_true: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """{"n", "auc", "auc_ci", "metrics"}: binary AUC with its DeLong interval; multiclass and
    multilabel the macro AUC (per-class intervals are in "metrics")."""
    if len(y_true) == 0:
        return {"n": 0, "auc": None, "auc_ci": None, "reason": "no cases in this split"}
    ev = evaluate(task, y_true, probs, classes)
    full = report(ev)
    if task == Task.BINARY:
        return {"n": int(len(y_true)), "auc": full["auc"], "auc_ci": full["auc_ci"], "auc_reason": full["auc_reason"],
                "metrics": full}
    macro = full["auc_ovr_macro"] if task == Task.MULTICLASS else full["averages"]["macro"]["auc"]
    return {"n": int(len(y_true)), "auc": macro, "auc_ci": None, "auc_kind": "macro", "metrics": full}


def _balance(items, task: str) -> dict[str, int]:
    counts: Counter = Counter()
    for item in items:
        for name in (item.label if task == Task.MULTILABEL else [item.label]):
            counts[name] += 1
    return dict(counts)


def build_card(project, config, items, skipped, predictions, history, best_epoch, settings, pretrained,
               seconds: float) -> dict[str, Any]:
    from workstation.ml.training import levels

    task, classes = levels.target(project, config.level)
    data = {"project": str(Path(project.directory).resolve()), "task": task, "classes": classes,
            "label_source": config.truth, "grouped_by": "patient", "split_ratios": list(config.splits),
            "split_seed": config.seed,
            "splits": {name: {"cases": len(split), "patients": len({i.patient_id or i.case_id for i in split}),
                              "class_balance": _balance(split, task), "case_ids": [i.case_id for i in split]}
                       for name, split in items.items()},
            "skipped": skipped}
    if config.multitask:
        data["aux_targets"] = {name: sum(1 for i in split if i.aux_kind) for name, split in items.items()}
    card = {
        "schema": "workstation.model-card/1",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "plugin": config.plugin, "task": task, "classes": classes,
        "pretrained": ({"path": pretrained.path, "sha256": pretrained.sha256, "source": pretrained.source,
                        "source_task": pretrained.task or None, "source_classes": pretrained.classes or None}
                       if pretrained else None),
        "data": data, "settings": settings, "history": history, "best_epoch": best_epoch,
        "epochs_run": len(history), "seconds": round(seconds, 2),
        "validation": metrics_block(task, classes, predictions["validation"]["y_true"], predictions["validation"]["probs"]),
        "test": metrics_block(task, classes, predictions["test"]["y_true"], predictions["test"]["probs"]),
    }
    return clean(card)


def write_card(json_path, md_path, card: dict[str, Any]) -> tuple[Path, Path]:
    json_path, md_path = Path(json_path), Path(md_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(clean(card), indent=1))
    md_path.write_text(markdown(card))
    return json_path, md_path


def _auc_text(block: dict | None) -> str:
    if not block or block.get("auc") is None:
        return (block or {}).get("reason") or (block or {}).get("auc_reason") or "undefined"
    ci = block.get("auc_ci")
    kind = " (macro)" if block.get("auc_kind") else ""
    if ci and None not in ci:
        return f"{block['auc']:.3f}{kind} (95% CI {ci[0]:.3f}–{ci[1]:.3f}, DeLong), n = {block['n']}"
    return f"{block['auc']:.3f}{kind}, n = {block['n']}"


def markdown(card: dict[str, Any]) -> str:
    s, d = card["settings"], card["data"]
    lines = [f"# Model card: {card['plugin']} ({card['task']}: {', '.join(card['classes'])})", "",
             f"Created {card['created_at']} from project `{d['project']}`.", "",
             "## Data", "",
             f"Labels: `{d['label_source']}` truth. Splits {d['split_ratios']} (seed {d['split_seed']}), "
             f"grouped by patient and stratified by class: no patient is in two splits.", "",
             "| split | cases | patients | class balance |", "|---|---|---|---|"]
    for name, split in d["splits"].items():
        balance = ", ".join(f"{k}: {v}" for k, v in split["class_balance"].items()) or "—"
        lines.append(f"| {name} | {split['cases']} | {split['patients']} | {balance} |")
    if d.get("skipped"):
        lines += ["", f"Skipped {len(d['skipped'])} unreadable case(s): "
                  + "; ".join(f"{x['case_id']} ({x['reason']})" for x in d["skipped"][:10])]
    pre = card.get("pretrained")
    lines += ["", "## Settings", "",
              f"- mode: **{s['mode']}**; pretrained: " + (f"`{pre['path']}` ({pre['source']}, sha256 {pre['sha256'][:12]}…)"
                                                          if pre else "none (from scratch)"),
              f"- network: {s['architecture']['name']} ({s['architecture']['spatial_dims']}D, "
              f"{s['architecture']['in_channels']} channel(s)); input size {s['input_size']}"
              + (f" at {s['input_spacing']} mm" if s.get("input_spacing") else ""),
              f"- loss: {s['loss']}" + (f"; multi-task: {s['cls_weight']} × classification + {s['aux_weight']} × "
                                        f"{s['aux_target']}" if s.get("multitask") else ""),
              f"- optimiser: AdamW, " + ", ".join(f"{g['name']} lr {g['lr']:g}" for g in s["parameter_groups"])
              + f", weight decay {s['weight_decay']:g}, batch {s['batch_size']}",
              f"- epochs: {card['epochs_run']} of {s['epochs']} (early stopping on validation AUC, patience "
              f"{s['patience']}); best epoch {card['best_epoch']}",
              f"- augmentation: {'MONAI RandAffine, RandAdjustContrast, RandGaussianNoise' if s['augment'] else 'none'}",
              f"- device: {s['device_used']}, mixed precision: {s['mixed_precision']}; seed {s['seed']}; "
              f"torch {s['torch']}, MONAI {s['monai']}", "",
              "## Metrics", "",
              f"- validation AUC: {_auc_text(card.get('validation'))}",
              f"- test AUC: {_auc_text(card.get('test'))}"]
    comparison = card.get("comparison")
    if comparison:
        lines += ["", "## Multi-task vs single-task (same split, same seed)", "",
                  f"- {comparison['split']} AUC, multi-task: {_fmt(comparison['multitask_auc'])}; "
                  f"single-task: {_fmt(comparison['single_task_auc'])}",
                  f"- paired DeLong: difference {_fmt(comparison.get('difference'))}, p = {_fmt(comparison.get('p_value'))}"
                  + (f" ({comparison['reason']})" if comparison.get("reason") else ""),
                  f"- single-task checkpoint: `{comparison['single_task_checkpoint']}`"]
    lines += ["", "Small validation and test sets give wide intervals: read the CI, not the point estimate.", ""]
    return "\n".join(lines)


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.3f}"
