"""The worklist dock: the project's cases in a table (thumbnail, id, prediction and probability,
label, reader, flags), with sorting, filters and a case filter the metrics panel can set.

`install(window)` adds it to the main window as `window.worklist` and sets up keyboard review
(`window.review`, see review.py). Selecting a row opens the case in the viewer.
"""
from __future__ import annotations

import collections
import hashlib
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTableView, QToolButton, QVBoxLayout, QWidget)

from workstation.qt.review.worklist_model import CASE, COLUMNS, FLAGS, LABEL, PRED, PROB, READER, REPORT, THUMB, WorklistModel

log = logging.getLogger(__name__)
ROW_HEIGHT = 40
THUMB_SIZE = 64


class ThumbnailCache(QObject):
    """Thumbnails made on a background thread, newest request first, kept in memory (LRU) and on
    disk in the project folder (`.thumbnails/`) so a reopened project shows them at once."""
    ready = Signal(str)

    def __init__(self, limit: int = 4000):
        super().__init__()
        self._images: collections.OrderedDict[str, QPixmap] = collections.OrderedDict()
        self._limit = limit
        self._pending: collections.deque[str] = collections.deque(maxlen=256)
        self._queued: set[str] = set()
        self._failed: set[str] = set()
        self._lock = threading.Condition()
        self._project = None
        self._done = _Done()
        self._done.image.connect(self._store)
        self._thread = threading.Thread(target=self._work, name="worklist-thumbnails", daemon=True)
        self._thread.start()

    def set_project(self, project) -> None:
        with self._lock:
            self._project = project
            self._pending.clear()
            self._queued.clear()
        self._images.clear()
        self._failed.clear()

    def get(self, case_id: str) -> QPixmap | None:
        pixmap = self._images.get(case_id)
        if pixmap is not None:
            self._images.move_to_end(case_id)
            return pixmap
        if case_id not in self._failed:
            with self._lock:
                if case_id not in self._queued:
                    self._queued.add(case_id)
                    self._pending.append(case_id)
                    self._lock.notify()
        return None

    def _store(self, case_id: str, image: QImage) -> None:
        with self._lock:
            self._queued.discard(case_id)
        if image.isNull():
            self._failed.add(case_id)
            return
        self._images[case_id] = QPixmap.fromImage(image)
        while len(self._images) > self._limit:
            self._images.popitem(last=False)
        self.ready.emit(case_id)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._pending:
                    self._lock.wait()
                case_id = self._pending.pop()  # newest first: the rows on screen now
                project = self._project
            image = QImage()
            try:
                if project is not None:
                    image = _make_thumbnail(project, case_id)
            except Exception as exc:  # noqa: BLE001 — an unreadable image gets no thumbnail, nothing more
                log.info("no thumbnail for %s: %s", case_id, exc)
            self._done.image.emit(case_id, image)


class _Done(QObject):
    image = Signal(str, QImage)


def _make_thumbnail(project, case_id: str) -> QImage:
    from workstation.core.project.thumbnails import thumbnail

    cache = Path(project.directory) / ".thumbnails" / (hashlib.sha1(case_id.encode()).hexdigest() + ".png")
    if cache.exists():
        image = QImage(str(cache))
        if not image.isNull():
            return image
    array = thumbnail(project.case(case_id).paths, THUMB_SIZE)
    h, w = array.shape[:2]
    fmt = QImage.Format.Format_RGB888 if array.ndim == 3 else QImage.Format.Format_Grayscale8
    image = QImage(array.data, w, h, array.strides[0], fmt).copy()
    try:
        cache.parent.mkdir(exist_ok=True)
        image.save(str(cache))
    except OSError:
        pass  # a read-only project folder just means no disk cache
    return image


