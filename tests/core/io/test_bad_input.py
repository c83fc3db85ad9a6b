"""Bad input: each case gives an ImageReadError whose text is one line naming the file and the
reason, and a folder with bad files still yields its good images."""
from __future__ import annotations

import shutil

import nibabel as nib
import numpy as np
import pydicom
import pytest

from workstation.core.io import ImageReadError, read, read_volume


def _error(path) -> str:
    with pytest.raises(ImageReadError) as info:
        read(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text
    return text


def test_missing_path(tmp_path):
    assert "no such file or folder" in _error(tmp_path / "nowhere.dcm")


@pytest.mark.parametrize("name", ["empty.dcm", "empty.nii.gz", "empty.png"])
def test_zero_byte_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    assert "empty file (0 bytes)" in _error(tmp_path / name)


def test_text_file_named_dcm(tmp_path):
    (tmp_path / "report.dcm").write_text("Patient: nobody\nFindings: none\n" * 20)
    assert "not a DICOM file" in _error(tmp_path / "report.dcm")


def test_unknown_file_type(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert "not a DICOM, NIfTI" in _error(tmp_path / "notes.txt")


def test_truncated_dicom_real_file(dicom_file):
    assert "truncated pixel data" in _error(dicom_file("MR_truncated.dcm"))


def test_truncated_dicom_cut_here(tmp_path, dicom_file):
    data = dicom_file("CT_small.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) // 2])
    assert "truncated pixel data" in _error(tmp_path / "cut.dcm")


def test_truncated_nifti(tmp_path, mni_nifti):
    data = mni_nifti.read_bytes()
    (tmp_path / "cut.nii.gz").write_bytes(data[: len(data) // 3])
    assert "cannot read NIfTI file" in _error(tmp_path / "cut.nii.gz")


def test_dicom_without_pixel_data(tmp_path, dicom_file):
    assert "DICOM without pixel data (RT Plan Storage)" in _error(dicom_file("rtplan.dcm"))
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    del ds.PixelData
    ds.save_as(tmp_path / "ct_no_pixels.dcm")
    assert "DICOM without pixel data (CT Image Storage" in _error(tmp_path / "ct_no_pixels.dcm")


def test_unsupported_compression(tmp_path, dicom_file):
    ds = pydicom.dcmread(dicom_file("MR_small_jp2klossless.dcm"))
    ds.file_meta.TransferSyntaxUID = pydicom.uid.MPEG2MPML  # video compression: no decoder exists
    ds.save_as(tmp_path / "mpeg2.dcm")
    assert "unsupported compression: MPEG2" in _error(tmp_path / "mpeg2.dcm")
    ds.file_meta.TransferSyntaxUID = "1.2.826.0.1.3680043.99.1"  # a private, unknown syntax
    ds.save_as(tmp_path / "private.dcm")
    assert "unsupported compression: unknown transfer syntax" in _error(tmp_path / "private.dcm")


def test_folder_with_bad_files_keeps_the_good_ones(tmp_path, dicom_file, series_writer, mni_nifti):
    series_writer(tmp_path / "series", [(0.0, 0.0, 2.0 * k) for k in range(5)])
    shutil.copy(mni_nifti, tmp_path / "brain.nii.gz")
    (tmp_path / "broken.dcm").write_text("not dicom")
    (tmp_path / "empty.nii.gz").write_bytes(b"")
    errors: list = []
    volumes = read(tmp_path, errors=errors)
    assert sorted(v.kind for v in volumes) == ["3d", "3d"]
    assert sorted(e.path.name for e in errors) == ["broken.dcm", "empty.nii.gz"]
    assert all("\n" not in str(e) for e in errors)
    # without an errors list the failures travel as warnings, and nothing is lost
    volumes = read(tmp_path)
    assert len(volumes) == 2 and all(any("broken.dcm" in w for w in v.warnings) for v in volumes)


def test_unreadable_slice_in_series_is_blank_and_reported(tmp_path, series_writer):
    paths = series_writer(tmp_path / "s", [(0.0, 0.0, 2.0 * k) for k in range(5)], pixel_offsets=[100] * 5)
    data = paths[2].read_bytes()
    paths[2].write_bytes(data[: len(data) - 5000])  # cut inside the pixel data
    errors: list = []
    (vol,) = read(tmp_path / "s", errors=errors)
    assert vol.size[2] == 5 and vol.spacing[2] == pytest.approx(2.0)  # geometry intact
    assert [e.path for e in errors] == [paths[2]]
    assert (vol.array[2] == vol.array[[0, 1, 3, 4]].min()).all()
    assert any("slice 3 of 5 unreadable" in w for w in vol.warnings)


def test_nan_nifti_reads_with_warning(tmp_path, mni_nifti):
    img = nib.load(mni_nifti)
    data = np.asarray(img.dataobj).astype(np.float32)
    data[10:12, 10:12, 10:12] = np.nan
    nib.Nifti1Image(data, img.affine).to_filename(tmp_path / "nan.nii")
    vol = read_volume(tmp_path / "nan.nii")
    assert np.isnan(vol.array).sum() == 8  # kept as stored, not zeroed
    assert any("8 voxel(s) are NaN or infinite" in w for w in vol.warnings)


def test_every_pydicom_test_file_reads_or_fails_cleanly(dicom_file):
    """Sweep pydicom's and pydicom-data's folders (odd, broken and non-image files included):
    only Volumes or one-line ImageReadErrors come out, never another exception."""
    folders = {dicom_file("CT_small.dcm").parent, dicom_file("693_UNCR.dcm").parent}
    for folder in folders:
        errors: list = []
        volumes = read(folder, errors=errors)
        assert len(volumes) > 20
        assert all(isinstance(e, ImageReadError) and "\n" not in str(e) for e in errors)
        assert all(v.array.dtype.isnative for v in volumes)


def test_folder_reports_image_objects_without_pixels_and_skips_documents(tmp_path, dicom_file):
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    del ds.PixelData, ds.Rows, ds.Columns
    ds.save_as(tmp_path / "ct_stub.dcm")
    shutil.copy(dicom_file("reportsi.dcm"), tmp_path / "report.dcm")  # a Basic Text SR document
    shutil.copy(dicom_file("MR_small.dcm"), tmp_path / "mr.dcm")
    errors: list = []
    (vol,) = read(tmp_path, errors=errors)
    assert vol.modality == "MR"
    assert [str(e) for e in errors] == [f"{tmp_path / 'ct_stub.dcm'}: DICOM without pixel data (CT Image Storage)"]
