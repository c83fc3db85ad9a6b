"""VTK actors that draw the core overlay layers on one slice view.

Grid layers (label masks, heat maps) get their own vtkImageReslice on the same output grid as the
image, so they line up pixel for pixel; spheres and boxes are recomputed per slice as polylines in
scene millimetres (a sphere is a circle of radius sqrt(r^2 - d^2) on each slice it crosses)."""
from __future__ import annotations

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkImagingCore import vtkImageReslice
from vtkmodules.vtkRenderingCore import vtkActor, vtkImageActor, vtkPolyDataMapper, vtkTextActor

from workstation.core.review.overlays import (
    COLORMAPS, BoxLayer, HeatMapLayer, LabelMaskLayer, Layer, SphereLayer,
)
from workstation.core.measurements.overlay import PolylineLayer
from workstation.qt.viewer.view_geometry import SliceGrid, reslice_axes, voxel_plane
from workstation.qt.viewer.viewer_state import share_scalars, to_vtk_image

CIRCLE_SEGMENTS = 72
MAX_LABELS = 40
_Z_GRID, _Z_LINES = 0.5, 1.0  # depth above the image (towards the camera), scene mm


def set_matrix(vtk_matrix: vtkMatrix4x4, matrix: np.ndarray) -> None:
    vtk_matrix.DeepCopy(matrix.ravel().tolist())


def polylines(loops: list[np.ndarray], colours: list[tuple[float, float, float]], z: float):
    """A vtkPolyData of closed loops (each an (n, 2) array of scene points), one colour each."""
    poly = vtkPolyData()
    if not loops:
        return poly
    sizes = np.array([len(loop) for loop in loops])
    xy = np.concatenate(loops)
    pts = np.column_stack([xy, np.full(len(xy), z)])
    points = vtkPoints()
    points.SetData(numpy_support.numpy_to_vtk(np.ascontiguousarray(pts), deep=True))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    conn = np.concatenate([np.append(np.arange(s, s + n), s) for s, n in zip(starts, sizes)])
    offsets = np.concatenate([[0], np.cumsum(sizes + 1)])
    poly.SetPoints(points)
    poly.SetLines(cell_array(offsets, conn))
    rgb = (np.asarray(colours, dtype=float) * 255).round().astype(np.uint8)
    scalars = numpy_support.numpy_to_vtk(np.ascontiguousarray(rgb), deep=True)
    scalars.SetName("colours")
    poly.GetCellData().SetScalars(scalars)
    return poly


def cell_array(offsets: np.ndarray, connectivity: np.ndarray) -> vtkCellArray:
    cells = vtkCellArray()
    cells.SetData(numpy_support.numpy_to_vtkIdTypeArray(np.asarray(offsets, dtype=np.int64), deep=True),
                  numpy_support.numpy_to_vtkIdTypeArray(np.asarray(connectivity, dtype=np.int64), deep=True))
    return cells


def circle(center_uv, radius: float) -> np.ndarray:
    t = np.linspace(0.0, 2 * np.pi, CIRCLE_SEGMENTS, endpoint=False)
    return np.column_stack([center_uv[0] + radius * np.cos(t), center_uv[1] + radius * np.sin(t)])


def _line_actor(width: float) -> tuple[vtkActor, vtkPolyDataMapper]:
    mapper = vtkPolyDataMapper()
    mapper.SetScalarModeToUseCellData()
    mapper.SetColorModeToDirectScalars()
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetLineWidth(width)
    actor.GetProperty().SetLighting(False)
    actor.SetPickable(False)
    return actor, mapper


def label_table(layer: LabelMaskLayer) -> vtkLookupTable:
    top = int(max(1, layer.array.max())) if layer.array.size else 1
    top = min(top, 4095)
    table = vtkLookupTable()
    table.SetNumberOfTableValues(top + 1)
    table.SetTableRange(0, top)
    table.SetTableValue(0, 0, 0, 0, 0)
    for value in range(1, top + 1):
        table.SetTableValue(value, *layer.colour(value), 1.0)
    table.Build()
    return table


