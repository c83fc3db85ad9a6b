"""One 2D slice view (VTK in a Qt widget): an axial, coronal or sagittal reslice of the shared
volume, or a 2D image in its own plane ("native").

Mouse: left click/drag sets the crosshair, right drag sets window (horizontal) and level
(vertical), middle drag or Shift+left drag pans, Ctrl+wheel zooms around the cursor; the wheel
steps slices (zooms when there is one slice); double-click asks to maximise the view.
Keys: Up/Down/Left/Right one slice, PageUp/PageDown ten, Home/End first/last, R resets the view.
"""
from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal

import workstation.qt.vtk_setup  # noqa: F401  (selects PySide6 for VTK's Qt bridge)
import vtkmodules.vtkInteractionStyle  # noqa: F401
import vtkmodules.vtkRenderingFreeType  # noqa: F401
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkCommonCore import vtkLookupTable
from vtkmodules.vtkImagingCore import vtkImageReslice
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleUser
from vtkmodules.vtkRenderingCore import vtkImageActor, vtkRenderer, vtkTextActor

from workstation.qt.viewer import view_geometry as vg
from workstation.qt.viewer.grey_stage import GreySlice, grey_table
from workstation.qt.viewer.overlay_actors import SliceOverlays, _line_actor, cell_array, polylines, set_matrix
from workstation.qt.viewer.view_text import ViewText
from workstation.qt.viewer.viewer_state import ViewerState

VIEW_COLOURS = {"axial": (0.95, 0.35, 0.35), "coronal": (0.35, 0.85, 0.35),
                "sagittal": (0.95, 0.85, 0.25), "native": (0.6, 0.6, 0.9)}
_CROSS_GAP_PX = 10
CROSS_SECTIONAL = ("CT", "MR", "PT", "NM")  # one slice of these still has its orientation  # leave the point itself free so a small focus under it stays visible


def _inverted_grey() -> vtkLookupTable:
    table = vtkLookupTable()
    table.SetNumberOfTableValues(256)
    for index in range(256):
        g = 1.0 - index / 255.0
        table.SetTableValue(index, g, g, g, 1.0)
    table.Build()
    return table


