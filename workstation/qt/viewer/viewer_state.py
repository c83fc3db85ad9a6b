"""What all the views of one viewer share: the volume (handed to VTK once, without a copy), the
crosshair (one world point, in LPS mm, that fixes every view's slice), the window/level, the
inversion and the overlay layers. Views read it and change it; it tells them through Qt signals."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from workstation.core.review.overlays import OverlayList
from workstation.core.volume import Volume
from workstation.qt.viewer import display
def to_vtk_image(array: np.ndarray):
    """A vtkImageData in voxel-index space (origin 0, spacing 1) over `array` ([k, j, i] or
    [k, j, i, c]). It shares the numpy memory when the array is C-contiguous and native-endian:
    a 300 MB volume stays 300 MB."""
    from vtkmodules.vtkCommonDataModel import vtkImageData

    if array.dtype == bool:
        array = array.view(np.uint8)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype == np.float16:
        array = array.astype(np.float32)
    array = np.ascontiguousarray(array)  # no copy when already contiguous
    components = array.shape[3] if array.ndim == 4 else 1
    image = vtkImageData()
    k, j, i = array.shape[:3]
    image.SetDimensions(i, j, k)
    share_scalars(image, array, components)
    return image


def share_scalars(image, array: np.ndarray, components: int = 1) -> None:
    """Make the C-contiguous `array` the point scalars of `image` without a copy (`components`
    values per point); the array stays alive as long as VTK holds the scalars."""
    from vtkmodules.util import numpy_support

    flat = array.reshape(-1, components) if components > 1 else array.reshape(-1)
    scalars = numpy_support.numpy_to_vtk(flat, deep=False)
    scalars._numpy_reference = array
    image.GetPointData().SetScalars(scalars)


class ViewerState(QObject):
    volume_changed = Signal(object)       # Volume or None
    crosshair_changed = Signal(object)    # np.ndarray (3,), world LPS mm
    window_changed = Signal(float, float)  # center, width
    invert_changed = Signal(bool)
    readout_changed = Signal(str)

    def __init__(self, overlays: OverlayList | None = None, parent=None) -> None:
        super().__init__(parent)
        self.overlays = overlays if overlays is not None else OverlayList()
        self.volume: Volume | None = None
        self.image = None  # vtkImageData of the volume, index space
        self.crosshair = np.zeros(3)
        self.lowest = 0.0  # the volume's smallest value: what the views show outside it
        self.window = (0.0, 1.0)
        self.invert = False

    def set_volume(self, volume: Volume | None) -> None:
        self.volume = volume
        self.image = to_vtk_image(volume.array) if volume is not None else None
        if volume is not None:
            self.lowest = _lowest(volume)
            size = np.asarray(volume.size, dtype=float)
            self.crosshair = volume.index_to_world(np.floor((size - 1) / 2))
            self.window = display.initial_window(volume)
            self.invert = False
        self.volume_changed.emit(volume)
        self.window_changed.emit(*self.window)
        self.crosshair_changed.emit(self.crosshair.copy())

    def set_crosshair(self, point) -> None:
        """Move the crosshair to a world point, kept inside the volume."""
        point = np.asarray(point, dtype=float).reshape(3)
        if self.volume is not None:
            ijk = self.volume.world_to_index(point)
            top = np.asarray(self.volume.size, dtype=float) - 1
            clipped = np.clip(ijk, 0, top)
            if not (np.abs(clipped - ijk) <= 1e-8 + 1e-5 * np.abs(ijk)).all():  # np.allclose, 10x cheaper
                point = self.volume.index_to_world(clipped)
        if not np.array_equal(point, self.crosshair):
            self.crosshair = point
            self.crosshair_changed.emit(point.copy())

    def set_window(self, center: float, width: float) -> None:
        width = max(float(width), 1e-6)
        if (center, width) != self.window:
            self.window = (float(center), width)
            self.window_changed.emit(*self.window)

    def set_invert(self, invert: bool) -> None:
        if bool(invert) != self.invert:
            self.invert = bool(invert)
            self.invert_changed.emit(self.invert)

    def voxel_at(self, point) -> tuple[int, int, int] | None:
        """The voxel (i, j, k) holding a world point, or None outside the volume."""
        if self.volume is None:
            return None
        ijk = np.floor(self.volume.world_to_index(point) + 0.5).astype(int)
        if np.any(ijk < 0) or np.any(ijk >= np.asarray(self.volume.size)):
            return None
        return tuple(int(v) for v in ijk)

    def readout(self, point) -> str:
        """'voxel (i, j, k)  LPS (x, y, z) mm  value v' for a world point ('' outside)."""
        ijk = self.voxel_at(point)
        if ijk is None:
            return ""
        i, j, k = ijk
        value = self.volume.array[k, j, i]
        if np.ndim(value):
            text = "(" + ", ".join(_fmt(v) for v in value) + ")"
        else:
            text = _fmt(value)
        x, y, z = point
        if self.volume.kind == "2d":
            return f"pixel ({i}, {j})  ({x:.1f}, {y:.1f}) mm  value {text}"
        return f"voxel ({i}, {j}, {k})  LPS ({x:.1f}, {y:.1f}, {z:.1f}) mm  value {text}"

    def show_readout(self, text: str) -> None:
        self.readout_changed.emit(text)


def _lowest(volume: Volume) -> float:
    if volume.is_rgb:
        return 0.0
    lowest = np.nanmin(volume.array) if volume.array.dtype.kind == "f" else volume.array.min()
    return float(lowest) if np.isfinite(lowest) else 0.0


def _fmt(value) -> str:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
