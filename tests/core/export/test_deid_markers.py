"""A real CT (pydicom-data CT_small) with a unique marker in every attribute of PS3.15 Table E.1-1,
at the top level and again inside sequence items, in the file meta, the preamble, private blocks,
curves and overlays: after de-identification no marker is left anywhere in the written bytes, and
every attribute got the action its row gives."""
from __future__ import annotations

import json
import re
import struct
from datetime import date, timedelta

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from workstation.core.export import ExportCase, ExportOptions, export
from workstation.core.export.deid import DeidOptions, Deidentifier
from workstation.core.export.deid.table import code_for, lookup, table

SECRET = b"marker-test-secret-0123456789abcdef"
UID_ROOT = "1.2.826.0.1.3680043.10.54321."
ALLOWED = {"X": {"X"}, "Z": {"Z"}, "D": {"D"}, "U": {"U"}, "K": {"K"}, "C": {"C", "K", "X"},
           "X/Z": {"X", "Z"}, "X/D": {"X", "D"}, "X/Z/D": {"X", "Z", "D"}, "Z/D": {"Z", "D"},
           "X/Z/U*": {"X", "Z", "U"}}
WRAPPER = 0x00081115  # Referenced Series Sequence: not in E.1-1, so kept, and its items cleaned


class Markers:
    """Unique, VR-valid marker values; `searchable` are those that must not appear in the output."""

    def __init__(self) -> None:
        self.n = 0
        self.searchable: list[bytes] = []

    def value(self, vr: str):
        self.n += 1
        n = self.n
        text = f"MK{n:05d}"
        if vr in ("LO", "SH", "CS", "AE", "LT", "ST", "UT", "UC"):
            v = text
        elif vr == "UR":
            v = f"http://mk{n:05d}.example"
        elif vr == "PN":
            v = f"{text}^MKGIVEN{n:05d}"
        elif vr == "UI":
            v = f"{UID_ROOT}{100000 + n}"
        elif vr == "DA":
            v = (date(1901, 1, 1) + timedelta(days=n)).strftime("%Y%m%d")
        elif vr == "DT":
            v = (date(1901, 1, 1) + timedelta(days=n)).strftime("%Y%m%d") + f"1234{n % 60:02d}.{n:06d}"
        elif vr == "TM":
            v = f"2359{n % 60:02d}.{n:06d}"
        elif vr in ("DS", "IS"):
            v = f"7{n:05d}"
        elif vr == "AS":
            return f"{n % 1000:03d}W"  # too short to search for safely; checked by value
        elif vr in ("OB", "OW", "UN"):
            v = f"MKBIN{n:05d}".encode()
            self.searchable.append(v)
            return v
        else:  # binary numbers: checked by value, not searched in the bytes
            return n % 60000
        self.searchable.append(v.encode())
        return v


def _vr(tag: int) -> str:
    return dictionary_VR(tag).split(" ")[0]


