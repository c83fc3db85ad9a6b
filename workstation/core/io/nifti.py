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
import zlib
from pathlib import Path

import numpy as np

_DTYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4", 1024: "i8", 1280: "u8"}
_VECTOR_INTENTS = (1004, 1005, 1006, 1007)  # GENMATRIX, SYMMATRIX, DISPVECT, VECTOR


class UnsupportedNifti(Exception):
    """Let SimpleITK read this file (a layout this module does not handle: RGB, complex, 5D+)."""


class DamagedNifti(Exception):
    """The file is not a usable image (truncated, not what its name says, impossible geometry);
    nobody should read it. The text is the reason."""


_COMPONENTS = {32: 2, 128: 3, 1792: 2, 2048: 2, 2304: 4}  # complex64, RGB24, complex128/256, RGBA32
_TRAILING_SLACK = 1 << 20  # bytes a gzip stream may hold after the voxels before it looks like a bomb


def read_header(path: Path) -> dict:
    """The header fields that decide the voxel layout and the geometry, after the damage checks
    (`DamagedNifti`). Raises UnsupportedNifti for anything but a plain single-file NIfTI-1 of up
    to 4 dimensions with scalar voxels. header["warnings"] lists what was repaired."""
    header = parse_header(read_head(path))
    header["warnings"] = check_damage(header)
    supported(header)
    return header


def read_head(path: Path, size: int = 348) -> bytes:
    """The first `size` bytes (decompressed for .gz). A name ending in .gz must hold gzip data."""
    path = Path(path)
    if path.name.lower().endswith(".gz"):
        with open(path, "rb") as f:
            if f.read(2) != b"\x1f\x8b":
                raise DamagedNifti("named .gz but not gzip-compressed")
    try:
        with _open(path) as f:
            head = f.read(size)
    except (EOFError, OSError, ValueError, zlib.error) as exc:  # isal raises its own error types
        raise DamagedNifti(f"damaged gzip stream: {_one_line(exc)}") from None
    if len(head) < 348:
        raise DamagedNifti(f"truncated: {len(head)} bytes, less than a NIfTI header (348)")
    return head


def read_voxels(path: Path, header: dict) -> tuple[np.ndarray, tuple[float, float]]:
    """The stored voxels in [t,] k, j, i order (native byte order) and (scl_slope, scl_inter),
    with slope 1 and intercept 0 when the header sets no scaling. A gzip stream is read to its
    end, so that its length and CRC are checked."""
    ndim = header["dims"][0]
    shape = tuple(int(d) for d in header["dims"][1:ndim + 1])
    dtype = np.dtype(header["endian"] + _DTYPES[header["datatype"]])
    array = np.empty(shape[::-1], dtype=dtype)  # NIfTI stores i fastest: C order is [.., k, j, i]
    try:
        with _open(path) as f:
            f.seek(header["vox_offset"])
            got = f.readinto(memoryview(array).cast("B"))
            if got != array.nbytes:
                raise DamagedNifti(_short(header["vox_offset"] + got, header["vox_offset"] + array.nbytes))
            if Path(path).name.lower().endswith(".gz"):
                _drain(f, max(_TRAILING_SLACK, array.nbytes))
    except DamagedNifti:
        raise
    except EOFError:
        raise DamagedNifti("truncated gzip stream: it ends before its end-of-stream marker") from None
    except (OSError, ValueError, zlib.error) as exc:
        raise DamagedNifti(f"damaged gzip stream: {_one_line(exc)}") from None
    if not dtype.isnative:
        array = array.byteswap().view(dtype.newbyteorder("="))
    slope, inter = header["scl_slope"], header["scl_inter"]
    if not np.isfinite(slope) or slope == 0:
        slope, inter = 1.0, 0.0
    return array, (float(slope), float(inter) if np.isfinite(inter) else 0.0)


def verify_complete(path: Path) -> None:
    """For files left to SimpleITK (whose NIfTI library zero-fills what is missing): the whole
    file is there (every byte the header describes; for .gz, a complete stream with a good CRC).
    NIfTI-1 and NIfTI-2 single files; anything else is left to SimpleITK's own checks."""
    head = read_head(path, 540)
    need = _described_bytes(head)
    if need is None:
        return
    if not Path(path).name.lower().endswith(".gz"):
        have = Path(path).stat().st_size
    else:
        try:
            with _open(path) as f:
                have = _drain(f, need + _TRAILING_SLACK)
        except EOFError:
            raise DamagedNifti("truncated gzip stream: it ends before its end-of-stream marker") from None
        except (OSError, ValueError, zlib.error) as exc:
            raise DamagedNifti(f"damaged gzip stream: {_one_line(exc)}") from None
    if have < need:
        raise DamagedNifti(_short(have, need))


def _described_bytes(head: bytes) -> int | None:
    for endian in ("<", ">"):
        size = struct.unpack(endian + "i", head[:4])[0]
        if size == 348 and head[344:348] == b"n+1\0":
            dims, bitpix = struct.unpack_from(endian + "8h", head, 40), struct.unpack_from(endian + "h", head, 72)[0]
            raw_offset = struct.unpack_from(endian + "f", head, 108)[0]
            offset = int(raw_offset) if np.isfinite(raw_offset) else 352
            break
        if size == 540 and len(head) >= 540 and head[4:8] == b"n+2\0":
            dims, bitpix = struct.unpack_from(endian + "8q", head, 16), struct.unpack_from(endian + "h", head, 14)[0]
            offset = struct.unpack_from(endian + "q", head, 168)[0]
            break
    else:
        return None
    ndim = dims[0]
    if not 1 <= ndim <= 7 or min(dims[1:ndim + 1]) <= 0 or bitpix <= 0:
        raise DamagedNifti(f"impossible dimensions {list(dims[:ndim + 1])} or bits per voxel {bitpix}")
    return max(int(offset), 348) + int(np.prod([int(d) for d in dims[1:ndim + 1]], dtype=object)) * bitpix // 8


