"""`workstation evaluate RESULTS --truth TRUTH.csv`: the ok rows of a batch results dataset as the
metrics engine's input, read column-wise (a million scores load in well under a second). Binary
results score the second class (the positive one, as plugins list them); truth labels are 0/1 or
the class names."""
from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from workstation.batch import results
from workstation.core.metrics import prediction_files as pf
from workstation.core.metrics.binary import BinaryEvaluation
from workstation.core.metrics.multiclass import MulticlassEvaluation
from workstation.core.metrics.multilabel import MultilabelEvaluation


def is_results(path) -> bool:
    from pathlib import Path

    p = Path(path)
    return (p.is_dir() and bool(results.parts(p))) or p.suffix.lower() == ".parquet"


def _truth_array(truth: pf.Table, ids, column: str, classes: list[str] | None) -> np.ndarray:
    out = np.empty(len(ids), dtype=np.intp)
    index = {name: k for k, name in enumerate(classes or [])}
    for n, cid in enumerate(ids):
        text = truth.rows[cid].get(column, "")
        if text in index:
            out[n] = index[text]
        elif text in ("0", "1", "0.0", "1.0") and (classes is None or len(classes) == 2):
            out[n] = int(float(text))
        else:
            allowed = "0 or 1" if classes is None else "0/1 or one of " + ", ".join(classes)
            raise pf.PredictionFileError(f"{truth.path}: case {cid!r}: {column} is {text!r}, not {allowed}")
    return out


def load(path, truth_path, ci_method: str = "delong") -> pf.LoadedPredictions:
    if not truth_path:
        raise pf.PredictionFileError(f"{path}: batch results hold no truth; give --truth TRUTH.csv")
    try:
        table = results.read_results(path, ["case_id", "status", "task", "classes", "scores"])
    except results.ResultsError as exc:
        raise pf.PredictionFileError(str(exc)) from None
    table = table.filter(pc.equal(table["status"], "ok"))
    if table.num_rows == 0:
        raise pf.PredictionFileError(f"{path}: no successful predictions to evaluate")
    tasks = pc.unique(table["task"]).to_pylist()
    if len(tasks) != 1:
        raise pf.PredictionFileError(f"{path}: rows of several tasks ({', '.join(tasks)}); evaluate one plugin's results")
    task, classes = tasks[0], table["classes"][0].as_py()
    widths = pc.list_value_length(table["scores"]).to_numpy(zero_copy_only=False)
    if not classes or (widths != len(classes)).any():
        raise pf.PredictionFileError(f"{path}: rows without one score per class; not classifier results")
    truth = pf.read_table(truth_path)
    case_ids = table["case_id"].to_pylist()
    if len(set(case_ids)) != len(case_ids):
        raise pf.PredictionFileError(f"{path}: a case_id appears in more than one row (several sources?)")
    scores = pc.list_flatten(table["scores"]).to_numpy(zero_copy_only=False).reshape(-1, len(classes))
    keep = np.fromiter((cid in truth.rows for cid in case_ids), dtype=bool, count=len(case_ids))
    ids = [cid for cid, k in zip(case_ids, keep) if k]
    unmatched = {"predictions_without_truth": int((~keep).sum()),
                 "truth_without_prediction": len(truth.rows) - len(ids)}
    if not ids:
        raise pf.PredictionFileError(f"{path}: no case_id in common with {truth.path}")
    scores = scores[keep]
    if task == "binary":
        if "label" not in truth.columns:
            raise pf.PredictionFileError(f"{truth.path}: no label column (columns: {', '.join(truth.columns)})")
        ev = BinaryEvaluation(_truth_array(truth, ids, "label", classes), scores[:, 1], ci_method)
    elif task == "multiclass":
        if "label" not in truth.columns:
            raise pf.PredictionFileError(f"{truth.path}: no label column (columns: {', '.join(truth.columns)})")
        ev = MulticlassEvaluation(_truth_array(truth, ids, "label", classes), scores, classes, ci_method)
    elif task == "multilabel":
        missing = [c for c in classes if c not in truth.columns]
        if missing:
            raise pf.PredictionFileError(f"{truth.path}: multi-label truth lacks column(s) {', '.join(missing)}")
        Y = np.stack([_truth_array(truth, ids, c, None) for c in classes], axis=1)
        ev = MultilabelEvaluation(Y, scores, classes, ci_method)
    else:
        raise pf.PredictionFileError(f"{path}: task {task!r} has no classification metrics")
    return pf.LoadedPredictions(task, ids, ev, list(classes), unmatched)
