"""NIfTI-1 files read directly: header, voxels and (in `nifti_geometry`) ITK's geometry.

Why not SimpleITK: ITK's NIfTI library silently replaces NaN and Inf with 0, so a map with
undefined voxels would look valid; and importing SimpleITK costs about 90 MiB and 0.2 s, which a
viewer opening one NIfTI file should not pay. Anything unusual (Analyze or two-file headers,
NIfTI-2, vector/matrix intents, RGB/complex voxels, 5D+, odd dims) raises `UnsupportedNifti` and is
left to SimpleITK, so those files read exactly as before.
"""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

_DTYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4", 1024: "i8", 1280: "u8"}
_VECTOR_INTENTS = (1004, 1005, 1006, 1007)  # GENMATRIX, SYMMATRIX, DISPVECT, VECTOR


class UnsupportedNifti(Exception):
    """Let SimpleITK read this file (a layout this module does not handle: RGB, complex, 5D+)."""


def read_header(path: Path) -> dict:
    """The header fields that decide the voxel layout and the geometry. Raises UnsupportedNifti
    for anything but a plain single-file NIfTI-1 of up to 4 dimensions with scalar voxels."""
    try:
        with _open(path) as f:
            head = f.read(348)
    except Exception as exc:  # noqa: BLE001 - unreadable here: SimpleITK gives its own reason
        raise UnsupportedNifti(str(exc)) from None
    return parse_header(head)


def read_voxels(path: Path, header: dict) -> tuple[np.ndarray, tuple[float, float]]:
    """The stored voxels in [t,] k, j, i order (native byte order) and (scl_slope, scl_inter),
    with slope 1 and intercept 0 when the header sets no scaling."""
    ndim = header["dims"][0]
    shape = tuple(int(d) for d in header["dims"][1:ndim + 1])
    dtype = np.dtype(header["endian"] + _DTYPES[header["datatype"]])
    with _open(path) as f:
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


def _open(path: Path):
    if not Path(path).name.lower().endswith(".gz"):
        return open(path, "rb")
    try:
        from isal import igzip  # ISA-L: about twice as fast as zlib at inflating
    except ImportError:
        return gzip.open(path, "rb")
    return igzip.open(path, "rb")


def parse_header(head: bytes) -> dict:
    if len(head) < 348:
        raise UnsupportedNifti("truncated header")
    for endian in ("<", ">"):
        if struct.unpack(endian + "i", head[:4])[0] == 348:
            break
    else:
        raise UnsupportedNifti("not a NIfTI-1 header")  # NIfTI-2 (540) or not NIfTI at all

    def field(fmt: str, offset: int):
        return struct.unpack_from(endian + fmt, head, offset)

    header = {
        "endian": endian, "dims": field("8h", 40), "intent_code": field("h", 68)[0],
        "datatype": field("h", 70)[0], "pixdim": field("8f", 76), "vox_offset": int(field("f", 108)[0]),
        "scl_slope": field("f", 112)[0], "scl_inter": field("f", 116)[0], "xyzt_units": head[123],
        "qform_code": field("h", 252)[0], "sform_code": field("h", 254)[0], "quatern": field("3f", 256),
        "qoffset": field("3f", 268), "srow": (field("4f", 280), field("4f", 296), field("4f", 312)),
    }
    ndim = header["dims"][0]
    if head[344:348] != b"n+1\0":
        raise UnsupportedNifti("not a single-file NIfTI-1 (Analyze or .hdr/.img pair)")
    if not 1 <= ndim <= 4 or min(header["dims"][1:ndim + 1]) <= 0:
        raise UnsupportedNifti(f"dimensions {header['dims']}")
    if header["datatype"] not in _DTYPES:
        raise UnsupportedNifti(f"datatype {header['datatype']}")
    if header["intent_code"] in _VECTOR_INTENTS:
        raise UnsupportedNifti(f"intent {header['intent_code']}")
    header["vox_offset"] = max(header["vox_offset"], 348)
    return header
