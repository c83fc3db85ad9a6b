"""A multi-class prediction CSV (`case_id,label,p_<leaf>...`, or a separate truth file) read at a
level of a taxonomy for `workstation evaluate --taxonomy TREE.json --level L`: labels may name any
node of the tree; the p_ columns must be exactly its leaves."""
from __future__ import annotations

from workstation.core.metrics.prediction_files import PredictionFileError, _number, detect_task, read_table
from workstation.core.taxonomy import LevelTable, Taxonomy, TaxonomyError, at_level


def load_at_level(pred_path, truth_path, taxonomy: Taxonomy, level, positive: str | None = None
                  ) -> tuple[LevelTable, dict]:
    """(the level's table, unmatched counts as prediction_files.load gives them)."""
    pred = read_table(pred_path)
    truth = read_table(truth_path) if truth_path else pred
    kind, classes = detect_task(pred)
    if kind != "probabilities":
        raise PredictionFileError(f"{pred.path}: a taxonomy needs p_<leaf> columns (the multi-class schema), "
                                  "not a binary score")
    if "label" not in truth.columns:
        raise PredictionFileError(f"{truth.path}: no label column (columns: {', '.join(truth.columns)})")
    try:
        taxonomy.check_classes(classes, what=f"the model's classes (the p_ columns of {pred.path})")
    except TaxonomyError as exc:
        raise PredictionFileError(str(exc)) from None
    ids = [cid for cid in pred.rows if cid in truth.rows]
    unmatched = {"predictions_without_truth": sum(cid not in truth.rows for cid in pred.rows),
                 "truth_without_prediction": sum(cid not in pred.rows for cid in truth.rows)}
    if not ids:
        raise PredictionFileError(f"{pred.path}: no case_id in common with {truth.path}")
    labels = [truth.rows[c]["label"] for c in ids]
    for cid, label in zip(ids, labels):
        if label not in taxonomy:
            raise PredictionFileError(f"{truth.path}: case {cid!r}: label {label!r} names no node of the taxonomy")
    scores = [[_number(pred, c, f"p_{k}") for k in classes] for c in ids]
    return at_level(taxonomy, ids, labels, scores, classes, level, positive), unmatched
