"""Metadata out of non-DICOM images, pixels untouched: JPEG APPn and COM segments, PNG text, time
and EXIF chunks, NIfTI `descrip`, `aux_file`, `intent_name`, the unused text fields and every
header extension; TIFF, MetaImage, NRRD and BMP are written anew from their pixels without any
metadata field (TIFF: structural tags only). JPEG, PNG and NIfTI are edited byte by byte (the
image data is copied, never decoded and re-encoded). Text burned into the pixels is not looked
for here."""
from __future__ import annotations

import gzip
import shutil
import struct
import zlib
from collections import Counter
from pathlib import Path

# PNG chunks that describe how to draw the pixels and carry no free text; every other chunk
# (tEXt, zTXt, iTXt, tIME, eXIf, iCCP with its profile name, private chunks) is dropped
_PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD",
             b"pHYs", b"acTL", b"fcTL", b"fdAT"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# NIfTI text fields: (offset, length) in the NIfTI-1 (348-byte) and NIfTI-2 (540-byte) headers
_NIFTI1_TEXT = {"data_type": (4, 10), "db_name": (14, 18), "descrip": (148, 80), "aux_file": (228, 24),
                "intent_name": (328, 16)}
_NIFTI2_TEXT = {"descrip": (240, 80), "aux_file": (320, 24), "intent_name": (508, 16)}
# written anew by ITK from the pixels with every metadata field erased (TIFF: structural tags only)
ITK_REWRITTEN = {".mha": ".mha", ".mhd": ".mha", ".nrrd": ".nrrd", ".nhdr": ".nrrd", ".bmp": ".bmp",
                 ".tif": ".tif", ".tiff": ".tiff"}
SUPPORTED = (".jpg", ".jpeg", ".png", ".nii", ".nii.gz", *ITK_REWRITTEN)


class MetadataError(ValueError):
    """A file whose structure cannot be followed, so its metadata cannot be removed safely."""


def out_suffix(suffix: str) -> str:
    """The suffix of the cleaned copy (detached headers become single files)."""
    return ITK_REWRITTEN.get(suffix, suffix)


