"""Overlay layers drawn on top of images: the Qt-free model the viewers subscribe to.

Every layer has `name`, `visible`, `opacity` and `events` (psygnal): `events.changed()` fires on any
change, and the specific signals (`visible`, `opacity`, `data`, ...) say which. Geometry is in world
millimetres (LPS, as `Volume`); mask and heat-map layers lie on a voxel grid, either their own
`grid` (a `Volume` whose geometry they share) or, when `grid` is None, the grid of the image shown.

`OverlayList` is a psygnal `EventedList` of layers (`events.inserted(index, layer)`,
`events.removed(index, layer)`, ...), with `find(name)` and `put(layer)` (replace by name).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np
from psygnal import Signal, SignalGroup
from psygnal.containers import EventedList

from workstation.core.vocab import CandidateState
from workstation.core.volume import Volume

STATE_COLOURS: dict[str, tuple[float, float, float]] = {
    CandidateState.PROPOSED: (1.0, 0.85, 0.0),    # yellow: a model's candidate not yet reviewed
    CandidateState.CONFIRMED: (1.0, 0.25, 0.25),  # red: the reader said yes
    CandidateState.REJECTED: (0.45, 0.6, 1.0),    # blue: the reader said it is a mimic
    CandidateState.ADDED: (0.2, 1.0, 0.4),        # green: the reader added one the model missed
}
STATES = CandidateState.values()

# A label colour table for masks: label value -> RGB in 0..1 (0 is transparent).
DEFAULT_LABEL_COLOURS: dict[int, tuple[float, float, float]] = {
    1: (0.9, 0.2, 0.2), 2: (0.2, 0.8, 0.2), 3: (0.25, 0.45, 1.0), 4: (1.0, 0.85, 0.1),
    5: (0.9, 0.3, 0.9), 6: (0.1, 0.85, 0.85), 7: (1.0, 0.55, 0.1), 8: (0.6, 0.4, 0.2),
}

# Colour maps for heat maps: control points (position 0..1, r, g, b).
COLORMAPS: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "jet": ((0.0, 0, 0, 0.5), (0.11, 0, 0, 1), (0.34, 0, 1, 1), (0.5, 0.5, 1, 0.5),
            (0.66, 1, 1, 0), (0.89, 1, 0, 0), (1.0, 0.5, 0, 0)),
    "hot": ((0.0, 0.04, 0, 0), (0.37, 1, 0, 0), (0.75, 1, 1, 0), (1.0, 1, 1, 1)),
    "inferno": ((0.0, 0, 0, 0.02), (0.25, 0.34, 0.06, 0.43), (0.5, 0.73, 0.21, 0.33),
                (0.75, 0.98, 0.55, 0.04), (1.0, 0.99, 1.0, 0.64)),
    "grey": ((0.0, 0, 0, 0), (1.0, 1, 1, 1)),
}


class LayerEvents(SignalGroup):
    changed = Signal()        # anything below
    visible = Signal(bool)
    opacity = Signal(float)
    data = Signal()           # the content (points, mask, map, boxes) changed
    selected = Signal(object)  # SphereLayer: id of the selected point or None


class Layer:
    """Base of all overlay layers: a name, visibility and opacity, with events."""

    kind = "layer"

    def __init__(self, name: str, *, visible: bool = True, opacity: float = 1.0) -> None:
        self.name = name
        self._visible = bool(visible)
        self._opacity = _clip01(opacity)
        self.events = LayerEvents()

    @property
    def visible(self) -> bool:
        return self._visible

    @visible.setter
    def visible(self, value: bool) -> None:
        value = bool(value)
        if value != self._visible:
            self._visible = value
            self.events.visible.emit(value)
            self.events.changed.emit()

    @property
    def opacity(self) -> float:
        return self._opacity

    @opacity.setter
    def opacity(self, value: float) -> None:
        value = _clip01(value)
        if value != self._opacity:
            self._opacity = value
            self.events.opacity.emit(value)
            self.events.changed.emit()

    def _data_changed(self) -> None:
        self.events.data.emit()
        self.events.changed.emit()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, visible={self.visible}, opacity={self.opacity})"


@dataclass(frozen=True)
class Sphere:
    """A point of interest: centre in world mm (LPS), radius in mm, review state, label."""

    id: str
    center: tuple[float, float, float]
    radius: float
    state: str = CandidateState.PROPOSED.value
    label: str = ""
    score: float | None = None

    def __post_init__(self) -> None:
        if self.state not in STATE_COLOURS:
            raise ValueError(f"sphere state must be one of {', '.join(STATES)}, got {self.state!r}")
        if not self.radius > 0:
            raise ValueError(f"sphere radius must be > 0 mm, got {self.radius}")
        object.__setattr__(self, "center", tuple(float(c) for c in self.center))
        object.__setattr__(self, "radius", float(self.radius))

    @property
    def colour(self) -> tuple[float, float, float]:
        return STATE_COLOURS[self.state]


def sphere_sections(centers: np.ndarray, radii: np.ndarray, normal, offset: float):
    """Where spheres cross the plane {x : x . normal = offset} (normal a unit vector).

    Returns (indices of the spheres that cross it, the circle centres in world mm, the circle
    radii sqrt(r^2 - d^2) with d the distance of the sphere centre from the plane)."""
    centers = np.asarray(centers, dtype=float).reshape(-1, 3)
    radii = np.asarray(radii, dtype=float).reshape(-1)
    normal = np.asarray(normal, dtype=float)
    d = centers @ normal - float(offset)
    hit = np.flatnonzero(np.abs(d) < radii)
    circle_radii = np.sqrt(radii[hit] ** 2 - d[hit] ** 2)
    circle_centres = centers[hit] - d[hit, None] * normal[None, :]
    return hit, circle_centres, circle_radii


class SphereLayer(Layer):
    """Points drawn as spheres: a circle of the right size on every slice they cross."""

    kind = "spheres"

    def __init__(self, name: str = "points", spheres: Iterable[Sphere] = (), *,
                 visible: bool = True, opacity: float = 1.0, show_labels: bool = True) -> None:
        super().__init__(name, visible=visible, opacity=opacity)
        self._spheres: dict[str, Sphere] = {}
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._selected: str | None = None
        self.show_labels = show_labels
        for s in spheres:
            self._spheres[s.id] = s

    def __len__(self) -> int:
        return len(self._spheres)

    def __iter__(self):
        return iter(list(self._spheres.values()))

    def __contains__(self, sphere_id: str) -> bool:
        return sphere_id in self._spheres

    @property
    def spheres(self) -> list[Sphere]:
        return list(self._spheres.values())

    def get(self, sphere_id: str) -> Sphere:
        return self._spheres[sphere_id]

    def set_spheres(self, spheres: Iterable[Sphere]) -> None:
        self._spheres = {s.id: s for s in spheres}
        if self._selected not in self._spheres:
            self._selected = None
        self._touch()

    def add(self, sphere: Sphere) -> None:
        if sphere.id in self._spheres:
            raise ValueError(f"a point with id {sphere.id!r} is already in layer {self.name!r}")
        self._spheres[sphere.id] = sphere
        self._touch()

    def update(self, sphere_id: str, **changes) -> Sphere:
        """Change fields of one point (e.g. `state="confirmed"`); returns the new point."""
        new = replace(self._spheres[sphere_id], **changes)
        self._spheres[sphere_id] = new
        self._touch()
        return new

    def remove(self, sphere_id: str) -> None:
        del self._spheres[sphere_id]
        if self._selected == sphere_id:
            self._selected = None
        self._touch()

    @property
    def selected(self) -> str | None:
        return self._selected

    @selected.setter
    def selected(self, sphere_id: str | None) -> None:
        if sphere_id is not None and sphere_id not in self._spheres:
            raise KeyError(sphere_id)
        if sphere_id != self._selected:
            self._selected = sphere_id
            self.events.selected.emit(sphere_id)
            self.events.changed.emit()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(centres (N, 3), radii (N,)) in the order of `spheres`, cached until the next change."""
        if self._arrays is None:
            items = list(self._spheres.values())
            centres = np.array([s.center for s in items], dtype=float).reshape(-1, 3)
            radii = np.array([s.radius for s in items], dtype=float)
            self._arrays = (centres, radii)
        return self._arrays

    def sections(self, normal, offset: float):
        """The circles this layer draws on the plane x . normal = offset:
        a list of (sphere, circle centre in world mm, circle radius in mm)."""
        centres, radii = self.arrays()
        hit, cc, cr = sphere_sections(centres, radii, normal, offset)
        items = list(self._spheres.values())
        return [(items[i], cc[n], float(cr[n])) for n, i in enumerate(hit)]

    def _touch(self) -> None:
        self._arrays = None
        self._data_changed()


