"""Live evaluation docks: the confusion matrix, ROC/PR/calibration curves and a metrics table that
follow the project's labels and predictions (through core LiveMetrics, computed off the GUI
thread), a threshold slider, and truth / model / label selectors. Clicking a matrix cell sets the
session's worklist filter to its cases. A detection project gets the FROC tab instead. With a
taxonomy a level selector reads labels and predictions at a level of the tree (core LiveMetrics
`set_level`): a two-node level is binary (ROC, AUC with its DeLong CI, operating points) with a
positive-node selector, and the status line counts the cases labelled coarser than the level."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QSlider, QSplitter, QTableWidget,
    QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from workstation.core.errors import WorkstationError
from workstation.core.metrics.binary import AtThreshold, BinaryEvaluation
from workstation.core.metrics.confusion import wilson_interval
from workstation.core.metrics.live import LiveMetrics, LiveResult
from workstation.core.metrics.multiclass import MulticlassEvaluation
from workstation.core.metrics.multilabel import MultilabelEvaluation
from workstation.core.vocab import Task
from workstation.qt.metrics.froc_tab import TAB_TITLE, FrocTab
from workstation.qt.metrics.plots import PALETTE, CalibrationPlot, CurvePlot, MatrixPlot, fmt_ci
from workstation.qt.threads import Subscriptions, call_later, run_in_background

SLIDER_STEPS = 1000
TABLE_ROWS = [("sensitivity", "Sensitivity"), ("specificity", "Specificity"), ("precision", "PPV (precision)"),
              ("npv", "NPV"), ("fpr", "FPR"), ("fnr", "FNR"), ("accuracy", "Accuracy"),
              ("balanced_accuracy", "Balanced accuracy"), ("f1", "F1")]


STACK_BELOW_PX = 560  # panel width below which the matrix and the curves are stacked


class MetricsPanel(QWidget):
    redrawn = Signal()                 # after every redraw
    cases_selected = Signal(list, str)  # case ids of a clicked cell, and a description

    def __init__(self, session=None, parent=None):
        """`session`: the review session to follow (its project) and to filter (a matrix cell);
        without one the panel shows what `set_project` gives it."""
        super().__init__(parent)
        self.session = session
        self.live: LiveMetrics | None = None
        self.result: LiveResult | None = None
        self.threshold = 0.5
        self._range = (0.0, 1.0)
        self._live_subs = Subscriptions(self)
        self._dirty_tabs: set[int] = set()
        self._build()
        self.froc = FrocTab(session, self) if session is not None else None
        if session is not None:
            Subscriptions(self).add(session.events.project_changed, self.set_project)
            self.set_project(session.project)

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        top = QHBoxLayout()
        self.truth_box, self.model_box, self.label_box = QComboBox(), QComboBox(), QComboBox()
        for text, box in (("Truth", self.truth_box), ("Model", self.model_box), ("Label", self.label_box)):
            lab = QLabel(text)
            top.addWidget(lab)
            top.addWidget(box, 1)
            box.setProperty("caption", lab)
        levels = QHBoxLayout()  # a row of its own: shown only for a project with a taxonomy
        self.level_box, self.positive_box = QComboBox(), QComboBox()
        for text, box in (("Level", self.level_box), ("Positive", self.positive_box)):
            lab = QLabel(text)
            levels.addWidget(lab)
            levels.addWidget(box, 1)
            box.setProperty("caption", lab)
        levels.addStretch(1)
        self.level_box.setToolTip("read labels and predictions at this level of the taxonomy")
        self.positive_box.setToolTip("the positive node of a two-node level")
        self.level_box.activated.connect(lambda _i: self.set_level(self.level_box.currentData()))
        self.positive_box.activated.connect(lambda _i: self.set_level(self.level_box.currentData(),
                                                                      self.positive_box.currentText()))
        self.truth_box.setToolTip("whose labels count as the truth")
        self.truth_box.currentTextChanged.connect(self._truth_chosen)
        self.model_box.currentTextChanged.connect(self._model_chosen)
        self.label_box.currentIndexChanged.connect(lambda _: self.redraw())
        thr = QHBoxLayout()
        thr.addWidget(QLabel("Threshold"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.01)
        self.spin.valueChanged.connect(self._spin_changed)
        thr.addWidget(self.slider, 1)
        thr.addWidget(self.spin)
        self.status = QLabel("no project open")
        self.status.setWordWrap(True)

        self.matrix = MatrixPlot()
        self.matrix.cell_clicked.connect(self._cell_clicked)
        self.roc = CurvePlot("1 − specificity (FPR)", "sensitivity (TPR)")
        self.roc.point_clicked.connect(self._roc_clicked)
        self.pr = CurvePlot("recall", "precision", diagonal=False)
        self.calibration = CalibrationPlot()
        self.tabs = QTabWidget()
        for title, w in (("ROC", self.roc), ("PR", self.pr), ("Calibration", self.calibration)):
            self.tabs.addTab(w, title)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Metric", "Value", "95% CI"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(22)

        split = QSplitter(Qt.Orientation.Vertical)
        self._upper = upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(self.matrix)
        upper.addWidget(self.tabs)
        for plot in (self.matrix, self.tabs):
            plot.setMinimumSize(140, 140)
        split.addWidget(upper)
        split.addWidget(self.table)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(levels)
        layout.addLayout(thr)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self._show_label_box(False)
        self._show_levels(None)

    def resizeEvent(self, event) -> None:
        """In a narrow side bar the matrix goes above the curves: side by side each would be a sliver."""
        super().resizeEvent(event)
        narrow = self.width() < STACK_BELOW_PX
        wanted = Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal
        if self._upper.orientation() != wanted:
            self._upper.setOrientation(wanted)
            self._upper.setSizes([1, 1])

    def add_tab(self, title: str, widget: QWidget) -> int:
        """A further view beside ROC/PR/Calibration (e.g. FROC for detection projects)."""
        return self.tabs.addTab(widget, title)

    def _show_label_box(self, visible: bool) -> None:
        self._show_box(self.label_box, visible)

    @staticmethod
    def _show_box(box: QComboBox, visible: bool) -> None:
        box.setVisible(visible)
        box.property("caption").setVisible(visible)

    # ---- taxonomy level ------------------------------------------------------------------------
    def _show_levels(self, live: LiveMetrics | None) -> None:
        """The level box of a project with a taxonomy; the positive box at a two-node level."""
        levels = live.level_choices() if live is not None and hasattr(live, "level_choices") else []
        self.level_box.clear()
        for name in levels:
            self.level_box.addItem("leaf (the classes)" if name == "leaf" else f"level {name}", name)
        level = live.level if live is not None and levels else None
        self.level_box.setCurrentIndex(max(self.level_box.findData(level or "leaf"), 0))
        self._show_box(self.level_box, bool(levels))
        nodes = live.project.taxonomy.level_nodes(level) if level is not None else []
        self.positive_box.clear()
        if len(nodes) == 2:
            self.positive_box.addItems(nodes)
            self.positive_box.setCurrentText(live.positive or nodes[1])
        self._show_box(self.positive_box, len(nodes) == 2)

    def set_level(self, level: str | None, positive: str | None = None) -> None:
        """Evaluate at taxonomy level `level` ("1", ..., "leaf"; None: the classes) with `positive`
        the positive node of a two-node level (default: its second node)."""
        if self.live is None:
            return
        try:
            self.live.set_level(level, positive)  # "leaf" too: its table counts the inner-node labels
        except WorkstationError as exc:
            self._show_levels(self.live)
            self.status.setText(str(exc))
            return
        self._show_levels(self.live)
        self.status.setText("computing…")

    # ---- project and selectors -----------------------------------------------------------------
    def set_project(self, project) -> None:
        self._live_subs.clear()
        if self.live is not None:
            self.live.close()
            self.live = None
        self.result = None
        detection = project is not None and project.task == Task.DETECTION
        self._show_froc(detection, project)
        if project is None or detection:
            self.status.setText("no project open" if project is None else
                                "detection project: see the FROC tab")
            return
        self.live = live = LiveMetrics(project, scheduler=self._schedule)
        self._show_levels(live)
        self._live_subs.add(live.computed, lambda result: self._on_result(live, result))
        self._live_subs.add(live.failed, lambda text: self._on_failed(live, text))
        self.status.setText("computing…")
        try:
            self._fill(self.truth_box, self.live.truth_choices(), "final")
        except Exception as exc:  # noqa: BLE001 - a broken database must not take the window down
            self.status.setText(f"metrics not available: {exc}")
        self.live.reload()

    def _schedule(self, delay: float, fn) -> None:
        """LiveMetrics' scheduler: after `delay` s, compute on a worker thread (never on the GUI's)."""
        call_later(int(delay * 1000), lambda: run_in_background(fn, name="live-metrics"), self)

    def _show_froc(self, detection: bool, project) -> None:
        """The confusion matrix and its table mean nothing for detection: the FROC tab instead."""
        self.matrix.setVisible(not detection)
        self.table.setVisible(not detection)
        if self.froc is None:
            return
        index = self.tabs.indexOf(self.froc)
        if detection and index < 0:
            self.tabs.setCurrentIndex(self.add_tab(TAB_TITLE, self.froc))
        elif not detection and index >= 0:
            self.tabs.removeTab(index)
        self.froc.set_project(project)

    @staticmethod
    def _fill(box: QComboBox, items: list[str], current: str | None) -> None:
        if [box.itemText(i) for i in range(box.count())] == items and box.currentText() == (current or ""):
            return
        box.blockSignals(True)
        box.clear()
        box.addItems(items)
        if current in items:
            box.setCurrentText(current)
        box.blockSignals(False)

    def _truth_chosen(self, text: str) -> None:
        if self.live and text and text != self.live.truth:
            self.live.set_truth(text)

    def _model_chosen(self, text: str) -> None:
        if self.live and text and text != self.live.plugin_id:
            self.live.set_model(text)

    # ---- results -------------------------------------------------------------------------------
    def _on_failed(self, live, text: str) -> None:
        if live is self.live:
            self.status.setText(text)

    def _on_result(self, live, result: LiveResult) -> None:
        if live is not self.live:
            return  # a result of the project shown before
        self.result = result
        if not result.changed_cases:  # a full reload: the models may have changed too
            self._fill(self.model_box, self.live.models(), result.plugin_id)
        ev = result.evaluation
        if isinstance(ev, MultilabelEvaluation):
            self._fill(self.label_box, ev.labels, self.label_box.currentText() or ev.labels[0])
        self._show_label_box(isinstance(ev, MultilabelEvaluation))
        scores = ev.y_score if isinstance(ev, BinaryEvaluation) else getattr(ev, "scores", None)
        if scores is not None and np.size(scores):
            lo, hi = float(np.min(scores)), float(np.max(scores))
            self._range = (0.0, 1.0) if lo >= 0 and hi <= 1 else (lo, hi if hi > lo else lo + 1)
        self.spin.blockSignals(True)
        self.spin.setRange(*self._range)
        self.spin.setValue(self.threshold)
        self.spin.blockSignals(False)
        self._place_slider()
        threshold_applies = not isinstance(ev, MulticlassEvaluation)
        self.slider.setEnabled(threshold_applies)
        self.spin.setEnabled(threshold_applies)
        self.redraw(curves=True)

    def binary(self) -> BinaryEvaluation | None:
        """The binary evaluation on screen (the chosen label of a multi-label task)."""
        ev = self.result.evaluation if self.result else None
        if isinstance(ev, MultilabelEvaluation):
            return ev.per_label[max(0, self.label_box.currentIndex())]
        return ev if isinstance(ev, BinaryEvaluation) else None

    # ---- threshold -----------------------------------------------------------------------------
    def set_threshold(self, value: float) -> None:
        self.threshold = float(value)
        self.spin.blockSignals(True)
        self.spin.setValue(self.threshold)
        self.spin.blockSignals(False)
        self._place_slider()
        self.redraw(curves=False)

    def _place_slider(self) -> None:
        lo, hi = self._range
        self.slider.blockSignals(True)
        self.slider.setValue(round((min(max(self.threshold, lo), hi) - lo) / (hi - lo) * SLIDER_STEPS))
        self.slider.blockSignals(False)

    def _slider_moved(self, step: int) -> None:
        lo, hi = self._range
        self.set_threshold(lo + (hi - lo) * step / SLIDER_STEPS)

    def _spin_changed(self, value: float) -> None:
        self.set_threshold(value)

    def _roc_clicked(self, x: float, y: float) -> None:
        b = self.binary()
        if b is None or b.roc.reason:
            return
        i = int(np.argmin((b.roc.fpr - x) ** 2 + (b.roc.tpr - y) ** 2))
        t = b.roc.thresholds[i]
        self.set_threshold(float(t) if np.isfinite(t) else self._range[1] + 1e-9)

    # ---- drawing -------------------------------------------------------------------------------
    def redraw(self, curves: bool = True) -> None:
        r = self.result
        if r is None or r.evaluation is None:
            self.status.setText(r.reason if r else "no project open")
            self.redrawn.emit()
            return
        ev = r.evaluation
        if isinstance(ev, MulticlassEvaluation):
            self._draw_multiclass(ev, curves)
        else:
            self._draw_binary(self.binary(), curves)
        self.status.setText(f"{ev.n} cases{self._level_text(r.table)} · truth: {r.truth} · model: {r.plugin_id} · "
                            f"updated in {1000 * r.seconds:.0f} ms")
        self.redrawn.emit()

    def _draw_binary(self, b: BinaryEvaluation, curves: bool) -> None:
        at = b.at(self.threshold)
        self.matrix.show_matrix(at.matrix, ["negative", "positive"] if not self._names() else self._names())
        if curves:
            self._dirty_tabs = {0, 1, 2}
            self._draw_tab(self.tabs.currentIndex())
        sens, spec = at.rates["sensitivity"], at.rates["specificity"]
        self.roc.set_points([1 - spec], [sens])
        self.pr.set_points([sens], [at.rates["precision"]])
        rows = [(title, at.rates[key], at.intervals.get(key)) for key, title in TABLE_ROWS]
        rows += [("AUC", b.auc.auc, b.auc.ci), ("Average precision", b.pr.average_precision, None),
                 ("ECE (15 bins)", b.calibration.ece, None)]
        self._fill_table(rows)

    @staticmethod
    def _level_text(table) -> str:
        """' at level 1 (3 excluded: labelled coarser than the level)' for a table read at a level."""
        level = getattr(table, "level", None)
        if level is None:
            return ""
        excluded = len(getattr(table, "excluded", None) or ())
        return f" at level {level}" + (f" ({excluded} excluded: labelled coarser than level {level})"
                                       if excluded else "")

    def _names(self) -> list[str] | None:
        r = self.result
        if r and r.table is not None and r.task == Task.BINARY:
            return list(r.table.classes)
        return None

    def _draw_tab(self, index: int) -> None:
        if index not in self._dirty_tabs or self.result is None or self.result.evaluation is None:
            return
        self._dirty_tabs.discard(index)
        ev = self.result.evaluation
        if isinstance(ev, MulticlassEvaluation):
            items = list(zip(ev.classes, ev.per_class))
        else:
            b = self.binary()
            items = [(self.label_box.currentText() if isinstance(ev, MultilabelEvaluation) else "", b)]
        if index == 0:
            self.roc.set_curves([(b.roc.fpr, b.roc.tpr, f"{name} AUC {fmt_ci(b.auc.auc, b.auc.ci)}".strip())
                                 for name, b in items])
        elif index == 1:
            self.pr.set_curves([(b.pr.recall, b.pr.precision,
                                 f"{name} AP {fmt_ci(b.pr.average_precision, None)}".strip())
                                for name, b in items])
        elif index == 2:
            rel = ev.calibration if isinstance(ev, MulticlassEvaluation) else items[0][1].calibration
            self.calibration.show_reliability(rel, f"ECE {fmt_ci(rel.ece, None)}")

    def _tab_changed(self, index: int) -> None:
        self._draw_tab(index)

    def _draw_multiclass(self, ev: MulticlassEvaluation, curves: bool) -> None:
        self.matrix.show_matrix(ev.matrix, ev.classes)
        if curves:
            self._dirty_tabs = {0, 1, 2}
            self._draw_tab(self.tabs.currentIndex())
        tn, fp, fn, tp = ev.ovr_counts
        with np.errstate(invalid="ignore", divide="ignore"):
            self.roc.set_points(fp / (fp + tn), tp / (tp + fn), PALETTE[: len(ev.classes)])
        aucs = ev.auc_averages
        correct = int(np.trace(ev.matrix))
        lo, hi = wilson_interval(correct, ev.n)
        rows = [("Accuracy", correct / ev.n, (float(lo), float(hi))), ("AUC one-vs-rest, macro", aucs["macro"], None),
                ("AUC one-vs-rest, weighted", aucs["weighted"], None), ("AUC Hand & Till", aucs["hand_till"], None)]
        for c, name in enumerate(ev.classes):
            b = ev.per_class[c]
            at = AtThreshold.from_counts(math.nan, tn[c], fp[c], fn[c], tp[c])
            rows += [(f"{name}: AUC", b.auc.auc, b.auc.ci),
                     (f"{name}: sensitivity", at.rates["sensitivity"], at.intervals["sensitivity"]),
                     (f"{name}: PPV", at.rates["precision"], at.intervals["precision"])]
        self._fill_table(rows)

    def _fill_table(self, rows) -> None:
        self.table.setRowCount(len(rows))
        for i, (name, value, ci) in enumerate(rows):
            ok = value is not None and np.isfinite(value)
            cells = (name, f"{value:.3f}" if ok else "undefined",
                     f"{ci[0]:.3f} – {ci[1]:.3f}" if ci is not None and ok and all(np.isfinite(ci)) else "")
            for j, text in enumerate(cells):
                item = self.table.item(i, j)
                if item is None:
                    self.table.setItem(i, j, QTableWidgetItem(text))
                elif item.text() != text:
                    item.setText(text)

    # ---- worklist filter -----------------------------------------------------------------------
    def _cell_clicked(self, row: int, col: int) -> None:
        r = self.result
        if r is None or r.evaluation is None:
            return
        ev = r.evaluation
        if isinstance(ev, MulticlassEvaluation):
            mask = ev.cell_mask(row, col)
            desc = f"truth {ev.classes[row]}, predicted {ev.classes[col]}"
        else:
            b = self.binary()
            mask = b.cell_mask(row, col, self.threshold)
            names = {(0, 0): "true negatives", (0, 1): "false positives", (1, 0): "false negatives",
                     (1, 1): "true positives"}
            label = f"{self.label_box.currentText()} " if isinstance(ev, MultilabelEvaluation) else ""
            desc = f"{label}{names[(row, col)]} at threshold {self.threshold:.3f}"
        ids = [c for c, m in zip(r.table.case_ids, mask) if m]
        self.cases_selected.emit(ids, desc)
        if self.session is not None and self.session.project is not None:
            self.session.set_filter("cases", ids)


def install(ctx) -> dict:
    """The metrics dock (with the FROC tab of detection projects), following the session."""
    from workstation.qt.metrics.segmentation_tab import TAB_TITLE as SEGMENTATION, SegmentationTab

    panel = MetricsPanel(ctx.session)
    segmentation = SegmentationTab(ctx.session, panel)
    panel.add_tab(SEGMENTATION, segmentation)
    ctx.host.add_dock("Metrics", panel, Qt.DockWidgetArea.RightDockWidgetArea)
    return {"metrics_panel": panel, "froc_tab": panel.froc, "segmentation_tab": segmentation}
