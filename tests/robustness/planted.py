"""Real files with a unique marker planted in every attribute of PS3.15 Table E.1-1.

The table is the tests' own copy (data/confidentiality_profile_attributes.json, provenance in
data/PROVENANCE.md); VRs come from pydicom's data dictionary. Each marker is valid for its VR:
text markers ``MKR0001Q`` (AE, CS, SH, LO, ST, LT, UT, UC, PN, UR), UIDs ``1.999.31337.1NNNN``,
dates in five 179-day windows 11 years apart (so no date shift of 180-3650 days can turn one
marker into another), times and date-times with a unique fraction, numbers for DS/IS, byte
markers for OB/UN; US and AS values cannot be searched for in bytes and are checked per
attribute. Every sequence gets an item holding a further table attribute with its own marker.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).parent / "data"
TABLE_FILE = DATA / "confidentiality_profile_attributes.json"
TABLE_BLOB = "d4f341cb6e190b3cde305677fd49e6dcea9b6156"
TABLE_SHA256 = "a99a35d1278e2bace8d90ff791b11aea2d45f1e3e1230388eb5224c9dbcd29e6"
TABLE_ROWS = 621

SEARCHABLE_BINARY = {"OB", "UN", "OW"}
NOT_SEARCHABLE = {"US", "SS", "UL", "SL", "AS", "FL", "FD", "AT", "UV", "SV"}


def load_table() -> list[dict]:
    return json.loads(TABLE_FILE.read_text())


@dataclass
class Row:
    tag: int
    keyword: str
    vr: str
    action: str
    name: str


def concrete_rows() -> list[Row]:
    """Rows naming one attribute (not the 50xx/60xx/private patterns)."""
    from pydicom.datadict import dictionary_VR, keyword_for_tag

    rows = []
    for r in load_table():
        t = r["tag"]
        hexs = t[1:5] + t[6:10]
        try:
            tag = int(hexs, 16)
        except ValueError:
            continue  # (50XX,XXXX), (60XX,...), (GGGG,EEEE) rows: planted separately
        vr = dictionary_VR(tag).split(" or ")[0]
        rows.append(Row(tag, keyword_for_tag(tag), vr, r["basicProfile"], r["name"]))
    return rows


def _date_pool():
    for year in (1901, 1912, 1923, 1934, 1945):
        start = dt.date(year, 1, 1)
        for d in range(179):
            yield (start + dt.timedelta(days=d)).strftime("%Y%m%d")


@dataclass
class Plant:
    """What was planted where; ``search`` are the strings no output byte may contain."""
    search: set = field(default_factory=set)
    values: dict = field(default_factory=dict)  # (path tuple) -> planted value
    n: int = 0
    dates: object = field(default_factory=_date_pool)

    def next(self) -> int:
        self.n += 1
        return self.n


class Planter:
    def __init__(self, rows: list[Row]):
        self.rows = rows
        self.text_rows = [r for r in rows if r.vr in ("LO", "SH", "PN", "LT", "ST", "UT", "UC")]
        self.plant = Plant()

    def value(self, vr: str, vm_hint: str = "1"):
        """A fresh marker value valid for ``vr`` and the strings that reveal it."""
        p = self.plant
        n = p.next()
        text = f"MKR{n:04d}Q"
        if vr in ("AE", "CS", "SH", "LO", "ST", "LT", "UT", "UC"):
            return text, [text]
        if vr == "PN":
            return f"{text}^{text}G", [text]
        if vr == "UR":
            return f"http://{text.lower()}.invalid/", [text.lower()]
        if vr == "UI":
            uid = f"1.999.31337.1{n:04d}"
            return uid, [uid]
        if vr == "DA":
            d = next(p.dates)
            return d, [d]
        if vr == "TM":
            t = f"1010{n % 60:02d}.{n:06d}"
            return t, [t]
        if vr == "DT":
            d = next(p.dates)
            v = d + f"1010{n % 60:02d}.{n:06d}"
            return v, [v, d]
        if vr == "DS":
            vals = [f"7{n:04d}.25", f"7{n:04d}.5", f"7{n:04d}.75", f"7{n:04d}.125"]
            k = 1 if vm_hint == "1" else int(vm_hint.split("-")[0]) if vm_hint[0].isdigit() else 1
            return (vals[:k] if k > 1 else vals[0]), [vals[0]]
        if vr == "IS":
            v = f"8{n:05d}"
            return v, [v]
        if vr in ("OB", "UN", "OW"):
            return text.encode(), [text]
        if vr in ("US", "SS"):
            return 7000 + n % 500, []
        if vr in ("UL", "SL"):
            return 7_000_000 + n, []
        if vr == "AS":
            return f"{n % 90 + 10:03d}W", []
        if vr in ("FL", "FD"):
            return 7000.5 + n, []
        raise ValueError(vr)

    def element(self, row: Row, path: tuple, ds) -> None:
        from pydicom.datadict import dictionary_VM
        from pydicom.dataset import Dataset

        if row.vr == "SQ":
            item = Dataset()
            inner = self.text_rows[self.plant.n % len(self.text_rows)]
            self.element(inner, path + (row.tag, 0), item)
            ds.add_new(row.tag, "SQ", [item])
            self.plant.values[path + (row.tag,)] = "SQ"
            return
        value, reveal = self.value(row.vr, dictionary_VM(row.tag))
        ds.add_new(row.tag, row.vr, value)
        self.plant.values[path + (row.tag,)] = value
        self.plant.search.update(reveal)


def planted_ct(sop_uid_from: Planter | None = None):
    """CT_small.dcm (a real CT) with a marker in every E.1-1 attribute, at the top level and
    again inside an item of AnatomicRegionSequence (not in the table, so kept), plus curve,
    overlay and private data. Returns (dataset, planter)."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.dataset import Dataset

    rows = concrete_rows()
    pl = Planter(rows)
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False))
    for elem in list(ds):
        if elem.tag.is_private:
            del ds[elem.tag]
    for row in rows:
        if row.tag >> 16 == 0x0002:  # file meta: MediaStorageSOPInstanceUID follows below
            continue
        pl.element(row, (), ds)
    # references: ReferencedSOPInstanceUID inside the UID-bearing sequences
    for kw in ("ReferencedImageSequence", "SourceImageSequence"):
        item = ds[kw].value[0]
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        uid, reveal = pl.value("UI")
        item.ReferencedSOPInstanceUID = uid
        pl.plant.values[(ds[kw].tag, 0, 0x00081155)] = uid
        pl.plant.search.update(reveal)
    # a kept sequence holding every attribute again, one sequence deeper
    code = Dataset()
    code.CodeValue = "T-D1100"
    code.CodingSchemeDesignator = "SRT"
    code.CodeMeaning = "Head"
    for row in rows:
        if row.vr != "SQ" and row.tag >> 16 not in (0x0000, 0x0002, 0xFFFC):
            pl.element(row, (0x00082218, 0), code)
    pl.element(next(r for r in rows if r.keyword == "OtherPatientIDsSequence"),
               (0x00082218, 0), code)
    ds.AnatomicRegionSequence = [code]
    # (50xx,xxxx) curve data, (60xx,3000) overlay data, (60xx,4000) overlay comments
    curve, reveal = pl.value("OB")
    pl.plant.search.update(reveal)
    ds.add_new(0x50000005, "US", 1)
    ds.add_new(0x50000010, "US", 4)
    ds.add_new(0x50003000, "OB", curve + bytes(8))
    overlay, reveal = pl.value("OB")
    pl.plant.search.update(reveal)
    ds.add_new(0x60000010, "US", int(ds.Rows))
    ds.add_new(0x60000011, "US", int(ds.Columns))
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", overlay + bytes(int(ds.Rows) * int(ds.Columns) // 8
                                                 - len(overlay)))
    comment, reveal = pl.value("LT")
    pl.plant.search.update(reveal)
    ds.add_new(0x60004000, "LT", comment)
    # private attributes, one with a nested item
    creator, r1 = pl.value("LO")
    priv, r2 = pl.value("LO")
    nested, r3 = pl.value("LO")
    pl.plant.search.update(r1 + r2 + r3)
    ds.add_new(0x00090010, "LO", creator)
    ds.add_new(0x00091001, "LO", priv)
    inner = Dataset()
    inner.add_new(0x00091001, "LO", nested)
    ds.add_new(0x00091002, "SQ", [inner])
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    pl.plant.values[("meta", 0x00020003)] = ds.SOPInstanceUID
    ds.InstanceNumber = 1
    return ds, pl