class SliceView(QVTKRenderWindowInteractor):
    maximise_requested = Signal()
    slice_changed = Signal(int)

    def __init__(self, state: ViewerState, orientation: str, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.orientation = orientation  # axial | coronal | sagittal | native
        self.frame: vg.ViewFrame | None = None
        self.grid: vg.SliceGrid | None = None
        self.index = 0
        self.offset = 0.0
        self._drag: tuple[str, float, float] | None = None
        self._fitted = False  # True until the user zooms or pans
        self._disposed = False
        self._cross_points = None
        self._render_pending = False
        self._held = False  # hold_renders: another view is being painted on
        self._behind = False  # the crosshair moved while this pane was hidden
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMinimumSize(120, 120)

        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0, 0, 0)
        self.GetRenderWindow().AddRenderer(self.renderer)
        self.GetRenderWindow().SetMultiSamples(0)
        # VTK draws into its own framebuffers and by default also copies their depth into the
        # window's, a full-pane shader pass that nothing here reads (~2 ms a frame in llvmpipe)
        self.GetRenderWindow().SetFrameBlitModeToBlitToCurrent()
        # Overlays are flat layers at fixed depths drawn in list order: plain alpha blending is
        # right for them, and order-independent translucency's extra buffers cost ~25 ms a frame
        # with Mesa's software rasteriser (each brush dab redraws the views)
        self.renderer.SetUseOIT(False)
        # Everything here is flat and facing the camera, drawn at its own colour (images have
        # ambient 1, diffuse 0; lines are unlit): without a light the image's fragment shader
        # skips the lighting maths, ~2 ms of a software-rasterised 512x512 frame
        self.renderer.AutomaticLightCreationOff()
        self._Iren.SetInteractorStyle(vtkInteractorStyleUser())  # all interaction is ours
        camera = self.renderer.GetActiveCamera()
        camera.ParallelProjectionOn()

        self.matrix = vtkMatrix4x4()
        self.reslice = vtkImageReslice()
        self.reslice.SetOutputDimensionality(2)
        self.reslice.SetResliceAxes(self.matrix)
        self.reslice.SetInterpolationModeToNearestNeighbor()
        self.reslice.AutoCropOutputOff()
        self.reslice.SetNumberOfThreads(1)  # one slice: starting threads costs more than they save
        self.grey = GreySlice(self.reslice)
        self.actor = vtkImageActor()
        self.actor.GetMapper().SetInputConnection(self.reslice.GetOutputPort())
        self.actor.GetMapper().SetNumberOfThreads(1)  # (float and RGB slices: VTK colours them)
        self._via_table = False  # the actor shows self.grey's image (else the reslice's output)
        self._voxels = self._plane = None  # the volume's voxels, and the slice shown as a view of them
        self.index_key = 0  # counts slice changes
        # (removed in dispose: the C++ renderer holding a bound method is a cycle Python cannot see)
        self._frame_observer = self.renderer.AddObserver("StartEvent", self._before_frame)
        self.actor.GetProperty().SetInterpolationTypeToLinear()
        self.actor.SetVisibility(False)
        self.renderer.AddViewProp(self.actor)
        self._inverted = _inverted_grey()

        self.cross, self._cross_mapper = _line_actor(1.0)
        self.cross.GetProperty().SetOpacity(1.0)  # translucent lines would add a render pass
        self.cross.SetPosition(0, 0, 2.0)
        self.renderer.AddActor(self.cross)
        self.text = ViewText(self.renderer)
        self.overlays = SliceOverlays(self.renderer, state.overlays, self.request_render)

        state.volume_changed.connect(self._volume_changed)
        state.crosshair_changed.connect(self._crosshair_changed)
        state.window_changed.connect(self._window_changed)
        state.invert_changed.connect(self._invert_changed)
        self._volume_changed(state.volume)
        if state.volume is not None:  # a view made after the image arrived takes its display too
            self._window_changed(*state.window)
            self._invert_changed(state.invert)

    # -- rendering ---------------------------------------------------------------------------
    def _fit_text(self) -> None:
        """Lay the corner texts out for the pane's size in device pixels (what VTK draws in)."""
        ratio = self.devicePixelRatioF()
        self.text.resize(round(self.width() * ratio), round(self.height() * ratio))

    def request_render(self) -> None:
        if not self._render_pending:
            self._render_pending = True
            if not self._held:
                QTimer.singleShot(0, self.render_now)

    def hold_renders(self, on: bool) -> None:
        """Hold this view's redraws while another view is painted on (under a software rasteriser a
        frame costs ~20 ms whatever it shows: three views per brush dab cannot keep up); what was
        asked for meanwhile is drawn once on release."""
        self._held = bool(on)
        if not self._held and self._render_pending:
            self._render_pending = False
            self.request_render()

    def _before_frame(self, *args) -> None:
        if self._via_table:
            self.grey.refresh(self._plane, self.index_key, self.grid)
        self.overlays.before_frame()

    def render_now(self) -> None:
        """Render if something changed since the last frame (a hidden view waits to be shown)."""
        if self._render_pending and self.isVisible() and not self._disposed:
            self._render_pending = False
            self.GetRenderWindow().Render()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_text()
        self._render_pending = False
        if self._behind:
            self._crosshair_changed(self.state.crosshair)
        self.request_render()

    # -- state -> pipeline -------------------------------------------------------------------
    def _volume_changed(self, volume) -> None:
        if volume is None:
            self.frame = self.grid = None
            self._voxels = self._plane = None
            self.actor.SetVisibility(False)
            self.cross.SetVisibility(False)
            self.overlays.set_slice(None, None, 0.0)
            self.text.ClearAllTexts()
            self.request_render()
            return
        if self.orientation == "native":
            self.frame = vg.native_frame(volume)
        else:
            self.frame = vg.standard_frame(self.orientation)
        self.grid = vg.slice_grid(volume, self.frame)
        self.reslice.SetInputData(self.state.image)
        # the voxels the reslice reads, [k, j, i]: an axis-aligned slice is taken from them directly
        self._voxels = None if volume.is_rgb else numpy_support.vtk_to_numpy(
            self.state.image.GetPointData().GetScalars()).reshape(volume.array.shape[:3])
        self.reslice.SetOutputSpacing(self.grid.spacing[0], self.grid.spacing[1], 1.0)
        self.reslice.SetOutputOrigin(self.grid.origin[0], self.grid.origin[1], 0.0)
        self.reslice.SetOutputExtent(0, self.grid.size[0] - 1, 0, self.grid.size[1] - 1, 0, 0)
        self.reslice.SetBackgroundLevel(self.state.lowest)
        self._display_mapping()
        self.actor.SetVisibility(True)
        self.cross.SetVisibility(volume.kind == "3d")  # a crosshair on an X-ray only hides things
        letters = self.frame.letters()
        if volume.kind == "2d" and volume.modality.upper() not in CROSS_SECTIONAL:
            letters = _picture_letters(volume)  # a picture's axes say nothing of the patient
        edges = {"left": ViewText.LeftEdge, "right": ViewText.RightEdge,
                 "top": ViewText.UpperEdge, "bottom": ViewText.LowerEdge}
        for key, position in edges.items():
            self.text.SetText(position, letters[key])
        self.index = -1
        self._cross_points = None  # rebuilt for this volume's colours and extent
        self._place_slice(self.state.crosshair)
        self.reset_camera()

    def _place_slice(self, point) -> None:
        volume, grid = self.state.volume, self.grid
        index = vg.slice_index(volume, grid, point)
        offset = vg.slice_offset(volume, grid, point, index)
        if index == self.index and offset == self.offset:
            return
        self.index, self.offset = index, offset
        axes = vg.reslice_axes(volume, self.frame, offset)
        self._plane = vg.voxel_plane(self._voxels, axes, grid) if self._voxels is not None else None
        self.index_key += 1
        set_matrix(self.matrix, axes)
        self.matrix.Modified()
        self.reslice.Modified()
        self.overlays.set_slice(volume, grid, offset)
        self._slice_text()
        self.slice_changed.emit(index)

    def _slice_text(self) -> None:
        name = self.orientation.capitalize()
        if self.state.volume.kind == "2d":
            volume = self.state.volume
            self.text.SetText(ViewText.UpperLeft, volume.modality or "2D")
            return
        axis = int(np.argmax(np.abs(self.frame.en)))
        position = self.offset * self.frame.en[axis]  # the plane's x, y or z
        count = f"{self.index + 1}/{self.grid.count}"
        self.text.SetText(ViewText.UpperLeft, f"{name}  {count}\n{'xyz'[axis]} = {position:.1f} mm",
                          f"{name[:3]} {count}\n{position:.1f} mm", count)

    def _crosshair_changed(self, point) -> None:
        if self.grid is None:
            return
        if not self.isVisible():  # a pane of another layout catches up when it is shown
            self._behind = True
            return
        self._behind = False
        self._place_slice(point)  # (which rewrites the slice text when the slice changed)
        self._draw_crosshair()
        self.request_render()

    def _draw_crosshair(self) -> None:
        """Move the four crosshair segments (two per line, leaving a gap at the point). The
        polydata is built once per volume and only its points change: rebuilding it per slice
        cost a third of a slice change."""
        if self.grid is None:
            return
        u0, u1, v0, v1 = self.grid.extent_mm
        cu, cv = self.frame.to_scene(self.state.crosshair)
        gap = _CROSS_GAP_PX * self.mm_per_pixel()
        left, right = (u0, min(cu - gap, u1)), (max(cu + gap, u0), u1)
        low, high = (v0, min(cv - gap, v1)), (max(cv + gap, v0), v1)
        ends = np.array([[left[0], cv], [max(left), cv], [min(right), cv], [right[1], cv],
                         [cu, low[0]], [cu, max(low)], [cu, min(high)], [cu, high[1]]])
        if self._cross_points is None:
            horizontal, vertical = self._cross_colours()
            segments = [ends[n:n + 2] for n in range(0, 8, 2)]
            poly = _open_lines(segments, [horizontal, horizontal, vertical, vertical])
            self._cross_mapper.SetInputData(poly)
            self._cross_points = poly.GetPoints()
        else:
            view = numpy_support.vtk_to_numpy(self._cross_points.GetData())
            view[:, :2] = ends  # segments clipped to nothing collapse to a point: nothing drawn
            self._cross_points.Modified()

    def _cross_colours(self):
        """Each crosshair line takes the colour of the view whose plane it is."""
        horizontal = vertical = (0.8, 0.8, 0.8)
        for name, colour in VIEW_COLOURS.items():
            if name in vg.STANDARD_FRAMES and name != self.orientation:
                normal = vg.standard_frame(name).en
                if abs(normal @ self.frame.ey) > 0.9:
                    horizontal = colour
                elif abs(normal @ self.frame.ex) > 0.9:
                    vertical = colour
        return horizontal, vertical

    def _window_changed(self, center: float, width: float) -> None:
        self._display_mapping()
        self.text.SetText(ViewText.UpperRight, f"W {_window_number(width)}\nL {_window_number(center)}")
        self.request_render()

    def _invert_changed(self, invert: bool) -> None:
        self._display_mapping()
        self.request_render()

    def _display_mapping(self) -> None:
        """Window, level and inversion: as a table the slice goes through before VTK (8- and 16-bit
        integer volumes), else VTK's own mapping on the image property."""
        volume, prop = self.state.volume, self.actor.GetProperty()
        center, width = self.state.window
        table = None
        if volume is not None and not volume.is_rgb:
            stored = numpy_support.get_numpy_array_type(self.state.image.GetScalarType())  # what reslice gives
            table = grey_table(stored, center, width, self.state.invert)
        mapper = self.actor.GetMapper()
        if table is not None:
            self.grey.set_table(table)
            if not self._via_table:
                self._via_table = True
                mapper.SetInputData(self.grey.image)
            prop.SetColorWindow(255.0)
            prop.SetColorLevel(127.5)
            prop.SetLookupTable(None)
            return
        if self._via_table:
            self._via_table = False
            mapper.SetInputConnection(self.reslice.GetOutputPort())
        prop.SetColorWindow(width)
        prop.SetColorLevel(center)
        prop.SetLookupTable(self._inverted if self.state.invert else None)
        prop.UseLookupTableScalarRangeOff()

    # -- camera ------------------------------------------------------------------------------
    def reset_camera(self) -> None:
        """Fit the whole slice in the view."""
        if self.grid is None:
            return
        u0, u1, v0, v1 = self.grid.extent_mm
        camera = self.renderer.GetActiveCamera()
        cu, cv = (u0 + u1) / 2, (v0 + v1) / 2
        camera.SetFocalPoint(cu, cv, 0.0)
        camera.SetPosition(cu, cv, 1000.0)
        camera.SetViewUp(0, 1, 0)
        camera.SetClippingRange(1.0, 2000.0)
        aspect = max(self.width(), 1) / max(self.height(), 1)
        camera.SetParallelScale(1.02 * max((v1 - v0) / 2, (u1 - u0) / 2 / aspect))
        self._fitted = True
        self._draw_crosshair()
        self.request_render()

    def resizeEvent(self, event) -> None:
        if self._disposed:
            return
        super().resizeEvent(event)
        self._fit_text()
        if self.grid is not None and self._fitted:
            self.reset_camera()  # still fitted: stay fitted as the pane changes shape

    def mm_per_pixel(self) -> float:
        return 2.0 * self.renderer.GetActiveCamera().GetParallelScale() / max(self.height(), 1)

    def scene_at(self, x: float, y: float) -> tuple[float, float]:
        """Scene (u, v) mm under widget position (x, y) in logical pixels."""
        camera = self.renderer.GetActiveCamera()
        fu, fv, _ = camera.GetFocalPoint()
        scale = self.mm_per_pixel()
        return fu + (x - self.width() / 2) * scale, fv + (self.height() / 2 - y) * scale

    def pixel_of(self, point) -> tuple[float, float]:
        """Widget position (logical pixels) of a world point: the inverse of `scene_at`."""
        u, v = self.frame.to_scene(point)
        camera = self.renderer.GetActiveCamera()
        fu, fv, _ = camera.GetFocalPoint()
        scale = self.mm_per_pixel()
        return self.width() / 2 + (u - fu) / scale, self.height() / 2 - (v - fv) / scale

    def world_at(self, x: float, y: float) -> np.ndarray:
        u, v = self.scene_at(x, y)
        return self.frame.to_world(u, v, self.offset)

    def zoom(self, factor: float, x: float | None = None, y: float | None = None) -> None:
        camera = self.renderer.GetActiveCamera()
        self._fitted = False
        if x is not None:
            before = np.array(self.scene_at(x, y))
        camera.SetParallelScale(camera.GetParallelScale() / factor)
        if x is not None:
            self.pan(*(before - np.array(self.scene_at(x, y))))
        self._draw_crosshair()
        self.request_render()

    def pan(self, du: float, dv: float) -> None:
        camera = self.renderer.GetActiveCamera()
        self._fitted = False
        fu, fv, fz = camera.GetFocalPoint()
        pu, pv, pz = camera.GetPosition()
        camera.SetFocalPoint(fu + du, fv + dv, fz)
        camera.SetPosition(pu + du, pv + dv, pz)
        self.request_render()

    def center_on(self, point) -> None:
        fu, fv, _ = self.renderer.GetActiveCamera().GetFocalPoint()
        u, v = self.frame.to_scene(point)
        self.pan(u - fu, v - fv)
        self._draw_crosshair()

    # -- slices ------------------------------------------------------------------------------
    def step_slice(self, steps: int) -> None:
        if self.grid is None or self.grid.count <= 1:
            return
        index = int(np.clip(self.index + steps, 0, self.grid.count - 1))
        if index != self.index:
            volume = self.state.volume
            self.state.set_crosshair(vg.snap_to_slice(volume, self.grid, self.state.crosshair, index))

    # -- Qt events ---------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        self.setFocus()
        if self.grid is None:
            return
        pos = event.position()
        button, mods = event.button(), event.modifiers()
        if button == Qt.MiddleButton or (button == Qt.LeftButton and mods & Qt.ShiftModifier):
            self._drag = ("pan", pos.x(), pos.y())
        elif button == Qt.RightButton or (button == Qt.LeftButton and mods & Qt.ControlModifier):
            self._drag = ("window", pos.x(), pos.y())
        elif button == Qt.LeftButton:
            self._drag = ("cross", pos.x(), pos.y())
            self.state.set_crosshair(self.world_at(pos.x(), pos.y()))

    def mouseMoveEvent(self, event) -> None:
        if self.grid is None:
            return
        pos = event.position()
        point = self.world_at(pos.x(), pos.y())
        text = self.state.readout(point)
        self.text.SetText(ViewText.LowerRight, text, *_short_readouts(text))
        self.state.show_readout(text)
        if self._drag is None:
            self.request_render()
            return
        mode, x0, y0 = self._drag
        dx, dy = pos.x() - x0, pos.y() - y0
        self._drag = (mode, pos.x(), pos.y())
        if mode == "cross":
            self.state.set_crosshair(point)
        elif mode == "pan":
            scale = self.mm_per_pixel()
            self.pan(-dx * scale, dy * scale)
            self._draw_crosshair()
        elif mode == "window":
            center, width = self.state.window
            step = max(width, 1.0) / 200.0  # one pixel moves the window by 0.5%
            self.state.set_window(center + dy * step, max(width + dx * 2 * step, 1e-3))
        self.request_render()

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None

    def mouseDoubleClickEvent(self, event) -> None:
        self.maximise_requested.emit()

    def leaveEvent(self, event) -> None:
        self.text.SetText(ViewText.LowerRight, "")
        self.request_render()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        pos = event.position()
        if event.modifiers() & Qt.ControlModifier or self.grid is None or self.grid.count <= 1:
            self.zoom(1.1 ** steps, pos.x(), pos.y())
        else:
            self.step_slice(int(np.sign(steps) * max(1, round(abs(steps)))))

    def keyPressEvent(self, event) -> None:
        key = event.key()
        steps = {Qt.Key_Up: 1, Qt.Key_Right: 1, Qt.Key_Down: -1, Qt.Key_Left: -1,
                 Qt.Key_PageUp: 10, Qt.Key_PageDown: -10}
        if key in steps:
            self.step_slice(steps[key])
        elif key == Qt.Key_Home and self.grid is not None:
            self.step_slice(-self.grid.count)
        elif key == Qt.Key_End and self.grid is not None:
            self.step_slice(self.grid.count)
        elif key == Qt.Key_R:
            self.reset_camera()
        else:
            event.ignore()

    def keyReleaseEvent(self, event) -> None:
        event.ignore()

    def enterEvent(self, event) -> None:
        pass

    def closeEvent(self, event) -> None:
        self.dispose()

    def dispose(self) -> None:
        """Free the VTK render window now. Its X display connection closes with it; left to the
        garbage collector, it would close after the X server of a test run has gone (exit 1)."""
        if self._disposed:
            return
        self._disposed = True
        for signal, slot in ((self.state.volume_changed, self._volume_changed),
                             (self.state.crosshair_changed, self._crosshair_changed),
                             (self.state.window_changed, self._window_changed),
                             (self.state.invert_changed, self._invert_changed)):
            signal.disconnect(slot)
        self.overlays.detach()
        self.renderer.RemoveObserver(self._frame_observer)
        release_render_window(self)

    def paintEvent(self, event) -> None:
        # the base class asks the VTK interactor to render, which does nothing until the
        # interactor is enabled; these views use no VTK interaction, so render directly
        self._render_pending = False
        if not self._disposed:
            self.GetRenderWindow().Render()


