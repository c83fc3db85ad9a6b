"""The worklist dock: the session's worklist in a table (thumbnail, id, prediction and probability,
label, reader, flags), with sorting, filters and a search box.

The dock is a view of the review session: choosing a row makes it the session's current case
(the window then shows its images); the session's current case, order and filter — whoever set
them (keys, the metrics panel's matrix, the training dock's ordering) — show here.
With a taxonomy, a level box reads the prediction at a level of the tree (the sum of the leaves'
probabilities) and the tree bar (qt/review/tree_bar.py) shows what the digit keys name.
`install(ctx)` docks it on the left and sets up keyboard review (qt/review/keyboard.py).
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTableView, QToolButton, QVBoxLayout, QWidget)

from workstation.core.errors import WorkstationError
from workstation.core.vocab import Tag, Task
from workstation.qt.review.thumbnails import ThumbnailCache
from workstation.qt.review.tree_bar import TreeBar
from workstation.qt.review.worklist_model import (CASE, COLUMNS, FLAGS, LABEL, PRED, PROB, READER, REPORT, THUMB,
                                                  WorklistModel)
from workstation.qt.threads import Debounce, Subscriptions, call_later

log = logging.getLogger(__name__)
ROW_HEIGHT = 40


class WorklistDock(QWidget):
    case_selected = Signal(str)
    filter_changed = Signal(str)

    FILTERS = [("All cases", "all"), ("Unlabelled (by me)", "unlabelled"),
               ("Model–reader disagreement", "disagreement"), ("Low confidence", "low_confidence")]

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.model = WorklistModel(self.session, self)
        self.thumbnails = ThumbnailCache(parent=self)
        self.model.thumbnails = self.thumbnails
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self._case_filter: set | None = None
        self._following = False   # the table is being moved to the session's current case
        self._agreement = Debounce(self, 200, self.refresh_agreement)
        self._build()
        self.model.modelReset.connect(self._show_current)
        self._subs = Subscriptions(self)
        ev = self.session.events
        self._subs.add(ev.project_changed, self._on_project)
        self._subs.add(ev.current_changed, self._on_current)
        self._subs.add(ev.blinded_changed, self._on_blinded)
        self._subs.add(ev.changed, self._on_change)
        self._subs.add(ev.worklist_changed, self._show_session_filter)
        self._on_project(self.session.project)
        self._on_blinded(self.session.blinded)

    @property
    def project(self):
        return self.session.project

    def _build(self) -> None:
        self.filter_box = QComboBox()
        self.filter_box.setToolTip("Show only some cases")
        self.search = QLineEdit(placeholderText="case id…", clearButtonEnabled=True)
        self.search.setMaximumWidth(140)
        self.count = QLabel()
        self.clear_filter = QToolButton(text="✕", toolTip="Clear the filter")
        self.blinded = QCheckBox("Blinded", toolTip="Hide the model's output until you have labelled the case")
        self.adjudicate = QPushButton("Readers…", toolTip="Agreement between readers, and adjudication")
        self.agreement = QLabel()
        self.agreement.setStyleSheet("color: gray")
        self.level_caption = QLabel("Level")
        self.level_box = QComboBox(toolTip="Read the prediction at this level of the taxonomy "
                                           "(a node's probability: the sum of its leaves')")
        self.level_box.activated.connect(lambda _index: self.set_level(self.level_box.currentData()))
        top = QHBoxLayout()
        for w in (self.filter_box, self.clear_filter, self.search, self.count):
            top.addWidget(w)
        top.addStretch(1)
        second = QHBoxLayout()
        for w in (self.blinded, self.adjudicate, self.level_caption, self.level_box, self.agreement):
            second.addWidget(w)
        second.addStretch(1)
        self.tree_bar = TreeBar(self.session, self)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        vh = self.table.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: O(1) layout at 100,000 rows
        vh.setDefaultSectionSize(ROW_HEIGHT)
        vh.hide()
        self.table.setIconSize(QSize(ROW_HEIGHT - 4, ROW_HEIGHT - 4))
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        for column, width in ((THUMB, ROW_HEIGHT + 4), (CASE, 110), (PRED, 90), (PROB, 48), (LABEL, 95),
                              (REPORT, 95), (READER, 60), (FLAGS, 90)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._row_chosen)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.tree_bar)
        layout.addWidget(self.table)
        self.filter_box.activated.connect(lambda _index: self._refilter())
        self.search.textChanged.connect(lambda _text: self._refilter())
        self.clear_filter.clicked.connect(self.clear_case_filter)
        self.blinded.toggled.connect(self.session.set_blinded)
        self.model.modelReset.connect(self._update_count)
        self._fill_filters()

    # ---- the session's project, current case and mode -------------------------------------------
    def _on_project(self, project) -> None:
        self.thumbnails.set_project(project)
        self._case_filter = None
        self._fill_filters()
        self._fill_levels()
        self.refresh_agreement()
        if project is not None:
            # after every dock has heard of the project: a case made current from inside this event
            # would reach docks still waiting for it before the project itself
            call_later(0, lambda: self._select_first(project), self)
        self._show_current()

    def _select_first(self, project) -> None:
        """The session opens with no current case: the view makes its first row current."""
        if self.session.project is project and self.session.current is None:
            ids = self.session.case_ids()
            if ids:
                self.session.go_to(ids[0])

    def _on_current(self, case_id) -> None:
        self._show_current()

    def _on_blinded(self, on: bool) -> None:
        self.blinded.blockSignals(True)
        self.blinded.setChecked(on)
        self.blinded.blockSignals(False)

    def _on_change(self, change) -> None:
        if change.tag == Tag.ADJUDICATED:
            self._agreement.trigger()

    def _show_current(self) -> None:
        """Put the table's selection on the session's current case (without choosing it again)."""
        case_id = self.session.current
        row = self.model.view_row(case_id) if case_id is not None else None
        self._following = True
        try:
            if row is None:
                self.table.selectionModel().clearCurrentIndex()
                self.table.clearSelection()
            else:
                index = self.model.index(row, CASE)
                flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                self.table.selectionModel().setCurrentIndex(index, flags)
                self.table.scrollTo(index)
        finally:
            self._following = False

    def _row_chosen(self, current, _previous) -> None:
        case_id = self.model.case_at(current.row()) if current.isValid() else None
        if case_id is None or self._following:
            return
        self.case_selected.emit(case_id)
        try:
            self.session.go_to(case_id)
        except WorkstationError as exc:
            self.ctx.notify.error(exc)

    def _fill_filters(self) -> None:
        self.filter_box.clear()
        for text, key in self.FILTERS:
            self.filter_box.addItem(text, key)
        project = self.project
        for name in (project.classes if project is not None else []):
            self.filter_box.addItem(f"Label: {name}", f"label:{name}")
        for name in getattr(project, "label_nodes", None) or []:
            self.filter_box.addItem(f"Label: {name} (no finer node)", f"label:{name}")  # a taxonomy's inner node
        if project is not None and project.task != Task.DETECTION:
            for name in project.classes:
                self.filter_box.addItem(f"Predicted: {name}", f"predicted:{name}")
        self._update_count()

    # ---- the taxonomy level of the prediction columns ---------------------------------------------
    def _fill_levels(self) -> None:
        taxonomy = self.model.taxonomy
        self.level_box.clear()
        for name in (taxonomy.level_names if taxonomy is not None else []):
            nodes = taxonomy.level_nodes(name)
            self.level_box.addItem("leaf" if name == "leaf" else f"level {name}", name)
            self.level_box.setItemData(self.level_box.count() - 1, ", ".join(nodes), Qt.ItemDataRole.ToolTipRole)
        self.level_box.setCurrentIndex(max(self.level_box.findData(self.model.level or "leaf"), 0))
        for w in (self.level_caption, self.level_box):
            w.setVisible(taxonomy is not None)

    def set_level(self, level: str | None) -> None:
        """Show the prediction at taxonomy level `level` ("1", ..., "leaf")."""
        try:
            self.model.set_level(level)
        except WorkstationError as exc:
            self.ctx.notify.error(exc)
            return
        self.level_box.setCurrentIndex(max(self.level_box.findData(self.model.level or "leaf"), 0))

    # ---- filters and order (kept by the session) ------------------------------------------------
    def set_case_filter(self, case_ids: set | None, description: str = "selected cases") -> None:
        """Show only `case_ids` (e.g. one confusion-matrix cell); None shows all cases again."""
        if case_ids is None:
            self.clear_case_filter()
            return
        self._case_filter = set(case_ids)
        index = self.filter_box.findData("cases")
        if index < 0:
            self.filter_box.addItem(description, "cases")
            index = self.filter_box.count() - 1
        self.filter_box.setItemText(index, description)
        self.filter_box.setCurrentIndex(index)
        self._refilter()

    def clear_case_filter(self) -> None:
        self._case_filter = None
        index = self.filter_box.findData("cases")
        if index >= 0:
            self.filter_box.removeItem(index)
        self.filter_box.setCurrentIndex(0)
        self._refilter()

    def set_filter(self, key: str) -> None:
        index = self.filter_box.findData(key)
        if index < 0:
            raise ValueError(f"no worklist filter {key!r}")
        self.filter_box.setCurrentIndex(index)
        self._refilter()

    def _session_filter(self) -> tuple:
        worklist = self.session.worklist
        return worklist.filter if hasattr(worklist, "filter") else worklist._filter  # (kind, case ids, search)

    def _show_session_filter(self) -> None:
        """Show the session's filter in the box when it was set elsewhere (a metrics matrix cell)."""
        kind, case_ids, search = self._session_filter()
        current = self.filter_box.currentData() or "all"
        if self.search.text().strip() != search:
            self.search.blockSignals(True)
            self.search.setText(search)
            self.search.blockSignals(False)
        if kind == current and (kind != "cases" or set(case_ids or ()) == (self._case_filter or set())):
            return
        self.filter_box.blockSignals(True)
        try:
            if kind == "cases":
                self._case_filter = set(case_ids or ())
                index = self.filter_box.findData("cases")
                if index < 0:
                    self.filter_box.addItem("", "cases")
                    index = self.filter_box.count() - 1
                self.filter_box.setItemText(index, f"{len(self._case_filter)} selected case(s)")
                self.filter_box.setCurrentIndex(index)
            else:
                index = self.filter_box.findData(kind)
                self.filter_box.setCurrentIndex(max(index, 0))
        finally:
            self.filter_box.blockSignals(False)
        self.filter_changed.emit(kind)

    def _refilter(self) -> None:
        if self.project is None:
            return
        key = self.filter_box.currentData() or "all"
        self.session.set_filter(key, self._case_filter if key == "cases" else None, self.search.text().strip())
        self.filter_changed.emit(key)
        self._update_count()

    def set_order(self, case_ids: list[str]) -> None:
        """Order the rows as given (e.g. most uncertain first); kept when the filter changes."""
        self.session.set_order(list(case_ids))

    def _update_count(self) -> None:
        total = len(self.model.ids)
        shown = self.model.rowCount()
        self.count.setText(f"{shown:,} of {total:,}" if shown != total else f"{total:,} cases")

    def set_blinded(self, on: bool) -> None:
        self.session.set_blinded(on)

    def refresh_agreement(self) -> None:
        project = self.project
        if project is None or project.task == Task.DETECTION:
            self.agreement.setText("")
            return
        try:
            from workstation.core.project.readers import agreement

            self.agreement.setText(agreement(project).summary())
        except Exception as exc:  # noqa: BLE001 — agreement is informative; never block the worklist
            self.agreement.setText(f"agreement unavailable ({exc})")

    # ---- selection and navigation ----------------------------------------------------------------
    def current_case(self) -> str | None:
        return self.session.current

    def select_row(self, row: int) -> bool:
        case_id = self.model.case_at(row)
        return case_id is not None and self.select_case(case_id)

    def select_case(self, case_id: str) -> bool:
        """Make the case current (and selected) when it is a row of the worklist."""
        if self.model.view_row(case_id) is None:
            return False
        self.session.go_to(case_id)
        return True

    def move(self, delta: int) -> bool:
        return self.session.move(delta) is not None

    def _thumbnail_ready(self, case_id: str) -> None:
        row = self.model.view_row(case_id)
        if row is not None:
            index = self.model.index(row, THUMB)
            self.model.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def install(ctx) -> dict:
    """The worklist dock (left) and keyboard review."""
    from workstation.qt.review.keyboard import ReviewController

    dock = WorklistDock(ctx)
    ctx.host.add_dock("Worklist", dock, Qt.DockWidgetArea.LeftDockWidgetArea)
    review = ReviewController(ctx, dock)
    return {"worklist": dock, "review": review}


__all__ = ["install", "WorklistDock", "WorklistModel", "ThumbnailCache", "COLUMNS"]
