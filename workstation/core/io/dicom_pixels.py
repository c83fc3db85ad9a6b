"""Pixel-level helpers for the DICOM reader: raw stored values, per-frame attributes of multi-frame
files (functional groups, RT dose grids, NM detectors), pixel spacing, VOI window, and the modality
rescale in the dtype rule of `workstation.core.volume`."""
from __future__ import annotations

import math

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from workstation.core.io.dicom_geometry import orientation_matrix
from workstation.core.io.errors import ImageReadError, check_cancel
from workstation.core.io.rescale import _int_type_for, rescale_into, rescaled_dtype  # noqa: F401 (re-exported)

_NATIVE_LE = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


def stored_pixels(ds: pydicom.Dataset, check_length: bool = False) -> np.ndarray:
    """The stored values, as pydicom's `pixel_array` gives them. Plain little-endian greyscale data
    is viewed straight from the file's bytes (no decoder round trip: the common CT/MR case); there,
    with `check_length`, data longer than the header describes by more than one row is refused (as
    the caller refuses pydicom's own padding warnings)."""
    get = ds.get
    bits = int(get("BitsAllocated", 0) or 0)
    if is_plain(ds):
        rows, cols = int(ds.Rows), int(ds.Columns)
        frames = int(get("NumberOfFrames", 1) or 1)
        dtype = np.dtype(("<i" if int(get("PixelRepresentation", 0) or 0) else "<u") + str(bits // 8))
        count = rows * cols * frames
        buf = ds.PixelData
        if len(buf) < count * dtype.itemsize:
            raise ValueError(f"truncated pixel data: {len(buf)} of {count * dtype.itemsize} bytes")
        excess = len(buf) - count * dtype.itemsize
        if check_length and excess > cols * dtype.itemsize:
            raise ValueError(f"pixel data holds {excess} bytes more than Rows x Columns describe "
                             f"(damaged Rows or Columns?)")
        arr = np.frombuffer(buf, dtype=dtype, count=count)
        return arr.reshape((frames, rows, cols) if frames > 1 else (rows, cols))
    return ds.pixel_array


def is_plain(ds: pydicom.Dataset) -> bool:
    """Little-endian, uncompressed, greyscale 8/16/32-bit pixel data: read without a decoder."""
    get = ds.get
    return (ds.file_meta.get("TransferSyntaxUID") in _NATIVE_LE and "PixelData" in ds
            and int(get("SamplesPerPixel", 1) or 1) == 1 and int(get("BitsAllocated", 0) or 0) in (8, 16, 32)
            and str(get("PhotometricInterpretation", "")) in ("MONOCHROME1", "MONOCHROME2"))


def rescale_stack(frames: np.ndarray, order: list[int], slopes, intercepts, bits, cancel=None) -> np.ndarray:
    """Frames reordered and rescaled into one new array (or `frames` itself when nothing changes)."""
    n = frames.shape[0]
    identity = list(order) == list(range(n))
    dtype = rescaled_dtype(frames.dtype, bits, slopes, intercepts, sample=frames)
    if identity and dtype == frames.dtype and set(zip(slopes, intercepts)) <= {(1.0, 0.0)}:
        return frames if frames.flags.writeable else frames.copy()
    out = np.empty(frames.shape, dtype=dtype)
    for k, src in enumerate(order):
        check_cancel(cancel)
        out = rescale_into(out, k, frames[src], slopes[src], intercepts[src])
    return out


class FrameGroups:
    """Per-frame attributes of a (multi-)frame file: enhanced functional groups first, then the
    classic top-level tags."""

    def __init__(self, ds: pydicom.Dataset):
        self.ds = ds
        shared = ds.get("SharedFunctionalGroupsSequence")
        self.shared = shared[0] if shared else None
        self.per = ds.get("PerFrameFunctionalGroupsSequence") or None

    def item(self, frame: int, sequence: str):
        groups = []
        if self.per is not None and frame < len(self.per):
            groups.append(self.per[frame])
        if self.shared is not None:
            groups.append(self.shared)
        for group in groups:
            seq = group.get(sequence)
            if seq:
                return seq[0]
        return None

    def orientation(self):
        item = self.item(0, "PlaneOrientationSequence")
        for source in (item, self.ds, _first(self.ds.get("DetectorInformationSequence"))):
            value = _numbers(source.get("ImageOrientationPatient") if source is not None else None)
            if value is not None:
                return value  # checked (6 finite cosines) by the reader
        return None

    def positions(self, n: int, orientation):
        ds = self.ds
        if self.per is not None:
            out = []
            for k in range(n):
                item = self.item(k, "PlanePositionSequence")
                out.append(_numbers(item.get("ImagePositionPatient") if item is not None else None))
            return out
        top = position(ds)
        if top is None:
            return [None] * n
        if n == 1 or len(top) != 3:
            return [top] * n  # a damaged position is refused by the reader
        normal = orientation_matrix(orientation)[:, 2]
        offsets = ds.get("GridFrameOffsetVector")  # RT dose grids
        if offsets is not None and len(offsets) == n:
            offsets = [_strict(o, math.nan) for o in offsets]
            return [tuple(np.asarray(top) + (o - offsets[0]) * normal) for o in offsets]
        step = _positive(ds.get("SpacingBetweenSlices"))
        if step:  # NM tomography and similar: equally spaced frames from the first position
            return [tuple(np.asarray(top) + k * step * normal) for k in range(n)]
        return [None] * n

    def rescale(self, n: int):
        if self.per is not None or self.shared is not None:
            slopes, intercepts, found = [], [], False
            for k in range(n):
                item = self.item(k, "PixelValueTransformationSequence")
                found |= item is not None
                slopes.append(_strict(item.get("RescaleSlope") if item is not None else None, 1.0))
                intercepts.append(_strict(item.get("RescaleIntercept") if item is not None else None, 0.0))
            if found:
                return slopes, intercepts
        if "RescaleSlope" in self.ds or "RescaleIntercept" in self.ds:
            return ([_strict(self.ds.get("RescaleSlope"), 1.0)] * n,
                    [_strict(self.ds.get("RescaleIntercept"), 0.0)] * n)
        return None, None

    def window(self):
        """(center, width) of the first VOI window (in rescaled units), else one spanning the VOI LUT."""
        for source in (self.item(0, "FrameVOILUTSequence"), self.ds):
            if source is None:
                continue
            center, width = _first_value(source.get("WindowCenter")), _first_value(source.get("WindowWidth"))
            if center is not None and width is not None and width > 0:
                return (center, width)
        lut = _first(self.ds.get("VOILUTSequence"))
        if lut is not None and lut.get("LUTDescriptor") is not None:
            entries, first = int(lut.LUTDescriptor[0]) or 65536, float(lut.LUTDescriptor[1])
            return (first + entries / 2.0, float(entries))
        return None


def pixel_spacing(ds: pydicom.Dataset, fg: FrameGroups, path=""):
    """(spacing_x, spacing_y, warning or None). PixelSpacing is (row spacing, column spacing), i.e.
    (y, x). Projection radiographs often only have ImagerPixelSpacing (at the detector). A spacing
    that is present but not two positive numbers refuses the file (ImageReadError)."""
    measures = fg.item(0, "PixelMeasuresSequence")
    for source, keyword in ((measures, "PixelSpacing"), (ds, "PixelSpacing"), (ds, "ImagerPixelSpacing"),
                            (ds, "NominalScannedPixelSpacing")):
        value = _numbers(source.get(keyword) if source is not None else None)
        if value is None or (len(value) == 2 and value == (0.0, 0.0)):
            continue  # absent, or "0\\0", which real CR writers (RG1_UNCR.dcm) put for "unknown"
        if len(value) != 2 or not all(math.isfinite(v) and v > 0 for v in value):
            raise ImageReadError(path, f"{keyword} is not two positive numbers ({' '.join(f'{v:g}' for v in value)})")
        note = None if keyword == "PixelSpacing" else f"pixel spacing from {keyword}"
        return value[1], value[0], note
    region = _first(ds.get("SequenceOfUltrasoundRegions"))
    if region is not None and region.get("PhysicalUnitsXDirection") == 3 and region.get("PhysicalUnitsYDirection") == 3:
        dx, dy = _positive(region.get("PhysicalDeltaX")), _positive(region.get("PhysicalDeltaY"))
        if dx and dy:  # ultrasound regions are in cm
            return dx * 10.0, dy * 10.0, None
    return 1.0, 1.0, "no valid pixel spacing in the header: 1 mm assumed"


def slice_spacing_hint(ds: pydicom.Dataset, fg: FrameGroups):
    measures = fg.item(0, "PixelMeasuresSequence")
    for source in (measures, ds):
        value = _positive(source.get("SpacingBetweenSlices")) if source is not None else None
        if value:
            return value
    return None


def position(ds: pydicom.Dataset):
    for source in (ds, _first(ds.get("DetectorInformationSequence"))):
        value = _numbers(source.get("ImagePositionPatient") if source is not None else None)
        if value is not None:
            return value  # checked (3 finite numbers) by the reader
    return None


def position_or_zero(ds: pydicom.Dataset):
    return position(ds) or (0.0, 0.0, 0.0)


def _first(seq):
    return seq[0] if seq else None


def _first_value(value):
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else None
    return _number(value, None)


def _numbers(value):
    """A multi-valued number tag as floats (NaN where a value does not parse); None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = [value]
    if len(value) == 0:
        return None
    return tuple(_strict(v, math.nan) for v in value)


def _strict(value, default):
    """A number; `default` when absent, NaN when present but not a number (refused later)."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _number(value, default):
    try:
        return float(value) if value is not None and value != "" else default
    except (TypeError, ValueError):
        return default


def _positive(value):
    number = _number(value, None)
    return number if number is not None and number > 0 else None
