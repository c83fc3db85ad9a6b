"""The sample finder: pydicom-data files, the MNI152 cache (checked against nilearn), and the 16
labelled chest X-rays fetched through `pip download` (pip's cache makes repeats quick)."""
from __future__ import annotations

import csv

import nibabel as nib
import numpy as np
import pydicom
import pytest

from workstation.core.io import samples
from workstation.core.io import read, read_volume


def test_dicom_samples_by_key_and_by_name():
    assert samples.dicom_file("ct-small").name == "CT_small.dcm"
    assert samples.dicom_file("RG1_UNCR.dcm") == samples.dicom_file("cr-chest")
    for key in samples.DICOM_SAMPLES:
        assert pydicom.dcmread(samples.dicom_file(key), stop_before_pixels=True).Modality
    with pytest.raises(samples.SampleError, match="not found"):
        samples.dicom_file("no_such_file.dcm")


def test_mni152_cache_matches_nilearn(tmp_path):
    from nilearn.datasets import load_mni152_brain_mask

    path = samples.mni152("brain_mask", dest=tmp_path)
    assert path.exists() and samples.mni152("brain_mask", dest=tmp_path) == path  # cached
    expected = load_mni152_brain_mask(resolution=1)
    vol = read_volume(path)
    np.testing.assert_array_equal(vol.array, np.asarray(expected.dataobj).transpose(2, 1, 0))
    assert np.allclose(nib.load(path).affine, expected.affine)
    with pytest.raises(samples.SampleError, match="unknown MNI152 kind"):
        samples.mni152("t7")


@pytest.mark.slow
def test_chest_xrays_are_16_labelled_greyscale_pictures(tmp_path):
    folder = samples.chest_xrays(tmp_path / "cxr")
    with open(folder / "labels.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 16 and sorted(r["label"] for r in rows).count("NORMAL") == 8
    assert {p.parent.name for p in folder.glob("*/*.jpeg")} == {"NORMAL", "PNEUMONIA"}
    errors: list = []
    volumes = read(folder, errors=errors)
    assert errors == [] and len(volumes) == 16
    assert all(v.kind == "2d" and not v.is_rgb and v.array.dtype == np.uint8 for v in volumes)
    assert samples.chest_xrays(tmp_path / "cxr") == folder  # second call: cached, no download
