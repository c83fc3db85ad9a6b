"""The worklist's table model: a view of the review session's worklist.

Which rows, in which order, is the session's (`session.case_ids()`: its order and filter); what a
row says of the reader's labels, the flags and what blinded mode hides is the session's too. The
model keeps only what makes 100,000 rows fast to draw and sort: the latest probabilities as a numpy
matrix, candidate counts and the labels mined from reports, read in one bulk snapshot. A column
header click sorts all cases by that column and hands the order to the session.

With a taxonomy the Prediction and P columns may read the model at a level the reader chooses
(`set_level`): a node's probability is the sum of its leaves' (core.taxonomy).

Rows stay where they are when a label changes (a labelled case does not vanish from the
"unlabelled" filter under the reader's hands); the filter applies again when it is chosen again.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from workstation.core.review.decisions import label_text
from workstation.core.review.flags import MODEL_FREE, Flags
from workstation.core.vocab import Tag, Task
from workstation.qt.threads import Debounce, Subscriptions

COLUMNS = ["", "Case", "Prediction", "P", "Label", "Report", "Reader", "Flags"]
THUMB, CASE, PRED, PROB, LABEL, REPORT, READER, FLAGS = range(len(COLUMNS))
CaseIdRole = Qt.ItemDataRole.UserRole + 1

__all__ = ["WorklistModel", "COLUMNS", "THUMB", "CASE", "PRED", "PROB", "LABEL", "REPORT", "READER", "FLAGS",
           "CaseIdRole", "label_text"]


class WorklistModel(QAbstractTableModel):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.project = None
        self.thumbnails = None  # a ThumbnailCache (set by the dock)
        self.level: str | None = None  # the taxonomy level of the prediction columns; None: the classes
        self._outside: set[str] = set()  # cases whose labels changed without a session edit
        self._session_subs = Subscriptions(self)
        self._project_subs = Subscriptions(self)
        # a plugin run stores predictions batch after batch: read again once they pause
        self._reload = Debounce(self, 300, self.reload)
        self._refresh = Debounce(self, 300, self._refresh_outside)
        self._clear()
        ev = session.events
        self._session_subs.add(ev.project_changed, self.set_project)
        self._session_subs.add(ev.worklist_changed, self.relist)
        self._session_subs.add(ev.changed, self._on_change)
        self._session_subs.add(ev.reader_changed, lambda _r: self._all_rows_changed())
        self._session_subs.add(ev.blinded_changed, lambda _b: self._all_rows_changed())
        self.set_project(session.project)

    # ---- what the session says -----------------------------------------------------------------
    @property
    def reader(self) -> str:
        return self.session.reader or ""

    @property
    def blinded(self) -> bool:
        return self.session.blinded

    @property
    def task(self) -> str | None:
        return self.project.task if self.project is not None else None

    # ---- loading -------------------------------------------------------------------------------
    def _clear(self) -> None:
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.classes: list[str] = []
        self.probs = np.zeros((0, 1))
        self.level_nodes: list[str] = []           # the columns of level_probs
        self.level_probs = np.zeros((0, 1))        # probs summed to the nodes of `self.level`
        self.n_candidates = np.zeros(0, dtype=np.int32)
        self.report: dict[str, Any] = {}   # case id -> newest label mined from its report
        self.view = np.zeros(0, dtype=np.int64)

    @property
    def taxonomy(self):
        return getattr(self.project, "taxonomy", None) if self.project is not None else None

    def set_level(self, level: str | int | None) -> None:
        """Show the prediction at a level of the taxonomy ("1", ..., "leaf"; None or "leaf": the
        classes); raises TaxonomyError for a level the tree lacks."""
        taxonomy = self.taxonomy
        name = taxonomy.level_name(level) if taxonomy is not None and level is not None else None
        self.level = None if name in (None, "leaf") else name
        self._sum_to_level()
        self._all_rows_changed()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, PRED, PROB)

    def _sum_to_level(self) -> None:
        if self.level is None or self.taxonomy is None or not len(self.ids):
            self.level_nodes, self.level_probs = [], np.zeros((len(self.ids), 1))
            return
        self.level_nodes = self.taxonomy.level_nodes(self.level)
        self.level_probs = self.taxonomy.node_probabilities(self.probs, self.level, self.classes)

    def shown_probs(self) -> tuple[list[str], np.ndarray]:
        """(column names, n x m probabilities) of the Prediction and P columns."""
        return (self.level_nodes, self.level_probs) if self.level is not None else (self.classes, self.probs)

    def set_project(self, project) -> None:
        self._project_subs.clear()
        if project is not self.project:
            self.level = None
        self.project = project
        self._outside.clear()
        if project is not None:
            ev = project.events
            self._project_subs.add(ev.label_changed, self._on_project_label)
            self._project_subs.add(ev.predictions_changed, self._reload.trigger)
            self._project_subs.add(ev.cases_changed, self._reload.trigger)
        self.reload(refresh_session=False)

    def reload(self, refresh_session: bool = True) -> None:
        """Read the table's arrays again and show the session's worklist (after predictions or cases
        changed: the session reads them again too)."""
        self._reload.stop()
        self.beginResetModel()
        self._clear()
        if self.project is not None:
            self._load()
        self.endResetModel()
        if refresh_session and self.project is not None:
            self.session.refresh()  # -> worklist_changed -> relist
        else:
            self.relist()

    def _load(self) -> None:
        from workstation.core.project import snapshot

        p = self.project
        self.classes = p.classes
        snap = snapshot.read(p, self.session.plugin_id)
        self.ids = snap.case_ids
        self.row_of = snap.row_of
        self.probs = snap.probs
        self.n_candidates = snap.n_candidates
        self._sum_to_level()
        self._load_report()

    def relist(self) -> None:
        """The rows of the session's worklist, in its order."""
        self.beginResetModel()
        if self.project is None or self.session.project is not self.project:
            self.view = np.zeros(0, dtype=np.int64)
        else:
            row_of = self.row_of
            self.view = np.fromiter((row_of[c] for c in self.session.case_ids() if c in row_of), dtype=np.int64)
        self.endResetModel()

    def _load_report(self, case_id: str | None = None) -> None:
        self.report.pop(case_id, None)
        for lab in sorted(self.project.labels(case_id=case_id, tag=Tag.REPORT), key=lambda lab: lab.updated_at):
            self.report[lab.case_id] = lab.value

    # ---- changes -------------------------------------------------------------------------------
    def _on_change(self, change) -> None:
        self._outside.discard(change.case_id)
        self._row_changed(change.case_id)

    def _on_project_label(self, case_id: str) -> None:
        """Any label of the case changed; one a session edit did not account for (another reader's
        script, an import) makes the session read the labels again."""
        if self.project is None:
            return
        self._load_report(case_id)
        self._outside.add(case_id)
        self._refresh.trigger()
        self._row_changed(case_id)

    def _refresh_outside(self) -> None:
        if self._outside and self.project is not None:
            self._outside.clear()
            self.session.refresh()

    def _row_changed(self, case_id: str) -> None:
        row = self.view_row(case_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _all_rows_changed(self) -> None:
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(COLUMNS) - 1))

    # ---- derived values -----------------------------------------------------------------------
    def top(self, i: int) -> tuple[int, float]:
        row = self.shown_probs()[1][i]
        if np.all(np.isnan(row)):
            return -1, math.nan
        j = int(np.nanargmax(row))
        return j, float(row[j])

    def mine(self, case_id: str) -> Any:
        """The session reader's own label of the case (None: not labelled)."""
        return self.session.reader_label(case_id)

    def shown_label(self, case_id: str) -> Any:
        return self.session.worklist.shown_label(case_id)

    def shown_reader(self, case_id: str) -> str:
        """Who gave the label shown: the session reader's own, else the adjudicator, else the newest
        final label's reader (the order of `Worklist.shown_label`)."""
        found = self.session.worklist.data().labels.get(case_id, {})
        me, best, who = self.session.reader, None, ""
        for (reader, tag), (_value, _note, at) in found.items():
            key = (tag == Tag.FINAL and reader == me, tag == Tag.ADJUDICATED, at)
            if best is None or key > best:
                best, who = key, reader + (" (adjudicated)" if tag == Tag.ADJUDICATED else "")
        return who

    def hidden(self, case_id: str) -> bool:
        return self.session.hidden(case_id)

    def case_flags(self, case_id: str) -> Flags:
        bits = self.session.flags(case_id)
        return bits & MODEL_FREE if self.hidden(case_id) else bits

    def _prediction_text(self, i: int) -> tuple[str, str]:
        j, p = self.top(i)
        if self.task == Task.DETECTION:
            n = int(self.n_candidates[i])
            return (f"{n} candidate{'s' if n != 1 else ''}" if j >= 0 or n else "", f"{p:.3f}" if j >= 0 else "")
        if j < 0:
            return "", ""
        if self.task == Task.MULTILABEL:
            return label_text(self.session.suggestion(self.ids[i])), f"{p:.3f}"
        return self.shown_probs()[0][j], f"{p:.3f}"

    # ---- Qt model interface ---------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.view)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if section == PRED and self.level is not None:
                return f"Level {self.level}"
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole and section == PRED:
            return f"the model's prediction at level {self.level}" if self.level is not None else None
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.view):
            return None
        i = int(self.view[index.row()])
        case_id, column = self.ids[i], index.column()
        if role == CaseIdRole:
            return case_id
        if role == Qt.ItemDataRole.DisplayRole:
            if column == CASE:
                return case_id
            if column in (PRED, PROB):
                if self.hidden(case_id):
                    return "(blinded)" if column == PRED else ""
                return self._prediction_text(i)[column - PRED]
            if column == LABEL:
                return label_text(self.shown_label(case_id))
            if column == READER:
                return self.shown_reader(case_id)
            if column == REPORT:
                return "" if self.hidden(case_id) else label_text(self.report.get(case_id))
            if column == FLAGS:
                return " · ".join(self.case_flags(case_id).names())
            return None
        if role == Qt.ItemDataRole.DecorationRole and column == THUMB and self.thumbnails is not None:
            return self.thumbnails.get(case_id)
        if role == Qt.ItemDataRole.ForegroundRole and column == LABEL and self.mine(case_id) is None \
                and self.shown_label(case_id) is not None:
            from PySide6.QtGui import QColor
            return QColor(130, 130, 130)  # someone else's label: shown, but not this reader's
        if role == Qt.ItemDataRole.ToolTipRole and column == CASE:
            return case_id
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

    # ---- sorting: a header click orders every case and hands the order to the session ----------
    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if self.project is None or not self.ids:
            return
        rows = np.arange(len(self.ids), dtype=np.int64)
        ordering = np.argsort(self._sort_keys(rows, column), kind="stable")
        if order == Qt.SortOrder.DescendingOrder:
            ordering = ordering[::-1]
        self.session.set_order([self.ids[i] for i in rows[ordering]])

    def _sort_keys(self, rows: np.ndarray, column: int) -> np.ndarray:
        ids = self.ids
        if column in (CASE, THUMB):
            return np.array(ids, dtype=object)[rows].astype(str)
        if column == PROB:
            probs = self.shown_probs()[1]
            missing = np.all(np.isnan(probs[rows]), axis=1)
            filled = np.where(np.isnan(probs[rows]), -np.inf, probs[rows])
            return np.where(missing, -np.inf, filled.max(axis=1) if len(rows) else np.zeros(0))
        if column == PRED:
            return np.array([self._prediction_text(i)[0] for i in rows], dtype=str)
        if column == LABEL:
            return np.array([label_text(self.shown_label(ids[i])) for i in rows], dtype=str)
        if column == READER:
            return np.array([self.shown_reader(ids[i]) for i in rows], dtype=str)
        if column == REPORT:
            return np.array([label_text(self.report.get(ids[i])) for i in rows], dtype=str)
        return np.array([int(self.case_flags(ids[i])) for i in rows])
