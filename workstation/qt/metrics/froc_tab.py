"""The FROC tab of the metrics panel for detection projects: the detector against the reader.

Truth: the reader's microbleeds — candidates confirmed plus those the reader added (centre and
diameter in world mm). Predictions: the detector's candidates with their scores (newest prediction
per case). A case counts as a subject once the reader has decided at least one of its candidates
(or added one); candidates still "proposed" in such a case are left out (their truth is not known
yet) and reported as pending. Matching, FROC, CPM and the operating point come from
`workstation.core.metrics.detection` (hit within the lesion radius, at least 2 mm; LUNA16 rule).
The tab follows `label_changed` and `predictions_changed` (debounced)."""
from __future__ import annotations

import logging
import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

log = logging.getLogger(__name__)
TAB_TITLE = "FROC"


def froc_inputs(project, reader: str | None = None):
    """(subject matches, summary dict) from the project's predictions and the reader's decisions."""
    from workstation.core.metrics import detection

    matches, pending, n_cases = [], 0, 0
    for case_id, record in sorted(project.latest_predictions().items()):
        n_cases += 1
        decisions = project.candidate_states(case_id, reader=reader)
        if not decisions:
            continue
        candidates = {str(c["id"]): c for c in (record.candidates or [])}
        lesions, sizes = [], []
        for cid, d in decisions.items():
            if d["state"] not in ("confirmed", "added"):
                continue
            source = d if d.get("centre") is not None else candidates.get(cid)
            if source is None:
                continue
            lesions.append(source["centre"])
            sizes.append(d.get("diameter") or source.get("diameter_mm") or 4.0)
        decided = [c for cid, c in candidates.items() if decisions.get(cid, {}).get("state") in ("confirmed", "rejected")]
        pending += sum(1 for cid in candidates if decisions.get(cid, {}).get("state", "proposed") == "proposed")
        matches.append(detection.match_subject([c["centre"] for c in decided], [c["score"] for c in decided],
                                               lesions, sizes, subject_id=case_id))
    return matches, {"pending": pending, "cases_with_predictions": n_cases}


class FrocTab(QWidget):
    updated = Signal()

    def __init__(self, window=None, parent=None):
        super().__init__(parent)
        self.window = window
        self.project = None
        self.report = None
        self.summary: dict = {}
        self._timer = QTimer(self, singleShot=True, interval=50)
        self._timer.timeout.connect(self.recompute)
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
        if self.project is not None:
            for signal in (self.project.events.label_changed, self.project.events.predictions_changed):
                try:
                    signal.disconnect(self._schedule)
                except Exception:  # noqa: BLE001
                    pass
        self.project = project if project is not None and project.task == "detection" else None
        if self.project is not None:
            self.project.events.label_changed.connect(self._schedule)
            self.project.events.predictions_changed.connect(self._schedule)
        self.recompute()

    def _schedule(self, *_args) -> None:
        self._timer.start()

    def reader(self) -> str | None:
        from workstation.qt.review.keyboard import session_reader

        return session_reader()

    def recompute(self) -> None:
        self.report = None
        if self.project is None:
            self._show([], "no detection project")
            return
        from workstation.core.metrics import detection

        try:
            matches, self.summary = froc_inputs(self.project, self.reader())
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


def install(window) -> FrocTab | None:
    """Add the FROC tab to the metrics panel while a detection project is open."""
    panel = getattr(window, "metrics_panel", None)
    if panel is None:
        return None
    tab = FrocTab(window)
    window.froc_tab = tab

    def project_changed(project) -> None:
        index = panel.tabs.indexOf(tab)
        detection = project is not None and getattr(project, "task", None) == "detection"
        for widget in (getattr(panel, "matrix", None), getattr(panel, "table", None)):
            if widget is not None:  # the confusion matrix and its table mean nothing for detection
                widget.setVisible(not detection)
        if detection:
            if index < 0:
                panel.tabs.setCurrentIndex(panel.add_tab(TAB_TITLE, tab))
        elif index >= 0:
            panel.tabs.removeTab(index)
        tab.set_project(project)

    window.project_changed.connect(project_changed)
    if getattr(window, "project", None) is not None:
        project_changed(window.project)
    return tab


__all__ = ["FrocTab", "froc_inputs", "install", "TAB_TITLE"]
