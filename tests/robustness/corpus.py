"""Damaged files made at test time from real ones, each with an honest verdict.

Sources: pydicom-data DICOMs (CT, MR, JPEG baseline/extended/lossless, RLE, JPEG 2000, enhanced
multi-frame MR and CT, US), nilearn's MNI152 template written as .nii/.nii.gz, and PNG/JPEG
pictures made from the pixels of the real CR chest film RG1_UNCR.dcm.

Verdicts (what a correct reader must do):
- ``must_refuse``: the file cannot be shown correctly (data missing, header self-contradictory,
  geometry not finite or not a rotation, a decompression bomb, not an image at all).
- ``must_error``: a folder holding a readable series with one damaged slice: the run must report
  an error (exit 2, one line) though the series itself may be listed.
- ``may_accept``: damage that a reader may tolerate (a flipped byte in a pixel value, a tolerable
  quirk). Only "no traceback, clean output" is certain; when ``same_as`` names the intact file,
  an accepted variant must give that file's size and values (its pixels are untouched).
- ``valid``: the intact originals, controls that must be read.
"""
from __future__ import annotations

import gzip
import io
import os
import random
import shutil
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MUST_REFUSE = "must_refuse"
MUST_ERROR = "must_error"
MAY_ACCEPT = "may_accept"
VALID = "valid"


@dataclass
class Damaged:
    path: Path
    family: str  # dicom, series, nifti, png, jpeg, other
    source: str
    mutation: str
    verdict: str
    why: str
    dims: str = "2d"  # which export project it goes to
    same_as: Path | None = None  # intact file whose values an accepted variant must reproduce
    solo: bool = False  # may hang or eat memory: run on its own
    tags: tuple = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return self.path.name


# ----------------------------------------------------------------------------- byte helpers

def _flip(data: bytes, positions) -> bytes:
    b = bytearray(data)
    for p in positions:
        b[p] ^= 0xFF
    return bytes(b)