def heat_table(layer: HeatMapLayer) -> vtkLookupTable:
    stops = np.array(COLORMAPS[layer.colormap], dtype=float)
    n = 256
    x = np.linspace(0, 1, n)
    rgb = np.column_stack([np.interp(x, stops[:, 0], stops[:, c]) for c in (1, 2, 3)])
    table = vtkLookupTable()
    table.SetNumberOfTableValues(n)
    table.SetTableRange(*layer.value_range)
    for index in range(n):
        alpha = 0.0 if x[index] <= layer.threshold else 1.0
        table.SetTableValue(index, *rgb[index], alpha)
    table.SetBelowRangeColor(0, 0, 0, 0)
    table.SetUseBelowRangeColor(True)
    table.Build()
    return table


class _GridActor:
    """One mask or heat-map layer: its reslice and image actor."""

    def __init__(self, layer: LabelMaskLayer | HeatMapLayer) -> None:
        self.layer = layer
        self.image = None
        self._wrapped = None  # the array self.image shares memory with
        self.matrix = vtkMatrix4x4()
        self._axes = None  # what self.matrix holds
        self.reslice = vtkImageReslice()
        self.reslice.SetOutputDimensionality(2)
        self.reslice.SetResliceAxes(self.matrix)
        self.reslice.SetNumberOfThreads(1)  # one slice: starting threads costs more than they save
        self._cropped = None  # (reslice output MTime, its label box) of the last crop
        self._labels = None  # a label layer's voxels [k, j, i] as VTK holds them
        self._version = 0  # counts edits of the layer's data
        self._plane = _PlaneImage()  # an axis-aligned slice of the labels, copied out of them
        self._via_plane = False  # the actor shows self._plane (else the reslice's output)
        if isinstance(layer, LabelMaskLayer):
            self.reslice.SetInterpolationModeToNearestNeighbor()
        else:
            self.reslice.SetInterpolationModeToLinear()
        self.actor = vtkImageActor()
        self.actor.GetMapper().SetInputConnection(self.reslice.GetOutputPort())
        self.actor.GetMapper().SetNumberOfThreads(1)  # colours a painted box: threads cost more
        self.actor.ForceTranslucentOn()
        self.actor.SetPosition(0, 0, _Z_GRID)
        self.actor.SetPickable(False)
        self.refresh_data()

    def refresh_data(self) -> None:
        array = self.layer.array
        self._version += 1
        if self.image is not None and isinstance(self.layer, LabelMaskLayer) and array is self._wrapped:
            # edited in place (a brush dab): VTK already shares this memory, so marking it modified
            # is enough; a new wrapper and colour table per dab would cost tens of ms
            self.image.GetPointData().GetScalars().Modified()
            self.image.Modified()
            return
        self._wrapped = array
        self.image = to_vtk_image(array)
        self.reslice.SetInputData(self.image)
        if isinstance(self.layer, LabelMaskLayer):
            self._labels = numpy_support.vtk_to_numpy(self.image.GetPointData().GetScalars()).reshape(array.shape[:3])
        prop = self.actor.GetProperty()
        if isinstance(self.layer, LabelMaskLayer):
            prop.SetLookupTable(label_table(self.layer))
            prop.SetInterpolationTypeToNearest()
            self.reslice.SetBackgroundLevel(0)
        else:
            prop.SetLookupTable(heat_table(self.layer))
            prop.SetInterpolationTypeToLinear()
            self.reslice.SetBackgroundLevel(self.layer.value_range[0] - 1.0)
        prop.UseLookupTableScalarRangeOn()
        self.refresh_style()

    def refresh_style(self) -> None:
        self.actor.GetProperty().SetOpacity(self.layer.opacity)
        self.actor.SetVisibility(self.layer.visible)

    def place(self, volume, grid: SliceGrid, offset: float) -> None:
        source = self.layer.grid or volume
        axes = reslice_axes(source, grid.frame, offset)
        if self._axes is None or not np.array_equal(axes, self._axes):  # the same slice: no new reslice
            set_matrix(self.matrix, axes)
            self.matrix.Modified()
            self._axes = axes
        self.reslice.SetOutputSpacing(grid.spacing[0], grid.spacing[1], 1.0)
        self.reslice.SetOutputOrigin(grid.origin[0], grid.origin[1], 0.0)
        self.reslice.SetOutputExtent(0, grid.size[0] - 1, 0, grid.size[1] - 1, 0, 0)
        if not isinstance(self.layer, LabelMaskLayer):
            return
        plane = voxel_plane(self._labels, axes, grid) if self._labels is not None else None
        if plane is not None:  # axis-aligned: copy the slice's labels out, no reslice
            if not self._via_plane:
                self._via_plane = True
                self.actor.GetMapper().SetInputData(self._plane.image)
            box = self._plane.show(plane, (axes.tobytes(), grid.origin, grid.size, self._version), grid)
            self._show_box(box)
            return
        if self._via_plane:
            self._via_plane = False
            self.actor.GetMapper().SetInputConnection(self.reslice.GetOutputPort())
        self._crop_to_labels()

    def _show_box(self, box) -> None:
        if box is None:
            self.actor.SetVisibility(False)
        else:
            self.actor.SetDisplayExtent(*box, 0, 0)

    def _crop_to_labels(self) -> None:
        """Draw only the box of this slice that holds labels (none: nothing). A translucent quad over
        the whole pane costs a software rasteriser as much as the image itself, every frame, and
        the texture uploaded after a brush dab is then only the painted box."""
        self.reslice.Update()
        out = self.reslice.GetOutput()
        if self._cropped is None or self._cropped[0] != out.GetMTime():
            nx, ny, _ = out.GetDimensions()
            labels = numpy_support.vtk_to_numpy(out.GetPointData().GetScalars()).reshape(ny, nx)
            x0, _, y0 = out.GetExtent()[:3]
            self._cropped = (out.GetMTime(), _label_box(labels, x0, y0))
        self._show_box(self._cropped[1])