def _window_number(value: float) -> str:
    """385, 1500, 32000 (never 3.2e+04), 0.8824, 127.5."""
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _short_readouts(text: str) -> list[str]:
    """Shorter forms of a readout for narrow panes: the voxel and value, then the value alone."""
    if "value" not in text:
        return []
    voxel, value = text.split("  ")[0], "value" + text.rsplit("value", 1)[1]
    return [f"{voxel}  {value}", value]


def _picture_letters(volume) -> dict[str, str]:
    """Edge letters of a 2D image from DICOM Patient Orientation (row, column directions), e.g.
    ["P", "F"]: the row direction points to the screen's right, the column direction down."""
    orientation = volume.metadata.get("PatientOrientation") or ()
    if isinstance(orientation, str):  # "P\\F" or "['P', 'F']"
        orientation = [part for part in re.split(r"[^A-Z]+", orientation.upper()) if part]
    if len(orientation) != 2:
        return {"left": "", "right": "", "top": "", "bottom": ""}
    opposite = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H", "S": "I", "I": "S"}
    flip = lambda text: "".join(opposite.get(c, c) for c in str(text))  # noqa: E731
    row, column = str(orientation[0]), str(orientation[1])
    return {"right": row, "left": flip(row), "bottom": column, "top": flip(column)}