class WorklistDock(QWidget):
    case_selected = Signal(str)
    filter_changed = Signal(str)

    FILTERS = [("All cases", "all"), ("Unlabelled (by me)", "unlabelled"),
               ("Model–reader disagreement", "disagreement"), ("Low confidence", "low_confidence")]

    def __init__(self, window=None):
        super().__init__()
        self.window = window
        self.project = None
        self.model = WorklistModel(self)
        self.thumbnails = ThumbnailCache()
        self.model.thumbnails = self.thumbnails
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self._case_filter: set | None = None
        self._build()
        self._open_timer = QTimer(self, singleShot=True, interval=120)
        self._open_timer.timeout.connect(self._open_current)
        self._opened: str | None = None
        self._keep: str | None = None
        self.model.modelAboutToBeReset.connect(self._remember_current)
        self.model.modelReset.connect(self._restore_current)

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
        top = QHBoxLayout()
        for w in (self.filter_box, self.clear_filter, self.search, self.count):
            top.addWidget(w)
        top.addStretch(1)
        second = QHBoxLayout()
        for w in (self.blinded, self.adjudicate, self.agreement):
            second.addWidget(w)
        second.addStretch(1)

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
        from PySide6.QtCore import QSize
        self.table.setIconSize(QSize(ROW_HEIGHT - 4, ROW_HEIGHT - 4))
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        for column, width in ((THUMB, ROW_HEIGHT + 4), (CASE, 110), (PRED, 90), (PROB, 48), (LABEL, 95),
                              (REPORT, 95), (READER, 60), (FLAGS, 90)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.table)
        self.filter_box.activated.connect(self._filter_chosen)
        self.search.textChanged.connect(lambda _text: self._refilter())
        self.clear_filter.clicked.connect(self.clear_case_filter)
        self.blinded.toggled.connect(self.set_blinded)
        self.model.modelReset.connect(self._update_count)
        self._fill_filters()

    # ---- project -------------------------------------------------------------------------------
    def set_project(self, project, reader: str | None = None) -> None:
        self.project = project
        self._opened = None
        self.thumbnails.set_project(project)
        self._case_filter = None
        self.model.set_project(project, reader or self.model.reader)
        self._fill_filters()
        self.refresh_agreement()
        if project is not None and self.model.rowCount():
            self.select_row(0)

    def set_reader(self, reader: str) -> None:
        current = self.current_case()
        self.model.set_reader(reader)
        self._refilter()
        if current:
            self.select_case(current)

    def _fill_filters(self) -> None:
        self.filter_box.clear()
        for text, key in self.FILTERS:
            self.filter_box.addItem(text, key)
        for name in (self.project.classes if self.project is not None else []):
            self.filter_box.addItem(f"Label: {name}", f"label:{name}")
        if self.project is not None and self.project.task != "detection":
            for name in self.project.classes:
                self.filter_box.addItem(f"Predicted: {name}", f"predicted:{name}")
        self._update_count()

    # ---- filters -------------------------------------------------------------------------------
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

    def set_order(self, case_ids: list[str]) -> None:
        """Order the rows as given (e.g. most uncertain first); kept when the filter changes."""
        current = self.current_case()
        self.model.set_order(list(case_ids))
        if current:
            self.select_case(current)

    def _filter_chosen(self, _index: int) -> None:
        self._refilter()

    def _refilter(self) -> None:
        key = self.filter_box.currentData() or "all"
        self.model.apply_filter(key, self._case_filter if key == "cases" else None, self.search.text().strip())
        self.filter_changed.emit(key)
        self._update_count()

    def _update_count(self) -> None:
        total = len(self.model.ids)
        shown = self.model.rowCount()
        self.count.setText(f"{shown:,} of {total:,}" if shown != total else f"{total:,} cases")

    def set_blinded(self, on: bool) -> None:
        if self.blinded.isChecked() != on:
            self.blinded.setChecked(on)  # re-enters through toggled
            return
        self.model.blinded = on
        if self.model.rowCount():
            self.model.dataChanged.emit(self.model.index(0, PRED), self.model.index(self.model.rowCount() - 1, FLAGS))

    def refresh_agreement(self) -> None:
        if self.project is None or self.project.task == "detection":
            self.agreement.setText("")
            return
        try:
            from workstation.core.project.readers import agreement

            self.agreement.setText(agreement(self.project).summary())
        except Exception as exc:  # noqa: BLE001 — agreement is informative; never block the worklist
            self.agreement.setText(f"agreement unavailable ({exc})")

    # ---- selection and navigation ----------------------------------------------------------------
    def current_case(self) -> str | None:
        index = self.table.selectionModel().currentIndex()
        return self.model.case_at(index.row()) if index.isValid() else None

    def select_row(self, row: int) -> bool:
        if not 0 <= row < self.model.rowCount():
            return False
        index = self.model.index(row, CASE)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)
        return True

    def select_case(self, case_id: str) -> bool:
        row = self.model.view_row(case_id)
        return row is not None and self.select_row(row)

    def move(self, delta: int) -> bool:
        index = self.table.selectionModel().currentIndex()
        row = index.row() + delta if index.isValid() else 0
        return self.select_row(row)

    def _remember_current(self) -> None:
        self._keep = self.current_case()

    def _restore_current(self) -> None:
        if self._keep and not self.select_case(self._keep) and self.model.rowCount():
            self.select_row(0)
        self._keep = None

    def _current_changed(self, current, _previous) -> None:
        case_id = self.model.case_at(current.row()) if current.isValid() else None
        if case_id:
            self.case_selected.emit(case_id)
            self._open_timer.start()

    def follow(self, case_id: str) -> None:
        """The window opened this case by other means: show it selected, without loading it again
        (and without a pending debounced open of another row overriding it)."""
        self._opened = case_id
        self._open_timer.stop()
        self.select_case(case_id)
        self._open_timer.stop()

    def _open_current(self) -> None:
        """Load the current case into the viewer (debounced: paging fast through cases loads one)."""
        case_id = self.current_case()
        window = self.window
        if case_id is None or window is None or self.project is None or case_id == self._opened:
            return  # (a reload that keeps the same case selected does not read its images again)
        self._opened = case_id
        if hasattr(window, "open_case"):
            window.open_case(case_id)
            return
        if hasattr(window, "load_paths"):
            window.load_paths(self.project.case(case_id).paths)
        signal = getattr(window, "case_opened", None)
        if signal is not None and hasattr(signal, "emit"):
            signal.emit(case_id)

    def _thumbnail_ready(self, case_id: str) -> None:
        row = self.model.view_row(case_id)
        if row is not None:
            index = self.model.index(row, THUMB)
            self.model.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def install(window) -> WorklistDock:
    """Add the worklist dock and keyboard review to the main window."""
    from workstation.qt.review.keyboard import ReviewController

    dock = WorklistDock(window)
    window.add_dock("Worklist", dock, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.worklist = dock
    window.review = ReviewController(window, dock)
    changed = getattr(window, "project_changed", None)
    if changed is not None:
        changed.connect(window.review.set_project)
    if getattr(window, "project", None) is not None:
        window.review.set_project(window.project)
    return dock


__all__ = ["install", "WorklistDock", "WorklistModel", "ThumbnailCache", "COLUMNS"]
