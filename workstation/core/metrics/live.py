"""LiveMetrics: keeps a project's evaluation current as labels and predictions change.

It listens to the project's psygnal events and emits `computed(LiveResult)`. The first event
after a quiet spell is computed at once (on the scheduler's next turn); events that follow within
`delay` seconds of a computation are collected into one (an import or an undo of many labels
makes a few recomputes, not hundreds). A label
change on a few cases is applied incrementally: only those cases' truth is read back (when the
project can look up single cases), so a confirm costs milliseconds even at 100,000 cases.
Qt-free: the caller may pass a `scheduler(delay_s, fn)`; the default runs `fn` on a
threading.Timer. `fn` may run on any thread (the panels run it on a worker thread, so that a full
reload of 100,000 cases never freezes the window); computations never overlap, and the curves,
AUC and its interval are computed before `computed` is emitted.
"""
from __future__ import annotations

import inspect
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
from psygnal import Signal

from workstation.core.metrics.binary import BinaryEvaluation
from workstation.core.metrics.incremental import update_sorted
from workstation.core.metrics.tables import evaluate_table
from workstation.core.vocab import Task, Truth

INCREMENTAL_LIMIT = 500  # more changed cases than this: one full reload is cheaper


@dataclass
class LiveResult:
    table: Any                    # the EvaluationTable the metrics were computed on
    evaluation: Any               # Binary/Multiclass/MultilabelEvaluation, None when nothing to evaluate
    truth: str
    plugin_id: str | None
    reason: str | None = None     # why there is nothing to evaluate
    seconds: float = 0.0
    changed_cases: frozenset = field(default_factory=frozenset)  # empty: a full reload

    @property
    def task(self) -> str:
        return self.table.task if self.table is not None else ""


def _timer_scheduler(delay: float, fn: Callable[[], None]) -> None:
    t = threading.Timer(delay, fn)
    t.daemon = True
    t.start()