def write(ds, path: Path) -> None:
    """Save as a Part 10 file; group 0000 elements (which pydicom will not write, and which real
    files carry when a writer copied the command set) are spliced in as explicit-VR bytes."""
    import copy

    from pydicom import config

    ds = copy.copy(ds)
    command = [ds[t] for t in list(ds.keys()) if t >> 16 == 0]
    for e in command:
        del ds[e.tag]
    old = config.settings.writing_validation_mode
    config.settings.writing_validation_mode = config.IGNORE
    try:
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
    finally:
        config.settings.writing_validation_mode = old
    data = buf.getvalue()
    start = 144 + struct.unpack("<I", data[140:144])[0]
    spliced = b""
    for e in sorted(command, key=lambda e: e.tag):
        value = str(e.value).encode()
        value += b"\x00" * (len(value) % 2)
        spliced += struct.pack("<HH", 0, e.tag & 0xFFFF) + b"UI" + struct.pack("<H", len(value))
        spliced += value
    path.write_bytes(data[:start] + spliced + data[start:])


def companion(ds_a, planter: Planter):
    """A second instance of the same series (new SOP Instance UID) whose SourceImageSequence
    references the first: U-replaced UIDs must map the same way in both files. Returns the
    dataset and its planted values (path -> value)."""
    import copy

    ds_b = copy.deepcopy(ds_a)
    uid, reveal = planter.value("UI")
    planter.plant.search.update(reveal)
    ds_b.SOPInstanceUID = uid
    ds_b.file_meta.MediaStorageSOPInstanceUID = uid
    ds_b.InstanceNumber = 2
    ds_b.SourceImageSequence[0].ReferencedSOPInstanceUID = ds_a.SOPInstanceUID
    x, y, z = (float(v) for v in ds_b.ImagePositionPatient)
    ds_b.ImagePositionPatient = [x, y, z + 5.0]
    values = dict(planter.plant.values)
    values[(0x00080018,)] = uid
    values[("meta", 0x00020003)] = uid
    values[(0x00082112, 0, 0x00081155)] = str(ds_a.SOPInstanceUID)
    return ds_b, values


