"""Fast header-only reading of DICOM files, and grouping of files into series.

Only the handful of tags needed to group and sort is parsed (pydicom `specific_tags`, stopping before
the pixel data), so listing a folder of thousands of files costs about one small read per file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


DICOM_SUFFIXES = {".dcm", ".dicom", ".dic", ".ima", ".dc3", ""}

HEADER_TAGS = [
    "SOPClassUID", "SeriesInstanceUID", "Modality", "Rows", "Columns", "NumberOfFrames", "SamplesPerPixel",
    "ImagePositionPatient", "ImageOrientationPatient", "InstanceNumber", "SeriesDescription",
    "RescaleSlope", "RescaleIntercept", "BitsAllocated", "BitsStored", "PixelRepresentation",
    "PhotometricInterpretation",
]


@dataclass
class DicomHeader:
    path: Path
    series_uid: str
    sop_class: str
    modality: str
    rows: int
    columns: int
    frames: int
    samples: int
    position: tuple[float, ...] | None  # 3 numbers when valid; damaged values are kept (NaN, wrong count)
    orientation: tuple[float, ...] | None
    instance: int
    description: str
    slope: float
    intercept: float
    bits_stored: int
    photometric: str

    @property
    def is_image(self) -> bool:
        return self.rows > 0 and self.columns > 0

    def series_key(self) -> tuple:
        """Files with the same key stack into one volume: same series, plane and image size."""
        plane = tuple(round(v, 3) for v in self.orientation) if self.orientation else None
        return (self.series_uid, plane, self.rows, self.columns, self.samples)


def looks_like_dicom(path: Path) -> bool:
    """True when the file has the 'DICM' magic at byte 128 (cheap; no parsing)."""
    try:
        with open(path, "rb") as f:
            f.seek(128)
            return f.read(4) == b"DICM"
    except OSError:
        return False


def read_dataset(path: Path, **kwargs) -> pydicom.Dataset:
    """dcmread that also accepts files without the DICOM preamble (old ACR-NEMA-style exports) when
    they parse to something with DICOM image or instance tags; raises InvalidDicomError otherwise."""
    import pydicom  # here, not at import: reading a NIfTI should not pay pydicom's import time
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path, **kwargs)
    except InvalidDicomError:
        ds = pydicom.dcmread(path, force=True, **kwargs)
        if not any(k in ds for k in ("SOPClassUID", "Rows", "SOPInstanceUID", "StudyInstanceUID")):
            raise InvalidDicomError("not a DICOM file") from None
        if "TransferSyntaxUID" not in ds.file_meta:
            ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
        return ds


def read_header(path: Path) -> DicomHeader:
    """Header of one file; raises InvalidDicomError (not DICOM) or another exception (damaged)."""
    ds = read_dataset(path, stop_before_pixels=True, specific_tags=HEADER_TAGS)
    return header_from_dataset(ds, path)


# (tag, value kind) of HEADER_TAGS, for parsing the raw bytes without pydicom's per-element
# conversion machinery, which costs more than reading the file when listing big folders.
_RAW_KINDS = {
    0x00080016: "str", 0x0020000E: "str", 0x00080060: "str", 0x00280004: "str",
    0x00280010: "us", 0x00280011: "us", 0x00280002: "us", 0x00280101: "us",
    0x00280008: "num", 0x00200013: "num", 0x00281053: "num", 0x00281052: "num",
    0x00200032: "nums", 0x00200037: "nums",
}
_KEYWORDS = {
    0x00080016: "SOPClassUID", 0x0020000E: "SeriesInstanceUID", 0x00080060: "Modality",
    0x00280004: "PhotometricInterpretation", 0x00280010: "Rows", 0x00280011: "Columns",
    0x00280002: "SamplesPerPixel", 0x00280101: "BitsStored", 0x00280008: "NumberOfFrames",
    0x00200013: "InstanceNumber", 0x00281053: "RescaleSlope", 0x00281052: "RescaleIntercept",
    0x00200032: "ImagePositionPatient", 0x00200037: "ImageOrientationPatient",
}


def _fast_values(ds: pydicom.Dataset) -> dict:
    out = {}
    for tag, kind in _RAW_KINDS.items():
        elem = ds.get_item(tag)
        if elem is None:
            continue
        value = elem.value
        if not isinstance(value, (bytes, bytearray)):  # already converted
            out[_KEYWORDS[tag]] = value
            continue
        if not value:
            continue
        if kind == "us":
            if len(value) >= 2:
                out[_KEYWORDS[tag]] = int.from_bytes(value[:2], "little" if elem.is_little_endian else "big")
            continue
        text = value.decode("latin-1").strip(" \x00")
        if kind == "str":
            out[_KEYWORDS[tag]] = text
        elif kind == "nums":
            out[_KEYWORDS[tag]] = text.split("\\")
        else:
            out[_KEYWORDS[tag]] = text.split("\\")[0]
    return out


def header_from_dataset(ds: pydicom.Dataset, path: Path) -> DicomHeader:
    values = _fast_values(ds)
    get = values.get
    position = _floats(get("ImagePositionPatient"), 3)
    orientation = _floats(get("ImageOrientationPatient"), 6)
    return DicomHeader(
        path=Path(path),
        series_uid=str(get("SeriesInstanceUID", "") or ""),
        sop_class=str(get("SOPClassUID", "") or ""),
        modality=str(get("Modality", "") or ""),
        rows=int(get("Rows", 0) or 0),
        columns=int(get("Columns", 0) or 0),
        frames=_int(get("NumberOfFrames"), 1),
        samples=_int(get("SamplesPerPixel"), 1),
        position=position,
        orientation=orientation,
        instance=_int(get("InstanceNumber"), 0),
        description=str(ds.get("SeriesDescription", "") or ""),
        slope=_float(get("RescaleSlope"), 1.0),
        intercept=_float(get("RescaleIntercept"), 0.0),
        bits_stored=_int(get("BitsStored"), 0),
        photometric=str(get("PhotometricInterpretation", "") or ""),
    )


def group_series(headers: list[DicomHeader]) -> list[list[DicomHeader]]:
    """Single-frame image files grouped into series (first-seen order); each multi-frame file is a
    group of its own. Non-image objects (SR, RT plans, ...) must be filtered out before."""
    groups: dict[tuple, list[DicomHeader]] = {}
    singles: list[list[DicomHeader]] = []
    order: list[object] = []
    for h in headers:
        if h.frames > 1 or not h.series_uid:
            singles.append([h])
            order.append(singles[-1])
            continue
        key = h.series_key()
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(h)
    return [groups[k] if isinstance(k, tuple) else k for k in order]


def _floats(value, n: int):
    """The numbers of a multi-valued tag; None when absent. A value that is present but damaged is
    kept as such (NaN for what does not parse, and its own count), so the reader can refuse it."""
    if value is None or (isinstance(value, (list, tuple)) and not value) or value == "":
        return None
    if isinstance(value, (str, bytes)):
        value = [value]
    return tuple(_float(v, float("nan")) for v in value)


def _float(value, default: float) -> float:
    """A number; `default` when absent, NaN when present but not a number."""
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _int(value, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default
