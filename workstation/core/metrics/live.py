"""LiveMetrics: keeps a project's evaluation current as labels and predictions change.

It listens to the project's psygnal events, collects them for `delay` seconds (an import or an
undo of many labels makes one recompute, not hundreds) and emits `computed(LiveResult)`. A label
change on a few cases is applied incrementally: only those cases' truth is read back (when the
project can look up single cases), so a confirm costs milliseconds even at 100,000 cases.
Qt-free: the caller may pass a `scheduler(delay_s, fn)` (the panels use a QTimer so that results
arrive on the GUI thread); the default runs `fn` on a threading.Timer.
"""
from __future__ import annotations

import inspect
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
from psygnal import Signal

from .tables import evaluate_table

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

    def __init__(self, project, truth: str = "final", plugin_id: str | None = None, delay: float = 0.03,
                 scheduler: Callable[[float, Callable[[], None]], None] | None = None, ci_method: str = "delong"):
        self.project = project
        self.truth = truth
        self.plugin_id = plugin_id
        self.delay = delay
        self.ci_method = ci_method
        self._schedule = scheduler or _timer_scheduler
        self._lock = threading.Lock()
        self._pending = False
        self._full = True
        self._changed: set[str] = set()
        self._table = None
        self.result: LiveResult | None = None
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
    def set_truth(self, truth: str) -> None:
        self.truth = truth
        self._on_reload()

    def set_model(self, plugin_id: str | None) -> None:
        self.plugin_id = plugin_id
        self._on_reload()

    def models(self) -> list[str]:
        return self.project.prediction_plugins()

    def truth_choices(self) -> list[str]:
        return ["final", "consensus", *self.project.readers()]

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
        self._schedule(self.delay, self.flush)

    def flush(self) -> LiveResult | None:
        """Compute now what the collected events call for (nothing when no event is pending)."""
        with self._lock:
            if not self._pending and not self._full and not self._changed:
                return None
            full, changed = self._full, frozenset(self._changed)
            self._pending, self._full, self._changed = False, False, set()
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
        start = time.perf_counter()
        if full or self._table is None or not self._single_case_truth or len(changed) > INCREMENTAL_LIMIT:
            table, changed = self.project.evaluation_table(self.truth, self.plugin_id), frozenset()
            if self.plugin_id is None:
                self.plugin_id = table.plugin_id
        else:
            table = self._patched(self._table, changed)
        self._table = table
        if len(table) == 0:
            reason = ("no model has predicted these cases" if table.plugin_id is None
                      else f"no case has both a {self.truth} label and a prediction")
            ev = None
        else:
            reason, ev = None, evaluate_table(table, self.ci_method)
        result = LiveResult(table, ev, self.truth, table.plugin_id, reason, time.perf_counter() - start, changed)
        self.result = result
        self.computed.emit(result)
        return result

    def _patched(self, table, changed: frozenset):
        """The table with the truth of the changed cases read again (rows dropped, replaced or
        added), using the project's own table builder for the new rows."""
        from workstation.core.project import evaluation as project_evaluation

        ids = sorted(changed)
        truth = self.project.truth(self.truth, case_ids=ids)
        preds = self.project.latest_predictions(table.plugin_id) if table.plugin_id else {}
        fresh = project_evaluation.build_table(
            ids, truth, {c: preds[c] for c in ids if c in preds}, table.task, table.classes, self.truth, table.plugin_id)
        index = {c: i for i, c in enumerate(table.case_ids)}
        keep = np.ones(len(table.case_ids), bool)
        for c in ids:
            if c in index:
                keep[index[c]] = False
        case_ids = [c for c, k in zip(table.case_ids, keep) if k] + list(fresh.case_ids)
        return replace(table, case_ids=case_ids,
                       y_true=np.concatenate([table.y_true[keep], fresh.y_true]),
                       scores=np.concatenate([table.scores[keep], fresh.scores]), truth=self.truth)
