"""How well labels mined from reports agree with the readers' own (final) labels: per reader and,
for multi-label projects, per class — Cohen's kappa, raw agreement, and the mined label's
sensitivity and specificity taking the reader as the truth. Cases whose mined or reader label is a
state (uncertain, not assessable) are left out and counted."""
from __future__ import annotations

import math
from typing import Any

from workstation.core.metrics.agreement import cohen_kappa
from workstation.core.project.values import is_class_label
from workstation.core.reports.importing import DEFAULT_READER, REPORT_TAG
from workstation.core.vocab import Task


def compare_with_readers(project, mined_by: str = DEFAULT_READER) -> list[dict[str, Any]]:
    task, classes = project.task, project.classes
    mined = {lab.case_id: lab.value for lab in project.labels(reader=mined_by, tag=REPORT_TAG)}
    by_reader: dict[str, dict[str, Any]] = {}
    for lab in project.labels(tag="final"):
        if lab.reader != mined_by:
            by_reader.setdefault(lab.reader, {})[lab.case_id] = lab.value  # labels() is in id order: newest wins
    out = []
    for reader, labels in sorted(by_reader.items()):
        shared = [c for c in labels if c in mined]
        usable = [c for c in shared if is_class_label(mined[c], task, classes) and is_class_label(labels[c], task, classes)]
        row: dict[str, Any] = {"reader": reader, "mined_by": mined_by, "cases": len(usable),
                               "left_out": len(shared) - len(usable)}
        if task == Task.MULTILABEL:
            row["classes"] = {c: _binary([c in mined[i] for i in usable], [c in labels[i] for i in usable])
                              for c in classes}
        else:
            row["overall"] = _summary([mined[i] for i in usable], [labels[i] for i in usable], classes)
            if task == Task.BINARY:
                positive = classes[1]
                row["overall"].update(_rates([mined[i] == positive for i in usable], [labels[i] == positive for i in usable]))
        out.append(row)
    return out


def _binary(mined: list[bool], truth: list[bool]) -> dict[str, Any]:
    return {**_summary(mined, truth, [False, True]), **_rates(mined, truth)}


def _summary(mined: list, truth: list, categories: list) -> dict[str, Any]:
    if not mined:
        return {"n": 0, "agreement": None, "kappa": None, "kappa_ci": None}
    k = cohen_kappa(mined, truth, categories=categories)
    return {"n": len(mined), "agreement": _num(k.observed), "kappa": _num(k.kappa),
            "kappa_ci": None if math.isnan(k.kappa) else [_num(v) for v in k.ci]}


def _rates(mined: list[bool], truth: list[bool]) -> dict[str, Any]:
    tp = sum(m and t for m, t in zip(mined, truth))
    fn = sum((not m) and t for m, t in zip(mined, truth))
    tn = sum((not m) and (not t) for m, t in zip(mined, truth))
    fp = sum(m and (not t) for m, t in zip(mined, truth))
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "sensitivity": _num(tp / (tp + fn)) if tp + fn else None,
            "specificity": _num(tn / (tn + fp)) if tn + fp else None}


def _num(v: float):
    return None if v is None or math.isnan(v) else round(float(v), 4)
