"""Real DICOM files from pydicom-data, copied with identities, dates and UIDs of our choosing so
that the tests know exactly which strings must not survive de-identification."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid


@dataclass
class Patient:
    name: str
    patient_id: str
    birth_date: str
    other_id: str
    files: list[Path] = field(default_factory=list)
    study_dates: list[str] = field(default_factory=list)


def original_uids(ds: Dataset) -> set[str]:
    """Every instance UID in a dataset (the registry's own 1.2.840.10008 UIDs are not identifying)."""
    found = set()
    for elem in list(ds.iterall()) + list(getattr(ds, "file_meta", Dataset()).iterall()):
        if elem.VR == "UI" and elem.value:
            values = elem.value if isinstance(elem.value, (list, pydicom.multival.MultiValue)) else [elem.value]
            found.update(str(v) for v in values if not str(v).startswith("1.2.840.10008."))
    return found


def write_copy(source: str, dest: Path, patient: Patient, study_date: str, *, study_uid: str,
               series_uid: str, referenced_series: str | None = None) -> Path:
    ds = pydicom.dcmread(get_testdata_file(source))
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.OtherPatientIDs = patient.other_id
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = study_date
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.FrameOfReferenceUID = generate_uid()
    ds.InstitutionName = "St Elsewhere General"
    ds.ReferringPhysicianName = "Kildare^James"
    ds.AccessionNumber = patient.patient_id + "-ACC"
    ds.StudyID = patient.patient_id
    # identity hidden where a shallow scan would miss it: a private element and nested items
    block = ds.private_block(0x0029, "ACME PRIVATE", create=True)
    block.add_new(0x01, "LO", patient.name)
    item = Dataset()
    item.SeriesInstanceUID = referenced_series or series_uid
    item.ReviewerName = patient.name  # a person name the profile table does not list
    item.ReviewDate = study_date
    ds.ReferencedSeriesSequence = Sequence([item])
    dest.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dest)
    patient.files.append(dest)
    patient.study_dates.append(study_date)
    return dest


@pytest.fixture
def two_patients(tmp_path) -> list[Patient]:
    """Patient A: three files over two studies (two CT slices of one series, one MR a year later);
    patient B: one MR file."""
    a = Patient("Doe^Jane^Q", "PID-A-77310", "19650312", "MRN-998877")
    b = Patient("Roe^Richard", "PID-B-44102", "19701224", "MRN-112233")
    src = tmp_path / "src"
    study1, series1 = generate_uid(), generate_uid()
    write_copy("CT_small.dcm", src / "a" / "ct1.dcm", a, "20200105", study_uid=study1, series_uid=series1)
    write_copy("CT_small.dcm", src / "a" / "ct2.dcm", a, "20200105", study_uid=study1, series_uid=series1)
    write_copy("MR_small.dcm", src / "a" / "mr.dcm", a, "20210317", study_uid=generate_uid(),
               series_uid=generate_uid(), referenced_series=series1)
    write_copy("MR_small.dcm", src / "b" / "mr.dcm", b, "20190707", study_uid=generate_uid(),
               series_uid=generate_uid())
    return [a, b]


def all_text(path: Path) -> list[str]:
    """The value of every element in a file, file meta and nested sequence items included."""
    ds = pydicom.dcmread(path)
    texts = []
    for elem in list(ds.file_meta.iterall()) + list(ds.iterall()):
        if elem.tag == 0x7FE00010 or elem.VR == "SQ":
            continue
        value = elem.value
        texts.append(value.decode("latin-1") if isinstance(value, bytes) else str(value))
    return texts


def header_bytes(path: Path) -> bytes:
    """The raw bytes of a file up to its pixel data."""
    raw = path.read_bytes()
    at = raw.rfind(b"\xe0\x7f\x10\x00")
    return raw if at < 0 else raw[:at]


@pytest.fixture
def dicom_tools():
    """The helpers above, for tests (pytest's importlib mode cannot import a conftest by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(all_text=all_text, header_bytes=header_bytes, original_uids=original_uids,
                           write_copy=write_copy, Patient=Patient)


@pytest.fixture
def ct_series(tmp_path) -> list[Path]:
    """A real 3D series: CT_small's slice repeated at 8 positions 5 mm apart (one series UID),
    each slice's pixels offset so the slices differ."""
    folder = tmp_path / "series"
    folder.mkdir()
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    paths = []
    for k in range(8):
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Series^Sam", "PID-S-5150", "19800101"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y, z + 5.0 * k]
        ds.SliceLocation = z + 5.0 * k
        ds.InstanceNumber = k + 1
        arr = ds.pixel_array.copy()
        arr[:4, :4] = k
        ds.PixelData = arr.tobytes()
        path = folder / f"slice{k:02d}.dcm"
        ds.save_as(path)
        paths.append(path)
    return paths