def without_detached_data(files: list[Path]) -> list[Path]:
    """`files` less the voxel files of detached MetaImage / NRRD headers among them (the header
    is rewritten as one file with its voxels)."""
    data = set()
    for f in files:
        if f.suffix.lower() in (".mhd", ".nhdr"):
            key = "ElementDataFile" if f.suffix.lower() == ".mhd" else "data file"
            try:
                lines = f.read_text(errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                name, _, value = line.partition("=" if key == "ElementDataFile" else ":")
                if name.strip().lower() == key.lower() and value.strip():
                    data.add((f.parent / value.strip()).resolve())
    return [f for f in files if f.resolve() not in data]


def strip_metadata(src: Path, dst: Path, suffix: str) -> Counter:
    """Write `src` to `dst` without its metadata; returns what was removed ({"APP1": 1, ...})."""
    if suffix in (".jpg", ".jpeg"):
        return _jpeg(src.read_bytes(), dst)
    if suffix == ".png":
        return _png(src.read_bytes(), dst)
    if suffix in (".nii", ".nii.gz"):
        return _nifti(src, dst, suffix == ".nii.gz")
    if suffix in ITK_REWRITTEN:
        return _itk(src, dst)
    raise MetadataError(f"{src.name}: no way to remove the metadata of a {suffix or 'suffix-less'} file")


def _jpeg(data: bytes, dst: Path) -> Counter:
    removed: Counter = Counter()
    if data[:2] != b"\xff\xd8":
        raise MetadataError("not a JPEG file (no SOI marker)")
    out, i, n = bytearray(b"\xff\xd8"), 2, len(data)
    while i < n:
        if data[i] != 0xFF:
            raise MetadataError(f"JPEG structure broken at byte {i}")
        marker = data[i + 1] if i + 1 < n else 0
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:  # EOI
            out += b"\xff\xd9"
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[i:i + 2]
            i += 2
            continue
        if i + 4 > n:
            raise MetadataError("JPEG cut inside a segment header")
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        end = i + 2 + length
        if length < 2 or end > n:
            raise MetadataError("JPEG segment runs past the end of the file")
        segment = data[i:end]
        adobe = marker == 0xEE and segment[4:9] == b"Adobe" and length == 14  # colour transform flag only
        if (0xE0 <= marker <= 0xEF and not adobe) or marker == 0xFE:
            removed["COM" if marker == 0xFE else f"APP{marker - 0xE0}"] += 1
        else:
            out += segment
        i = end
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            j = i
            while True:
                j = data.find(b"\xff", j)
                if j < 0 or j + 1 >= n:
                    raise MetadataError("JPEG scan data has no end")
                nxt = data[j + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    j += 1 if nxt == 0xFF else 2
                    continue
                break
            out += data[i:j]
            i = j
    else:
        raise MetadataError("JPEG has no end-of-image marker")
    dst.write_bytes(bytes(out))
    return removed


def _png(data: bytes, dst: Path) -> Counter:
    removed: Counter = Counter()
    if not data.startswith(_PNG_SIGNATURE):
        raise MetadataError("not a PNG file (bad signature)")
    out, i = bytearray(_PNG_SIGNATURE), len(_PNG_SIGNATURE)
    while True:
        if i + 12 > len(data):
            raise MetadataError("PNG cut before its IEND chunk")
        length = struct.unpack(">I", data[i:i + 4])[0]
        kind = data[i + 4:i + 8]
        end = i + 12 + length
        if end > len(data):
            raise MetadataError(f"PNG chunk {kind!r} runs past the end of the file")
        if kind in _PNG_KEEP:
            out += data[i:end]
        else:
            removed[kind.decode("latin-1")] += 1
        i = end
        if kind == b"IEND":
            break
    dst.write_bytes(bytes(out))
    return removed


def _nifti(src: Path, dst: Path, compressed: bool) -> Counter:
    opener = gzip.open if compressed else open
    try:
        with opener(src, "rb") as f:
            head = f.read(540)
            if len(head) < 348:
                raise MetadataError("NIfTI header is cut short")
            little = struct.unpack("<i", head[:4])[0] in (348, 540)
            end = "<" if little else ">"
            size = struct.unpack(end + "i", head[:4])[0]
            if size == 348:
                fields, vox_at, vox_fmt, header = _NIFTI1_TEXT, 108, "f", 348
            elif size == 540:
                fields, vox_at, vox_fmt, header = _NIFTI2_TEXT, 168, "q", 540
            else:
                raise MetadataError("not a NIfTI header (sizeof_hdr is neither 348 nor 540)")
            vox_offset = int(struct.unpack(end + vox_fmt, head[vox_at:vox_at + struct.calcsize(vox_fmt)])[0])
            rest = f.read(max(vox_offset - len(head), 0)) if vox_offset > len(head) else b""
            block = bytearray(head + rest)
            removed: Counter = Counter()
            for name, (offset, length) in fields.items():
                if any(block[offset:offset + length]):
                    removed[name] += 1
                    block[offset:offset + length] = bytes(length)
            if len(block) >= header + 4 and block[header] != 0:
                removed["extensions"] += 1
                block[header:max(vox_offset, header + 4)] = bytes(max(vox_offset, header + 4) - header)
            with open(dst, "wb") as target:
                # no original file name and no time in the gzip header
                writer = gzip.GzipFile(filename="", mode="wb", fileobj=target, mtime=0) if compressed else target
                with writer as out:
                    out.write(bytes(block))
                    shutil.copyfileobj(f, out, 1 << 20)
    except (EOFError, gzip.BadGzipFile, zlib.error, struct.error, ValueError, OverflowError) as exc:
        raise MetadataError(f"NIfTI cannot be read ({exc})") from None
    return removed


def _itk(src: Path, dst: Path) -> Counter:
    import SimpleITK as sitk

    from workstation.core.io.capture import capture

    try:
        with capture():  # ITK prints to the C streams: keep the one-line reason the only line
            image = sitk.ReadImage(str(src))
    except RuntimeError as exc:
        raise MetadataError(f"{src.name} cannot be read ({str(exc).strip().splitlines()[-1]})") from None
    removed = Counter(f"field {k}" for k in image.GetMetaDataKeys())
    for key in image.GetMetaDataKeys():
        image.EraseMetaData(key)
    try:
        with capture():
            sitk.WriteImage(image, str(dst), useCompression=True)
    except RuntimeError as exc:
        raise MetadataError(f"{src.name} cannot be written again ({str(exc).strip().splitlines()[-1]})") from None
    return removed