def release_render_window(widget: QVTKRenderWindowInteractor) -> None:
    """Finalize and drop a QVTK widget's render window so that VTK destroys it (and closes its
    own X display connection) now. The widget must not render afterwards."""
    window = widget._RenderWindow
    if window is None:
        return
    window.Finalize()
    for renderer in list(_iterate(window.GetRenderers())):
        renderer.RemoveAllViewProps()
        window.RemoveRenderer(renderer)
    widget._Iren.SetRenderWindow(None)
    widget._RenderWindow = None


def _iterate(collection):
    collection.InitTraversal()
    item = collection.GetNextItem()
    while item is not None:
        yield item
        item = collection.GetNextItem()


def _open_lines(segments: list[np.ndarray], colours) -> "vtkPolyData":
    """Polydata of open two-point segments (the crosshair)."""
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkPolyData

    xy = np.concatenate(segments)
    pts = np.column_stack([xy, np.zeros(len(xy))])
    points = vtkPoints()
    points.SetData(numpy_support.numpy_to_vtk(np.ascontiguousarray(pts), deep=True))
    poly = vtkPolyData()
    poly.SetPoints(points)
    n = len(segments)
    poly.SetLines(cell_array(np.arange(0, 2 * n + 1, 2), np.arange(2 * n)))
    rgb = (np.asarray(colours) * 255).round().astype(np.uint8)
    poly.GetCellData().SetScalars(numpy_support.numpy_to_vtk(np.ascontiguousarray(rgb), deep=True))
    return poly