def _plant(ds: Dataset, markers: Markers, depth: int) -> None:
    """One element for every exact row of the table (group 0000 and 0002 rows go elsewhere)."""
    for row in table().rows:
        if "x" in row.tag or "g" in row.tag:
            continue
        tag = int(row.tag[1:5] + row.tag[6:10], 16)
        if tag >> 16 in (0, 2) or tag in (0x7FE00010,):
            continue
        vr = _vr(tag)
        if vr == "SQ":
            item = Dataset()
            item.InstitutionName = markers.value("LO")
            item.add(DataElement(0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2"))
            item.add(DataElement(0x00081155, "UI", markers.value("UI")))
            ds.add(DataElement(tag, "SQ", Sequence([item])))
        else:
            ds.add(DataElement(tag, vr, markers.value(vr)))
    if depth:
        inner = Dataset()
        _plant(inner, markers, depth - 1)
        ds.add(DataElement(WRAPPER, "SQ", Sequence([inner])))


def planted_ct(path, markers: Markers) -> Dataset:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    for elem in list(ds):
        if elem.tag != 0x7FE00010 and lookup(int(elem.tag)) is not None:
            del ds[elem.tag]  # the CT's own identifiers go: only markers are searched for
    _plant(ds, markers, depth=2)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    block = ds.private_block(0x0029, "MARKER PRIVATE", create=True)
    block.add_new(0x01, "LO", markers.value("LO"))
    block.add_new(0x02, "OB", markers.value("OB"))
    ds.add(DataElement(0x50000005, "US", 1))
    ds.add(DataElement(0x50003000, "OB", markers.value("OB")))         # curve data
    ds.add(DataElement(0x60000010, "US", 2))
    ds.add(DataElement(0x60000011, "US", 2))
    ds.add(DataElement(0x60000100, "US", 1))
    ds.add(DataElement(0x60003000, "OB", markers.value("OB")))         # overlay data
    ds.add(DataElement(0x60004000, "LT", markers.value("LT")))         # overlay comments
    meta = ds.file_meta
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.SourceApplicationEntityTitle = markers.value("AE")
    meta.PrivateInformationCreatorUID = markers.value("UI")
    meta.PrivateInformation = markers.value("OB")
    ds.preamble = markers.value("OB").ljust(128, b"\0")
    ds.save_as(path, enforce_file_format=True)
    # command elements (Affected / Requested SOP Instance UID), which pydicom will not write: put
    # into the dataset's bytes by hand, where a careless sender leaves them
    raw = path.read_bytes()
    start = 132 + 12 + int.from_bytes(raw[140:144], "little")
    command = b""
    for element in (0x1000, 0x1001):
        uid = markers.value("UI").encode()
        uid += b"\0" * (len(uid) % 2)
        command += struct.pack("<HHI", 0, element, len(uid)) + uid  # command sets are implicit VR
    path.write_bytes(raw[:start] + command + raw[start:])
    return ds


def _left(data: bytes, markers: Markers) -> list[str]:
    """Markers found in `data` as whole values: a digit string inside a longer number (a remapped
    2.25 UID has 39 digits, so six-digit markers turn up in them by chance) is not a marker."""
    return [m.decode() for m in markers.searchable
            if m in data and re.search(rb"(?<![0-9.])" + re.escape(m) + rb"(?![0-9])", data)]


def _without_pixels(path) -> bytes:
    raw = path.read_bytes()
    pixels = pydicom.dcmread(path).PixelData
    return raw.replace(pixels, b"")


def test_no_marker_survives_and_every_action_is_the_tables(tmp_path):
    markers = Markers()
    src = tmp_path / "planted.dcm"
    original = planted_ct(src, markers)
    assert len(markers.searchable) > 1500
    raw_in = src.read_bytes()
    assert all(m in raw_in for m in markers.searchable)  # every marker really is in the input file
    dst = tmp_path / "out.dcm"
    deid = Deidentifier(SECRET)
    deid.deidentify_file(src, dst)

    raw = _without_pixels(dst)
    left = _left(raw, markers)
    assert not left, f"{len(left)} markers survive, e.g. {left[:5]}"
    assert UID_ROOT.encode() not in raw
    out = pydicom.dcmread(dst)
    assert out.PixelData == original.PixelData
    np.testing.assert_array_equal(out.pixel_array, original.pixel_array)
    assert out.PatientIdentityRemoved == "YES" and out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert not [e for e in out.iterall() if e.tag.group in (0, 2) or e.tag.is_private]

    # the actions: from the report, and as seen in the written file
    seen = {}
    for (tag, name, rule, action, source), n in deid.actions.items():
        if source == "E.1-1":
            seen.setdefault(tag, set()).add((rule, action))
    for row in table().rows:
        expected = code_for(row, ())
        if row.tag in ("(0000,1000)", "(0000,1001)", "(7FE0,0010)"):
            continue  # command elements are dropped outright (group 0000 has no place in a stored dataset)
        assert row.tag in seen, f"{row.tag} {row.name}: never met"
        for rule, action in seen[row.tag]:
            assert rule == expected and action in ALLOWED[expected], (row.tag, row.name, rule, action)
    top = {int(e.tag): e for e in out}
    for row in table().rows:
        if "x" in row.tag or "g" in row.tag:
            continue
        tag = int(row.tag[1:5] + row.tag[6:10], 16)
        code = row.basic
        if tag >> 16 in (0, 2) or tag == 0x7FE00010:
            continue
        elem = top.get(tag)
        if code == "X":
            assert elem is None, row.name
        elif code == "Z":
            assert elem is not None and (not elem.value or tag == 0x00100010), row.name
        elif code == "D":
            assert elem is not None and elem.value not in (None, "", b""), row.name
        elif code == "U":
            assert elem is not None and str(elem.value).startswith("2.25."), row.name
    assert str(out.PatientName) == out.PatientID and out.PatientID.startswith("ANON-")
    assert out.get(0x60000010) is not None and 0x60003000 not in out  # overlay structure kept, bitmap gone
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID != original.SOPInstanceUID
    assert out.preamble == b"\0" * 128


def test_retain_options_keep_exactly_their_rows(tmp_path):
    markers = Markers()
    src = tmp_path / "planted.dcm"
    original = planted_ct(src, markers)
    options = DeidOptions(retain_uids=True, retain_device_identity=True, retain_institution_identity=True,
                          retain_patient_characteristics=True, retain_dates="full")
    dst = tmp_path / "out.dcm"
    deid = Deidentifier(SECRET, options=options)
    deid.deidentify_file(src, dst)
    out = pydicom.dcmread(dst)
    kept = 0
    for row in table().rows:
        if "x" in row.tag or "g" in row.tag:
            continue
        tag = int(row.tag[1:5] + row.tag[6:10], 16)
        if tag >> 16 in (0, 2) or _vr(tag) == "SQ":
            continue
        code = code_for(row, options.columns())
        if code == "K":
            assert out[tag].value == original[tag].value, row.name
            kept += 1
        elif code in ("X", "Z", "D", "U"):
            assert tag not in out or out[tag].value != original[tag].value, row.name
    assert kept > 150
    codes = [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113110", "113109", "113112", "113108", "113106"]
    assert out.LongitudinalTemporalInformationModified == "UNMODIFIED"
    assert 0x00291001 not in out  # private tags still go


def test_safe_private_kept_only_when_listed(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    block = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    block.add_new(0x0C, "IS", "1000")        # B value: Table E.3.10-1
    block.add_new(0x30, "LO", "MKPRIVATE1")  # not listed
    other = ds.private_block(0x0033, "ACME", create=True)
    other.add_new(0x01, "LO", "MKPRIVATE2")
    src, dst = tmp_path / "in.dcm", tmp_path / "out.dcm"
    ds.save_as(src)
    Deidentifier(SECRET, options=DeidOptions(retain_safe_private=True)).deidentify_file(src, dst)
    out = pydicom.dcmread(dst)
    kept = out.private_block(0x0019, "SIEMENS MR HEADER")
    assert kept[0x0C].value == 1000 or str(kept[0x0C].value) == "1000"
    assert b"MKPRIVATE" not in dst.read_bytes()
    assert not [e for e in out if e.tag.group == 0x0033]
    Deidentifier(SECRET).deidentify_file(src, dst)
    assert not [e for e in pydicom.dcmread(dst) if e.tag.is_private]


def test_clean_descriptors_blanks_the_datasets_own_identifiers():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName, ds.PatientID = "Kowalski^Anna", "PID-887766"
    ds.StudyDescription = "CT head for Kowalski, MRN PID-887766, seen 2019-03-04"
    Deidentifier(SECRET, options=DeidOptions(clean_descriptors=True)).deidentify(ds)
    assert "head" in ds.StudyDescription.lower()
    assert not [w for w in ("Kowalski", "887766", "2019") if w in ds.StudyDescription]
    plain = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    plain.StudyDescription = "anything"
    Deidentifier(SECRET).deidentify(plain)
    assert "StudyDescription" not in plain  # X without the option


@pytest.mark.parametrize("padding", [b"\0" * 64, b"\0" * 7, b"\xff" * 33, b"\0" * 8 + b"garbage!" * 3])
def test_mr_with_padding_after_its_pixel_data_exports(tmp_path, padding):
    raw = open(get_testdata_file("MR_small.dcm"), "rb").read()
    src = tmp_path / "series" / "padded.dcm"
    src.parent.mkdir()
    src.write_bytes(raw + padding)
    out = tmp_path / "out"
    result = export([ExportCase("mr", [src], patient_id="P1", label="a")], out,
                    ExportOptions("monai", "binary", ["a", "b"], splits=(1, 0, 0), deidentify=True))
    dicoms = list(out.rglob("*.dcm"))
    assert len(dicoms) == 1
    ds = pydicom.dcmread(dicoms[0])
    assert not [e for e in ds if e.tag.group == 0 or e.tag > 0x7FE00010]
    np.testing.assert_array_equal(ds.pixel_array, pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array)
    report = json.loads((out / result.manifest["deidentification"]["report"]).read_text())
    assert report["dicom_files"] == 1 and report["table"]["rows"] == 621


@pytest.mark.parametrize("fmt", ["csv", "monai", "nifti"])
def test_planted_markers_through_the_cli_leave_no_trace_in_the_export(tmp_path, capsys, fmt):
    from workstation.cli import main

    markers = Markers()
    src = tmp_path / "src" / "MK-planted.dcm"
    src.parent.mkdir()
    planted_ct(src, markers)
    proj, out = tmp_path / "proj", tmp_path / "out"
    assert main(["project", "init", str(proj), "--task", "binary", "--classes", "a,b"]) == 0
    labels = tmp_path / "labels.csv"
    labels.write_text(f"path,label\n{src},a\n")
    assert main(["project", "add", str(proj), str(src.parent), "--labels", str(labels), "--labels-tag", "final"]) == 0
    capsys.readouterr()
    code = main(["export", str(proj), str(out), "--format", fmt, "--deidentify", "--splits", "1,0,0"])
    _, err = capsys.readouterr()
    assert code == 0, err
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 4
    pixels = pydicom.dcmread(src).PixelData
    for path in written:
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            import gzip
            data = gzip.decompress(data)
        data = data.replace(pixels, b"")
        left = _left(data, markers)
        assert not left, f"{path.relative_to(out)} holds {left[:5]}"
        assert b"MK" not in path.name.encode() and UID_ROOT.encode() not in data


def test_safe_private_creators_without_safe_elements_go(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    block = ds.private_block(0x0041, "MKCREATOR-ONLY", create=True)
    block.add_new(0x01, "LO", "MKPRIVATE3")
    src, dst = tmp_path / "in.dcm", tmp_path / "out.dcm"
    ds.save_as(src)
    Deidentifier(SECRET, options=DeidOptions(retain_safe_private=True)).deidentify_file(src, dst)
    assert b"MKCREATOR" not in dst.read_bytes() and b"MKPRIVATE" not in dst.read_bytes()


def test_a_person_name_stored_as_un_is_still_a_person_name(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.add(DataElement(0x00081060, "UN", b"MKUNNAME^X"))  # Name of Physician(s) Reading Study, as UN
    ds.add(DataElement(0x00404037, "UN", b"MKHUMAN^Y "))  # Human Performer's Name: PN, in the IOD or not
    src, dst = tmp_path / "in.dcm", tmp_path / "out.dcm"
    ds.save_as(src, enforce_file_format=True)
    Deidentifier(SECRET).deidentify_file(src, dst)
    assert b"MKUNNAME" not in dst.read_bytes() and b"MKHUMAN" not in dst.read_bytes()