class _GridLayer(Layer):
    """A layer holding an array on a voxel grid ([k, j, i], as `Volume.array`)."""

    def __init__(self, name: str, array: np.ndarray, grid: Volume | None, *, visible: bool,
                 opacity: float) -> None:
        super().__init__(name, visible=visible, opacity=opacity)
        self._array = self._check(array)
        self.grid = grid

    def _check(self, array) -> np.ndarray:
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[np.newaxis]
        if array.ndim != 3:
            raise ValueError(f"layer {self.name!r} needs a 2D or 3D array, got shape {array.shape}")
        return array

    @property
    def array(self) -> np.ndarray:
        return self._array

    @array.setter
    def array(self, value: np.ndarray) -> None:
        self._array = self._check(value)
        self._data_changed()

    def fits(self, volume: Volume) -> bool:
        """Whether this layer can be drawn over `volume` (its own grid, or the same shape)."""
        return self.grid is not None or tuple(volume.array.shape[:3]) == self._array.shape

    def notify_data_changed(self) -> None:
        """Call after editing `array` in place."""
        self._data_changed()


class LabelMaskLayer(_GridLayer):
    """An integer label mask; label 0 is transparent, others take `colours[label]`."""

    kind = "labels"

    def __init__(self, name: str, mask: np.ndarray, grid: Volume | None = None, *,
                 colours: dict[int, Sequence[float]] | None = None, visible: bool = True,
                 opacity: float = 0.5) -> None:
        mask = np.asarray(mask)
        if mask.dtype.kind not in "iub":
            raise ValueError(f"a label mask needs integer values, got dtype {mask.dtype}")
        super().__init__(name, mask, grid, visible=visible, opacity=opacity)
        self.colours = {int(k): tuple(float(c) for c in v)
                        for k, v in (colours or DEFAULT_LABEL_COLOURS).items()}

    def colour(self, label: int) -> tuple[float, float, float]:
        if label in self.colours:
            return self.colours[label]
        palette = list(DEFAULT_LABEL_COLOURS.values())
        return palette[(label - 1) % len(palette)]