# ----------------------------------------------------------------------------- non-DICOM

def planted_jpeg(pixels, path: Path) -> list[str]:
    from PIL import Image

    markers = ["MKJCOMMENT1Q", "MKJDESCR01Q", "MKJARTIST1Q", "MKJXMP0001Q"]
    img = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x010E] = markers[1]  # ImageDescription
    exif[0x013B] = markers[2]  # Artist
    xmp = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
           f'22-rdf-syntax-ns#"><rdf:Description>{markers[3]}</rdf:Description></rdf:RDF>'
           f'</x:xmpmeta>').encode()
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, comment=markers[0].encode(), exif=exif.tobytes(),
             xmp=xmp)
    data = buf.getvalue()
    for m in markers:
        assert m.encode() in data, m
    path.write_bytes(data)
    return markers


def planted_png(pixels, path: Path) -> list[str]:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    markers = ["MKPTEXT001Q", "MKPITXT001Q"]
    info = PngInfo()
    info.add_text("Author", markers[0])
    info.add_itxt("Description", markers[1], zip=False)
    info.add(b"tIME", struct.pack(">HBBBBB", 2019, 5, 17, 10, 11, 12))
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", pnginfo=info)
    data = buf.getvalue()
    for m in markers:
        assert m.encode() in data, m
    assert b"tIME" in data
    path.write_bytes(data)
    return markers


def planted_nifti(path: Path) -> list[str]:
    import nibabel as nib
    import numpy as np
    from nilearn.datasets import load_mni152_template

    markers = ["MKNDESCRIP1Q", "MKNAUXF01Q", "MKNINTNT1Q", "MKNEXTEN01Q"]
    tpl = load_mni152_template(resolution=2)
    data = np.round(np.asanyarray(tpl.dataobj) * 255).astype(np.uint8)
    img = nib.Nifti1Image(data, tpl.affine)
    img.header["descrip"] = markers[0].encode()
    img.header["aux_file"] = markers[1].encode()
    img.header["intent_name"] = markers[2].encode()
    img.header.extensions.append(nib.nifti1.Nifti1Extension(6, markers[3].encode()))
    img.set_sform(tpl.affine, code=2)
    nib.save(img, path)
    return markers
