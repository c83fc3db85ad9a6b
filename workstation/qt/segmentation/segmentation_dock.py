"""Segmentation editing and measurements in the viewer.

The dock lists the project's segments and the case's measurements; the tool chosen acts on the
slice views through an event filter (left button, no modifiers; the other buttons keep panning and
windowing): Paint / Erase with a sphere brush of the radius in mm (limited to the intensity range
when ticked), Fill (the connected region within the range under the click), Line (press, drag,
release: a stored length), Ellipse (press at the centre, drag to a corner of the box around it,
in the view's own axes, oblique ones too: area and statistics of the stored values), Angle (three
clicks, the vertex second), Polygon (a click per corner, double-click to close). The brush is
shown as a sphere outline that follows the mouse.

At a stroke's end (a fill, an interpolation, ...) each changed segment is saved as a new version
through the review session, written off the GUI thread (saver.py): one stroke is one version, so
Undo and Redo (the session's, as for labels) step back and forth stroke by stroke, and the editor's
masks are set to the version the undo restored. Measurements go through the session too.
"""
from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from workstation.core.errors import WorkstationError
from workstation.core.segmentation.editor import EditError
from workstation.qt.segmentation.display import SegmentDisplay
from workstation.qt.segmentation.measure_tools import MeasurementTools
from workstation.qt.segmentation.saver import MaskSaver
from workstation.qt.segmentation.stroke_views import HeldViews
from workstation.qt.threads import Debounce, Subscriptions

log = logging.getLogger(__name__)
TOOLS = ("Off", "Paint", "Erase", "Fill", "Line", "Angle", "Ellipse", "Polygon")
CURSOR_LAYER = "brush"


