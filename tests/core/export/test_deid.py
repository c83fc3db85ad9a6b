"""DICOM PS3.15 basic profile on real pydicom-data files."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from workstation.core.export.deid import DeidOptions, Deidentifier, burned_in_status

LONGITUDINAL = DeidOptions(retain_dates="modified", retain_patient_characteristics=True)


def _deidentify_all(patients, tmp_path, secret=b"k" * 32, options=LONGITUDINAL):
    deid = Deidentifier(secret, options=options)
    out = {}
    for p in patients:
        for i, src in enumerate(p.files):
            dst = tmp_path / "deid" / f"{p.patient_id}-{i}.dcm"
            dst.parent.mkdir(parents=True, exist_ok=True)
            deid.deidentify_file(src, dst)
            out[src] = dst
    return deid, out


def _days(a: str, b: str) -> int:
    return (datetime.strptime(a, "%Y%m%d") - datetime.strptime(b, "%Y%m%d")).days


def test_no_identity_or_original_uid_survives_anywhere(two_patients, tmp_path, dicom_tools):
    _, copies = _deidentify_all(two_patients, tmp_path)
    for p in two_patients:
        forbidden = {p.name, p.patient_id, p.birth_date, p.other_id, "St Elsewhere", "Kildare"}
        forbidden |= {part for part in p.name.split("^") if len(part) >= 3}
        for src in p.files:
            forbidden |= dicom_tools.original_uids(pydicom.dcmread(src))
        for src in p.files:
            dst = copies[src]
            texts = dicom_tools.all_text(dst)
            leaks = {f for f in forbidden for t in texts if f in t}
            assert not leaks, f"{dst.name} still holds {leaks}"
            raw = dicom_tools.header_bytes(dst)
            assert not [f for f in forbidden if f.encode() in raw]
            ds = pydicom.dcmread(dst)
            assert ds.PatientIdentityRemoved == "YES"
            assert "0029" not in {f"{int(e.tag) >> 16:04X}" for e in ds.iterall()}  # private group gone


def test_pixels_are_untouched(two_patients, tmp_path):
    _, copies = _deidentify_all(two_patients, tmp_path)
    for src, dst in copies.items():
        before, after = pydicom.dcmread(src), pydicom.dcmread(dst)
        assert before.PixelData == after.PixelData
        np.testing.assert_array_equal(before.pixel_array, after.pixel_array)


@pytest.mark.parametrize("name", ["MR_small_jp2klossless.dcm", "MR_small_RLE.dcm", "SC_rgb_jpeg_dcmtk.dcm"])
def test_compressed_pixels_are_untouched(name, tmp_path):
    src = get_testdata_file(name)
    dst = tmp_path / "out.dcm"
    Deidentifier().deidentify_file(src, dst)
    before, after = pydicom.dcmread(src), pydicom.dcmread(dst)
    assert after.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
    assert before.PixelData == after.PixelData
    np.testing.assert_array_equal(before.pixel_array, after.pixel_array)


def test_pseudonym_and_date_shift_consistent_per_patient(two_patients, tmp_path):
    _, copies = _deidentify_all(two_patients, tmp_path)
    offsets_by_patient, pseudonyms = {}, {}
    for p in two_patients:
        offsets, ids = set(), set()
        for src in p.files:
            before, after = pydicom.dcmread(src), pydicom.dcmread(copies[src])
            ids.add((after.PatientID, str(after.PatientName)))
            for keyword in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"):
                offsets.add(_days(getattr(after, keyword), getattr(before, keyword)))
            assert before.PatientBirthDate and after.PatientBirthDate == ""  # Z: emptied, not shifted
            nested = after.ReferencedSeriesSequence[0]
            offsets.add(_days(nested.ReviewDate, before.ReferencedSeriesSequence[0].ReviewDate))
            assert after.StudyTime == before.StudyTime  # whole-day shifts keep the times
            assert after.PatientSex == before.PatientSex  # patient characteristics kept
        assert len(offsets) == 1 and offsets.pop() < 0, "one negative shift for all of a patient's dates"
        assert len(ids) == 1
        pid, name = ids.pop()
        assert pid == name and pid.startswith("ANON-")
        offsets_by_patient[p.patient_id] = _days(pydicom.dcmread(copies[p.files[0]]).StudyDate, p.study_dates[0])
        pseudonyms[p.patient_id] = pid
    assert len(set(pseudonyms.values())) == 2
    # intervals between a patient's studies survive
    a = two_patients[0]
    new = [pydicom.dcmread(copies[f]).StudyDate for f in a.files]
    assert _days(new[2], new[0]) == _days(a.study_dates[2], a.study_dates[0])


def test_uids_remapped_consistently_within_an_export(two_patients, tmp_path):
    _, copies = _deidentify_all(two_patients, tmp_path)
    a = two_patients[0]
    ct1, ct2, mr = (pydicom.dcmread(copies[f]) for f in a.files)
    assert ct1.StudyInstanceUID == ct2.StudyInstanceUID != mr.StudyInstanceUID
    assert ct1.SeriesInstanceUID == ct2.SeriesInstanceUID
    assert ct1.SOPInstanceUID != ct2.SOPInstanceUID
    # a reference from the MR to the CT series follows the remapping
    assert mr.ReferencedSeriesSequence[0].SeriesInstanceUID == ct1.SeriesInstanceUID
    for ds in (ct1, ct2, mr):
        assert ds.SOPInstanceUID.startswith("2.25.") and len(ds.SOPInstanceUID) <= 64
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.SOPClassUID.startswith("1.2.840.10008.")  # registry UIDs stay


def test_secret_decides_the_mapping(two_patients, tmp_path):
    src = two_patients[0].files[0]
    same = [pydicom.dcmread(src) for _ in range(3)]
    Deidentifier(b"one").deidentify(same[0])
    Deidentifier(b"one").deidentify(same[1])
    Deidentifier(b"two").deidentify(same[2])
    assert same[0].PatientID == same[1].PatientID != same[2].PatientID
    assert same[0].StudyInstanceUID == same[1].StudyInstanceUID != same[2].StudyInstanceUID


def test_structured_report_nested_names_and_uids(tmp_path, dicom_tools):
    src = get_testdata_file("test-SR.dcm")
    original = pydicom.dcmread(src)
    names = {str(e.value) for e in original.iterall() if e.VR == "PN" and e.value}
    uids = dicom_tools.original_uids(original)
    assert names and uids
    dst = tmp_path / "sr.dcm"
    Deidentifier().deidentify_file(src, dst)
    texts = dicom_tools.all_text(dst)
    assert not {n for n in names | uids for t in texts if n in t}


def test_overlays_and_curves_dropped_pixels_kept(tmp_path):
    src = get_testdata_file("MR-SIEMENS-DICOM-WithOverlays.dcm")
    before = pydicom.dcmread(src)
    assert 0x60003000 in before
    dst = tmp_path / "ov.dcm"
    Deidentifier().deidentify_file(src, dst)
    after = pydicom.dcmread(dst)
    assert 0x60003000 not in after
    np.testing.assert_array_equal(before.pixel_array, after.pixel_array)


def test_burned_in_annotation_flagged(tmp_path):
    us = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm"))
    assert burned_in_status(us) == "likely"
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    assert burned_in_status(ct) == ""
    ct.BurnedInAnnotation = "YES"
    report = Deidentifier().deidentify(ct)
    assert report.burned_in == "yes" and "burned-in" in report.warnings[0]
    declared_clean = pydicom.dcmread(get_testdata_file("emri_small.dcm"))
    assert declared_clean.BurnedInAnnotation == "NO" and burned_in_status(declared_clean) == ""
    sc = pydicom.dcmread(get_testdata_file("SC_rgb.dcm"))
    assert burned_in_status(sc) == "likely"  # secondary capture


def test_unparsable_dates_are_emptied_not_kept():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.StudyDate = "2004-01-19"
    ds.AcquisitionDateTime = "20040119072730.123456+0100"
    Deidentifier(b"s", options=DeidOptions(retain_dates="modified")).deidentify(ds)
    assert ds.StudyDate == ""
    assert ds.AcquisitionDateTime.endswith("072730.123456+0100")
    assert not ds.AcquisitionDateTime.startswith("20040119")


def test_raw_dataset_without_preamble_or_meta(tmp_path, two_patients, dicom_tools):
    a = two_patients[0]
    ds = pydicom.dcmread(a.files[0])
    raw = tmp_path / "raw.dcm"
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.preamble = None
    pydicom.dcmwrite(raw, ds, implicit_vr=True, little_endian=True)
    assert raw.read_bytes()[128:132] != b"DICM"
    dst = tmp_path / "out.dcm"
    Deidentifier().deidentify_file(raw, dst)
    assert dst.read_bytes()[128:132] == b"DICM"  # written as a standard file
    texts = dicom_tools.all_text(dst)
    assert not [t for t in texts if a.patient_id in t or "Doe" in t]
    np.testing.assert_array_equal(pydicom.dcmread(dst).pixel_array, pydicom.dcmread(a.files[0]).pixel_array)


def test_file_without_a_dicom_header_is_refused(tmp_path):
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 300 + b"Doe^Jane")
    with pytest.raises(ValueError, match="no DICOM image header"):
        Deidentifier().deidentify_file(junk, tmp_path / "out.dcm")
    assert not (tmp_path / "out.dcm").exists()


def test_unknown_public_elements_are_dropped():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.add_new(0x00421234, "UN", b"Doe^Jane")  # a public (even group) tag no dictionary defines
    assert any(e.VR == "UN" for e in ds)
    Deidentifier().deidentify(ds)
    assert not any(e.VR == "UN" for e in ds.iterall())


def test_attributes_outside_the_table_and_the_iod_go_structure_stays():
    cr = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm"))
    assert "CollimatorShape" in cr  # in the file, though the CR IOD does not define it
    Deidentifier(b"s").deidentify(cr)
    assert "CollimatorShape" not in cr
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ct.PixelSpacing, ct.SliceThickness = [0.5, 0.5], "2.5"
    structure = ("Rows", "Columns", "BitsAllocated", "PixelRepresentation", "PixelSpacing", "SliceThickness",
                 "ImagePositionPatient", "ImageOrientationPatient", "RescaleSlope", "RescaleIntercept", "Modality",
                 "KVP", "SOPClassUID")
    before = {k: ct.get(k) for k in structure}
    Deidentifier(b"s").deidentify(ct)
    assert {k: ct.get(k) for k in structure} == before
    odd = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    odd.SOPClassUID = "1.2.826.0.1.3680043.10.1.999"  # a SOP class the tables do not know
    odd.CollimatorShape = "RECTANGULAR"
    Deidentifier(b"s").deidentify(odd)
    assert odd.CollimatorShape == "RECTANGULAR"  # nothing to judge by: known attributes stay
    assert odd.SOPClassUID == "1.2.826.0.1.3680043.10.1.999"  # a class, not an instance: never remapped


def _text_items(ds):
    return [e for e in ds.iterall() if e.keyword == "TextValue"]


def test_structured_report_text_is_cleaned_only_with_the_option():
    def report():
        ds = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
        ds.PatientName, ds.PatientID = "Kowalski^Anna", "PID-887766"
        texts = _text_items(ds)
        assert texts
        for e in texts:
            e.value = "Lesion in the left lobe; patient Anna Kowalski (PID-887766) seen 2019-03-04"
        return ds

    cleaned = report()
    Deidentifier(b"s", options=DeidOptions(clean_structured_content=True)).deidentify(cleaned)
    texts = [str(e.value) for e in _text_items(cleaned)]
    assert texts and all("left lobe" in t for t in texts)
    assert not [t for t in texts if "Kowalski" in t or "Anna" in t or "887766" in t or "2019" in t]
    basic = report()
    Deidentifier(b"s").deidentify(basic)
    assert not _text_items(basic)  # Content Sequence: D, one empty item
    assert len(basic.ContentSequence) == 1 and len(basic.ContentSequence[0]) == 0


def test_a_deidentified_series_reads_as_the_same_volume(ct_series, tmp_path):
    from workstation.core.io import read_volume

    deid = Deidentifier(b"s")
    out = tmp_path / "deid-series"
    out.mkdir()
    for i, src in enumerate(ct_series):
        deid.deidentify_file(src, out / f"{i:02d}.dcm")
    before, after = read_volume(ct_series[0].parent), read_volume(out)
    assert after.size == before.size == (128, 128, 8)
    np.testing.assert_array_equal(after.array, before.array)
    np.testing.assert_allclose(after.spacing, before.spacing)
    np.testing.assert_allclose(after.origin, before.origin)
    np.testing.assert_allclose(after.direction, before.direction)
