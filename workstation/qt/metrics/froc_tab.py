"""The FROC tab of the metrics panel for detection projects: the detector against the reader.

The inputs (the reader's microbleeds as truth, the detector's candidates as predictions, pending
candidates left out) come from the session (`session.froc_inputs()`, core/review/froc.py);
matching, FROC, CPM and the operating point from `workstation.core.metrics.detection` (hit within
the lesion radius, at least 2 mm; LUNA16 rule). The tab follows the session's candidate decisions
and the project's predictions (debounced)."""
from __future__ import annotations

import logging
import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from workstation.core.review.froc import froc_inputs
from workstation.core.vocab import Task
from workstation.qt.threads import Debounce, Subscriptions

log = logging.getLogger(__name__)
TAB_TITLE = "FROC"


class FrocTab(QWidget):
    updated = Signal()

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.project = None
        self.report = None
        self.summary: dict = {}
        self._debounce = Debounce(self, 50, self.recompute)
        self._project_subs = Subscriptions(self)
        subs = Subscriptions(self)
        subs.add(session.events.changed, self._on_change)
        subs.add(session.events.reader_changed, self._debounce.trigger)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "false positives per subject")
        self.plot.setLabel("left", "sensitivity")
        self.plot.setYRange(0, 1.02, padding=0)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.curve = self.plot.plot([], [], pen=pg.mkPen((200, 40, 40), width=2), stepMode=None,
                                    symbol="o", symbolSize=5, symbolBrush=(200, 40, 40))
        self.marker = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(30, 90, 220), pen=pg.mkPen("k"))
        self.plot.addItem(self.marker)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setDecimals(3)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.threshold.valueChanged.connect(lambda _v: self.recompute())
        self.status = QLabel("no detection project")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Metric", "Value"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(20)
        top = QHBoxLayout()
        top.addWidget(QLabel("Score threshold"))
        top.addWidget(self.threshold)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(top)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.table, 1)

    def set_project(self, project) -> None:
        self._project_subs.clear()
        self.project = project if project is not None and project.task == Task.DETECTION else None
        if self.project is not None:  # a detector run, or decisions made outside this session
            self._project_subs.add(self.project.events.predictions_changed, self._debounce.trigger)
            self._project_subs.add(self.project.events.label_changed, self._debounce.trigger)
        self.recompute()

    def _on_change(self, change) -> None:
        if self.project is not None and change.kind == "candidate":
            self._debounce.trigger()

    def recompute(self) -> None:
        self.report = None
        if self.project is None:
            self._show([], "no detection project")
            return
        from workstation.core.metrics import detection

        try:
            matches, self.summary = self.session.froc_inputs()
        except Exception as exc:  # noqa: BLE001 - shown, never fatal
            self._show([], f"FROC unavailable: {exc}")
            return
        n_lesions = sum(m.n_lesions for m in matches)
        if not matches:
            self._show([], f"{self.summary['cases_with_predictions']} case(s) with detector output; "
                           "confirm (Y) or reject (N) candidates to build the reader's truth")
            return
        if n_lesions == 0:
            self._show([], f"{len(matches)} reviewed case(s) but no confirmed or added microbleed yet: "
                           "sensitivity is undefined")
            return
        self.report = detection.evaluate(matches, threshold=self.threshold.value(), bootstrap=0)
        op = self.report.operating_point
        rows = [("subjects reviewed", f"{self.report.n_subjects}"),
                ("microbleeds (reader)", f"{n_lesions}"),
                ("candidates to review", f"{self.summary['pending']}"),
                ("CPM", _fmt(self.report.cpm)),
                (f"sensitivity, score ≥ {op['threshold']:.2f}", _fmt(op["sensitivity"])),
                ("FP per subject", _fmt(op["fp_per_subject"])),
                ("precision", _fmt(op["precision"])), ("F1", _fmt(op["f1"]))]
        rows += [(f"sensitivity at {_rate(r)} FP", _fmt(s))
                 for r, s in zip(detection.CPM_FP_RATES, self.report.cpm_sensitivities)]
        curve = self.report.froc
        self.curve.setData(curve.fp_per_subject, curve.sensitivity)
        self.marker.setData([op["fp_per_subject"]], [op["sensitivity"]])
        self.plot.setTitle(f"CPM {self.report.cpm:.3f}")
        self.plot.setXRange(0, max(1.0, float(curve.fp_per_subject.max(initial=0.0)) * 1.05), padding=0)
        self._show(rows, f"detector vs reader: {self.report.n_subjects} reviewed subject(s), "
                         f"{n_lesions} microbleed(s); CPM {self.report.cpm:.3f}", keep_curve=True)

    def _show(self, rows, status: str, keep_curve: bool = False) -> None:
        if not keep_curve:
            self.curve.setData([], [])
            self.marker.setData([], [])
            self.plot.setTitle("")
        self.status.setText(status)
        self.table.setRowCount(len(rows))
        for r, (name, value) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(value)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(r, 1, item)
        self.updated.emit()


def _fmt(value) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _rate(r: float) -> str:
    return {0.125: "1/8", 0.25: "1/4", 0.5: "1/2"}.get(r, f"{r:g}")



__all__ = ["FrocTab", "froc_inputs", "TAB_TITLE"]