class SegmentationPanel(MeasurementTools, QWidget):
    saved = Signal(str)      # segment name, once its new version is stored
    restored = Signal(str)   # segment name, once an undo or redo has put its stored version back
    measured = Signal(str)   # measurement id

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.editor = None
        self.case_id: str | None = None
        self.reader: str | None = None  # whose masks the editor holds
        self.display = SegmentDisplay(ctx.overlays)
        self._stroke_view = None
        self._last_view = None  # the view of the last stroke: interpolation runs along its normal
        self._line_start = None
        self._clicks: list = []  # (view, world point) of an angle or polygon being drawn
        self._build()
        self.saver = MaskSaver(self, self.session, self._saved, self._save_failed)
        from PySide6.QtCore import QCoreApplication

        QCoreApplication.instance().aboutToQuit.connect(self._flush_saves)  # a stroke in flight is kept
        self.held = HeldViews()
        self._relist = Debounce(self, 50, self._list_measurements)
        self._project_subs = Subscriptions(self)
        subs = Subscriptions(self)
        subs.add(self.session.events.project_changed, self._project_changed)
        subs.add(self.session.events.current_changed, lambda _c: self.reload())
        subs.add(self.session.events.reader_changed, lambda *_a: self.reload())  # each reader edits their own
        subs.add(self.session.events.changed, self._session_changed)
        if ctx.viewer is not None:
            for view in ctx.viewer.views.values():
                view.installEventFilter(self)
            ctx.viewer.state.volume_changed.connect(lambda _v: self.reload())
        self._project_changed(self.session.project)

    # ---- widgets -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.segments = QListWidget()
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("new segment")
        add = QPushButton("Add")
        add.clicked.connect(lambda: self.add_segment(self.new_name.text()))
        self.tool = QComboBox()
        self.tool.addItems(TOOLS)
        self.tool.currentTextChanged.connect(self._tool_changed)
        self.radius = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=100.0, value=5.0, suffix=" mm")
        self.sphere = QCheckBox("sphere (else a disk in the view's slice)")
        self.sphere.setChecked(True)
        self.use_range = QCheckBox("limit to range")
        self.low = QDoubleSpinBox(decimals=1, minimum=-1e6, maximum=1e6, value=-1e6)
        self.high = QDoubleSpinBox(decimals=1, minimum=-1e6, maximum=1e6, value=1e6)
        self.volume_text = QLabel("")
        buttons = QVBoxLayout()  # two rows: the dock is narrow
        for row_of in ((("Undo", self.undo), ("Redo", self.redo), ("Save", self.save_all)),
                       (("Interpolate", self.interpolate), ("Islands", self.remove_islands),
                        ("From detector", self.from_candidates))):
            row_box = QHBoxLayout()
            for text, slot in row_of:
                b = QPushButton(text)
                b.clicked.connect(slot)
                row_box.addWidget(b)
            buttons.addLayout(row_box)
        self.measurements = QListWidget()
        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.new_name)
        row.addWidget(add)
        form.addRow("Tool", self.tool)
        form.addRow("Brush", self.radius)
        form.addRow("", self.sphere)
        rng = QHBoxLayout()
        rng.addWidget(self.use_range)
        rng.addWidget(self.low)
        rng.addWidget(self.high)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Segments"))
        layout.addWidget(self.segments)
        layout.addLayout(row)
        layout.addLayout(form)
        layout.addLayout(rng)
        layout.addLayout(buttons)
        layout.addWidget(self.volume_text)
        layout.addWidget(QLabel("Measurements"))
        layout.addWidget(self.measurements)
        delete = QPushButton("Delete measurement")
        delete.clicked.connect(self.delete_measurement)
        layout.addWidget(delete)

    # ---- state ---------------------------------------------------------------------------------
    @property
    def project(self):
        return self.session.project

    def _project_changed(self, project) -> None:
        self._project_subs.clear()
        if project is not None:  # the project's undo of a measurement, another tool's edit
            self._project_subs.add(project.events.label_changed,
                                   lambda case_id: self._relist.trigger() if case_id == self.case_id else None)
        self.reload()

    def reload(self) -> None:
        """Open the current case's masks of the session's reader on the image shown."""
        from workstation.core.segmentation import store
        from workstation.core.segmentation.editor import SegmentationEditor
        from workstation.core.segmentation.grid import Grid

        self.saver.flush()  # the masks read below include every stroke painted so far
        self.held.release()
        self.editor, self.case_id = None, None
        self.display.hide()
        self.segments.clear()
        self.measurements.clear()
        project, case_id, volume = self.project, self.session.current, self.ctx.volume
        if project is None or case_id is None or volume is None or self.session.reader is None:
            return
        if not _shows_case(volume, project.case(case_id)):
            return  # the new case's image is still loading: its volume_changed calls again
        try:
            found = store.segments(project)
            names = [s.name for s in found]
            for seg in found:
                self._add_item(seg)
            masks = store.load_masks(project, case_id, self.session.reader)
            for (case, reader, segment), item in self.saver.unsaved.items():
                if (case, reader) == (case_id, self.session.reader):
                    masks[segment] = item.mask  # newer than the stored version: shown until saved
            self.editor = SegmentationEditor(Grid.of(volume), volume.array, masks)
        except (WorkstationError, EditError) as exc:
            self.ctx.notify.error(f"segmentation unavailable: {exc}")
            return
        self.case_id, self.reader = case_id, self.session.reader
        if not self.use_range.isChecked():  # a range that starts as the image's own
            lo, hi = float(np.min(volume.array)), float(np.max(volume.array))
            self.low.setValue(lo)
            self.high.setValue(hi)
        if names:
            self.segments.setCurrentRow(0)
        self._show()
        self._list_measurements()

    def _show(self) -> None:
        from workstation.core.segmentation import store

        self.display.show(self.editor, [(s.name, s.colour) for s in store.segments(self.project)])
        self._say_volume()

    def _add_item(self, seg) -> None:
        """A segment's row, marked in its overlay colour."""
        from PySide6.QtGui import QColor, QIcon, QPixmap

        swatch = QPixmap(12, 12)
        swatch.fill(QColor(seg.colour))
        self.segments.addItem(QListWidgetItem(QIcon(swatch), seg.name))

    def current_segment(self) -> str | None:
        item = self.segments.currentItem()
        return item.text() if item is not None else None

    def add_segment(self, name: str) -> str | None:
        from workstation.core.segmentation import store

        try:
            seg = store.add_segment(self.project, name)
        except WorkstationError as exc:
            self.ctx.notify.info(str(exc))
            return None
        if not self.segments.findItems(seg.name, Qt.MatchFlag.MatchExactly):
            self._add_item(seg)
            if self.editor is not None:
                self._show()
        self.segments.setCurrentRow(self.segments.count() - 1)
        self.new_name.clear()
        return seg.name

    def value_range(self):
        return (self.low.value(), self.high.value()) if self.use_range.isChecked() else None

    def _say_volume(self) -> None:
        name = self.current_segment()
        if self.editor is not None and name:
            unsaved = len(self.saver.unsaved)
            self.volume_text.setText(f"{name}: {self.editor.volume_mm3(name):.1f} mm³"
                                     + (f" ({unsaved} not saved: Save)" if unsaved else ""))

    # ---- edits ---------------------------------------------------------------------------------
    def save(self) -> None:
        """Hand every changed segment to the saver (written off the GUI thread, then recorded
        through the session for the reader whose masks these are)."""
        if self.editor is None:
            return
        for name in sorted(self.editor.dirty):
            self.saver.submit(self.case_id, self.reader, name, self.editor.mask(name), self.editor.grid)
        self.editor.dirty.clear()
        self.editor.clear_history()  # undo is the session's, stroke by stroke, from the stored versions
        self._say_volume()

    def _flush_saves(self) -> None:
        self.saver.flush()

    def save_all(self) -> None:
        """The Save button: what failed to save before, and anything changed since."""
        self.saver.retry()
        self.save()

    def _saved(self, item) -> None:
        if item.case_id == self.case_id and item.reader == self.reader:
            self.saved.emit(item.segment)
        self._say_volume()

    def _save_failed(self, item) -> None:
        self.ctx.notify.error(f"{item.error}; the edit is kept: Save tries again")
        self._say_volume()

    def _session_changed(self, change) -> None:
        """An undo or redo of one of this editor's segments: show the version it put back."""
        from workstation.core.segmentation import store

        if (change.kind != "segment" or change.action not in ("undo", "redo") or self.editor is None
                or change.case_id != self.case_id or change.reader != self.reader):
            return
        name = change.candidate_id[len(store.SEG_PREFIX):]
        try:
            mask = (store.load_mask(self.project, store.version_of(change.case_id, change.reader, name, change.new))[0]
                    if change.new else self.editor.grid.empty())
            self.editor.set_mask(name, mask)
        except (WorkstationError, EditError) as exc:
            self.ctx.notify.error(f"segment {name} not shown: {exc}")
            return
        self.display.update(self.editor)
        self._say_volume()
        self.restored.emit(name)

    def dab(self, world, erase: bool = False, view=None) -> int:
        name = self.current_segment()
        if self.editor is None or name is None:
            return 0
        normal = None if self.sphere.isChecked() or view is None or view.frame is None else view.frame.en
        try:
            n = self.editor.dab(name, world, self.radius.value(), erase=erase, value_range=self.value_range(),
                                normal=normal)
        except EditError as exc:
            self.ctx.notify.info(str(exc))
            return 0
        if n:
            self.display.update(self.editor, self.editor.last_box)
        return n

    def _whole(self, edit) -> None:
        if self.editor is None:
            return
        try:
            edit()
        except EditError as exc:
            self.ctx.notify.info(str(exc))
            return
        self.display.update(self.editor)
        self.save()

    def undo(self) -> None:
        """The session's undo (the last edit: a stroke here, or a label), once pending saves are in."""
        self.saver.flush()
        self.session.undo()

    def redo(self) -> None:
        self.saver.flush()
        self.session.redo()

    def interpolate(self) -> None:
        """Fill between the slices painted in the view last painted on (its normal's voxel axis)."""
        name = self.current_segment()
        if name:
            axis = 0
            if self._last_view is not None and self._last_view.frame is not None:
                along = np.abs(np.linalg.inv(self.editor.grid.matrix) @ self._last_view.frame.en)
                axis = 2 - int(np.argmax(along))  # i, j, k -> numpy axes 2, 1, 0
            self._whole(lambda: self.editor.interpolate(name, axis=axis))

    def remove_islands(self) -> None:
        name = self.current_segment()
        if name:
            self._whole(lambda: self.editor.remove_islands(name))

    def from_candidates(self) -> None:
        """The case's latest detector candidates as spheres in the current segment (one undoable
        stroke); the model's own mask is stored beside the reader's as "model:<plugin>"."""
        from workstation.core.segmentation import from_model

        name = self.current_segment()
        if self.editor is None or name is None:
            self.ctx.notify.info("choose or add a segment first")
            return
        try:
            plugin, spheres = from_model.candidate_spheres(self.project, self.case_id)
        except WorkstationError as exc:
            self.ctx.notify.info(str(exc))
            return
        model_mask = from_model.spheres_mask(self.editor.grid, spheres)
        self.saver.submit(self.case_id, from_model.model_reader(plugin), name, model_mask, self.editor.grid,
                          source=f"model:{plugin}")
        self._whole(lambda: self.editor.paint_mask(name, model_mask))

    def fill(self, world) -> None:
        name, rng = self.current_segment(), self.value_range()
        if name is None:
            return
        if rng is None:
            self.ctx.notify.info("region fill needs an intensity range (tick 'limit to range')")
            return
        self._whole(lambda: self.editor.fill_region(name, world, rng))

    # ---- the views -----------------------------------------------------------------------------
    def _tool_changed(self, tool: str) -> None:
        self._clicks = []
        if tool not in ("Paint", "Erase"):
            self.held.release()
            self.ctx.overlays.remove_named(CURSOR_LAYER)

    def _cursor(self, view, world) -> None:
        """The brush outline: its circle in the plane of the view under the mouse (a polyline there,
        so neither the other views nor the 3D view redraw for it)."""
        from workstation.core.measurements.overlay import Polyline, PolylineLayer

        if view.frame is None:
            return
        t = np.linspace(0.0, 2 * np.pi, 48, endpoint=False)
        r = self.radius.value()
        ring = np.asarray(world) + r * (np.outer(np.cos(t), view.frame.ex) + np.outer(np.sin(t), view.frame.ey))
        line = Polyline("brush", tuple(map(tuple, ring)), closed=True, colour=(1.0, 1.0, 0.3))
        layer = self.ctx.overlays.find(CURSOR_LAYER)
        if isinstance(layer, PolylineLayer):
            layer.set_lines([line])
        else:
            self.ctx.overlays.put(PolylineLayer(CURSOR_LAYER, [line]))

    def _views(self) -> list:
        return list(self.ctx.viewer.views.values()) if self.ctx.viewer is not None else []

    def eventFilter(self, obj, event) -> bool:
        tool = self.tool.currentText()
        if tool == "Off" or self.editor is None or not hasattr(obj, "world_at"):
            return False
        kind = event.type()
        if tool in ("Paint", "Erase") and kind in (QEvent.Type.Enter, QEvent.Type.Leave):
            if kind == QEvent.Type.Enter:
                self.held.hold_all_but(obj, self._views())
            elif self._stroke_view is None:
                self.held.release()
            return False
        if tool in ("Angle", "Polygon") and kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick) \
                and event.button() == Qt.MouseButton.LeftButton and not event.modifiers():
            return self._click(obj, obj.world_at(event.position().x(), event.position().y()), tool,
                               kind == QEvent.Type.MouseButtonDblClick)
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            return False
        pos = event.position()
        world = obj.world_at(pos.x(), pos.y())
        left = kind != QEvent.Type.MouseMove and event.button() == Qt.MouseButton.LeftButton
        if kind == QEvent.Type.MouseButtonPress and (not left or event.modifiers()):
            return False
        if tool in ("Paint", "Erase"):
            if kind == QEvent.Type.MouseButtonPress:
                self.held.hold_all_but(obj, self._views())  # before the cursor moves: it redraws
            self._cursor(obj, world)
            if kind == QEvent.Type.MouseButtonPress:
                self._stroke_view = self._last_view = obj
                self.editor.begin("paint" if tool == "Paint" else "erase")
                self.dab(world, erase=tool == "Erase", view=obj)
                return True
            if kind == QEvent.Type.MouseMove and self._stroke_view is obj:
                self.dab(world, erase=tool == "Erase", view=obj)
            elif kind == QEvent.Type.MouseButtonRelease and left and self._stroke_view is obj:
                self._stroke_view = None
                self.editor.end()
                self.save()
                self.held.refresh()  # the other views show the stroke once, now
                return True
            obj.request_render()
            return False  # moves still update the readout
        if tool == "Fill" and kind == QEvent.Type.MouseButtonPress:
            self.fill(world)
            return True
        if tool in ("Line", "Ellipse"):
            if kind == QEvent.Type.MouseButtonPress:
                self._line_start = (obj, world)
                return True
            if kind == QEvent.Type.MouseButtonRelease and left and self._line_start and self._line_start[0] is obj:
                start, self._line_start = self._line_start[1], None
                if tool == "Ellipse":
                    self.measure_ellipse(obj, start, world)
                elif np.linalg.norm(np.asarray(world) - start) > 0:
                    self.measure_line(start, world)
                return True
        return False


def _shows_case(volume, case) -> bool:
    """Whether the image shown was read from the case's files (a folder stands for those under it)."""
    from pathlib import Path

    roots = [Path(p).resolve() for p in case.paths]
    sources = [Path(s).resolve() for s in volume.sources]
    if not sources:
        return True  # an image without recorded files: trust the session
    return any(s == r or r in s.parents for s in sources for r in roots)


def install(ctx) -> dict:
    """The segmentation dock (right), following the session."""
    panel = SegmentationPanel(ctx)
    dock = ctx.host.add_dock("Segmentation", panel, Qt.DockWidgetArea.RightDockWidgetArea)
    return {"segmentation_panel": panel, "segmentation_dock": dock}