def _put(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


def _png_chunks(data: bytes):
    """(offset, type, data_start, length) of every chunk."""
    out, pos = [], 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        out.append((pos, ctype, pos + 8, length))
        pos += 12 + length
    return out


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _png_with_ihdr(data: bytes, **fields) -> bytes:
    """Rewrite IHDR fields (width, height, depth, colour, interlace) with a correct CRC."""
    w, h, depth, colour, comp, filt, inter = struct.unpack(">IIBBBBB", data[16:29])
    vals = dict(width=w, height=h, depth=depth, colour=colour, interlace=inter)
    vals.update(fields)
    body = struct.pack(">IIBBBBB", vals["width"], vals["height"], vals["depth"], vals["colour"],
                       comp, filt, vals["interlace"])
    return data[:8] + _png_chunk(b"IHDR", body) + data[33:]


def _repeat_zlib(chunk: bytes, n: int) -> bytes:
    """A zlib stream of ``chunk * n`` without compressing n copies (full flushes repeat)."""
    c = zlib.compressobj(9)
    head = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    body = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(n):
        adler = zlib.adler32(chunk, adler)
    return head + body * (n - 1) + b"\x03\x00" + struct.pack(">I", adler)


def _gzip_members(first: bytes, zeros_per_member: int, members: int) -> bytes:
    """Multi-member gzip (RFC 1952): ``first`` then ``members`` members of zeros."""
    zero_member = gzip.compress(bytes(zeros_per_member), compresslevel=9, mtime=0)
    return gzip.compress(first, compresslevel=9, mtime=0) + zero_member * members


def _jpeg_segments(data: bytes):
    """(offset, marker, length) of the marker segments up to and including SOS."""
    out, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        out.append((pos, marker, length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return out


# ----------------------------------------------------------------------------- DICOM layout

@dataclass
class DicomLayout:
    size: int
    dataset_start: int  # first byte after the file meta group
    pixel_tag: int  # offset of the (7FE0,0010) tag
    pixel_value: int  # first byte of its value
    pixel_end: int  # one past its value (sequence delimiter included when encapsulated)
    encapsulated: bool
    first_fragment: int | None  # offset of the first fragment's data


def dicom_layout(path: Path) -> DicomLayout:
    import pydicom

    raw = path.read_bytes()
    with open(path, "rb") as f:
        pydicom.dcmread(f, stop_before_pixels=True)
        tag_at = f.tell()
    assert raw[tag_at:tag_at + 4] == b"\xe0\x7f\x10\x00", path
    meta_len = struct.unpack("<I", raw[140:144])[0]
    length = struct.unpack("<I", raw[tag_at + 8:tag_at + 12])[0]
    value = tag_at + 12
    if length == 0xFFFFFFFF:
        bot_len = struct.unpack("<I", raw[value + 4:value + 8])[0]
        pos, end = value, None
        while pos + 8 <= len(raw):  # walk the items: a delimiter search could hit fragment data
            item, ilen = struct.unpack("<II", raw[pos:pos + 8])
            if item == 0xE0DDFFFE:
                end = pos + 8
                break
            assert item == 0xE000FFFE, path
            pos += 8 + ilen
        assert end is not None, path
        return DicomLayout(len(raw), 144 + meta_len, tag_at, value, end, True,
                           value + 8 + bot_len + 8)
    return DicomLayout(len(raw), 144 + meta_len, tag_at, value, value + length, False, None)


class _Placeholders:
    """Unique digit strings written through pydicom, then replaced byte for byte: the only way
    to plant values pydicom refuses to write (``abc`` as DS, a 5-valued orientation...)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def make(self, length: int) -> str:
        return "9" + "".join(self.rng.choice("12345678") for _ in range(length - 1))


def forge_dicom(src: Path, dst: Path, set_values: dict | None = None,
                raw_text: dict | None = None, delete=(), transfer_syntax: str | None = None,
                seed: int = 0) -> None:
    """Copy ``src`` with header elements changed.

    set_values: {keyword: value} set through pydicom (binary VRs: Rows, BitsAllocated...).
    raw_text: {keyword: text} written verbatim as the element's value (padded to even length).
    """
    import pydicom
    from pydicom import config
    from pydicom.datadict import dictionary_VR, tag_for_keyword
    from pydicom.dataelem import DataElement

    old = (config.settings.writing_validation_mode, config.settings.reading_validation_mode)
    config.settings.writing_validation_mode = config.IGNORE
    config.settings.reading_validation_mode = config.IGNORE
    try:
        ds = pydicom.dcmread(src)
        for kw in delete:
            if kw in ds:
                del ds[kw]
        for kw, val in (set_values or {}).items():
            setattr(ds, kw, val)
        ph = _Placeholders(seed)
        swaps = []
        for kw, text in (raw_text or {}).items():
            target = text.encode("ascii").ljust(12)  # trailing spaces are allowed; 12 digits
            if len(target) % 2:  # of placeholder are unique in the file
                target += b" "
            holder = ph.make(len(target))
            tag = tag_for_keyword(kw)
            vr = dictionary_VR(tag)
            ds[tag] = DataElement(tag, vr, holder)
            swaps.append((holder.encode(), target))
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=False)
        data = buf.getvalue()
    finally:
        config.settings.writing_validation_mode, config.settings.reading_validation_mode = old
    for holder, target in swaps:
        assert data.count(holder) == 1, (src, holder)
        data = data.replace(holder, target)
    if transfer_syntax:
        data = relabel_transfer_syntax(data, transfer_syntax)
    dst.write_bytes(data)


def relabel_transfer_syntax(data: bytes, uid: str) -> bytes:
    """Change (0002,0010) in the file meta bytes only (the data set stays as encoded)."""
    at = data.index(b"\x02\x00\x10\x00UI", 132)
    old_len = struct.unpack("<H", data[at + 6:at + 8])[0]
    value = uid.encode("ascii")
    if len(value) % 2:
        value += b"\x00"
    element = data[at:at + 6] + struct.pack("<H", len(value)) + value
    out = data[:at] + element + data[at + 8 + old_len:]
    assert out[132:140] == b"\x02\x00\x00\x00UL\x04\x00"
    group = struct.unpack("<I", out[140:144])[0] + len(value) - old_len
    return out[:140] + struct.pack("<I", group) + out[144:]


# ----------------------------------------------------------------------------- the generator

class CorpusBuilder:
    def __init__(self, root: Path, seed: int = 12):
        self.root = Path(root)
        self.files = self.root / "files"
        self.special = self.root / "special"
        self.originals = self.root / "originals"
        for d in (self.files, self.special, self.originals):
            d.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(seed)
        self.entries: list[Damaged] = []
        self._n = 0

    # -- bookkeeping
    def _name(self, stem: str, mutation: str, ext: str) -> Path:
        self._n += 1
        slug = "".join(c if c.isalnum() else "_" for c in mutation)[:40]
        return self.files / f"{self._n:03d}_{stem}_{slug}{ext}"

    def add(self, data: bytes | None, stem, ext, family, source, mutation, verdict, why, **kw):
        path = self._name(stem, mutation, ext)
        if data is not None:
            path.write_bytes(data)
        self.entries.append(Damaged(path, family, source, mutation, verdict, why, **kw))
        return path

    def original(self, name: str, data: bytes, family: str, dims: str) -> Path:
        path = self.originals / name
        path.write_bytes(data)
        self.entries.append(Damaged(path, family, name, "intact", VALID, "the real file",
                                    dims=dims))
        return path

    # -- DICOM
    def dicom(self, name: str, *, dims="2d", geometry=False, rescale=False, uncompressed=True,
              codec=None, multiframe=False, flips=3, light=False):
        """Damaged variants of one pydicom-data file (``light``: a few, for big files)."""
        from pydicom.data import get_testdata_file

        src = Path(get_testdata_file(name, download=False))
        raw = src.read_bytes()
        stem = Path(name).stem
        orig = self.original(name, raw, "dicom", dims)
        lay = dicom_layout(orig)
        fam = "dicom"
        R, A = MUST_REFUSE, MAY_ACCEPT
        add = lambda data, mut, verdict, why, **kw: self.add(  # noqa: E731
            data, stem, ".dcm", fam, name, mut, verdict, why, dims=dims, **kw)

        # truncations
        pix_len = lay.pixel_end - lay.pixel_value
        cuts = {
            "cut@64 in preamble": 64, "cut@131 in DICM": 131, "cut@132 after DICM": 132,
            "cut@200 in file meta": 200, "cut mid header": (lay.dataset_start + lay.pixel_tag) // 2,
            "cut before pixel data": lay.pixel_tag, "cut in pixel data tag": lay.pixel_tag + 6,
            "cut at 10% pixel data": lay.pixel_value + pix_len // 10,
            "cut at 50% pixel data": lay.pixel_value + pix_len // 2,
            "cut at 90% pixel data": lay.pixel_value + pix_len * 9 // 10,
        }
        if lay.encapsulated:
            # 16 bytes before the delimiter: past any padding byte and the end-of-image marker
            cuts["cut 16 bytes of the last fragment"] = lay.pixel_end - 8 - 16
        else:
            cuts["cut last pixel byte"] = lay.pixel_end - 1
        if light:
            keep = ("cut@132 after DICM", "cut before pixel data", "cut at 50% pixel data",
                    "cut last pixel byte", "cut 16 bytes of the last fragment")
            cuts = {k: v for k, v in cuts.items() if k in keep}
        for mut, at in cuts.items():
            add(raw[:at], mut, R, "truncated: pixel data incomplete or missing")
        if lay.encapsulated:
            add(raw[:lay.pixel_end - 1] if lay.pixel_end == lay.size else raw[:lay.pixel_end - 4],
                "cut in sequence delimiter", A,
                "only the end-of-sequence delimiter is damaged; every fragment is whole")
        if lay.pixel_end < lay.size:
            add(raw[:lay.size - 1], "cut in trailing element", A,
                "pixel data whole; an element after it is cut", same_as=orig)
            add(raw[:lay.pixel_end], "trailing elements dropped", A,
                "a valid file that simply ends after its pixel data", same_as=orig)

        import pydicom
        ds = pydicom.dcmread(orig, stop_before_pixels=True)
        rows, cols, bits = int(ds.Rows), int(ds.Columns), int(ds.BitsAllocated)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        f = lambda mut, verdict, why, seed=0, **forge: self._forged(  # noqa: E731
            orig, stem, dims, name, mut, verdict, why, seed=seed, **forge)
        if light:
            add(_put(raw, 128, b"DICX"), "magic DICM flipped", R, "not a DICOM Part 10 file")
            if uncompressed:
                f("Rows x2", R, "pixel data holds half the rows", set_values={"Rows": rows * 2})
                f("TS labelled JPEG baseline", R, "native pixel data labelled JPEG",
                  transfer_syntax="1.2.840.10008.1.2.4.50")
            else:
                f("TS labelled explicit VR LE", R, "compressed fragments labelled native",
                  transfer_syntax="1.2.840.10008.1.2.1")
            if multiframe:
                f("NumberOfFrames x2", R, "half the frames are missing",
                  raw_text={"NumberOfFrames": str(frames * 2)})
            pos = self.rng.randrange(lay.pixel_value + 16, lay.pixel_end - 16)
            add(_flip(raw, [pos]), f"flip pixel byte {pos}", A,
                "a flipped pixel byte is a valid (different) image" if not lay.encapsulated
                else "a flipped byte in compressed data may decode")
            self._geometry(f, orig, geometry, rescale)
            return orig

        # flipped bytes
        lo, hi = lay.dataset_start, lay.pixel_tag
        for i in range(flips):
            pos = self.rng.randrange(lo, hi)
            add(_flip(raw, [pos]), f"flip header byte {pos}", A,
                "a flipped header byte may fall in a harmless text value")
        for i in range(flips):
            pos = self.rng.randrange(lay.pixel_value + 16, lay.pixel_end - 16)
            add(_flip(raw, [pos]), f"flip pixel byte {pos}", A,
                "a flipped pixel byte is a valid (different) image" if not lay.encapsulated
                else "a flipped byte in compressed data may decode")
        add(_put(raw, 128, b"DICX"), "magic DICM flipped", R, "not a DICOM Part 10 file")
        # forged lengths
        if not lay.encapsulated:
            plen = struct.unpack("<I", raw[lay.pixel_tag + 8:lay.pixel_tag + 12])[0]
            add(_put(raw, lay.pixel_tag + 8, struct.pack("<I", plen * 4)),
                "pixel data length x4", R, "pixel data length beyond the end of the file")
        first_vr = raw[lay.dataset_start + 4:lay.dataset_start + 6]
        if first_vr.isalpha() and first_vr not in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC",
                                                   b"UR", b"OF", b"OD", b"OL"):
            if lay.size < lay.dataset_start + 0xFFF0:
                add(_put(raw, lay.dataset_start + 6, struct.pack("<H", 0xFFF0)),
                    "first element length 65520", R, "an element runs past the end of the file")

        # forged sizes and bit depths
        f("Rows=0", R, "zero rows", set_values={"Rows": 0})
        f("Columns=0", R, "zero columns", set_values={"Columns": 0})
        f("BitsAllocated=0", R, "zero bits allocated", set_values={"BitsAllocated": 0})
        f("BitsAllocated=13", R, "bits allocated neither 1 nor a multiple of 8",
          set_values={"BitsAllocated": 13})
        if uncompressed:
            f("Rows x2", R, "pixel data holds half the rows", set_values={"Rows": rows * 2})
            f("Columns x2", R, "pixel data holds half the columns",
              set_values={"Columns": cols * 2})
            f("Rows and Columns 65535", R, "a 65535x65535 header on a small file",
              set_values={"Rows": 65535, "Columns": 65535}, solo=True)
            f(f"BitsAllocated {bits}->{bits * 2}", R, "pixel data holds half the bytes",
              set_values={"BitsAllocated": bits * 2})
            if bits == 16:
                f("BitsAllocated 16->8 (BitsStored > 8)", R,
                  "bits stored greater than bits allocated",
                  set_values={"BitsAllocated": 8, "BitsStored": max(int(ds.BitsStored), 12),
                              "HighBit": max(int(ds.BitsStored), 12) - 1})
            f("SamplesPerPixel x3", R, "pixel data holds a third of the samples",
              set_values={"SamplesPerPixel": int(ds.SamplesPerPixel) * 3,
                          "PhotometricInterpretation": "RGB", "PlanarConfiguration": 0})
            f("Rows halved", A, "pixel data longer than the header needs (excess ignored)",
              set_values={"Rows": rows // 2})
        if multiframe:
            f("NumberOfFrames x2", R, "half the frames are missing",
              raw_text={"NumberOfFrames": str(frames * 2)})
            f("NumberOfFrames=0", R, "zero frames", raw_text={"NumberOfFrames": "0"})
            f("NumberOfFrames=-3", R, "negative frame count", raw_text={"NumberOfFrames": "-3"})
            f("NumberOfFrames=1000000", R, "a million frames promised", solo=True,
              raw_text={"NumberOfFrames": "1000000"})
            f("NumberOfFrames=abc", R, "frame count not a number",
              raw_text={"NumberOfFrames": "abc"})
        elif uncompressed:
            f("NumberOfFrames=4 on one frame", R, "three of four frames missing",
              raw_text={"NumberOfFrames": "4"})

        # transfer syntaxes
        if uncompressed:
            for uid, label in (("1.2.840.10008.1.2.4.50", "JPEG baseline"),
                               ("1.2.840.10008.1.2.5", "RLE"),
                               ("1.2.840.10008.1.2.4.90", "JPEG 2000"),
                               ("1.2.840.10008.1.2.4.100", "MPEG2"),
                               ("1.2.840.10008.1.2.1.99", "deflate"),
                               ("1.2.3.4.5.6", "unknown")):
                f(f"TS labelled {label}", R, f"native pixel data labelled {label}",
                  transfer_syntax=uid)
            f("TS labelled implicit VR", A, "explicit data labelled implicit (readers detect it)",
              transfer_syntax="1.2.840.10008.1.2")
            f("TS labelled big endian", A, "uncertain: byte order wrong everywhere",
              transfer_syntax="1.2.840.10008.1.2.2")
        else:
            f("TS labelled explicit VR LE", R, "compressed fragments labelled native",
              transfer_syntax="1.2.840.10008.1.2.1")
            other = "1.2.840.10008.1.2.4.50" if codec != "jpeg" else "1.2.840.10008.1.2.4.90"
            f("TS labelled another codec", R, "fragments are not that codec",
              transfer_syntax=other)
            f("TS labelled unknown", R, "unknown transfer syntax", transfer_syntax="1.2.3.4.5.6")
            if lay.first_fragment is not None:
                ff = lay.first_fragment
                if codec == "jpeg":
                    add(_put(raw, ff, b"\x00\x00"), "JPEG SOI zeroed", R, "fragment is not a JPEG")
                elif codec == "j2k":
                    soc = raw.index(b"\xff\x4f\xff\x51", lay.pixel_value)
                    add(_put(raw, soc, b"\x00\x00\x00\x00"), "J2K SOC/SIZ zeroed", R,
                        "fragment is not a JPEG 2000 codestream")
                elif codec == "rle":
                    add(_put(raw, ff, struct.pack("<I", 99)), "RLE header 99 segments", R,
                        "an RLE header allows at most 15 segments")
                    seg1 = struct.unpack("<I", raw[ff + 4:ff + 8])[0]
                    add(_put(raw, ff + 4, struct.pack("<I", seg1 + 10_000_000)),
                        "RLE segment offset beyond fragment", R, "segment offset past the data")
            if multiframe:
                f("NumberOfFrames x2", R, "half the frames are missing",
                  raw_text={"NumberOfFrames": str(frames * 2)})
            f("Rows x2 (compressed)", A, "header rows disagree with the codestream",
              set_values={"Rows": rows * 2})

        self._geometry(f, orig, geometry, rescale)
        return orig

    def _geometry(self, f, orig, geometry, rescale):
        R, A = MUST_REFUSE, MAY_ACCEPT
        if geometry:
            geo = [
                ("IOP NaN", {"ImageOrientationPatient": "NaN\\0\\0\\0\\1\\0"}, "orientation NaN"),
                ("IOP inf", {"ImageOrientationPatient": "1\\0\\0\\0\\inf\\0"}, "orientation inf"),
                ("IOP all zero", {"ImageOrientationPatient": "0\\0\\0\\0\\0\\0"},
                 "zero direction vectors"),
                ("IOP parallel rows and columns", {"ImageOrientationPatient": "1\\0\\0\\1\\0\\0"},
                 "row and column directions are the same"),
                ("IOP not unit", {"ImageOrientationPatient": "2\\0\\0\\0\\2\\0"},
                 "direction cosines of length 2"),
                ("IOP five values", {"ImageOrientationPatient": "1\\0\\0\\0\\1"},
                 "orientation with 5 values"),
                ("IPP NaN", {"ImagePositionPatient": "0\\NaN\\0"}, "position NaN"),
                ("IPP inf", {"ImagePositionPatient": "-inf\\0\\0"}, "position inf"),
                ("IPP two values", {"ImagePositionPatient": "1\\2"}, "position with 2 values"),
                ("PixelSpacing NaN", {"PixelSpacing": "NaN\\NaN"}, "spacing NaN"),
                ("PixelSpacing negative", {"PixelSpacing": "-0.5\\-0.5"}, "negative spacing"),
                ("PixelSpacing inf", {"PixelSpacing": "inf\\1"}, "infinite spacing"),
            ]
            for i, (mut, text, why) in enumerate(geo):
                f(mut, R, why, raw_text=text, seed=i)
            f("PixelSpacing zero", A, "0\\0 is what some real writers put for unknown",
              raw_text={"PixelSpacing": "0\\0"}, seed=99, same_as=orig)
            f("SliceThickness NaN", A, "slice thickness is not used for geometry",
              raw_text={"SliceThickness": "NaN"}, same_as=orig)
        if rescale:
            f("RescaleSlope NaN", R, "every value NaN", raw_text={"RescaleSlope": "NaN"})
            f("RescaleSlope inf", R, "every value infinite", raw_text={"RescaleSlope": "inf"})
            f("RescaleIntercept NaN", R, "every value NaN",
              raw_text={"RescaleIntercept": "NaN", "RescaleSlope": "1"})
            f("RescaleSlope abc", R, "slope not a number", raw_text={"RescaleSlope": "abc"})
            f("RescaleSlope 0", A, "every value equals the intercept: odd but consistent",
              raw_text={"RescaleSlope": "0"})

    def _forged(self, orig, stem, dims, name, mut, verdict, why, seed=0, solo=False,
                same_as=None, **forge):
        path = self._name(stem, mut, ".dcm")
        forge_dicom(orig, path, seed=seed + self._n, **forge)
        self.entries.append(Damaged(path, "dicom", name, mut, verdict, why, dims=dims,
                                    solo=solo, same_as=same_as))

    def real_damaged_dicoms(self):
        from pydicom.data import get_testdata_file

        for name, verdict, why in (
            ("MR_truncated.dcm", MUST_REFUSE, "real file whose pixel data is cut short"),
            ("rtplan_truncated.dcm", MUST_REFUSE, "real truncated file without pixel data"),
            ("emri_small_jpeg_2k_lossless_too_short.dcm", MAY_ACCEPT,
             "real JPEG 2000 file with a short codestream"),
            ("bad_sequence.dcm", MAY_ACCEPT, "real file with a malformed sequence"),
            ("badVR.dcm", MAY_ACCEPT, "real file with an invalid VR"),
            ("MR_small_padded.dcm", MAY_ACCEPT, "real file with padded pixel data"),
            ("no_meta.dcm", MAY_ACCEPT, "real file without a file meta group"),
            ("meta_missing_tsyntax.dcm", MAY_ACCEPT, "real file without a transfer syntax"),
        ):
            p = get_testdata_file(name, download=False)
            self.add(Path(p).read_bytes(), Path(name).stem, ".dcm", "dicom", name, "as shipped",
                     verdict, why)

    # -- DICOM series (folders)
    def series(self):
        import pydicom
        from pydicom.data import get_testdata_file
        from pydicom.uid import generate_uid

        src = Path(get_testdata_file("CT_small.dcm", download=False))

        def make(folder: Path, n=6):
            folder.mkdir(parents=True)
            series_uid = generate_uid()
            paths = []
            for i in range(n):
                ds = pydicom.dcmread(src)
                ds.SeriesInstanceUID = series_uid
                ds.SOPInstanceUID = generate_uid()
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                ds.InstanceNumber = i + 1
                x, y, z = (float(v) for v in ds.ImagePositionPatient)
                ds.ImagePositionPatient = [x, y, z + 5.0 * i]
                p = folder / f"slice{i:02d}.dcm"
                ds.save_as(p, enforce_file_format=False)
                paths.append(p)
            return paths

        d = self.special / "series_intact"
        make(d)
        self.entries.append(Damaged(d, "series", "CT_small.dcm x6", "intact series", VALID,
                                    "a 6-slice series", dims="3d"))
        d = self.special / "series_truncated_slice"
        paths = make(d)
        lay = dicom_layout(paths[3])
        paths[3].write_bytes(paths[3].read_bytes()[:lay.pixel_value + 1000])
        self.entries.append(Damaged(d, "series", "CT_small.dcm x6", "slice 4 truncated",
                                    MUST_ERROR, "one slice's pixel data is cut", dims="3d"))
        d = self.special / "series_nan_position"
        paths = make(d)
        forge_dicom(paths[2], paths[2], raw_text={"ImagePositionPatient": "NaN\\0\\10"})
        self.entries.append(Damaged(d, "series", "CT_small.dcm x6", "slice 3 position NaN",
                                    MUST_ERROR, "one slice cannot be placed", dims="3d"))
        d = self.special / "series_junk_slice"
        paths = make(d)
        junk = bytes(128) + b"DICM" + bytes(self.rng.randrange(256) for _ in range(3000))
        paths[4].write_bytes(junk)
        self.entries.append(Damaged(d, "series", "CT_small.dcm x6", "slice 5 replaced by junk",
                                    MUST_ERROR, "a DICOM-looking slice of random bytes",
                                    dims="3d"))

    # -- NIfTI
    def nifti(self):
        import nibabel as nib
        from nilearn.datasets import load_mni152_template

        img = load_mni152_template(resolution=2)
        # nilearn scales the uint8 template to [0, 1]; store the uint8 values unscaled, so that
        # the scl_slope mutations below have a known "no scaling" reading
        data = np.round(np.asanyarray(img.dataobj) * 255).astype(np.uint8)
        hdr = nib.Nifti1Header()
        hdr.set_data_dtype(data.dtype)
        out = nib.Nifti1Image(data, img.affine, hdr)
        out.set_sform(img.affine, code=2)
        out.set_qform(img.affine, code=1)
        plain = out.to_bytes()
        assert plain[344:348] == b"n+1\x00" and len(plain) >= 352
        gz = gzip.compress(plain, compresslevel=6, mtime=0)
        nii = self.original("mni152_2mm.nii", plain, "nifti", "3d")
        niigz = self.original("mni152_2mm.nii.gz", gz, "nifti", "3d")
        R, A = MUST_REFUSE, MAY_ACCEPT
        size = len(plain)

        def both(header: bytes, mut, verdict, why, same=False, plain_too=False, solo=False):
            if plain_too:
                self.add(header, "mni152", ".nii", "nifti", "MNI152", mut, verdict, why,
                         dims="3d", same_as=nii if same else None, solo=solo)
            self.add(gzip.compress(header, 6, mtime=0), "mni152", ".nii.gz", "nifti", "MNI152",
                     mut, verdict, why, dims="3d", same_as=niigz if same else None, solo=solo)

        def hdr_set(fmt: str, offset: int, *values, base=plain) -> bytes:
            return _put(base, offset, struct.pack("<" + fmt, *values))

        dims = struct.unpack("<8h", plain[40:56])
        both(hdr_set("i", 0, 0), "sizeof_hdr 0", R, "not a NIfTI-1 header")
        both(hdr_set("i", 0, 540), "sizeof_hdr 540", R, "claims NIfTI-2 but is not")
        both(_put(plain, 344, b"zz1\x00"), "magic broken", A, "could be read as ANALYZE 7.5")
        both(hdr_set("h", 40, 0), "dim0 0", R, "zero dimensions")
        both(hdr_set("h", 40, 9), "dim0 9", R, "more than 7 dimensions")
        both(hdr_set("h", 42, 0), "dim1 0", R, "zero-length axis")
        both(hdr_set("h", 42, -5), "dim1 -5", R, "negative axis length")
        both(hdr_set("h", 42, dims[1] * 2), "dim1 x2", R, "header promises 2x the data",
             plain_too=True)
        both(hdr_set("h", 46, dims[3] * 3 // 2), "dim3 x1.5", R, "header promises 1.5x the data",
             plain_too=True)
        both(hdr_set("h", 46, dims[3] * 3), "dim3 x3", R, "header promises 3x the data")
        both(hdr_set("h", 46, dims[3] // 2), "dim3 halved", A, "more data than the header needs")
        both(hdr_set("hh", 70, 4, 16), "datatype int16", R, "header promises 2x the data",
             plain_too=True)
        both(hdr_set("hh", 70, 64, 64), "datatype float64", R, "header promises 8x the data")
        both(hdr_set("hh", 70, 1792, 128), "datatype complex128", R, "promises 16x the data")
        both(hdr_set("hh", 70, 1234, 8), "datatype 1234", R, "unknown datatype")
        both(hdr_set("hh", 70, 0, 8), "datatype 0", R, "unknown datatype")
        both(hdr_set("h", 72, 16), "bitpix 16 datatype uint8", A,
             "bitpix disagrees; the datatype alone fixes the layout", same=True, plain_too=True)
        both(hdr_set("f", 108, size + 100.0), "vox_offset beyond file", R, "no data at all",
             plain_too=True)
        both(hdr_set("f", 108, float("nan")), "vox_offset NaN", R, "data offset not a number")
        both(hdr_set("f", 108, -352.0), "vox_offset negative", R, "negative data offset")
        both(hdr_set("f", 108, 352.0 + 4000), "vox_offset +4000", R, "data runs past the end")
        both(hdr_set("f", 80, float("nan")), "pixdim1 NaN", R, "spacing NaN", plain_too=True)
        both(hdr_set("f", 80, 0.0), "pixdim1 0", R, "zero spacing")
        both(hdr_set("f", 80, -2.0), "pixdim1 negative", R, "negative spacing")
        both(hdr_set("f", 88, float("inf")), "pixdim3 inf", R, "infinite spacing")
        both(hdr_set("f", 88, -2.0), "pixdim3 negative", R, "negative spacing")
        both(hdr_set("f", 112, float("nan")), "scl_slope NaN", A,
             "NIfTI libraries read a non-finite slope as no scaling", same=True)
        both(hdr_set("f", 112, float("inf")), "scl_slope inf", A,
             "NIfTI libraries read a non-finite slope as no scaling", same=True)
        both(_put(plain, 148, b"garbage \xff\xfe descrip".ljust(80, b"\x00")), "descrip junk",
             A, "free text does not matter", same=True)

        sform_only = hdr_set("h", 252, 0)  # qform_code 0: only the sform gives geometry
        both(hdr_set("f", 280, float("nan"), base=sform_only), "sform NaN", R, "sform NaN",
             plain_too=True)
        both(hdr_set("f", 324, float("inf"), base=sform_only), "sform offset inf", R,
             "sform offset infinite")
        both(hdr_set("12f", 280, *([0.0] * 12), base=sform_only), "sform all zero", R,
             "singular sform")
        two_equal = hdr_set("3f", 280, 2.0, 2.0, 0.0, base=sform_only)
        both(hdr_set("3f", 296, 0.0, 0.0, 0.0, base=two_equal), "sform singular", R,
             "two equal sform columns")
        qform_only = hdr_set("h", 254, 0)  # sform_code 0: only the qform gives geometry
        both(hdr_set("3f", 256, 0.9, 0.9, 0.9, base=qform_only), "quaternion invalid", R,
             "b^2+c^2+d^2 > 1 is not a rotation", plain_too=True)
        both(hdr_set("f", 256, float("nan"), base=qform_only), "quaternion NaN", R,
             "quaternion NaN")
        both(hdr_set("f", 268, float("nan"), base=qform_only), "qoffset NaN", R, "origin NaN")
        both(hdr_set("hh", 252, 0, 0), "no sform no qform", A,
             "method 1 geometry (pixdim only) is legal", same=True)

        # truncations
        for mut, at in (("cut@100", 100), ("cut@348", 348), ("cut@352 header only", 352),
                        ("cut at 50% data", 352 + (size - 352) // 2),
                        ("cut last byte", size - 1)):
            self.add(plain[:at], "mni152", ".nii", "nifti", "MNI152", mut, R,
                     "voxel data incomplete", dims="3d")
        for mut, at in (("gz cut@10", 10), ("gz cut@200", 200), ("gz cut@348", 348),
                        ("gz cut at 25%", len(gz) // 4), ("gz cut at 50%", len(gz) // 2),
                        ("gz cut at 75%", len(gz) * 3 // 4), ("gz cut in deflate end", len(gz) - 9),
                        ("gz cut ISIZE", len(gz) - 4), ("gz cut last byte", len(gz) - 1)):
            self.add(gz[:at], "mni152", ".nii.gz", "nifti", "MNI152", mut, R,
                     "gzip stream incomplete", dims="3d")
        self.add(_flip(gz, [len(gz) - 6]), "mni152", ".nii.gz", "nifti", "MNI152", "gz CRC flipped",
                 R, "gzip CRC does not match", dims="3d")
        self.add(_flip(gz, [len(gz) - 2]), "mni152", ".nii.gz", "nifti", "MNI152",
                 "gz ISIZE flipped", R, "gzip length does not match", dims="3d")
        self.add(_flip(gz, [len(gz) // 2]), "mni152", ".nii.gz", "nifti", "MNI152",
                 "gz deflate byte flipped", R, "deflate data corrupt (CRC mismatch)", dims="3d")
        self.add(plain, "mni152", ".nii.gz", "nifti", "MNI152", "plain NIfTI named .gz", A,
                 "ITK's znzlib reads uncompressed data behind a .gz name", dims="3d",
                 same_as=niigz)
        self.add(gz + b"TRAILING GARBAGE" * 4, "mni152", ".nii.gz", "nifti", "MNI152",
                 "gz trailing garbage", A, "zlib readers ignore bytes after the member",
                 dims="3d", same_as=niigz)
        two = gzip.compress(plain[:352], mtime=0) + gzip.compress(plain[352:], mtime=0)
        self.add(two, "mni152", ".nii.gz", "nifti", "MNI152", "gz two members", A,
                 "a multi-member gzip file is valid (RFC 1952)", dims="3d", same_as=niigz)

        # bombs
        huge = hdr_set("4h", 40, 3, 30000, 30000, 30000)
        self.add(gzip.compress(huge, 6, mtime=0), "mni152", ".nii.gz", "nifti", "MNI152",
                 "bomb header 30000^3 tiny data", R, "27e12 voxels promised, 1e6 present",
                 dims="3d", solo=True)
        big = hdr_set("4h", 40, 3, 4096, 4096, 512)[:352]
        self.add(_gzip_members(big, 16 << 20, 512), "mni152", ".nii.gz", "nifti", "MNI152",
                 "gzip bomb 8 GiB of zeros", R, "a consistent 8 GiB volume: over any sane limit",
                 dims="3d", solo=True)
        return nii, niigz

    # -- pictures from the real CR chest film
    def chest_pixels(self) -> np.ndarray:
        import pydicom
        from pydicom.data import get_testdata_file

        ds = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm", download=False))
        a = ds.pixel_array.astype(np.float32)[::4, ::4]
        lo, hi = np.percentile(a, [1, 99])
        a = np.clip((a - lo) / (hi - lo), 0, 1)
        if ds.PhotometricInterpretation == "MONOCHROME1":
            a = 1 - a
        return (a * 255).astype(np.uint8)

    def png(self, pixels: np.ndarray):
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG")
        raw = buf.getvalue()
        orig = self.original("chest_cr.png", raw, "png", "2d")
        R, A = MUST_REFUSE, MAY_ACCEPT
        add = lambda data, mut, verdict, why, **kw: self.add(  # noqa: E731
            data, "chest", ".png", "png", "RG1_UNCR.dcm pixels", mut, verdict, why, **kw)
        chunks = _png_chunks(raw)
        idats = [c for c in chunks if c[1] == b"IDAT"]
        first, last = idats[0], idats[-1]
        idat_lo, idat_hi = first[2], last[2] + last[3]
        for mut, at in (("cut@8 signature only", 8), ("cut@20 in IHDR", 20),
                        ("cut@33 after IHDR", 33),
                        ("cut at 25% IDAT", idat_lo + (idat_hi - idat_lo) // 4),
                        ("cut at 50% IDAT", idat_lo + (idat_hi - idat_lo) // 2),
                        ("cut at 90% IDAT", idat_lo + (idat_hi - idat_lo) * 9 // 10)):
            add(raw[:at], mut, R, "image data incomplete")
        add(raw[:-12], "IEND removed", A, "every row present; only the end chunk missing",
            same_as=orig)
        add(raw[:-1], "IEND CRC cut", A, "every row present; end chunk damaged", same_as=orig)
        add(_flip(raw, [idat_lo + (idat_hi - idat_lo) // 3]), "IDAT byte flipped", R,
            "chunk CRC mismatch: corrupt image data")
        add(_flip(raw, [18]), "IHDR byte flipped", R, "IHDR CRC mismatch")
        add(_png_with_ihdr(raw, height=pixels.shape[0] * 2), "IHDR height x2", R,
            "half the rows missing")
        add(_png_with_ihdr(raw, depth=16), "IHDR depth 16", R, "half the bytes missing")
        add(_png_with_ihdr(raw, depth=3), "IHDR depth 3", R, "invalid bit depth")
        add(_png_with_ihdr(raw, colour=7), "IHDR colour type 7", R, "invalid colour type")
        add(_png_with_ihdr(raw, interlace=5), "IHDR interlace 5", R, "invalid interlace")
        tiny = _png_with_ihdr(raw, width=40000, height=40000)
        ihdr_end = 33
        tiny_idat = _png_chunk(b"IDAT", zlib.compress(bytes(40001 * 2)))
        add(tiny[:ihdr_end] + tiny_idat + _png_chunk(b"IEND", b""),
            "bomb 40000x40000 tiny IDAT", R, "1.6e9 pixels promised, 2 rows present", solo=True)
        bomb_idat = _repeat_zlib(bytes(40001 * 1000), 40)
        add(tiny[:ihdr_end] + _png_chunk(b"IDAT", bomb_idat) + _png_chunk(b"IEND", b""),
            "bomb 40000x40000 full zeros", R, "a consistent 1.6 GB picture: decompression bomb",
            solo=True)
        text = _png_chunk(b"tEXt", b"Comment\x00hello")
        with_text = raw[:33] + text + raw[33:]
        add(_flip(with_text, [33 + 12]), "tEXt CRC mismatch", A,
            "an ancillary chunk may be skipped", same_as=orig)
        # 16-bit
        buf = io.BytesIO()
        Image.fromarray(pixels.astype(np.uint16) * 257).save(buf, format="PNG")
        raw16 = buf.getvalue()
        orig16 = self.original("chest_cr_16bit.png", raw16, "png", "2d")
        ch16 = [c for c in _png_chunks(raw16) if c[1] == b"IDAT"]
        lo16, hi16 = ch16[0][2], ch16[-1][2] + ch16[-1][3]
        add(raw16[:lo16 + (hi16 - lo16) // 2], "16-bit cut at 50% IDAT", R, "rows missing")
        add(_png_with_ihdr(raw16, depth=8), "16-bit IHDR depth 8", A,
            "excess data after the last row", same_as=None)
        return orig

    def jpeg(self, pixels: np.ndarray):
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
        raw = buf.getvalue()
        orig = self.original("chest_cr.jpg", raw, "jpeg", "2d")
        R, A = MUST_REFUSE, MAY_ACCEPT
        add = lambda data, mut, verdict, why, **kw: self.add(  # noqa: E731
            data, "chest", ".jpg", "jpeg", "RG1_UNCR.dcm pixels", mut, verdict, why, **kw)
        segs = _jpeg_segments(raw)
        sos = [s for s in segs if s[1] == 0xDA][0]
        scan_lo = sos[0] + 2 + sos[2]
        scan_hi = len(raw) - 2
        sof = [s for s in segs if s[1] in (0xC0, 0xC1, 0xC2)][0]
        for mut, at in (("cut@2 SOI only", 2), ("cut@20", 20), ("cut@160 in tables", 160),
                        ("cut just after SOS", scan_lo + 10),
                        ("cut at 25% scan", scan_lo + (scan_hi - scan_lo) // 4),
                        ("cut at 50% scan", scan_lo + (scan_hi - scan_lo) // 2),
                        ("cut at 90% scan", scan_lo + (scan_hi - scan_lo) * 9 // 10)):
            add(raw[:at], mut, R, "entropy-coded data incomplete")
        add(raw[:-2], "EOI removed", A, "all entropy data present; end marker missing",
            same_as=orig)
        mid = scan_lo + (scan_hi - scan_lo) // 2
        add(_put(raw, mid, b"\xff\xd9"), "EOI planted mid-scan", R, "image ends half way")
        add(_put(raw, 0, b"\x00\x00"), "SOI zeroed", R, "not a JPEG")
        h, w = struct.unpack(">HH", raw[sof[0] + 5:sof[0] + 9])
        add(_put(raw, sof[0] + 5, struct.pack(">H", h * 2)), "SOF height x2", R,
            "half the rows missing")
        add(_put(raw, sof[0] + 5, struct.pack(">HH", 65000, 65000)), "SOF 65000x65000", R,
            "4.2e9 pixels promised: bomb header on a small file", solo=True)
        add(_put(raw, sof[0] + 4, b"\x0d"), "SOF precision 13", R, "invalid sample precision")
        for i in range(3):
            pos = self.rng.randrange(scan_lo + 100, scan_hi - 100)
            add(_flip(raw, [pos]), f"flip scan byte {pos}", A,
                "a flipped entropy byte may decode (with artefacts)")
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=90, progressive=True)
        prog = buf.getvalue()
        self.original("chest_cr_progressive.jpg", prog, "jpeg", "2d")
        add(prog[:len(prog) * 6 // 10], "progressive cut at 60%", R, "later scans missing")
        return orig

    # -- everything else
    def other(self):
        R = MUST_REFUSE
        for ext in (".dcm", ".nii", ".nii.gz", ".png", ".jpg"):
            self.add(b"", "empty", ext, "other", "-", "empty file", R, "0 bytes")
            self.add(bytes(self.rng.randrange(256) for _ in range(4096)), "junk", ext, "other",
                     "-", "random bytes", R, "random bytes")
        self.add(bytes(128) + b"DICM" + bytes(self.rng.randrange(256) for _ in range(4000)),
                 "junk", ".dcm", "other", "-", "DICM then random bytes", R, "random bytes")
        self.add(b"\x1f\x8b\x08\x00" + bytes(self.rng.randrange(256) for _ in range(2000)),
                 "junk", ".nii.gz", "other", "-", "gzip magic then random bytes", R,
                 "not a gzip stream")
        self.add(b"hello, I am not an image\n", "text", ".dcm", "other", "-", "text as .dcm", R,
                 "a text file")
        d = self._name("folder", "empty dir named dcm", ".dcm")
        d.mkdir()
        self.entries.append(Damaged(d, "other", "-", "empty folder named .dcm", R,
                                    "a folder with nothing in it"))
        a, b = self._name("loop", "a", ".dcm"), self._name("loop", "b", ".dcm")
        os.symlink(b.name, a)
        os.symlink(a.name, b)
        for p in (a, b):
            self.entries.append(Damaged(p, "other", "-", "file symlink loop", R, "ELOOP"))
        p = self._name("dangling", "symlink", ".dcm")
        os.symlink("no_such_file_here.dcm", p)
        self.entries.append(Damaged(p, "other", "-", "dangling symlink", R, "target missing"))
        loop = self.special / "loop_self"
        loop.mkdir()
        os.symlink(".", loop / "self")
        self.entries.append(Damaged(loop, "other", "-", "folder holding a link to itself", R,
                                    "no image, one loop", solo=True))
        loop = self.special / "loop_two_steps"
        (loop / "sub").mkdir(parents=True)
        os.symlink("..", loop / "sub" / "back")
        self.entries.append(Damaged(loop, "other", "-", "folder with a two-step link cycle", R,
                                    "no image, one loop", solo=True))
        fifo = self._name("fifo", "named pipe", ".dcm")
        os.mkfifo(fifo)
        self.entries.append(Damaged(fifo, "other", "-", "FIFO named .dcm", R,
                                    "not a regular file (reading it blocks)", solo=True))
        for ext in (".dcm", ".nii", ".nii.gz", ".png"):
            p = self._name("devzero", "link to dev zero", ext)
            os.symlink("/dev/zero", p)
            self.entries.append(Damaged(p, "other", "-", "symlink to /dev/zero", R,
                                        "an endless stream of zeros", solo=True))

    def build(self) -> list[Damaged]:
        self.dicom("CT_small.dcm", geometry=True, rescale=True)
        self.dicom("MR_small.dcm", geometry=True, rescale=True, light=True)
        self.dicom("US1_UNCR.dcm", light=True)
        self.dicom("emri_small.dcm", dims="3d", multiframe=True)
        self.dicom("eCT_Supplemental.dcm", dims="3d", multiframe=True, light=True)
        self.dicom("SC_rgb_jpeg_dcmtk.dcm", uncompressed=False, codec="jpeg", light=True)
        self.dicom("JPGExtended.dcm", uncompressed=False, codec="jpeg", flips=2)
        self.dicom("JPGLosslessP14SV1_1s_1f_8b.dcm", uncompressed=False, codec="jpeg",
                   light=True)
        self.dicom("MR_small_RLE.dcm", uncompressed=False, codec="rle", geometry=True, flips=2)
        self.dicom("emri_small_RLE.dcm", dims="3d", uncompressed=False, codec="rle",
                   multiframe=True, flips=2)
        self.dicom("MR_small_jp2klossless.dcm", uncompressed=False, codec="j2k", flips=2)
        self.dicom("US1_J2KR.dcm", uncompressed=False, codec="j2k", light=True)
        self.real_damaged_dicoms()
        self.series()
        self.nifti()
        pixels = self.chest_pixels()
        self.png(pixels)
        self.jpeg(pixels)
        self.other()
        return self.entries


def build_corpus(root: Path) -> list[Damaged]:
    return CorpusBuilder(root).build()


def copy_tree_without_specials(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True)
