"""What a file is, from its first bytes (magic numbers), not its name: for callers that must decide
whether a reader would take a file (`project add`), and for the readers to tell a file that is not
what its name says.

    sniff(path) -> "dicom" | "nifti" | "nifti-gz" | "gzip" | "nrrd" | "metaimage" | "png" | "jpeg"
                   | "tiff" | "bmp" | None
    is_image_file(path) -> bool     # a format the readers know (DICOM without the 128-byte
                                    # preamble is recognised by its first elements)
Both raise OSError when the file cannot be opened (permission denied, a dangling link, a loop).
"""
from __future__ import annotations

import gzip
import struct
import zlib

IMAGE_FORMATS = ("dicom", "nifti", "nifti-gz", "nrrd", "metaimage", "png", "jpeg", "tiff", "bmp")
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
          (b"II+\x00", "tiff"), (b"MM\x00+", "tiff"), (b"NRRD000", "nrrd"))
_META_KEYS = (b"objecttype", b"ndims", b"dimsize", b"elementtype", b"elementdatafile")


def sniff(path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(1024)
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if _is_nifti(head):
        return "nifti"
    if head.startswith(b"\x1f\x8b"):
        return "nifti-gz" if _is_nifti(_gunzip_head(path)) else "gzip"
    if head.startswith(b"BM") and len(head) >= 26 and struct.unpack_from("<I", head, 2)[0] >= 26:
        return "bmp"
    if _is_metaimage(head):
        return "metaimage"
    if _is_raw_dicom(head):
        return "dicom"
    return None


def is_image_file(path) -> bool:
    return sniff(path) in IMAGE_FORMATS


def _is_nifti(head: bytes) -> bool:
    if len(head) >= 348 and head[344:348] in (b"n+1\x00", b"ni1\x00"):
        return struct.unpack("<i", head[:4])[0] == 348 or struct.unpack(">i", head[:4])[0] == 348
    return len(head) >= 540 and head[4:8] in (b"n+2\x00", b"ni2\x00")


def _gunzip_head(path) -> bytes:
    try:
        with gzip.open(path, "rb") as f:
            return f.read(540)
    except (EOFError, OSError, zlib.error):
        return b""


def _is_metaimage(head: bytes) -> bool:
    lines = [line.split(b"=", 1)[0].strip().lower() for line in head.splitlines()[:40] if b"=" in line]
    return sum(key in _META_KEYS for key in lines) >= 2


def _is_raw_dicom(head: bytes) -> bool:
    """A DICOM stream without preamble (old ACR-NEMA style): it opens with a group 0002 or 0008
    element, little endian, implicit or explicit VR."""
    if len(head) < 8:
        return False
    group, element = struct.unpack_from("<HH", head, 0)
    if group not in (0x0002, 0x0008) or element > 0x0100:
        return False
    vr = head[4:6]
    if vr.isalpha() and vr.isupper():
        return True  # explicit VR
    length = struct.unpack_from("<I", head, 4)[0]
    return 0 < length < 1024  # implicit VR: a plausible first length
