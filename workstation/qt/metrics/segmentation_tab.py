"""The segmentation tab of the metrics panel: Dice and HD95 per case, segment and pair of readers
(and models' masks, "model:<plugin>"), from `workstation.core.segmentation.agreement` (the same
rows as `workstation metrics --json`'s `segmentation` section). Computed when the tab is shown or
Refresh is pressed after a change, not at every brush stroke: HD95 reads and compares whole masks."""
from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from workstation.core.errors import WorkstationError
from workstation.qt.threads import Subscriptions

TAB_TITLE = "Segmentation"
COLUMNS = ("case", "segment", "a", "b", "Dice", "HD95 mm", "vol a mm³", "vol b mm³")


def _fmt(value, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


class SegmentationTab(QWidget):
    updated = Signal()

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.rows: list[dict] = []
        self._stale = True
        self.status = QLabel("")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.recompute)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(refresh)
        layout.addWidget(self.table, 1)
        self._project_subs = Subscriptions(self)
        Subscriptions(self).add(session.events.project_changed, self._project)
        self._project(session.project)

    def _project(self, project) -> None:
        self._project_subs.clear()
        self._stale = True
        if project is not None:
            self._project_subs.add(project.events.label_changed, lambda _c: self._mark_stale())
        self.recompute() if self.isVisible() else None

    def _mark_stale(self) -> None:
        self._stale = True
        self.status.setText("masks changed: Refresh to recompute")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.recompute()

    def recompute(self) -> None:
        from workstation.core.segmentation.agreement import segmentation_section

        project = self.session.project
        self.rows, problem = [], None
        if project is not None:
            try:
                self.rows = segmentation_section(project)
            except WorkstationError as exc:
                problem = f"segmentation agreement unavailable: {exc}"
        self._stale = False
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            if "error" in row:
                cells = (row["case_id"], row["segment"], row["a"], row["b"], row["error"], "", "", "")
            else:
                cells = (row["case_id"], row["segment"], row["a"], row["b"], _fmt(row["dice"], 3),
                         "∞" if row["hd95_infinite"] else _fmt(row["hd95_mm"], 2),
                         _fmt(row["volume_a_mm3"], 1), _fmt(row["volume_b_mm3"], 1))
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(str(text)))
        if problem or project is None:
            self.status.setText(problem or "no project open")
        else:
            self.status.setText(f"{len(self.rows)} pair(s) of saved masks" if self.rows
                                else "no segment has saved masks from two readers (or a reader and a model)")
        self.updated.emit()