class HeatMapLayer(_GridLayer):
    """A float map (e.g. Grad-CAM) shown through a colour map; values at or below
    `threshold` (as a fraction of the range) are transparent."""

    kind = "heatmap"

    def __init__(self, name: str, values: np.ndarray, grid: Volume | None = None, *,
                 colormap: str = "jet", value_range: tuple[float, float] | None = None,
                 threshold: float = 0.05, visible: bool = True, opacity: float = 0.45) -> None:
        if colormap not in COLORMAPS:
            raise ValueError(f"unknown colour map {colormap!r}; known: {', '.join(COLORMAPS)}")
        super().__init__(name, np.asarray(values, dtype=np.float32), grid, visible=visible,
                         opacity=opacity)
        self.colormap = colormap
        self.threshold = float(threshold)
        if value_range is None:
            finite = self._array[np.isfinite(self._array)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            value_range = (lo, hi if hi > lo else lo + 1.0)
        self.value_range = (float(value_range[0]), float(value_range[1]))


@dataclass(frozen=True)
class Box:
    """An axis-aligned box. In a BoxLayer with coords="pixel", `lo`/`hi` are voxel indices
    (i, j, k) on the layer's grid (for a 2D image k = 0); with coords="world", LPS mm."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    label: str = ""
    state: str = CandidateState.PROPOSED.value
    id: str = ""

    def __post_init__(self) -> None:
        lo = tuple(float(v) for v in (tuple(self.lo) + (0.0,))[:3])
        hi = tuple(float(v) for v in (tuple(self.hi) + (0.0,))[:3])
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        if self.state not in STATE_COLOURS:
            raise ValueError(f"box state must be one of {', '.join(STATES)}, got {self.state!r}")

    @property
    def colour(self) -> tuple[float, float, float]:
        return STATE_COLOURS[self.state]


class BoxLayer(Layer):
    """2D/3D boxes: detections on an X-ray (pixel coords) or regions in world mm."""

    kind = "boxes"

    def __init__(self, name: str = "boxes", boxes: Iterable[Box] = (), *, coords: str = "pixel",
                 grid: Volume | None = None, visible: bool = True, opacity: float = 1.0) -> None:
        if coords not in ("pixel", "world"):
            raise ValueError(f"box coords must be 'pixel' or 'world', got {coords!r}")
        super().__init__(name, visible=visible, opacity=opacity)
        self.coords = coords
        self.grid = grid
        self._boxes = list(boxes)

    @property
    def boxes(self) -> list[Box]:
        return list(self._boxes)

    def set_boxes(self, boxes: Iterable[Box]) -> None:
        self._boxes = list(boxes)
        self._data_changed()

    def world_corners(self, volume: Volume | None) -> list[tuple[Box, np.ndarray]]:
        """Each box with its 8 corners in world mm. Pixel boxes cover whole voxels, so a box on
        voxel k spans k-0.5..k+0.5 (that is what makes it show on slice k and no other)."""
        grid = self.grid or volume
        out = []
        for box in self._boxes:
            lo, hi = np.minimum(box.lo, box.hi), np.maximum(box.lo, box.hi)
            if self.coords == "pixel":
                if grid is None:
                    continue
                lo, hi = lo - 0.5, hi + 0.5
            corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                                for z in (lo[2], hi[2])], dtype=float)
            if self.coords == "pixel":
                corners = grid.index_to_world(corners)
            out.append((box, corners))
        return out


class OverlayList(EventedList):
    """The window's overlay layers, bottom to top."""

    def __init__(self, data: Iterable[Layer] = ()) -> None:
        super().__init__(data)

    def _pre_insert(self, value):
        if not isinstance(value, Layer):
            raise TypeError(f"an overlay must be a Layer, got {type(value).__name__}")
        return value

    def find(self, name: str) -> Layer | None:
        return next((layer for layer in self if layer.name == name), None)

    def put(self, layer: Layer) -> Layer:
        """Replace the layer of the same name (keeping its place), or append."""
        for index, old in enumerate(self):
            if old.name == layer.name:
                self[index] = layer
                return layer
        self.append(layer)
        return layer

    def remove_named(self, name: str) -> None:
        layer = self.find(name)
        if layer is not None:
            self.remove(layer)


def _clip01(value: float) -> float:
    return float(min(1.0, max(0.0, float(value))))
