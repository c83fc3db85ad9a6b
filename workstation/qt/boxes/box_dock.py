"""Localisation boxes on 2D images of an open project: readers draw them in the 2D view ("Draw box":
press, drag, release; Escape stops), or take them from the heat map shown by the model dock
(threshold, largest regions → boxes). Every box is stored at once in the project (audited; Ctrl+Z undoes it through the
project's undo) and drawn through a `BoxLayer` ("boxes"): readers' boxes green, heat-map and
detector boxes yellow, the box selected in the table red. Boxes are stored and deleted through the
review session.

Coordinates are image pixels as in `workstation.core.boxes.localisation.Box` (x, y the column and row of the
top-left corner); a drawn box is snapped to whole pixels and clipped to the image.
"""
from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from workstation.core.review.overlays import Box as OverlayBox
from workstation.core.errors import WorkstationError
from workstation.core.review.overlays import BoxLayer, HeatMapLayer
from workstation.core.review.session import NoReaderError
from workstation.core.vocab import BoxSource
from workstation.qt.threads import Debounce, Subscriptions

log = logging.getLogger(__name__)
LAYER_NAME = "boxes"
DRAFT_LAYER = "box being drawn"
COLUMNS = ("finding", "x", "y", "w", "h", "reader", "source")
SOURCE_STATE = {"reader": "added", "heatmap": "proposed", "detector": "proposed"}  # overlay colours


def pixel_box(volume, world_a, world_b) -> tuple[float, float, float, float] | None:
    """(x, y, w, h) in whole pixels of the box spanned by two world points on a 2D image, clipped to
    the image; None when it covers no whole pixel (a click rather than a drag)."""
    ia, ib = volume.world_to_index(np.asarray(world_a, float)), volume.world_to_index(np.asarray(world_b, float))
    rows, cols = volume.array.shape[1:3]
    # index i is the centre of pixel i, which spans i - 0.5 .. i + 0.5: edges are index + 0.5
    x0, x1 = sorted(np.clip(np.round([ia[0] + 0.5, ib[0] + 0.5]), 0, cols))
    y0, y1 = sorted(np.clip(np.round([ia[1] + 0.5, ib[1] + 0.5]), 0, rows))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def overlay_box(x: float, y: float, w: float, h: float, **kw) -> OverlayBox:
    """A pixel box (edges) as a BoxLayer box (the indices of its first and last pixels)."""
    return OverlayBox((x, y, 0.0), (x + w - 1.0, y + h - 1.0, 0.0), **kw)


def heatmap_boxes(layer: HeatMapLayer, volume, threshold: float, max_boxes: int, finding: str):
    """Boxes (in the image's pixels) around the largest regions of a heat-map layer above
    `threshold` (a fraction of its range), each with its peak value as score."""
    from workstation.core.boxes.localisation import Box, boxes_from_heatmap

    array = np.asarray(layer.array)
    if array.shape[0] != 1:
        raise ValueError(f"boxes come from a 2D heat map; this one has {array.shape[0]} slices")
    found = boxes_from_heatmap(array[0], threshold, max_boxes=max_boxes, finding=finding)
    grid = layer.grid
    if grid is None or grid is volume or (grid.array.shape[:3] == volume.array.shape[:3] and np.allclose(
            grid.index_to_world(np.zeros(3)), volume.index_to_world(np.zeros(3)))
            and np.allclose(grid.spacing, volume.spacing)):
        return found
    out = []  # the heat map lies on a grid of its own: carry the corners through world mm
    rows, cols = volume.array.shape[1:3]
    for b in found:
        corners = np.array([[b.x - 0.5, b.y - 0.5, 0.0], [b.x + b.w - 0.5, b.y + b.h - 0.5, 0.0]])
        ij = volume.world_to_index(grid.index_to_world(corners))[:, :2] + 0.5
        (x0, y0), (x1, y1) = np.clip(ij.min(axis=0), 0, [cols, rows]), np.clip(ij.max(axis=0), 0, [cols, rows])
        if x1 > x0 and y1 > y0:
            out.append(Box(x0, y0, x1 - x0, y1 - y0, finding=finding, score=b.score))
    return out


