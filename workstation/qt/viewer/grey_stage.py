"""The window/level of a slice view as a table lookup before VTK sees the slice.

VTK's image mapper maps a 16-bit slice to grey on the CPU at every slice change, in threads it
starts each time, and then uploads the RGBA it made. Here each integer value of the volume's type
(at most 65536 of them) is mapped once per window, with VTK's own arithmetic, and the slice
reaches the mapper as the RGBA bytes it would have made, which it uploads as they are. Float and
RGB volumes keep VTK's mapping (`grey_table` returns None for them).
"""
from __future__ import annotations

import functools

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData

from workstation.qt.viewer.viewer_state import share_scalars

_TABLE_TYPES = (np.uint8, np.int8, np.uint16, np.int16)


def grey_table(dtype, center: float, width: float, invert: bool = False) -> np.ndarray | None:
    """Grey (uint8, read-only: the views share it) of every value of an integer type of 8 or 16
    bits, indexed by the value's bit pattern read as unsigned; None for other types. Bit for bit
    what vtkImageMapper3D draws with window `width` and level `center`: shift/scale, clamp, +0.5,
    truncate; inverted, the 256-entry vtkLookupTable of `slice_view._inverted_grey` over the
    window's range."""
    dtype = np.dtype(dtype)
    if dtype.type not in _TABLE_TYPES or not dtype.isnative:
        return None
    return _table(dtype.str, float(center), float(width), bool(invert))


@functools.lru_cache(maxsize=8)  # every view of a viewer asks for the same window's table
def _table(dtype: str, center: float, width: float, invert: bool) -> np.ndarray:
    table = _grey(np.dtype(dtype), center, width, invert)
    table.flags.writeable = False
    return table


def _grey(dtype: np.dtype, center: float, width: float, invert: bool) -> np.ndarray:
    bits = np.arange(2 ** (8 * dtype.itemsize), dtype=np.uint32).astype(dtype.str.replace("i", "u"))
    values = bits.view(dtype).astype(np.float64)
    low, high = center - 0.5 * width, center + 0.5 * width
    if invert:
        return _inverted(values, low, high)
    shift, scale = -low, (255.0 / (high - low) if low < high else 1e32)
    if dtype == np.uint8 and int(shift * scale) == 0 and int((255 + shift) * scale) == 255:
        return values.astype(np.uint8)  # vtkImageMapper3D copies such bytes unscaled
    return (np.clip((values + shift) * scale, 0.0, 255.0) + 0.5).astype(np.uint8)


def _inverted(values: np.ndarray, low: float, high: float) -> np.ndarray:
    colours = 256
    delta = high - low
    scale = 0.0 if delta < np.finfo(float).tiny * colours else colours / delta
    index = np.where(values < low, 0, np.where(values > high, colours - 1,
                                                ((values - low) * scale).astype(np.int64)))
    index = np.minimum(index, colours - 1)  # the value at the top of the range: the last entry
    table = ((1.0 - np.arange(colours) / 255.0) * 255.0 + 0.5).astype(np.uint8)
    return table[index]


class GreySlice:
    """The RGBA image a slice view's actor shows: the slice through `table`, remade when the slice
    or the table changed (checked before every frame). The slice is a numpy view of the volume when
    the view's pixels are its voxels (`view_geometry.voxel_plane`), else the reslice's output."""

    def __init__(self, reslice) -> None:
        self.reslice = reslice
        self.image = vtkImageData()
        self.table: np.ndarray | None = None
        self._buffer: np.ndarray | None = None
        self._shown = None  # what the image was made from: (slice, table version)
        self._version = 0  # counts table changes

    def set_table(self, grey: np.ndarray) -> None:
        """`grey`: uint8 per value, from `grey_table`."""
        table = (grey.astype("<u4") * 0x010101 | 0xFF000000).astype("<u4")  # bytes g, g, g, 255
        if self.table is None or not np.array_equal(table, self.table):
            self.table = table
            self._version += 1

    def refresh(self, plane: np.ndarray | None = None, plane_key=None, grid=None) -> None:
        """Remake the image if needed: from `plane` (identified by `plane_key`, on `grid`) when
        given, else from the reslice."""
        if self.table is None:
            return
        if plane is not None:
            key = ("plane", plane_key, self._version)
            if self._shown == key:
                return
            (ou, ov), (su, sv), (nu, nv) = grid.origin, grid.spacing, grid.size
            self._fill(plane, (0, nu - 1, 0, nv - 1, 0, 0), (ou, ov, 0.0), (su, sv, 1.0))
        else:
            self.reslice.Update()
            source = self.reslice.GetOutput()
            key = ("reslice", source.GetMTime(), self._version)
            if self._shown == key:
                return
            values = numpy_support.vtk_to_numpy(source.GetPointData().GetScalars())
            self._fill(values, source.GetExtent(), source.GetOrigin(), source.GetSpacing())
        self._shown = key

    def _fill(self, values: np.ndarray, extent, origin, spacing) -> None:
        image = self.image
        count = (extent[1] - extent[0] + 1) * (extent[3] - extent[2] + 1)
        if self._buffer is None or self._buffer.size != count:
            self._buffer = np.empty(count, "<u4")
            share_scalars(image, self._buffer.view(np.uint8), 4)  # VTK reads it when it uploads the texture
        image.SetExtent(extent)
        image.SetOrigin(origin)
        image.SetSpacing(spacing)
        indices = values.view(values.dtype.str.replace("i", "u"))  # the bit patterns the table is indexed by
        np.take(self.table, indices, out=self._buffer.reshape(values.shape))
        image.GetPointData().GetScalars().Modified()
        image.Modified()