def _drain(f, limit: int) -> int:
    """Reads a stream to its end (which checks a gzip trailer) and returns the bytes read after the
    current position; more than `limit` refuses the file."""
    total = 0
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            return total
        total += len(chunk)
        if total > limit:
            raise DamagedNifti("the gzip stream holds far more data than its header describes (a decompression bomb?)")


def _short(have: int, need: int) -> str:
    return f"truncated: the header describes {need:,} bytes, the file holds {have:,} ({100 * have / need:.1f} %)"


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]


def check_damage(header: dict) -> list[str]:
    """Refuses impossible geometry (DamagedNifti); returns warnings for what is repaired."""
    dims, pixdim = header["dims"], header["pixdim"]
    ndim = dims[0]
    if not 1 <= ndim <= 7:
        raise DamagedNifti(f"dim[0] = {ndim}: not a number of dimensions (1 to 7)")
    if min(dims[1:ndim + 1]) <= 0:
        raise DamagedNifti(f"dimensions {list(dims[1:ndim + 1])} include zero or a negative size")
    used = list(pixdim[1:ndim + 1])
    if not all(np.isfinite(used)) or (header["qform_code"] > 0 and not np.isfinite(pixdim[0])):
        raise DamagedNifti(f"pixdim is not finite ({_show(pixdim[:ndim + 1])})")
    if min(used) < 0:
        raise DamagedNifti(f"pixdim is negative ({_show(pixdim[1:ndim + 1])}): voxel sizes must be positive")
    if min(used[:3]) == 0:
        raise DamagedNifti(f"pixdim is zero ({_show(pixdim[1:ndim + 1])}): voxel sizes must be positive")
    offset = header["vox_offset_raw"]
    if not np.isfinite(offset) or offset < 0:
        raise DamagedNifti(f"vox_offset is {offset}: not where voxel data can start")
    warnings: list[str] = []
    if header["qform_code"] > 0:
        quatern, qoffset = header["quatern"], header["qoffset"]
        if not all(np.isfinite(quatern)) or not all(np.isfinite(qoffset)):
            raise DamagedNifti(f"qform is not finite (quaternion {_show(quatern)}, offset {_show(qoffset)})")
        norm = float(sum(v * v for v in quatern))
        if norm > 1.001:  # b^2 + c^2 + d^2 is 1 - a^2; float32 rounding stays far below this
            raise DamagedNifti(f"invalid qform quaternion: b2 + c2 + d2 = {norm:.4g} is over 1")
    if header["sform_code"] > 0:
        srow = np.asarray(header["srow"], dtype=float)
        if not np.all(np.isfinite(srow)):
            raise DamagedNifti("sform is not finite (NaN or infinite in srow_x/y/z)")
        singular = np.linalg.svd(srow[:, :3], compute_uv=False)
        if singular[0] == 0 or singular[-1] / singular[0] < 1e-6:
            raise DamagedNifti("sform is degenerate (its 3 x 3 part is singular)")
    header["components"] = _COMPONENTS.get(header["datatype"], 1)
    return warnings


def _show(values) -> str:
    return " ".join(f"{float(v):.6g}" for v in values)


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
        if head[344:348] in (b"n+1\0", b"ni1\0"):  # NIfTI-1 by its magic, with another header size
            raise DamagedNifti(f"sizeof_hdr is {struct.unpack('<i', head[:4])[0]}, not 348, in a NIfTI-1 header")
        raise UnsupportedNifti("not a NIfTI-1 header")  # NIfTI-2 (540) or not NIfTI at all

    def field(fmt: str, offset: int):
        return struct.unpack_from(endian + fmt, head, offset)

    header = {
        "endian": endian, "dims": field("8h", 40), "intent_code": field("h", 68)[0],
        "datatype": field("h", 70)[0], "pixdim": field("8f", 76), "vox_offset_raw": field("f", 108)[0],
        "scl_slope": field("f", 112)[0], "scl_inter": field("f", 116)[0], "xyzt_units": head[123],
        "qform_code": field("h", 252)[0], "sform_code": field("h", 254)[0], "quatern": field("3f", 256),
        "qoffset": field("3f", 268), "srow": (field("4f", 280), field("4f", 296), field("4f", 312)),
    }
    if head[344:348] != b"n+1\0":
        raise UnsupportedNifti("not a single-file NIfTI-1 (Analyze or .hdr/.img pair)")
    return header


def supported(header: dict) -> None:
    """Raises UnsupportedNifti for layouts this module leaves to SimpleITK."""
    ndim = header["dims"][0]
    if not 1 <= ndim <= 4 or min(header["dims"][1:ndim + 1]) <= 0:
        raise UnsupportedNifti(f"dimensions {header['dims']}")
    if header["datatype"] not in _DTYPES:
        raise UnsupportedNifti(f"datatype {header['datatype']}")
    if header["intent_code"] in _VECTOR_INTENTS:
        raise UnsupportedNifti(f"intent {header['intent_code']}")
    if not np.isfinite(header["vox_offset_raw"]):
        raise UnsupportedNifti("vox_offset is not a number")
    header["vox_offset"] = max(int(header["vox_offset_raw"]), 348)
