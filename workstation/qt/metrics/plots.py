"""The pyqtgraph plots of the metrics panel: confusion-matrix heat map, ROC, PR and calibration.
They draw what they are given; every number comes from workstation.core.metrics."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QGraphicsRectItem

pg.setConfigOptions(antialias=True)
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MAX_CURVE_POINTS = 2000  # a ROC/PR curve is thinned to this many vertices for drawing only


def thin(x: np.ndarray, y: np.ndarray, extra: np.ndarray | None = None):
    """Keep at most MAX_CURVE_POINTS vertices (always the ends); drawing 100,000 points costs
    more than the eye can use."""
    if x.size <= MAX_CURVE_POINTS:
        return (x, y) if extra is None else (x, y, extra)
    idx = np.unique(np.linspace(0, x.size - 1, MAX_CURVE_POINTS).astype(int))
    return (x[idx], y[idx]) if extra is None else (x[idx], y[idx], extra[idx])


def fmt_ci(value, ci) -> str:
    if value is None or not np.isfinite(value):
        return "undefined"
    if ci is None or not all(np.isfinite(ci)):
        return f"{value:.3f}"
    return f"{value:.3f} ({ci[0]:.3f}–{ci[1]:.3f})"


class MatrixPlot(pg.PlotWidget):
    """Counts with row percentages, coloured by row percentage. Row = truth, column = prediction."""
    cell_clicked = Signal(int, int)  # truth row, predicted column

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.getPlotItem().invertY(True)
        self.setMenuEnabled(False)
        self.cmap = pg.colormap.get("CET-L12")  # white to blue
        self.cells: list[QGraphicsRectItem] = []
        self.texts: list[pg.TextItem] = []
        self.counts = np.zeros((0, 0), int)
        self.names: list[str] = []
        self.getPlotItem().vb.sigResized.connect(lambda *_: self._bottom_ticks())
        self.getPlotItem().setLabel("left", "truth")
        self.getPlotItem().setLabel("bottom", "predicted")
        self.scene().sigMouseClicked.connect(self._clicked)

    def show_matrix(self, counts, names: list[str]) -> None:
        counts = np.asarray(counts, int)
        k = counts.shape[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.where(counts.sum(1, keepdims=True) > 0, counts / counts.sum(1, keepdims=True), 0.0)
        if counts.shape != self.counts.shape:
            for item in self.texts + self.cells:
                self.removeItem(item)
            self.texts, self.cells = [], []
            for r in range(k):
                for c in range(k):
                    cell = QGraphicsRectItem(c, r, 1, 1)
                    cell.setPen(pg.mkPen("w", width=0))
                    self.addItem(cell)
                    self.cells.append(cell)
                    t = pg.TextItem(anchor=(0.5, 0.5))
                    t.setTextWidth(90)  # lets the HTML centre its lines
                    t.setPos(c + 0.5, r + 0.5)
                    self.addItem(t)
                    self.texts.append(t)
            self.setRange(xRange=(0, k), yRange=(0, k), padding=0.02)
        if list(names) != self.names or counts.shape != self.counts.shape:  # a positive node swapped too
            self.names = list(names)
            self.getPlotItem().getAxis("left").setTicks([[(i + 0.5, n) for i, n in enumerate(self.names)]])
            self._bottom_ticks()
        for r in range(k):
            for c in range(k):
                t = self.texts[r * k + c]
                self.cells[r * k + c].setBrush(pg.mkBrush(self.cmap.map(0.1 + 0.8 * pct[r, c], mode="qcolor")))
                color = "white" if pct[r, c] > 0.6 else "black"
                t.setHtml(f"<div style='text-align:center;color:{color};font-size:11pt'><b>{counts[r, c]}</b>"
                          f"<br>{100 * pct[r, c]:.1f}%</div>")
        self.counts = counts

    def _bottom_ticks(self) -> None:
        """Column names cut to their column's width (long class names would run into each other)."""
        if not self.names:
            return
        axis = self.getPlotItem().getAxis("bottom")
        box = self.getPlotItem().vb.sceneBoundingRect().width() or self.width() - 90
        room = max(24, int(box / len(self.names)) - 10)
        metrics = QFontMetrics(axis.style.get("tickFont") or self.font())
        axis.setTicks([[(i + 0.5, metrics.elidedText(n, Qt.TextElideMode.ElideRight, room))
                        for i, n in enumerate(self.names)]])

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.counts.size == 0:
            return
        p = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.click_cell(p)

    def click_cell(self, p: QPointF) -> None:
        c, r = int(np.floor(p.x())), int(np.floor(p.y()))
        k = self.counts.shape[0]
        if 0 <= r < k and 0 <= c < k:
            self.cell_clicked.emit(r, c)


class CurvePlot(pg.PlotWidget):
    """Curves with a legend, a diagonal/reference line and operating-point markers."""
    point_clicked = Signal(float, float)  # x, y in data coordinates

    def __init__(self, x_label: str, y_label: str, diagonal: bool = True, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        item = self.getPlotItem()
        item.setLabel("bottom", x_label)
        item.setLabel("left", y_label)
        item.showGrid(x=True, y=True, alpha=0.2)
        self.setXRange(0, 1, padding=0.02)
        self.setYRange(0, 1, padding=0.02)
        self.setAspectLocked(True)
        self.legend = item.addLegend(offset=(-5, -5), labelTextColor="k", labelTextSize="8pt",
                                     brush=pg.mkBrush(255, 255, 255, 210))
        if diagonal:
            self.addItem(pg.PlotCurveItem([0, 1], [0, 1], pen=pg.mkPen("#999", style=Qt.PenStyle.DashLine)))
        self.curves: list[pg.PlotDataItem] = []
        self.points = pg.ScatterPlotItem(size=11, pen=pg.mkPen("k", width=1.5))
        self.addItem(self.points)
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_curves(self, series: list[tuple[np.ndarray, np.ndarray, str]], step: bool = False) -> None:
        """series: (x, y, legend name) per curve."""
        while len(self.curves) > len(series):
            c = self.curves.pop()
            self.legend.removeItem(c)
            self.removeItem(c)
        for i, (x, y, name) in enumerate(series):
            x, y = thin(np.asarray(x, float), np.asarray(y, float))
            if i == len(self.curves):
                c = self.plot([], [], pen=pg.mkPen(PALETTE[i % len(PALETTE)], width=2), name=name)
                self.curves.append(c)
            c = self.curves[i]
            c.setData(x, y, stepMode=None)
            if c.name() != name:
                c.opts["name"] = name
                label = self.legend.getLabel(c)
                if label is not None:
                    label.setText(name)

    def set_points(self, xs, ys, colors=None) -> None:
        colors = colors or [PALETTE[i % len(PALETTE)] for i in range(len(xs))]
        self.points.setData([{"pos": (x, y), "brush": pg.mkBrush(c)} for x, y, c in zip(xs, ys, colors)
                             if np.isfinite(x) and np.isfinite(y)])

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        p = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        if -0.05 <= p.x() <= 1.05 and -0.05 <= p.y() <= 1.05:
            self.point_clicked.emit(p.x(), p.y())


class CalibrationPlot(CurvePlot):
    def __init__(self, parent=None):
        super().__init__("mean predicted probability", "observed frequency", diagonal=True, parent=parent)

    def show_reliability(self, rel, name: str) -> None:
        filled = rel.count > 0
        self.set_curves([(rel.confidence[filled], rel.observed[filled], name)])
        self.curves[0].setSymbol("o")
        self.curves[0].setSymbolSize(7)
