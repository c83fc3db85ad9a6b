"""Fixtures for the I/O tests: real files from pydicom-data and nilearn, and DICOM series written
from a real CT slice (CT_small.dcm) with positions chosen by each test."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid


def testdata(name: str) -> Path:
    path = get_testdata_file(name, download=False)  # pydicom-data is installed: never download
    assert path is not None, f"pydicom test file {name} missing (install the 'samples' extra)"
    return Path(path)


@pytest.fixture
def dicom_file():
    return testdata


def write_series(folder: Path, positions, orientation=(1, 0, 0, 0, 1, 0), source="CT_small.dcm",
                 series_uid=None, description="test series", shuffle=True, pixel_offsets=None) -> list[Path]:
    """Copies of one real slice, one per position, in a new series; file names shuffled so that
    sorting by name would be wrong. pixel_offsets[k] is added to slice k's stored values, so the
    tests can tell the slices apart. Returns the paths in the order of `positions`."""
    folder.mkdir(parents=True, exist_ok=True)
    ds = pydicom.dcmread(testdata(source))
    base = ds.pixel_array.copy()
    series_uid = series_uid or generate_uid()
    tag = series_uid.replace(".", "")[-6:]  # several series may share a folder
    names = [f"IM{tag}_{k:04d}" for k in range(len(positions))]
    if shuffle:
        random.Random(len(positions)).shuffle(names)
    paths = []
    for k, position in enumerate(positions):
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImagePositionPatient = [f"{v:.4f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
        ds.InstanceNumber = len(positions) - k  # deliberately unrelated to the geometry
        ds.SeriesDescription = description
        offset = 0 if pixel_offsets is None else pixel_offsets[k]
        ds.PixelData = (base + np.int16(offset)).astype(base.dtype).tobytes()
        path = folder / f"{names[k]}.dcm"
        ds.save_as(path)
        paths.append(path)
    return paths


@pytest.fixture
def series_writer():
    return write_series


@pytest.fixture(scope="session")
def mni_nifti(tmp_path_factory) -> Path:
    """nilearn's MNI152 T1 template (1 mm) saved as .nii.gz."""
    from nilearn.datasets import load_mni152_template

    path = tmp_path_factory.mktemp("mni") / "mni152_t1.nii.gz"
    load_mni152_template(resolution=1).to_filename(path)
    return path

