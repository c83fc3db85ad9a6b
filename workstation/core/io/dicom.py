"""DICOM pixels into Volumes: single files (single- and multi-frame, classic and enhanced with
per-frame functional groups) and series of single-frame files sorted by the scanner.

Decoding is pydicom's (compressed syntaxes through pylibjpeg: RLE, JPEG baseline/extended/lossless,
JPEG-LS, JPEG 2000). Values get the modality rescale in the dtype rule of `workstation.core.volume`.
MONOCHROME1 images keep their stored values and set `Volume.invert` (see volume.py for why).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder

from workstation.core.io import checks
from workstation.core.io import dicom_pixels as px
from workstation.core.io.capture import capture
from workstation.core.io.dicom_geometry import stack_geometry
from workstation.core.io.dicom_headers import DicomHeader, read_dataset
from workstation.core.io.errors import ImageReadError, check_cancel
from workstation.core.io.limits import check_size
from workstation.core.volume import Volume

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000 and HTJ2K: codestreams that end with FFD9
_CODESTREAMS = {f"1.2.840.10008.1.2.4.{n}" for n in (50, 51, 57, 70, 80, 81, 90, 91, 201, 202, 203)}
# pydicom's words for pixel data longer than the header describes (native, then RLE segments)
_PADDING = re.compile(r"contains (\d+) bytes of excess padding|padding - (\d+) vs\. (\d+) bytes")

# Selected tags copied into Volume.metadata (strings or numbers only).
METADATA_TAGS = [
    "PatientID", "PatientName", "PatientSex", "PatientAge", "StudyInstanceUID", "StudyDate",
    "StudyDescription", "AccessionNumber", "SeriesNumber", "SeriesDescription", "Modality",
    "BodyPartExamined", "ViewPosition", "ImageLaterality", "Laterality", "Manufacturer",
    "ManufacturerModelName", "SliceThickness", "KVP", "RescaleType", "PhotometricInterpretation",
    "SOPClassUID", "FrameOfReferenceUID", "ProtocolName", "SeriesInstanceUID",
]


def open_dataset(path: Path) -> pydicom.Dataset:
    """Full dcmread with reader errors turned into one-line ImageReadErrors; a file that ends
    before its last element does (pydicom only warns) is refused."""
    try:
        with capture(native=False) as said:  # pydicom's parser is Python: only its warnings matter
            ds = read_dataset(path)
    except InvalidDicomError:
        raise ImageReadError(path, "not a DICOM file (no DICOM header or elements)") from None
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise ImageReadError(path, f"damaged DICOM file: {_first_sentence(exc)}") from None
    if any("End of file reached" in line for line in said.python):
        raise ImageReadError(path, "truncated DICOM file: it ends inside an element (the pixel data is incomplete)")
    _check_last_element(ds, path)
    return ds


def _check_last_element(ds, path: Path) -> None:
    """pydicom reads an element whose declared length runs past the end of the file as whatever
    bytes are left, without a word; the last element is the one a cut file ends in."""
    from pydicom.dataelem import RawDataElement

    keys = list(ds.keys())
    raw = ds.get_item(keys[-1]) if keys else None
    if isinstance(raw, RawDataElement) and raw.length != 0xFFFFFFFF and raw.value is not None \
            and len(raw.value) < raw.length:
        what = "pixel data" if raw.tag == 0x7FE00010 else "DICOM file"
        raise ImageReadError(path, f"truncated {what}: element {raw.tag} declares {raw.length:,} bytes, "
                                   f"the file holds {len(raw.value):,}")


def read_file(path: Path, progress=None, cancel=None) -> Volume:
    """One DICOM file: a 2D image, or a multi-frame stack (sorted along the normal when the frames
    carry positions)."""
    path = Path(path)
    ds = open_dataset(path)
    check_cancel(cancel)
    notes: list[str] = []
    fg = px.FrameGroups(ds)
    orientation = checks.orientation_cosines(path, fg.orientation())  # refused before decoding
    frames = _decode(ds, path, notes)  # (frames, rows, cols[, 3]) stored values
    n = frames.shape[0]
    positions = [checks.finite_position(path, p) for p in fg.positions(n, orientation)]
    spacing_x, spacing_y, spacing_warning = px.pixel_spacing(ds, fg, path)
    geo = stack_geometry(positions, orientation, fallback_spacing=px.slice_spacing_hint(ds, fg))
    slopes, intercepts = fg.rescale(n)
    if "ModalityLUTSequence" in ds and frames.ndim == 3 and slopes is None:
        frames = pydicom.pixels.apply_modality_lut(frames, ds)
        slopes, intercepts = [1.0] * n, [0.0] * n
    slopes = slopes or [1.0] * n
    intercepts = intercepts or [0.0] * n
    checks.finite_rescale(path, slopes, intercepts)
    out = px.rescale_stack(frames, geo.order, slopes, intercepts, header_bits(ds), cancel)
    if progress:
        progress(1.0, path.name)
    warnings = ([spacing_warning] if spacing_warning else []) + geo.warnings + notes
    origin = px.position_or_zero(ds) if any(p is None for p in positions) else geo.origin
    return _volume(ds, out, (spacing_x, spacing_y, geo.slice_spacing), origin, geo.direction,
                   [path], n, warnings, fg.window())


def read_series(headers: list[DicomHeader], progress=None, cancel=None, errors: list | None = None) -> Volume:
    """A series of single-frame files (one group from the scanner) as one volume.

    A slice that cannot be read is shown blank (the volume's minimum) so that the geometry stays
    right; it is named in the volume's warnings and, when given, appended to `errors`. Only when
    no slice at all can be read is the series an ImageReadError."""
    if len(headers) == 1:
        return read_file(headers[0].path, progress, cancel)
    first = headers[0]
    orientation = checks.orientation_cosines(first.path, first.orientation)  # the series shares it
    refused: list[ImageReadError] = []
    placed = []
    for h in headers:  # a slice that cannot be placed or scaled is left out, and reported
        try:
            checks.finite_position(h.path, h.position)
            checks.finite_rescale(h.path, [h.slope], [h.intercept])
            placed.append(h)
        except ImageReadError as exc:
            refused.append(exc)
    if not placed:
        if errors is not None:
            errors.extend(refused[1:])
        raise refused[0]
    if refused:
        if errors is not None:
            errors.extend(refused)
        if len(placed) == 1:
            volume = read_file(placed[0].path, progress, cancel)
            volume.warnings.extend(f"slice left out of the series: {exc}" for exc in refused)
            return volume
        headers = placed
        first = headers[0]
    check_size(Path(first.path).parent, (len(headers), first.rows, first.columns, first.samples), "series")
    geo = stack_geometry([h.position for h in headers], orientation,
                         tiebreak=[h.instance for h in headers])
    ordered = [headers[k] for k in geo.order]
    n = len(ordered)
    slopes = [h.slope for h in ordered]
    intercepts = [h.intercept for h in ordered]
    out = None
    ds0 = None
    failed: list[tuple[int, ImageReadError]] = []
    notes: list[str] = []
    for k, h in enumerate(ordered):
        check_cancel(cancel)
        try:
            ds = open_dataset(h.path)
            pixels = _decode(ds, h.path, notes, limit=h.frames > 1)
            if pixels.shape[0] != 1:
                raise ImageReadError(h.path, f"has {pixels.shape[0]} frames inside a single-frame series")
            if out is None:
                ds0 = ds
                dtype = px.rescaled_dtype(pixels.dtype, header_bits(ds), slopes, intercepts, sample=pixels)
                out = np.empty((n,) + pixels.shape[1:], dtype=dtype)
            elif pixels.shape[1:] != out.shape[1:]:
                raise ImageReadError(h.path, f"slice size {pixels.shape[1:]} differs from the series' {out.shape[1:]}")
        except ImageReadError as exc:
            failed.append((k, exc))
            continue
        out = px.rescale_into(out, k, pixels[0], slopes[k], intercepts[k])
        if progress:
            progress((k + 1) / n, h.path.name)
    if out is None:  # nothing readable: one error per file when the caller collects them
        if errors is not None or len(failed) == 1:
            (errors if errors is not None else []).extend(exc for _, exc in failed[1:])
            raise failed[0][1]
        raise ImageReadError(failed[0][1].path, f"{failed[0][1].reason} (and all {n - 1} other slices of its series)")
    if failed:
        good = np.ones(n, dtype=bool)
        good[[k for k, _ in failed]] = False
        blank = out[good].min()
        for k, exc in failed:
            out[k] = blank
        if errors is not None:
            errors.extend(exc for _, exc in failed)
    del ds0.PixelData  # keep the header only
    fg = px.FrameGroups(ds0)
    spacing_x, spacing_y, spacing_warning = px.pixel_spacing(ds0, fg, ordered[0].path)
    warnings = ([spacing_warning] if spacing_warning else []) + geo.warnings + list(dict.fromkeys(notes))
    warnings += [f"slice {k + 1} of {n} unreadable, shown blank: {exc}" for k, exc in failed]
    warnings += [f"slice left out of the series: {exc}" for exc in refused]
    return _volume(ds0, out, (spacing_x, spacing_y, geo.slice_spacing), geo.origin, geo.direction,
                   [h.path for h in ordered], n, warnings, fg.window())


def header_bits(ds) -> tuple[int, bool]:
    return (int(ds.get("BitsStored", 0) or 0), int(ds.get("PixelRepresentation", 0) or 0) == 1)


def _decode(ds: pydicom.Dataset, path: Path, notes: list[str] | None = None, limit: bool = True) -> np.ndarray:
    """Stored values, (frames, rows, cols[, samples]). What the decoder says about lost data
    refuses the file; its other messages are appended to `notes`."""
    if not any(k in ds for k in PIXEL_KEYWORDS):
        if len(ds) == 0:
            raise ImageReadError(path, "damaged DICOM file: no data elements could be parsed (truncated?)")
        what = getattr(ds.get("SOPClassUID"), "name", "") or "unknown SOP class"
        if "Rows" in ds:
            raise ImageReadError(path, f"DICOM without pixel data ({what}: the image element is missing)")
        raise ImageReadError(path, f"DICOM without pixel data ({what})")
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax is not None and not syntax.is_transfer_syntax:
        raise ImageReadError(path, f"unsupported compression: unknown transfer syntax {syntax}")
    if syntax is not None and syntax.is_compressed:
        try:
            decoder = get_decoder(syntax)
        except NotImplementedError:
            raise ImageReadError(path, f"unsupported compression: {syntax.name or syntax} (no decoder exists)") from None
        if not decoder.is_available:
            raise ImageReadError(path, f"unsupported compression: {syntax.name} (decoder not installed)")
    plain = px.is_plain(ds)  # viewed straight from the file's bytes: no decoder runs, nothing to hear
    if limit or not plain:
        rows, columns, samples, frames = (_header_int(ds, k, d) for k, d in
                                          (("Rows", 0), ("Columns", 0), ("SamplesPerPixel", 1), ("NumberOfFrames", 1)))
    if limit:  # a series checks its whole size once, before its first slice
        check_size(path, (frames, rows, columns) + ((samples,) if samples > 1 else ()))
    said = None
    try:
        if plain:
            arr = px.stored_pixels(ds, check_length=True)
        else:
            if syntax is not None and str(syntax) in _CODESTREAMS:
                _check_codestreams(ds, path, frames)
            row_bytes = columns * samples * max(_header_int(ds, "BitsAllocated", 8) // 8, 1)
            with capture() as said:
                arr = px.stored_pixels(ds)
    except ImageReadError:
        raise
    except Exception as exc:  # decoders raise many types; the message is what matters
        raise ImageReadError(path, f"cannot decode pixel data: {_first_sentence(exc)}") from None
    if said is not None:
        _check_said(said, path, row_bytes, columns)
        if notes is not None:
            notes.extend(f"decoder: {line}" for line in said.notes() if not _PADDING.search(line))
    frames, samples = _header_int(ds, "NumberOfFrames", 1), _header_int(ds, "SamplesPerPixel", 1)
    if frames == 1 and arr.ndim == (2 if samples == 1 else 3):
        arr = arr[np.newaxis]
    if str(ds.get("PhotometricInterpretation", "")) == "PALETTE COLOR":
        arr = pydicom.pixels.apply_color_lut(arr, ds)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if not arr.dtype.isnative:  # big-endian files: viewers and models want native order
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _check_codestreams(ds, path: Path, frames: int) -> None:
    """Every JPEG, JPEG-LS and JPEG 2000 frame ends with its end-of-image marker (FFD9; pads of
    00 or FF may follow): a frame cut short decodes without a word from libjpeg or CharLS."""
    from pydicom.encaps import generate_frames

    try:
        for index, frame in enumerate(generate_frames(ds.PixelData, number_of_frames=frames)):
            if not frame.rstrip(b"\x00\xff").endswith(b"\xff\xd9") and not frame.endswith(b"\xff\xd9"):
                where = f"frame {index + 1} of {frames}" if frames > 1 else "the image"
                raise ImageReadError(path, f"truncated compressed pixel data: {where} has no end-of-image marker")
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken fragment structure
        raise ImageReadError(path, f"damaged compressed pixel data: {_first_sentence(exc)}") from None


def _check_said(said, path: Path, row_bytes: int, columns: int) -> None:
    damage = said.damage()
    if damage:
        raise ImageReadError(path, f"damaged pixel data: the decoder reports: {damage[:200]}")
    for line in said.python:
        match = _PADDING.search(line)
        if not match:
            continue
        excess = int(match.group(1)) if match.group(1) else int(match.group(2)) - int(match.group(3))
        allowed = row_bytes if match.group(1) else columns  # an RLE segment holds one byte per pixel
        if excess > allowed:
            raise ImageReadError(path, f"pixel data holds {excess} bytes more than Rows x Columns describe "
                                       f"(damaged Rows or Columns?)")


def _header_int(ds, keyword: str, default: int) -> int:
    try:
        return int(ds.get(keyword, default) or default)
    except (TypeError, ValueError):
        return default


def _volume(ds, array, spacing, origin, direction, sources, frames, warnings, window) -> Volume:
    checks.geometry(sources[0] if sources else "", spacing, origin, direction)
    if array.ndim == 3 and array.dtype.kind == "f":
        bad = array.size - int(np.count_nonzero(np.isfinite(array)))
        if bad:
            warnings.append(f"{bad} voxel(s) are NaN or infinite")
    photometric = str(ds.get("PhotometricInterpretation", ""))
    return Volume(
        array=array,
        spacing=spacing,
        origin=origin,
        direction=direction,
        modality=str(ds.get("Modality", "") or ""),
        metadata=_metadata(ds),
        sources=list(sources),
        window=window,
        series_uid=str(ds.get("SeriesInstanceUID", "") or ""),
        description=str(ds.get("SeriesDescription", "") or ds.get("StudyDescription", "") or ""),
        frames=frames,
        warnings=warnings,
        invert=photometric == "MONOCHROME1",
    )


def _metadata(ds) -> dict:
    out = {}
    for kw in METADATA_TAGS:
        value = ds.get(kw)
        if value in (None, ""):
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[kw] = float(value) if isinstance(value, float) else int(value)
        else:
            out[kw] = str(value)
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax:
        out["TransferSyntaxUID"] = str(syntax)
    return out


def _first_sentence(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.replace("Unable to decode as exceptions were raised by all available plugins: ", "")
    cut = text.find(" - ")
    return text[:cut] if 0 < cut < 200 else text[:300]


__all__ = ["read_file", "read_series", "open_dataset"]
