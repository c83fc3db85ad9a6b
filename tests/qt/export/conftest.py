"""A small binary review project made of real pydicom-data DICOM files (CT_small, MR_small) copied
under identities of our choosing, so the tests know which names must not survive de-identification."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

PATIENTS = [("Doe^Jane", "PID-A-77310", "CT_small.dcm", "abnormal"),
            ("Roe^Richard", "PID-B-44102", "MR_small.dcm", "normal"),
            ("Poe^Edgar", "PID-C-18090", "CT_small.dcm", "normal"),
            ("Moe^Molly", "PID-D-55021", "MR_small.dcm", "abnormal")]


@dataclass
class MadeProject:
    directory: Path
    names: list[str]
    patient_ids: list[str]


def _copy(source: str, dest: Path, name: str, patient_id: str, burned_in: bool = False) -> Path:
    ds = pydicom.dcmread(get_testdata_file(source))
    if burned_in:
        ds.BurnedInAnnotation = "YES"
    ds.PatientName, ds.PatientID = name, patient_id
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    dest.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dest)
    return dest


@pytest.fixture
def labelled_project(tmp_path) -> MadeProject:
    """Four one-file cases of four patients, each with alice's final label; bob labelled two. The
    last image declares burned-in annotation."""
    from workstation.core.project import Project

    project = Project.create(tmp_path / "proj", task="binary", classes=["normal", "abnormal"])
    try:
        for n, (name, pid, source, label) in enumerate(PATIENTS):
            path = _copy(source, tmp_path / "src" / f"p{n}" / "image.dcm", name, pid,
                         burned_in=n == len(PATIENTS) - 1)
            case = project.add_case([path], case_id=f"case-{n}", patient_id=pid)
            project.set_label(case.case_id, label, reader="alice")
            if n < 2:
                project.set_label(case.case_id, label, reader="bob")
    finally:
        project.close()
    return MadeProject(tmp_path / "proj", [p[0] for p in PATIENTS], [p[1] for p in PATIENTS])