class LiveMetrics:
    computed = Signal(object)   # LiveResult
    failed = Signal(str)        # a one-line reason (e.g. the database went away)

    def __init__(self, project, truth: str = "final", plugin_id: str | None = None, delay: float = 0.05,
                 scheduler: Callable[[float, Callable[[], None]], None] | None = None, ci_method: str = "delong"):
        self.project = project
        self.truth = truth
        self.plugin_id = plugin_id
        self.delay = delay
        self.ci_method = ci_method
        self._schedule = scheduler or _timer_scheduler
        self._lock = threading.Lock()
        self._compute_lock = threading.Lock()  # one computation at a time, whichever thread
        self._pending = False
        self._full = True
        self._changed: set[str] = set()
        self._table = None
        self._rows: dict[str, int] = {}  # case id -> row of self._table
        self._edits = None  # the last patch: relabelled rows, new labels, removed rows, added rows
        self._last_flush = -1e9
        self.result: LiveResult | None = None
        self.level: str | None = None      # a taxonomy level (core/taxonomy): None reads the classes
        self.positive: str | None = None   # the positive node of a two-node level
        self._single_case_truth = "case_ids" in inspect.signature(project.truth).parameters
        ev = project.events
        ev.label_changed.connect(self._on_label)
        ev.predictions_changed.connect(self._on_reload)
        ev.cases_changed.connect(self._on_reload)

    def close(self) -> None:
        ev = self.project.events
        for sig, slot in ((ev.label_changed, self._on_label), (ev.predictions_changed, self._on_reload),
                          (ev.cases_changed, self._on_reload)):
            sig.disconnect(slot)

    # ---- what to compute -----------------------------------------------------------------------
    def reload(self) -> None:
        """Schedule a full reload (what a project or model switch needs)."""
        self._on_reload()

    def set_truth(self, truth: str) -> None:
        self.truth = truth
        self._on_reload()

    def set_model(self, plugin_id: str | None) -> None:
        self.plugin_id = plugin_id
        self._on_reload()

    def set_level(self, level: str | int | None, positive: str | None = None) -> None:
        """Read labels and predictions at a level of the project's taxonomy ("1", ..., "leaf"; None:
        the classes as they are). Checked now: a level the tree lacks raises TaxonomyError."""
        if level is not None:
            from workstation.core.taxonomy import level_classes

            if self.level_choices() == []:
                from workstation.core.taxonomy import TaxonomyError

                raise TaxonomyError("this project has no taxonomy")
            level_classes(self.project.taxonomy, level, positive)
        self.level, self.positive = (None, None) if level is None else (str(level), positive)
        self._on_reload()

    def level_choices(self) -> list[str]:
        """The levels of the project's taxonomy (["1", "2", "leaf"]), [] without one."""
        taxonomy = getattr(self.project, "taxonomy", None)
        return list(taxonomy.level_names) if taxonomy is not None else []

    def models(self) -> list[str]:
        return self.project.prediction_plugins()

    def truth_choices(self) -> list[str]:
        mined = ["report"] if self.project.labels(tag="report") else []  # labels mined from reports
        return [Truth.FINAL.value, Truth.CONSENSUS.value, *mined, *self.project.readers()]

    # ---- events and debouncing -----------------------------------------------------------------
    def _on_label(self, case_id: str) -> None:
        with self._lock:
            self._changed.add(case_id)
        self._arm()

    def _on_reload(self, *_) -> None:
        with self._lock:
            self._full = True
        self._arm()

    def _arm(self) -> None:
        with self._lock:
            if self._pending:
                return
            self._pending = True
            quiet = time.monotonic() - self._last_flush >= self.delay
        self._schedule(0.0 if quiet else self.delay, self.flush)

    def flush(self) -> LiveResult | None:
        """Compute now what the collected events call for (nothing when no event is pending)."""
        with self._lock:
            if not self._pending and not self._full and not self._changed:
                return None
            full, changed = self._full, frozenset(self._changed)
            self._pending, self._full, self._changed = False, False, set()
            self._last_flush = time.monotonic()
        try:
            return self._compute(full, changed)
        except Exception as exc:  # the database may be gone or locked: say so, keep running
            with self._lock:
                self._full = True
            self.failed.emit(f"metrics not updated: {exc}")
            return None

    def recompute(self) -> LiveResult:
        """A full reload and recompute, synchronously."""
        with self._lock:
            self._full, self._changed = False, set()
        return self._compute(True, frozenset())

    # ---- computing -----------------------------------------------------------------------------
    def _compute(self, full: bool, changed: frozenset) -> LiveResult:
        with self._compute_lock:
            return self._compute_locked(full, changed)

    def _compute_locked(self, full: bool, changed: frozenset) -> LiveResult:
        start = time.perf_counter()
        # at a taxonomy level a label maps to a node: always a full reload (no per-case patch)
        if (full or self._table is None or not self._single_case_truth or len(changed) > INCREMENTAL_LIMIT
                or self.level is not None):
            at_level = {} if self.level is None else {"level": self.level, "positive": self.positive}
            table, changed = self.project.evaluation_table(self.truth, self.plugin_id, **at_level), frozenset()
            if self.plugin_id is None:
                self.plugin_id = table.plugin_id
            self._rows = {c: i for i, c in enumerate(table.case_ids)}
            self._edits = None
        else:
            table = self._patched(self._table, changed)
        self._table = table
        previous = self.result.evaluation if self.result is not None else None
        if len(table) == 0:
            reason = ("no model has predicted these cases" if table.plugin_id is None
                      else f"no case has both a {self.truth} label and a prediction")
            ev = None
        elif self._edits is not None and isinstance(previous, BinaryEvaluation) and table.task == Task.BINARY:
            reason, ev = None, warm(self._updated_binary(previous, table))
        else:
            reason, ev = None, warm(evaluate_table(table, self.ci_method))
        result = LiveResult(table, ev, self.truth, table.plugin_id, reason, time.perf_counter() - start, changed)
        self.result = result
        self.computed.emit(result)
        return result

    def _patched(self, table, changed: frozenset):
        """The table with the truth of the changed cases read again: rows replaced, added (with
        the case's newest prediction of the table's model) or dropped (label cleared or a state)."""
        ids = sorted(changed)
        truth = self.project.truth(self.truth, case_ids=ids)
        rows = self._rows
        y, scores, case_ids = table.y_true.copy(), table.scores, table.case_ids
        new_ids, new_y, new_scores, gone = [], [], [], []
        for c in ids:
            value = truth.get(c)
            if value is None:
                if c in rows:
                    gone.append(rows[c])
            elif c in rows:
                y[rows[c]] = encode_truth(value, table.task, table.classes)
            else:
                row = self._score_row(c, table)
                if row is not None:
                    new_ids.append(c)
                    new_y.append(encode_truth(value, table.task, table.classes))
                    new_scores.append(row)
        # what changed, in the row numbers of the old table, for updating sorted scores in place
        self._edits = ([rows[c] for c in ids if c in truth and c in rows],
                       [y[rows[c]] for c in ids if c in truth and c in rows], gone, new_scores, new_y)
        if new_ids:
            rows.update((c, len(case_ids) + k) for k, c in enumerate(new_ids))
            case_ids = case_ids + new_ids
            y = np.concatenate([y, np.asarray(new_y, dtype=y.dtype).reshape((-1,) + y.shape[1:])])
            scores = np.concatenate([scores, np.asarray(new_scores, dtype=float)])
        if gone:
            keep = np.ones(len(case_ids), bool)
            keep[gone] = False
            case_ids = [c for c, k in zip(case_ids, keep) if k]
            y, scores = y[keep], scores[keep]
            self._rows = {c: i for i, c in enumerate(case_ids)}
        return replace(table, case_ids=case_ids, y_true=y, scores=scores, truth=self.truth)

    def _updated_binary(self, previous: BinaryEvaluation, table) -> BinaryEvaluation:
        """The binary evaluation after a patch, from the previous sorted scores (no new sort)."""
        relabel_rows, relabel_to, gone, new_scores, new_y = self._edits
        ss = update_sorted(previous.sorted, relabel_rows, np.asarray(relabel_to) == 1, sorted(gone),
                           [r[1] for r in new_scores], np.asarray(new_y) == 1)
        return BinaryEvaluation(ss.labels, table.scores[:, 1], self.ci_method, presorted=ss)

    def _score_row(self, case_id: str, table) -> list[float] | None:
        """The newest prediction of the table's model for one case, in class order."""
        if table.plugin_id is None:
            return None
        record = next((r for r in self.project.prediction_history(case_id) if r.plugin_id == table.plugin_id), None)
        return None if record is None else score_row(record.probabilities, table.task, table.classes)


