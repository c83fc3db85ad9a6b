"""Reading the DICOM files to de-identify: tolerant of bytes after the pixel data, and the images
whose pixels likely carry burned-in text."""
from __future__ import annotations

import struct
import warnings
from io import BytesIO
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

# SOP classes whose pixels are often screenshots or photos with text in them
_LIKELY_BURNED_IN_SOP_PREFIXES = ("1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.77.1")
_LIKELY_BURNED_IN_MODALITIES = {"US", "IVUS", "ES", "XC", "GM", "SM", "OT", "DOC"}


def has_header(ds: Dataset) -> bool:
    return any(k in ds for k in ("SOPClassUID", "SOPInstanceUID", "PatientID", "StudyInstanceUID"))


def read_tolerant(src: str | Path) -> Dataset:
    """The dataset of a DICOM file, even when bytes follow its pixel data (a real GE series pads
    after it; zeros parse as group 0000 elements, which the profile drops, but other bytes can make
    the parser lose the whole dataset, so the file is then read again up to the pixel data's end)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(src, force=True)
        if has_header(ds):
            return ds
        data = Path(src).read_bytes()
        with open(src, "rb") as f:
            head = pydicom.dcmread(f, stop_before_pixels=True, force=True)
            at = f.tell()
        end = _pixel_data_end(data, at, head)
        if end is None:
            return head
        return pydicom.dcmread(BytesIO(data[:end]), force=True)


def _pixel_data_end(data: bytes, at: int, head: Dataset) -> int | None:
    """Where the element starting at `at` (Pixel Data) ends, or None when there is none."""
    little = getattr(head, "original_encoding", (False, True))[1] is not False
    order = "<" if little else ">"
    if len(data) < at + 8 or struct.unpack(order + "HH", data[at:at + 4]) != (0x7FE0, 0x0010):
        return None
    implicit = data[at + 4:at + 6] not in (b"OB", b"OW")
    length = struct.unpack(order + "I", data[at + 4:at + 8] if implicit else data[at + 8:at + 12])[0]
    start = at + (8 if implicit else 12)
    if length != 0xFFFFFFFF:
        return start + length
    close = data.find(b"\xfe\xff\xdd\xe0\x00\x00\x00\x00", start)  # sequence delimitation item
    return None if close < 0 else close + 8


def burned_in_status(ds: Dataset) -> str:
    """"yes" when the header declares burned-in annotation, "likely" for kinds of image that often
    carry it and do not say NO, else ""."""
    flag = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if flag == "YES":
        return "yes"
    if flag == "NO":
        return ""
    sop = str(ds.get("SOPClassUID", "") or "")
    modality = str(ds.get("Modality", "") or "").strip().upper()
    if modality in _LIKELY_BURNED_IN_MODALITIES or sop.startswith(_LIKELY_BURNED_IN_SOP_PREFIXES):
        return "likely"
    return ""
