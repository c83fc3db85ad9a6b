"""The worklist's table model: columnar arrays (numpy) for 100,000+ cases, sorting and filtering
done with numpy on a row index, and one-row updates when a label changes.

Rows stay where they are when a label changes (a labelled case does not vanish from the
"unlabelled" filter under the reader's hands); the filter is applied again when it is chosen again.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal

from workstation.core.project.records import NOT_ASSESSABLE, UNCERTAIN

COLUMNS = ["", "Case", "Prediction", "P", "Label", "Report", "Reader", "Flags"]
THUMB, CASE, PRED, PROB, LABEL, REPORT, READER, FLAGS = range(len(COLUMNS))
CUSTOM_ORDER = -1  # a sort "column": the order given to set_order (most uncertain first, ...)
F_DISAGREE, F_LOWCONF, F_UNCERTAIN, F_NOTE = 1, 2, 4, 8
CaseIdRole = Qt.ItemDataRole.UserRole + 1


def label_text(value: Any) -> str:
    if value is None:
        return ""
    if value == UNCERTAIN:
        return "? uncertain"
    if value == NOT_ASSESSABLE:
        return "✗ not assessable"
    if isinstance(value, list):
        return ", ".join(value) if value else "(none)"
    if isinstance(value, dict):
        return str(value.get("state") or value.get("status") or "reviewed")
    return str(value)


class _Bridge(QObject):
    """Carries project events (psygnal, any thread) onto the GUI thread."""
    label_changed = Signal(str)
    predictions_changed = Signal()
    cases_changed = Signal()


class WorklistModel(QAbstractTableModel):
    low_confidence = 0.65  # top probability below this is "low confidence"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project = None
        self.reader = ""
        self.blinded = False
        self.plugin_id: str | None = None
        self.thumbnails = None  # a ThumbnailCache (set by the dock)
        self._bridge = _Bridge()
        self._bridge.label_changed.connect(self._on_label_changed)
        # a plugin run stores predictions batch after batch: reload once they pause
        from PySide6.QtCore import QTimer
        self._reload_timer = QTimer(self, singleShot=True, interval=300)
        self._reload_timer.timeout.connect(self.reload)
        self._bridge.predictions_changed.connect(self._reload_timer.start)
        self._bridge.cases_changed.connect(self._reload_timer.start)
        self._filter: tuple[str, set | None, str] = ("all", None, "")
        self._clear()

    # ---- loading -------------------------------------------------------------------------------
    def _clear(self) -> None:
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.classes: list[str] = []
        self.probs = np.zeros((0, 1))
        self.n_candidates = np.zeros(0, dtype=np.int32)
        self.mine: list[Any] = []          # the session reader's final label
        self.current: list[Any] = []       # the case's label shown: mine, else adjudicated/newest final
        self.current_reader: list[str] = []
        self.report: dict[str, Any] = {}   # case id -> newest label mined from its report (core/reports.py)
        self.notes = np.zeros(0, dtype=bool)
        self.view = np.zeros(0, dtype=np.int64)
        self.sort_key: tuple[int, Qt.SortOrder] | None = None
        self.order_rank = np.zeros(0, dtype=np.int64)

    def set_project(self, project, reader: str = "") -> None:
        self._filter = ("all", None, "")
        self.sort_key = None
        if self.project is not None:
            for signal, slot in self._connections():
                signal.disconnect(slot)
        self.project = project
        self.reader = reader or self.reader
        if project is not None:
            for signal, slot in self._connections():
                signal.connect(slot)
        self.reload()

    def _connections(self):
        ev = self.project.events
        return [(ev.label_changed, self._relay_label), (ev.predictions_changed, self._relay_predictions),
                (ev.cases_changed, self._relay_cases)]

    # psygnal holds these bound methods weakly; a model whose Qt side is gone just stops listening
    def _relay_label(self, case_id: str) -> None:
        self._relay(self._bridge.label_changed, case_id)

    def _relay_predictions(self) -> None:
        self._relay(self._bridge.predictions_changed)

    def _relay_cases(self) -> None:
        self._relay(self._bridge.cases_changed)

    def _relay(self, signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the C++ object was deleted with its window
            pass

    def set_reader(self, reader: str) -> None:
        if reader != self.reader:
            self.reader = reader
            self.reload()

    def reload(self) -> None:
        """Read everything again, keeping the filter and the sort order."""
        self._reload_timer.stop()
        sort_key = self.sort_key
        self.beginResetModel()
        self._clear()
        if self.project is not None:
            self._load()
            self.sort_key = sort_key
            self.view = self._filtered(*self._filter)
        self.endResetModel()

    def _load(self) -> None:
        from workstation.core.project import snapshot

        p = self.project
        self.classes = p.classes
        snap = snapshot.read(p, self.plugin_id)
        self.ids = snap.case_ids
        n = len(self.ids)
        self.row_of = snap.row_of
        self.probs = snap.probs
        self.n_candidates = snap.n_candidates
        self.mine = [None] * n
        self.current = [None] * n
        self.current_reader = [""] * n
        self.notes = np.zeros(n, dtype=bool)
        self._apply_labels(snap.labels)
        self._load_report()
        self.view = np.arange(n, dtype=np.int64)

    def _apply_labels(self, labels, reset_rows: set[int] | None = None) -> None:
        rank: dict[int, tuple] = {}
        for i in reset_rows or ():
            self.mine[i], self.current[i], self.current_reader[i], self.notes[i] = None, None, "", False
        me = self.reader
        for case_id, reader, tag, value, note, updated_at in labels:
            i = self.row_of.get(case_id)
            if i is None:
                continue
            if note:
                self.notes[i] = True
            mine = tag == "final" and reader == me
            if mine:
                self.mine[i] = value
            # shown label: mine first, then adjudicated, then the newest final of anyone
            key = (mine, tag == "adjudicated", updated_at)
            if i not in rank or key > rank[i]:
                rank[i] = key
                self.current[i] = value
                self.current_reader[i] = reader + (" (adjudicated)" if tag == "adjudicated" else "")

    def _load_report(self, case_id: str | None = None) -> None:
        from workstation.core.reports.importing import REPORT_TAG

        self.report.pop(case_id, None)
        for lab in sorted(self.project.labels(case_id=case_id, tag=REPORT_TAG), key=lambda lab: lab.updated_at):
            self.report[lab.case_id] = lab.value

    def _on_label_changed(self, case_id: str) -> None:
        i = self.row_of.get(case_id)
        if i is None or self.project is None:
            return
        self._load_report(case_id)
        labels = [(lab.case_id, lab.reader, lab.tag, lab.value, lab.note, lab.updated_at)
                  for lab in self.project.labels(case_id=case_id) if lab.tag in ("final", "adjudicated")]
        self._apply_labels(labels, reset_rows={i})
        row = self.view_row(case_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    # ---- derived values -----------------------------------------------------------------------
    def top(self, i: int) -> tuple[int, float]:
        row = self.probs[i]
        if np.all(np.isnan(row)):
            return -1, math.nan
        j = int(np.nanargmax(row))
        return j, float(row[j])

    def top_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Top class index (-1: no prediction) and its probability, for every case at once."""
        missing = np.all(np.isnan(self.probs), axis=1)
        filled = np.where(np.isnan(self.probs), -1.0, self.probs)
        top = np.argmax(filled, axis=1) if len(filled) else np.zeros(0, dtype=int)
        p = filled[np.arange(len(filled)), top] if len(filled) else np.zeros(0)
        return np.where(missing, -1, top), np.where(missing, np.nan, p)

    def suggestion(self, case_id: str) -> Any:
        """The model's label for a case in the project's label form (None without a prediction)."""
        i = self.row_of.get(case_id)
        if i is None or np.all(np.isnan(self.probs[i])):
            return None
        if self.project.task == "multilabel":
            return [c for c, p in zip(self.classes, self.probs[i]) if p >= 0.5]
        if self.project.task == "detection":
            return None
        return self.classes[self.top(i)[0]]

    def hidden(self, i: int) -> bool:
        return self.blinded and self.mine[i] is None

    def row_flags(self, i: int) -> int:
        bits = 0
        suggestion = self.suggestion(self.ids[i])
        value = self.current[i]
        if suggestion is not None and value is not None and value not in (UNCERTAIN, NOT_ASSESSABLE) \
                and value != suggestion:
            bits |= F_DISAGREE
        j, p = self.top(i)
        if j >= 0 and self.project.task != "detection" and p < self.low_confidence:
            bits |= F_LOWCONF
        if value in (UNCERTAIN, NOT_ASSESSABLE):
            bits |= F_UNCERTAIN
        if self.notes[i]:
            bits |= F_NOTE
        return bits

    def _prediction_text(self, i: int) -> tuple[str, str]:
        if self.project.task == "detection":
            n = int(self.n_candidates[i])
            j, p = self.top(i)
            return (f"{n} candidate{'s' if n != 1 else ''}" if j >= 0 or n else "",
                    f"{p:.3f}" if j >= 0 else "")
        j, p = self.top(i)
        if j < 0:
            return "", ""
        if self.project.task == "multilabel":
            chosen = [c for c, q in zip(self.classes, self.probs[i]) if q >= 0.5]
            return (", ".join(chosen) or "(none)"), f"{p:.3f}"
        return self.classes[j], f"{p:.3f}"

    # ---- Qt model interface ---------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.view)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i = int(self.view[index.row()])
        column = index.column()
        if role == CaseIdRole:
            return self.ids[i]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == CASE:
                return self.ids[i]
            if column in (PRED, PROB):
                if self.hidden(i):
                    return "(blinded)" if column == PRED else ""
                return self._prediction_text(i)[column - PRED]
            if column == LABEL:
                return label_text(self.current[i])
            if column == READER:
                return self.current_reader[i]
            if column == REPORT:
                return "" if self.hidden(i) else label_text(self.report.get(self.ids[i]))
            if column == FLAGS:
                bits = 0 if self.hidden(i) else self.row_flags(i)
                hidden_bits = self.row_flags(i) & (F_UNCERTAIN | F_NOTE) if self.hidden(i) else 0
                bits |= hidden_bits
                names = [(F_DISAGREE, "disagree"), (F_LOWCONF, "low conf"), (F_UNCERTAIN, "uncertain"),
                         (F_NOTE, "note")]
                return " · ".join(name for bit, name in names if bits & bit)
            return None
        if role == Qt.ItemDataRole.DecorationRole and column == THUMB and self.thumbnails is not None:
            return self.thumbnails.get(self.ids[i])
        if role == Qt.ItemDataRole.ForegroundRole and column == LABEL and self.mine[i] is None \
                and self.current[i] is not None:
            from PySide6.QtGui import QColor
            return QColor(130, 130, 130)  # someone else's label: shown, but not this reader's
        if role == Qt.ItemDataRole.ToolTipRole and column == CASE and self.project is not None:
            return self.ids[i]
        if role == Qt.ItemDataRole.TextAlignmentRole and column == PROB:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def view_row(self, case_id: str) -> int | None:
        i = self.row_of.get(case_id)
        if i is None:
            return None
        hits = np.flatnonzero(self.view == i)
        return int(hits[0]) if hits.size else None

    def case_at(self, row: int) -> str | None:
        return self.ids[int(self.view[row])] if 0 <= row < len(self.view) else None

    # ---- sorting and filtering ------------------------------------------------------------------
    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self.sort_key = (column, order)
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        old_cases = [self.case_at(ix.row()) for ix in old_persistent]
        self.view = self._sorted(self.view, column, order)
        new = [self.index(self.view_row(c) if c else -1, ix.column()) if c else QModelIndex()
               for c, ix in zip(old_cases, old_persistent)]
        self.changePersistentIndexList(old_persistent, new)
        self.layoutChanged.emit()

    def set_order(self, order: list[str]) -> None:
        """Show rows in this case order (cases not in it after, in project order); filters keep it
        until a column header is clicked."""
        rank = np.full(len(self.ids), len(order), dtype=np.int64)
        for position, case_id in enumerate(order):
            i = self.row_of.get(case_id)
            if i is not None:
                rank[i] = position
        self.order_rank = rank
        self.sort(CUSTOM_ORDER)

    def _sorted(self, rows: np.ndarray, column: int, order) -> np.ndarray:
        if column == CUSTOM_ORDER:
            keys = self.order_rank[rows] if len(self.order_rank) == len(self.ids) else rows
        elif column == CASE or column == THUMB:
            keys = np.array(self.ids, dtype=object)[rows].astype(str)
        elif column in (PRED, PROB):
            tops = np.where(np.all(np.isnan(self.probs[rows]), axis=1), -np.inf,
                            np.nanmax(np.where(np.isnan(self.probs[rows]), -np.inf, self.probs[rows]), axis=1))
            keys = tops if column == PROB else np.array([self._prediction_text(i)[0] for i in rows], dtype=str)
        elif column == LABEL:
            keys = np.array([label_text(self.current[i]) for i in rows], dtype=str)
        elif column == READER:
            keys = np.array([self.current_reader[i] for i in rows], dtype=str)
        elif column == REPORT:
            keys = np.array([label_text(self.report.get(self.ids[i])) for i in rows], dtype=str)
        else:
            keys = np.array([self.row_flags(i) for i in rows])
        ordering = np.argsort(keys, kind="stable")
        if order == Qt.SortOrder.DescendingOrder:
            ordering = ordering[::-1]
        return rows[ordering]

    def mask(self, kind: str, case_ids: set | None = None) -> np.ndarray:
        """Rows matching a filter: all, unlabelled, disagreement, low_confidence, label:<class>,
        predicted:<class>, cases (the given ids)."""
        n = len(self.ids)
        if kind == "all":
            return np.ones(n, dtype=bool)
        if kind == "unlabelled":
            return np.array([m is None for m in self.mine], dtype=bool)
        if kind == "disagreement":
            if self.project.task in ("binary", "multiclass"):
                code = {c: j for j, c in enumerate(self.classes)}
                label = np.array([code.get(v, -1) if isinstance(v, str) else -1 for v in self.current])
                top, _ = self.top_arrays()
                return (label >= 0) & (top >= 0) & (label != top)
            return np.array([bool(self.row_flags(i) & F_DISAGREE) for i in range(n)], dtype=bool)
        if kind == "low_confidence":
            with np.errstate(invalid="ignore"):
                top = np.nanmax(np.where(np.isnan(self.probs), -1.0, self.probs), axis=1) if n else np.zeros(0)
            return (top >= 0) & (top < self.low_confidence)
        if kind.startswith("label:"):
            name = kind.split(":", 1)[1]
            return np.array([v == name or (isinstance(v, list) and name in v) for v in self.current], dtype=bool)
        if kind.startswith("predicted:"):
            name = kind.split(":", 1)[1]
            if name not in self.classes:
                return np.zeros(n, dtype=bool)
            j = self.classes.index(name)
            if self.project.task == "multilabel":
                return self.probs[:, j] >= 0.5
            return np.array([self.top(i)[0] == j for i in range(n)], dtype=bool)
        if kind == "cases":
            wanted = case_ids or set()
            rows = [self.row_of[c] for c in wanted if c in self.row_of]
            out = np.zeros(n, dtype=bool)
            out[rows] = True
            return out
        raise ValueError(f"unknown worklist filter {kind!r}")

    def apply_filter(self, kind: str = "all", case_ids: set | None = None, search: str = "") -> None:
        self.beginResetModel()
        self._filter = (kind, case_ids, search)
        self.view = self._filtered(kind, case_ids, search)
        self.endResetModel()

    def _filtered(self, kind: str, case_ids: set | None, search: str) -> np.ndarray:
        keep = self.mask(kind, case_ids)
        if search:
            needle = search.lower()
            keep &= np.array([needle in c.lower() for c in self.ids], dtype=bool)
        view = np.flatnonzero(keep).astype(np.int64)
        return self._sorted(view, *self.sort_key) if self.sort_key is not None else view
