"""`workstation evaluate RESULTS --truth TRUTH.csv`: the ok rows of a batch results dataset as the
metrics engine's input. Results and truth are read column-wise with pyarrow and matched on case_id
by one dictionary encoding of both id columns (it also tells whether either repeats an id), so a
million rows load in well under a second. Binary results score the second class (the positive
one, as plugins list them); truth labels are 0/1 or the class names."""
from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workstation.batch import results
from workstation.core.metrics import prediction_files as pf
from workstation.core.metrics.binary import BinaryEvaluation
from workstation.core.metrics.multiclass import MulticlassEvaluation
from workstation.core.metrics.multilabel import MultilabelEvaluation


def is_results(path) -> bool:
    p = Path(path)
    return (p.is_dir() and bool(results.parts(p))) or p.suffix.lower() == ".parquet"


def read_truth(path, unique: bool = True) -> pa.Table:
    """The truth CSV as a table of trimmed strings; the same checks as the CSV reader's (`unique`:
    also that no case_id repeats; `load` finds that out with its matching instead)."""
    import pyarrow.csv as pacsv

    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            columns = [c.strip() for c in next(csv.reader(handle), [])]
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1),
                               convert_options=pacsv.ConvertOptions(
                                   column_types={c: pa.string() for c in columns}, strings_can_be_null=False))
    except OSError as exc:
        raise pf.PredictionFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error, pa.ArrowException) as exc:
        raise pf.PredictionFileError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    if "case_id" not in columns:
        raise pf.PredictionFileError(f"{path}: no case_id column (columns: {', '.join(columns) or 'none'})")
    table = pa.table({c: pc.utf8_trim_whitespace(table[c]) for c in columns})
    ids = table["case_id"]
    if pc.any(pc.equal(ids, "")).as_py():
        raise pf.PredictionFileError(f"{path}: empty case_id")
    if unique and len(pc.unique(ids)) != table.num_rows:
        _twice(path, ids)
    return table


def _twice(path, ids) -> None:
    counts = pc.value_counts(ids)
    twice = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
    raise pf.PredictionFileError(f"{path}: case_id {twice!r} appears twice")


class CaseIds(Sequence):
    """The evaluated case ids, read from their Arrow column when asked (a million Python strings
    would cost a tenth of a second that `workstation evaluate` never uses)."""

    def __init__(self, ids: pa.ChunkedArray | pa.Array) -> None:
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.ids[index].to_pylist()
        return self.ids[index].as_py()

    def __iter__(self):
        return iter(self.ids.to_pylist())


def _match(path, result_ids: pa.ChunkedArray, truth, truth_path) -> tuple[np.ndarray, np.ndarray]:
    """(result rows with truth, their truth rows), in result order. Both id columns are dictionary
    encoded as one: the truth first, so its ids are codes 0, 1, 2, ... exactly when none repeats,
    and a result row has truth when its code is below the truth's row count. Raises, in the order
    of the checks before (results first), on a case_id repeated in the results or in the truth,
    or a truth file that cannot be read (`truth` is then that error)."""
    if isinstance(truth, Exception):
        if len(pc.unique(result_ids)) != len(result_ids):
            _repeated_results(path)
        raise truth
    n_truth = truth.num_rows
    ids = truth["case_id"]
    if result_ids.null_count:  # matches no truth (whose ids are never empty); two of them repeat
        result_ids = pc.fill_null(result_ids, "")
    encoded = pc.dictionary_encode(pa.chunked_array([*ids.chunks, *result_ids.chunks], type=pa.string()))
    codes = np.concatenate([c.indices.to_numpy() for c in encoded.chunks]) if encoded.num_chunks else np.zeros(0, np.int32)
    truth_codes, result_codes = codes[:n_truth], codes[n_truth:]
    seen = np.zeros(len(encoded.chunk(0).dictionary) if encoded.num_chunks else 0, bool)
    seen[result_codes] = True
    if int(np.count_nonzero(seen)) != len(result_codes):
        _repeated_results(path)
    # the truth's codes count up from 0 as new ids come: all distinct exactly when the last is n - 1
    if n_truth and int(truth_codes.max()) != n_truth - 1:
        _twice(truth_path, ids)
    rows = np.flatnonzero(result_codes < n_truth)
    return rows, result_codes[rows]


def _repeated_results(path) -> None:
    raise pf.PredictionFileError(f"{path}: a case_id appears in more than one row (several sources?)")