def _label_box(labels: np.ndarray, x0: int = 0, y0: int = 0) -> tuple[int, int, int, int] | None:
    """(x0, x1, y0, y1): the extent of a 2D label slice's non-zero pixels (rows along y), None if
    there are none."""
    rows, cols = np.flatnonzero(labels.any(axis=1)), np.flatnonzero(labels.any(axis=0))
    if rows.size == 0:
        return None
    return (x0 + int(cols[0]), x0 + int(cols[-1]), y0 + int(rows[0]), y0 + int(rows[-1]))


class _PlaneImage:
    """A 2D vtkImageData on a slice grid, filled from a numpy slice (copied: VTK needs it
    contiguous), remade only when its key (the slice and the data's version) changes."""

    def __init__(self) -> None:
        from vtkmodules.vtkCommonDataModel import vtkImageData

        self.image = vtkImageData()
        self._buffer = None
        self._key = None
        self._box = None

    def show(self, plane: np.ndarray, key, grid: SliceGrid):
        """Hold `plane` (rows along v); returns the box of its non-zero pixels (see _label_box)."""
        if key == self._key:
            return self._box
        if self._buffer is None or self._buffer.shape != plane.shape or self._buffer.dtype != plane.dtype:
            self._buffer = np.empty(plane.shape, plane.dtype)
            share_scalars(self.image, self._buffer)
        np.copyto(self._buffer, plane)
        (ou, ov), (su, sv), (nu, nv) = grid.origin, grid.spacing, grid.size
        self.image.SetExtent(0, nu - 1, 0, nv - 1, 0, 0)
        self.image.SetOrigin(ou, ov, 0.0)
        self.image.SetSpacing(su, sv, 1.0)
        self.image.GetPointData().GetScalars().Modified()
        self.image.Modified()
        self._key, self._box = key, _label_box(self._buffer)
        return self._box