def warm(ev):
    """Compute what the panels draw (curves, AUC with its interval, calibration) here, on the
    computing thread, rather than lazily while drawing."""
    for b in getattr(ev, "per_class", None) or getattr(ev, "per_label", None) or [ev]:
        b.roc, b.auc, b.pr, b.calibration, b.operating_points  # noqa: B018 (cached properties)
    if hasattr(ev, "auc_averages"):
        ev.auc_averages  # noqa: B018
    if hasattr(ev, "matrix"):
        ev.matrix, ev.calibration  # noqa: B018
    return ev


def encode_truth(value, task: str, classes: list[str]):
    """A project truth value as a table row: the class index, or 0/1 per class (multi-label)."""
    if task == Task.MULTILABEL:
        chosen = set(value)
        return [1 if c in chosen else 0 for c in classes]
    return classes.index(value)


def score_row(probabilities: dict, task: str, classes: list[str]) -> list[float] | None:
    """Class probabilities in class order; a binary model may give the positive class only."""
    if all(c in probabilities for c in classes):
        row = [float(probabilities[c]) for c in classes]
    elif task == Task.BINARY and classes[1] in probabilities:
        p = float(probabilities[classes[1]])
        row = [1.0 - p, p]
    else:
        return None
    return row if all(np.isfinite(row)) else None
