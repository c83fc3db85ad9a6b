"""NIfTI voxel data read directly from the file, geometry from SimpleITK.

Why not SimpleITK for the voxels too: ITK's NIfTI library silently replaces NaN and Inf with 0, so
a map with undefined voxels would look valid. Reading the payload here keeps the stored values (and
lets the caller warn about them); SimpleITK still decides the geometry (qform/sform choice and the
RAS -> LPS flip), which is where hand-written NIfTI code usually goes wrong.
"""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

_DTYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4", 1024: "i8", 1280: "u8"}


class UnsupportedNifti(Exception):
    """Let SimpleITK read this file (a layout this module does not handle: RGB, complex, 5D+)."""


def read_voxels(path: Path) -> tuple[np.ndarray, tuple[float, float]]:
    """The stored voxels in [t,] k, j, i order (native byte order) and (scl_slope, scl_inter),
    with slope 1 and intercept 0 when the header sets no scaling."""
    opener = _gzip_open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        header = _parse_header(f.read(348))
        ndim = header["dims"][0]
        if not 1 <= ndim <= 4:
            raise UnsupportedNifti(f"{ndim} dimensions")
        shape = tuple(int(d) for d in header["dims"][1:ndim + 1])
        dtype = np.dtype(header["endian"] + _DTYPES[header["datatype"]])
        array = np.empty(shape[::-1], dtype=dtype)  # NIfTI stores i fastest: C order is [.., k, j, i]
        f.seek(header["vox_offset"])
        if f.readinto(memoryview(array).cast("B")) != array.nbytes:
            raise ValueError(f"truncated voxel data: expected {array.nbytes} bytes")
    if not dtype.isnative:
        array = array.byteswap().view(dtype.newbyteorder("="))
    slope, inter = header["scl_slope"], header["scl_inter"]
    if not np.isfinite(slope) or slope == 0:
        slope, inter = 1.0, 0.0
    return array, (float(slope), float(inter) if np.isfinite(inter) else 0.0)


def _gzip_open(path, mode):
    try:
        from isal import igzip  # ISA-L: about twice as fast as zlib at inflating
    except ImportError:
        return gzip.open(path, mode)
    return igzip.open(path, mode)


def _parse_header(head: bytes) -> dict:
    if len(head) < 348:
        raise ValueError("truncated header")
    # NIfTI-1 only: SimpleITK's header read (which runs first) does not accept NIfTI-2 either
    for endian in ("<", ">"):
        if struct.unpack(endian + "i", head[:4])[0] == 348:
            datatype = struct.unpack(endian + "h", head[70:72])[0]
            dims = struct.unpack(endian + "8h", head[40:56])
            vox_offset = int(struct.unpack(endian + "f", head[108:112])[0])
            slope, inter = struct.unpack(endian + "2f", head[112:120])
            break
    else:
        raise ValueError("not a NIfTI-1 header")
    if datatype not in _DTYPES:
        raise UnsupportedNifti(f"datatype {datatype}")
    return {"endian": endian, "datatype": datatype, "dims": dims, "vox_offset": max(vox_offset, 348),
            "scl_slope": slope, "scl_inter": inter}
