"""Reading prediction and truth CSV files for `workstation evaluate`.

binary      case_id,label,score               label 0/1, score higher = more positive
multiclass  case_id,label,p_<class>...         label is one of the <class> names
multilabel  case_id,<class>...,p_<class>...    each <class> column 0/1
With a separate truth file, the prediction file may omit the truth columns and the truth file
holds case_id plus `label` (binary, multi-class) or the <class> columns (multi-label).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workstation.core.errors import WorkstationError
from workstation.core.metrics.binary import BinaryEvaluation
from workstation.core.metrics.multiclass import MulticlassEvaluation
from workstation.core.metrics.multilabel import MultilabelEvaluation
from workstation.core.vocab import Task


class PredictionFileError(WorkstationError, ValueError):
    """A one-line reason naming the file (and line) that could not be used."""


@dataclass
class Table:
    path: str
    columns: list[str]
    rows: dict[str, dict[str, str]]  # case_id -> row, in file order


def read_table(path) -> Table:
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            if "case_id" not in columns:
                raise PredictionFileError(f"{p}: no case_id column (columns: {', '.join(columns) or 'none'})")
            rows: dict[str, dict[str, str]] = {}
            for line, raw in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
                cid = row.get("case_id", "")
                if not cid:
                    raise PredictionFileError(f"{p}:{line}: empty case_id")
                if cid in rows:
                    raise PredictionFileError(f"{p}:{line}: case_id {cid!r} appears twice")
                rows[cid] = row
    except OSError as exc:
        raise PredictionFileError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PredictionFileError(f"{p}: not a readable CSV file ({exc})") from None
    return Table(str(p), columns, rows)


def _number(table: Table, cid: str, col: str) -> float:
    text = table.rows[cid].get(col, "")
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise PredictionFileError(f"{table.path}: case {cid!r}: {col} is {text!r}, not a number")
    return v


def _binary_flag(table: Table, cid: str, col: str) -> int:
    v = _number(table, cid, col)
    if v not in (0.0, 1.0):
        raise PredictionFileError(f"{table.path}: case {cid!r}: {col} must be 0 or 1, not {table.rows[cid][col]!r}")
    return int(v)


@dataclass
class LoadedPredictions:
    task: str                       # binary | multiclass | multilabel
    case_ids: list[str]
    evaluation: object              # Binary/Multiclass/MultilabelEvaluation
    classes: list[str] = field(default_factory=list)
    unmatched: dict = field(default_factory=dict)


def detect_task(pred: Table) -> tuple[str, list[str]]:
    prob_classes = [c[2:] for c in pred.columns if c.startswith("p_") and len(c) > 2]
    if "score" in pred.columns and not prob_classes:
        return "binary", []
    if not prob_classes:
        raise PredictionFileError(f"{pred.path}: needs a score column (binary) or p_<class> columns "
                                  f"(multi-class, multi-label); found {', '.join(pred.columns)}")
    return "probabilities", prob_classes


def load(pred_path, truth_path=None, ci_method: str = "delong") -> LoadedPredictions:
    pred = read_table(pred_path)
    truth = read_table(truth_path) if truth_path else pred
    task, classes = detect_task(pred)
    if task == "probabilities":
        label_cols = [c for c in classes if c in truth.columns]
        if label_cols and len(label_cols) != len(classes):
            missing = sorted(set(classes) - set(label_cols))
            raise PredictionFileError(f"{truth.path}: multi-label truth lacks column(s) {', '.join(missing)}")
        task = "multilabel" if label_cols else "multiclass"
    needed = ["label"] if task != Task.MULTILABEL else classes
    if task != Task.MULTILABEL and "label" not in truth.columns:
        raise PredictionFileError(f"{truth.path}: no label column (columns: {', '.join(truth.columns)})")
    ids = [cid for cid in pred.rows if cid in truth.rows]
    unmatched = {"predictions_without_truth": sum(cid not in truth.rows for cid in pred.rows),
                 "truth_without_prediction": sum(cid not in pred.rows for cid in truth.rows)}
    if not ids:
        raise PredictionFileError(f"{pred.path}: no case_id in common with {truth.path}")
    if task == Task.BINARY:
        y = np.array([_binary_flag(truth, c, "label") for c in ids])
        s = np.array([_number(pred, c, "score") for c in ids])
        ev = BinaryEvaluation(y, s, ci_method)
    elif task == Task.MULTICLASS:
        index = {name: k for k, name in enumerate(classes)}
        y = []
        for c in ids:
            lab = truth.rows[c]["label"]
            if lab not in index:
                raise PredictionFileError(f"{truth.path}: case {c!r}: label {lab!r} is not one of {', '.join(classes)}")
            y.append(index[lab])
        P = np.array([[_number(pred, c, f"p_{k}") for k in classes] for c in ids])
        ev = MulticlassEvaluation(np.array(y, np.intp), P, classes, ci_method)
    else:
        Y = np.array([[_binary_flag(truth, c, k) for k in needed] for c in ids])
        S = np.array([[_number(pred, c, f"p_{k}") for k in classes] for c in ids])
        ev = MultilabelEvaluation(Y, S, classes, ci_method)
    return LoadedPredictions(task, ids, ev, classes, unmatched)