class SliceOverlays:
    """Keeps one view's overlay actors in step with the overlay list and the slice shown."""

    def __init__(self, renderer, overlays, request_render) -> None:
        self.renderer = renderer
        self.overlays = overlays
        self.request_render = request_render
        self.grid_actors: dict[int, _GridActor] = {}
        self.lines, line_mapper = _line_actor(2.0)
        self.selected, selected_mapper = _line_actor(4.0)
        self._mappers = (line_mapper, selected_mapper)
        for actor in (self.lines, self.selected):
            actor.SetPosition(0, 0, _Z_LINES)
            renderer.AddActor(actor)
        self.labels: list[vtkTextActor] = []
        self.volume = None
        self.grid: SliceGrid | None = None
        self.offset = 0.0
        self.circles_drawn: list[tuple[str, np.ndarray, float]] = []  # (id, centre uv, radius)
        self._due = False  # overlays to be drawn anew before the next frame
        self._connected: dict[int, Layer] = {}
        overlays.events.connect(self._list_changed)
        self._list_changed()

    # -- keeping in step with the model -------------------------------------------------------
    def _list_changed(self, *args) -> None:
        live = {id(layer): layer for layer in self.overlays}
        for key, layer in list(self._connected.items()):
            if key not in live:
                layer.events.changed.disconnect(self._layer_changed)
                layer.events.data.disconnect(self._layer_data_changed)
                del self._connected[key]
        for key, layer in live.items():
            if key not in self._connected:  # holding the layer keeps its id unique
                layer.events.changed.connect(self._layer_changed)
                layer.events.data.connect(self._layer_data_changed)
                self._connected[key] = layer
        for key in list(self.grid_actors):
            if key not in live:
                self.renderer.RemoveViewProp(self.grid_actors.pop(key).actor)
        self._sync_grid_actors()
        self.update()

    def _sync_grid_actors(self) -> None:
        for layer in self.overlays:
            if isinstance(layer, (LabelMaskLayer, HeatMapLayer)) and id(layer) not in self.grid_actors:
                actor = _GridActor(layer)
                self.grid_actors[id(layer)] = actor
                self.renderer.AddViewProp(actor.actor)

    def _layer_changed(self) -> None:
        for actor in self.grid_actors.values():
            actor.refresh_style()
        self.update()

    def _layer_data_changed(self) -> None:
        # a layer's `changed` always follows its `data` (Layer._data_changed), and redraws: a brush
        # dab then reslices and redraws once, not twice
        for actor in self.grid_actors.values():
            actor.refresh_data()

    def detach(self) -> None:
        self.overlays.events.disconnect(self._list_changed)
        for layer in self._connected.values():
            layer.events.changed.disconnect(self._layer_changed)
            layer.events.data.disconnect(self._layer_data_changed)
        self._connected.clear()

    # -- drawing -----------------------------------------------------------------------------
    def set_slice(self, volume, grid: SliceGrid | None, offset: float) -> None:
        self.volume, self.grid, self.offset = volume, grid, offset
        self.update(render=False)

    def update(self, render: bool = True) -> None:
        """Redraw the overlays on the next frame (a view held during a brush stroke, or hidden,
        does none of the work until it draws)."""
        self._due = True
        if render:
            self.request_render()

    def before_frame(self) -> None:
        """Lines, labels and grid layers for the slice shown, once before the frame that shows them."""
        if not self._due:
            return
        self._due = False
        self._draw_lines()
        grid, volume = self.grid, self.volume
        for layer in self.overlays:
            actor = self.grid_actors.get(id(layer))
            if actor is None:
                continue
            drawable = grid is not None and layer.visible and layer.fits(volume)
            actor.actor.SetVisibility(drawable)
            if drawable:
                actor.place(volume, grid, self.offset)

    def _draw_lines(self) -> None:
        loops, colours, selected_loops, selected_colours, labels = [], [], [], [], []
        self.circles_drawn = []
        grid, volume = self.grid, self.volume
        for layer in self.overlays:
            if grid is None or not layer.visible:
                continue
            if isinstance(layer, SphereLayer):
                self._spheres(layer, grid, loops, colours, selected_loops, selected_colours, labels)
            elif isinstance(layer, BoxLayer):
                self._boxes(layer, grid, volume, loops, colours, labels)
            elif isinstance(layer, PolylineLayer):
                self._polylines(layer, grid, volume, loops, colours, labels)
        for mapper, these, their_colours in ((self._mappers[0], loops, colours),
                                             (self._mappers[1], selected_loops, selected_colours)):
            if these or mapper.GetInput() is None or mapper.GetInput().GetNumberOfPoints():
                mapper.SetInputData(polylines(these, their_colours, 0.0))  # skipped: empty again
        self.lines.GetProperty().SetOpacity(self._line_opacity())
        self._place_labels(labels)

    def _line_opacity(self) -> float:
        layers = [l for l in self.overlays if isinstance(l, (SphereLayer, BoxLayer, PolylineLayer)) and l.visible]
        return max((l.opacity for l in layers), default=1.0)

    def _spheres(self, layer: SphereLayer, grid, loops, colours, sel_loops, sel_colours, labels):
        frame = grid.frame
        for sphere, centre, radius in layer.sections(frame.en, self.offset):
            uv = frame.to_scene(centre)
            target = (sel_loops, sel_colours) if sphere.id == layer.selected else (loops, colours)
            target[0].append(circle(uv, radius))
            target[1].append(sphere.colour)
            self.circles_drawn.append((sphere.id, uv, radius))
            if layer.show_labels and sphere.label:
                labels.append((sphere.label, uv + radius * 0.75, sphere.colour))

    def _polylines(self, layer: PolylineLayer, grid, volume, loops, colours, labels):
        """Measurements lying in this slice (within half a voxel): closed ones as loops, open ones
        as segments (a two-point loop is drawn as its segment)."""
        frame = grid.frame
        tolerance = 0.5 * float(np.abs(frame.en @ (np.asarray(volume.direction) * np.asarray(volume.spacing))).max())
        for line in layer.in_plane(frame.en, self.offset, tolerance + 1e-6):
            uv = frame.to_scene(line.array())
            if line.closed:
                loops.append(uv)
                colours.append(line.colour)
            else:
                for a, b in zip(uv[:-1], uv[1:]):
                    loops.append(np.array([a, b]))
                    colours.append(line.colour)
            if line.label:
                labels.append((line.label, uv[-1], line.colour))

    def _boxes(self, layer: BoxLayer, grid, volume, loops, colours, labels):
        frame = grid.frame
        for box, corners in layer.world_corners(volume):
            depth = corners @ frame.en
            if not depth.min() <= self.offset <= depth.max():
                continue
            uv = frame.to_scene(corners)
            (u0, v0), (u1, v1) = uv.min(axis=0), uv.max(axis=0)
            loops.append(np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]]))
            colours.append(box.colour)
            if box.label:
                labels.append((box.label, np.array([u0, v1]), box.colour))

    def _place_labels(self, labels) -> None:
        labels = labels[:MAX_LABELS]
        while len(self.labels) < len(labels):
            text = vtkTextActor()
            text.GetPositionCoordinate().SetCoordinateSystemToWorld()
            text.GetTextProperty().SetFontSize(13)
            text.GetTextProperty().SetShadow(True)
            text.SetPickable(False)
            self.renderer.AddViewProp(text)
            self.labels.append(text)
        for actor, (label, uv, colour) in zip(self.labels, labels):
            actor.SetInput(label)
            actor.GetPositionCoordinate().SetValue(float(uv[0]), float(uv[1]), _Z_LINES)
            actor.GetTextProperty().SetColor(*colour)
            actor.SetVisibility(True)
        for actor in self.labels[len(labels):]:
            actor.SetVisibility(False)


def layer_summary(layer: Layer) -> str:
    """A short description for the layers dock."""
    if isinstance(layer, SphereLayer):
        return f"{len(layer)} points"
    if isinstance(layer, BoxLayer):
        return f"{len(layer.boxes)} boxes"
    if isinstance(layer, LabelMaskLayer):
        return "label mask"
    if isinstance(layer, HeatMapLayer):
        return f"heat map ({layer.colormap})"
    return layer.kind