class BoxPanel(QWidget):
    stored = Signal(str)   # box id, once the store has it
    refreshed = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.project = None
        self.case_id: str | None = None
        self.rows = []   # StoredBox of the open case
        self._start = None  # (view, world point) while a box is being drawn
        self._refresh = Debounce(self, 30, self.refresh)
        self._build()
        self._project_subs = Subscriptions(self)
        subs = Subscriptions(self)
        subs.add(self.session.events.project_changed, self.set_project)
        subs.add(self.session.events.current_changed, self._on_current)
        subs.add(self.session.events.changed, self._on_change)
        if ctx.viewer is not None:
            for view in ctx.viewer.views.values():
                view.installEventFilter(self)
            ctx.viewer.state.volume_changed.connect(lambda _v: self._enable())
        self.set_project(self.session.project)

    def _build(self) -> None:
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.finding = QComboBox()
        self.draw = QPushButton("Draw box")
        self.draw.setCheckable(True)
        self.draw.setToolTip("press, drag and release in the 2D view to draw a box of the chosen finding")
        self.draw.toggled.connect(self._draw_toggled)
        top = QHBoxLayout()
        top.addWidget(self.finding, 1)
        top.addWidget(self.draw)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.currentCellChanged.connect(lambda *_: self._draw_layer())
        self.delete = QPushButton("Delete")
        self.delete.clicked.connect(self.delete_selected)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.05, 0.95)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("fraction of the heat map's range above which a region becomes a box")
        self.max_boxes = QSpinBox()
        self.max_boxes.setRange(1, 20)
        self.max_boxes.setValue(3)
        self.from_heatmap = QPushButton("Boxes from heat map")
        self.from_heatmap.setToolTip("turn the heat map shown (Model dock) into boxes of the chosen finding")
        self.from_heatmap.clicked.connect(self.boxes_from_heatmap)
        heat = QFormLayout()
        heat.addRow("Heat-map threshold", self.threshold)
        heat.addRow("Largest regions", self.max_boxes)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete)
        buttons.addStretch(1)
        buttons.addWidget(self.from_heatmap)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addLayout(heat)

    # ---- project and case ----------------------------------------------------------------------
    def set_project(self, project) -> None:
        self._project_subs.clear()
        self.project, self.case_id = project, None
        self.finding.clear()
        if project is not None:
            self.finding.addItems(project.classes)
            self._project_subs.add(project.events.label_changed, self._label_changed)  # undo, other tools
        self.ctx.overlays.remove_named(DRAFT_LAYER)
        self.refresh()
        if project is not None and self.session.current is not None:
            self.set_case(self.session.current)

    def _on_current(self, case_id) -> None:
        if case_id is not None:
            self.set_case(case_id)

    def _on_change(self, change) -> None:
        if change.case_id == self.case_id and change.kind == "box":
            self._refresh.trigger()

    def set_case(self, case_id: str) -> None:
        self.cancel_drawing()
        if self.project is not None:
            self.case_id = case_id
            self.refresh()

    def _label_changed(self, case_id: str) -> None:
        if case_id == self.case_id:
            self._refresh.trigger()

    def _on_2d_image(self) -> bool:
        volume = self.ctx.volume
        return volume is not None and volume.kind == "2d"

    def _enable(self) -> None:
        ready = self.project is not None and self.case_id is not None and self._on_2d_image()
        for widget in (self.finding, self.draw, self.delete, self.from_heatmap, self.table):
            widget.setEnabled(ready)
        if not ready and self.draw.isChecked():
            self.draw.setChecked(False)
        if self.project is None:
            self.note.setText("open a project to draw localisation boxes")
        elif self.case_id is None:
            self.note.setText("open a case from the worklist")
        elif not self._on_2d_image():
            self.note.setText(f"{self.case_id}: boxes are drawn on 2D images")
        else:
            self.note.setText(f"{self.case_id}: {len(self.rows)} box(es)")

    def refresh(self) -> None:
        selected = self.selected_id()
        self.rows = []
        if self.project is not None and self.case_id is not None:
            try:
                self.rows = self.project.boxes(self.case_id)
            except Exception as exc:  # noqa: BLE001 - a broken store must not take the window down
                self.ctx.notify.error(f"boxes unavailable: {exc}")
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.rows))
        for r, box in enumerate(self.rows):
            for c, text in enumerate((box.finding, f"{box.x:g}", f"{box.y:g}", f"{box.w:g}", f"{box.h:g}",
                                      box.reader, box.source)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        ids = [b.box_id for b in self.rows]
        self.table.setCurrentCell(ids.index(selected) if selected in ids else -1, 0)
        self.table.blockSignals(False)
        self._draw_layer()
        self._enable()
        self.refreshed.emit()

    def selected_id(self) -> str | None:
        row = self.table.currentRow()
        return self.rows[row].box_id if 0 <= row < len(self.rows) else None

    def _draw_layer(self) -> None:
        overlays = self.ctx.overlays
        if not self.rows:
            overlays.remove_named(LAYER_NAME)
            return
        selected = self.selected_id()
        boxes = [overlay_box(b.x, b.y, b.w, b.h, label=b.finding, id=b.box_id,
                             state="confirmed" if b.box_id == selected else SOURCE_STATE.get(b.source, "proposed"))
                 for b in self.rows]
        layer = overlays.find(LAYER_NAME)
        if isinstance(layer, BoxLayer):
            layer.set_boxes(boxes)
        else:
            overlays.put(BoxLayer(LAYER_NAME, boxes))

    # ---- storing (through the session) ---------------------------------------------------------
    def store(self, x, y, w, h, source: str = BoxSource.READER, score=None, finding: str | None = None) -> str | None:
        if self.project is None or self.case_id is None:
            return None
        finding = finding or self.finding.currentText()
        change = self._decide(lambda: self.session.set_box(self.case_id, None, finding, x, y, w, h, source=source,
                                                           score=score))
        if change is None:
            return None
        self.refresh()
        self.stored.emit(change.candidate_id)
        return change.candidate_id

    def delete_selected(self) -> None:
        box_id = self.selected_id()
        if box_id is None or self._decide(lambda: self.session.delete_box(self.case_id, box_id)) is None:
            return
        self.refresh()

    def _decide(self, edit):
        """Run a session edit; its error is shown (one line), None returned."""
        try:
            return edit()
        except NoReaderError as exc:
            self.ctx.notify.info(str(exc))
        except WorkstationError as exc:
            self.ctx.notify.error(exc)
        return None

    def boxes_from_heatmap(self) -> list[str]:
        """Store the boxes of the heat map shown over the image (source "heatmap"); returns their ids."""
        volume = self.ctx.volume
        layer = next((l for l in reversed(list(self.ctx.overlays)) if isinstance(l, HeatMapLayer)
                      and l.fits(volume)), None) if volume is not None else None
        if layer is None or self.case_id is None:
            self._say("no heat map is shown: run a model with heat maps and tick Show heat map (Model dock)")
            return []
        finding = self.finding.currentText()
        try:
            found = heatmap_boxes(layer, volume, self.threshold.value(), self.max_boxes.value(), finding)
        except ValueError as exc:
            self._say(str(exc))
            return []
        if not found:
            self._say("the heat map has no region above the threshold")
            return []
        ids = [self.store(b.x, b.y, b.w, b.h, source="heatmap", score=b.score, finding=finding) for b in found]
        return [i for i in ids if i is not None]

    def _say(self, text: str) -> None:
        self.ctx.notify.info(text)

    # ---- drawing in the view -------------------------------------------------------------------
    def _draw_toggled(self, on: bool) -> None:
        self.cancel_drawing()
        for view in (self.ctx.viewer.views.values() if self.ctx.viewer is not None else ()):
            view.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    def cancel_drawing(self) -> None:
        self._start = None
        self.ctx.overlays.remove_named(DRAFT_LAYER)

    def begin_at(self, view, x: float, y: float) -> None:
        self._start = (view, view.world_at(x, y))

    def drag_to(self, x: float, y: float) -> tuple | None:
        if self._start is None:
            return None
        view, start = self._start
        found = pixel_box(self.ctx.volume, start, view.world_at(x, y))
        if found is None:
            self.ctx.overlays.remove_named(DRAFT_LAYER)
        else:
            draft = [overlay_box(*found, label=self.finding.currentText(), state="added")]
            layer = self.ctx.overlays.find(DRAFT_LAYER)
            if isinstance(layer, BoxLayer):
                layer.set_boxes(draft)
            else:
                self.ctx.overlays.put(BoxLayer(DRAFT_LAYER, draft))
        return found

    def end_at(self, x: float, y: float) -> str | None:
        found = self.drag_to(x, y)
        self._start = None
        self.ctx.overlays.remove_named(DRAFT_LAYER)
        if found is None:
            self._say("drag to draw a box (it must cover at least one whole pixel)")
            return None
        return self.store(*found)

    def draw_between(self, view, a: tuple[float, float], b: tuple[float, float]) -> str | None:
        """Draw a box from display position a to b (logical pixels of `view`), as a drag would."""
        self.begin_at(view, *a)
        return self.end_at(*b)

    def eventFilter(self, obj, event) -> bool:
        if not self.draw.isChecked() or not self.draw.isEnabled():
            return False
        kind = event.type()
        if kind == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            self.cancel_drawing()
            self.draw.setChecked(False)
            return True
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton \
                and not event.modifiers():
            pos = event.position()
            self.begin_at(obj, pos.x(), pos.y())
            return True
        if self._start is None or self._start[0] is not obj:
            return False
        if kind == QEvent.Type.MouseMove:
            pos = event.position()
            self.drag_to(pos.x(), pos.y())
            obj.request_render()
            return False  # the view still shows the pixel readout
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            pos = event.position()
            self.end_at(pos.x(), pos.y())
            return True
        return False


def install(ctx) -> dict:
    """The boxes dock (right), following the session."""
    panel = BoxPanel(ctx)
    dock = ctx.host.add_dock("Boxes", panel, Qt.DockWidgetArea.RightDockWidgetArea)
    return {"box_panel": panel, "box_dock": dock}


__all__ = ["install", "BoxPanel", "LAYER_NAME", "pixel_box", "overlay_box", "heatmap_boxes"]