def _codes(joined: pa.Table, column: str, classes: list[str] | None, truth_path) -> np.ndarray:
    """Labels as class indices: a class name, or 0/1 for two classes (and for multi-label flags)."""
    labels = joined[column]
    choices = []
    if classes:
        choices.append(pc.index_in(labels, value_set=pa.array(classes)))
    if classes is None or len(classes) == 2:
        choices += [pc.index_in(labels, value_set=pa.array(["0", "1"])),
                    pc.index_in(labels, value_set=pa.array(["0.0", "1.0"]))]
    codes = pc.coalesce(*choices) if len(choices) > 1 else choices[0]
    if codes.null_count:
        n = pc.index(pc.is_null(codes), True).as_py()
        allowed = "0 or 1" if classes is None else ("0/1 or " if len(classes) == 2 else "") + "one of " + ", ".join(classes)
        raise pf.PredictionFileError(f"{truth_path}: case {joined['case_id'][n].as_py()!r}: {column} is "
                                     f"{labels[n].as_py()!r}, not {allowed}")
    return codes.to_numpy(zero_copy_only=False).astype(np.intp)


def load(path, truth_path, ci_method: str = "delong") -> pf.LoadedPredictions:
    # Arrow's default mimalloc pool asks for huge pages, whose first touch cost this machine 0.3 s of
    # system time on a million rows (1.14-1.41 s a cold load against 0.84-0.85 s with glibc's
    # allocator); buffers already made keep the pool they came from
    pa.set_memory_pool(pa.system_memory_pool())
    if not truth_path:
        raise pf.PredictionFileError(f"{path}: batch results hold no truth; give --truth TRUTH.csv")
    try:
        table = results.read_results(path, ["case_id", "status", "task", "classes", "scores"],
                                     dictionary=("status", "task", "classes.list.element"))
    except results.ResultsError as exc:
        raise pf.PredictionFileError(str(exc)) from None
    ok = pc.equal(table["status"], "ok")
    if not pc.all(ok).as_py():  # a filter copies every column, even when it keeps every row
        table = table.filter(ok)
    if table.num_rows == 0:
        raise pf.PredictionFileError(f"{path}: no successful predictions to evaluate")
    first_task = table["task"][0]
    same = pc.all(pc.equal(table["task"], first_task)).as_py() if first_task.is_valid else False
    tasks = [first_task.as_py()] if same else pc.unique(table["task"]).to_pylist()
    if len(tasks) != 1:
        raise pf.PredictionFileError(f"{path}: rows of several tasks ({', '.join(tasks)}); evaluate one plugin's results")
    task, classes = tasks[0], table["classes"][0].as_py()
    widths = pc.list_value_length(table["scores"]).to_numpy(zero_copy_only=False)
    if not classes or (widths != len(classes)).any():
        raise pf.PredictionFileError(f"{path}: rows without one score per class; not classifier results")
    try:
        truth = read_truth(truth_path, unique=False)
    except pf.PredictionFileError as exc:
        truth = exc
    rows, truth_rows = _match(path, table["case_id"], truth, truth_path)
    needed = classes if task == "multilabel" else ["label"]
    missing = [c for c in needed if c not in truth.column_names]
    if missing:
        what = "multi-label truth lacks column(s)" if task == "multilabel" else "no label column (columns:"
        tail = "" if task == "multilabel" else ")"
        detail = ", ".join(missing) if task == "multilabel" else ", ".join(truth.column_names)
        raise pf.PredictionFileError(f"{truth_path}: {what} {detail}{tail}")
    scores = pc.list_flatten(table["scores"]).to_numpy(zero_copy_only=False).reshape(-1, len(classes))
    every = len(rows) == table.num_rows  # every result has truth (rows is then 0, 1, 2, ...): no copy
    joined = pa.table({"case_id": table["case_id"] if every else table["case_id"].take(rows),
                       **{c: truth[c].take(truth_rows) for c in needed}})
    if joined.num_rows == 0:
        raise pf.PredictionFileError(f"{path}: no case_id in common with {truth_path}")
    unmatched = {"predictions_without_truth": table.num_rows - joined.num_rows,
                 "truth_without_prediction": truth.num_rows - joined.num_rows}
    ids = CaseIds(joined["case_id"])
    if task == "binary":  # only the positive class's column is copied (a copy: the scores are Arrow's)
        positive = np.ascontiguousarray(scores[:, 1]) if every else scores[rows, 1]
        ev = BinaryEvaluation(_codes(joined, "label", classes, truth_path), positive, ci_method)
    elif task == "multiclass":
        ev = MulticlassEvaluation(_codes(joined, "label", classes, truth_path), scores[rows], classes, ci_method)
    elif task == "multilabel":
        Y = np.stack([_codes(joined, c, None, truth_path) for c in classes], axis=1)
        ev = MultilabelEvaluation(Y, scores[rows], classes, ci_method)
    else:
        raise pf.PredictionFileError(f"{path}: task {task!r} has no classification metrics")
    return pf.LoadedPredictions(task, ids, ev, list(classes), unmatched)
