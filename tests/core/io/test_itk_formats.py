"""NIfTI (checked against nibabel's affine, RAS -> LPS), NRRD and MetaImage (headers written by
hand here), and 2D pictures (PNG/JPEG/TIFF/BMP, 8/16-bit, grey/RGB) made from real images."""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from workstation.core.io import read_volume

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def _check_against_nibabel(vol, img):
    affine = img.affine
    zooms = np.asarray(img.header.get_zooms()[:3], dtype=float)
    assert vol.size == img.shape[:3]
    assert vol.spacing == pytest.approx(zooms, rel=1e-5)
    assert vol.origin == pytest.approx(RAS_TO_LPS @ affine[:3, 3], abs=1e-4)
    assert vol.direction == pytest.approx(RAS_TO_LPS @ affine[:3, :3] / zooms, abs=1e-5)
    for ijk in ([0, 0, 0], [10, 20, 30], [img.shape[0] - 1, 5, img.shape[2] - 1]):
        ras = affine @ np.array(ijk + [1.0])
        assert vol.index_to_world(ijk) == pytest.approx(RAS_TO_LPS @ ras[:3], abs=1e-3)
    data = np.asarray(img.dataobj)  # nibabel is [i, j, k]; Volume is [k, j, i]; scaling applied
    slope, inter = img.dataobj.slope, img.dataobj.inter
    if (slope, inter) == (1.0, 0.0):
        assert vol.array.dtype == img.get_data_dtype().newbyteorder("=")  # native order
        np.testing.assert_array_equal(vol.array, data.transpose(2, 1, 0))
    else:
        assert vol.array.dtype == np.float32  # non-integer scaling: float32, never float64
        np.testing.assert_allclose(vol.array, data.transpose(2, 1, 0), rtol=1e-6, atol=1e-7)


def test_mni152_nifti_matches_nibabel(mni_nifti):
    vol = read_volume(mni_nifti)
    img = nib.load(mni_nifti)
    assert img.shape == (197, 233, 189)
    _check_against_nibabel(vol, img)
    assert vol.kind == "3d"


def test_oblique_nifti_matches_nibabel(mni_nifti, tmp_path):
    src = nib.load(mni_nifti)
    data = np.asarray(src.dataobj)[::4, ::4, ::4]
    angle = np.radians(20)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([2.0, 2.5, 3.0])
    affine[:3, 3] = [-90.0, 120.0, -60.0]
    img = nib.Nifti1Image(data, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    path = tmp_path / "oblique.nii"
    img.to_filename(path)
    _check_against_nibabel(read_volume(path), nib.load(path))


def test_nifti_with_nan_and_inf_warns_and_stats_are_finite(mni_nifti, tmp_path):
    src = nib.load(mni_nifti)
    data = np.asarray(src.dataobj).astype(np.float32)
    finite_mean = float(data.mean(dtype=np.float64))
    data[0, 0, 0], data[1, 1, 1], data[2, 2, 2] = np.nan, np.inf, -np.inf
    path = tmp_path / "nan.nii.gz"
    nib.Nifti1Image(data, src.affine).to_filename(path)
    vol = read_volume(path)
    assert any("NaN or infinite" in w and w.startswith("3 ") for w in vol.warnings), vol.warnings
    lo, hi, mean, bad = vol.stats()
    assert bad == 3 and np.isfinite([lo, hi, mean]).all()
    finite = data[np.isfinite(data)]
    assert (lo, hi) == (float(finite.min()), float(finite.max()))
    assert mean == pytest.approx(float(finite.mean(dtype=np.float64)), rel=1e-9)
    assert mean == pytest.approx(finite_mean, rel=1e-3)


def test_4d_nifti_shows_first_volume(mni_nifti, tmp_path):
    src = nib.load(mni_nifti)
    data = np.asarray(src.dataobj)[::8, ::8, ::8]
    path = tmp_path / "four.nii.gz"
    nib.Nifti1Image(np.stack([data, data + 1], axis=-1), src.affine).to_filename(path)
    vol = read_volume(path)
    assert vol.frames == 2 and vol.size == data.shape and any("4D" in w for w in vol.warnings)
    np.testing.assert_array_equal(vol.array, data.transpose(2, 1, 0))


def _mni_block(mni_nifti):
    return np.ascontiguousarray(np.asarray(nib.load(mni_nifti).dataobj)[40:80, 50:100, 60:90]).astype(np.int16)


def test_nrrd_written_by_hand(mni_nifti, tmp_path):
    block = _mni_block(mni_nifti)  # [i, j, k]
    header = (
        "NRRD0004\ntype: int16\ndimension: 3\nspace: left-posterior-superior\n"
        f"sizes: {block.shape[0]} {block.shape[1]} {block.shape[2]}\n"
        "space directions: (0,1.5,0) (-2,0,0) (0,0,3)\n"  # i runs along +y, j along -x
        "kinds: domain domain domain\nendian: little\nencoding: raw\n"
        "space origin: (10,-20,30)\n\n"
    )
    path = tmp_path / "block.nrrd"
    path.write_bytes(header.encode() + block.transpose(2, 1, 0).astype("<i2").tobytes())
    vol = read_volume(path)
    assert vol.size == block.shape and vol.spacing == pytest.approx((1.5, 2.0, 3.0))
    assert vol.origin == pytest.approx((10, -20, 30))
    assert vol.direction == pytest.approx(np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]]))
    np.testing.assert_array_equal(vol.array, block.transpose(2, 1, 0))
    assert vol.index_to_world([2, 3, 4]) == pytest.approx(np.array([10, -20, 30]) + 2 * np.array([0, 1.5, 0])
                                                          + 3 * np.array([-2, 0, 0]) + 4 * np.array([0, 0, 3]))


@pytest.mark.parametrize("detached", [False, True])
def test_metaimage_written_by_hand(mni_nifti, tmp_path, detached):
    block = _mni_block(mni_nifti)
    raw = block.transpose(2, 1, 0).astype("<i2").tobytes()
    header = (
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        "TransformMatrix = -1 0 0 0 1 0 0 0 1\nOffset = 5 6 7\nElementSpacing = 0.5 0.75 1.25\n"
        f"DimSize = {block.shape[0]} {block.shape[1]} {block.shape[2]}\nElementType = MET_SHORT\n"
    )
    if detached:
        (tmp_path / "block.raw").write_bytes(raw)
        path = tmp_path / "block.mhd"
        path.write_text(header + "ElementDataFile = block.raw\n")
    else:
        path = tmp_path / "block.mha"
        path.write_bytes((header + "ElementDataFile = LOCAL\n").encode() + raw)
    vol = read_volume(path)
    assert vol.spacing == pytest.approx((0.5, 0.75, 1.25)) and vol.origin == pytest.approx((5, 6, 7))
    assert vol.direction == pytest.approx(np.diag([-1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(vol.array, block.transpose(2, 1, 0))


def _pictures(dicom_file):
    grey8 = pydicom.dcmread(dicom_file("US1_UNCR.dcm")).pixel_array[..., 1].copy()  # real US, one channel
    grey16 = pydicom.dcmread(dicom_file("MR_small.dcm")).pixel_array.astype(np.uint16)
    rgb = pydicom.dcmread(dicom_file("US1_UNCR.dcm")).pixel_array.copy()
    return grey8, grey16, rgb


@pytest.mark.parametrize("suffix, which, exact", [
    (".png", "grey8", True), (".png", "grey16", True), (".png", "rgb", True),
    (".tif", "grey8", True), (".tiff", "grey16", True), (".tif", "rgb", True),
    (".bmp", "grey8", True), (".bmp", "rgb", True),
    (".jpg", "grey8", False), (".jpeg", "rgb", False),
])
def test_pictures(dicom_file, tmp_path, suffix, which, exact):
    grey8, grey16, rgb = _pictures(dicom_file)
    source = {"grey8": grey8, "grey16": grey16, "rgb": rgb}[which]
    path = tmp_path / f"picture{suffix}"
    sitk.WriteImage(sitk.GetImageFromArray(source, isVector=source.ndim == 3), str(path))
    vol = read_volume(path)
    assert vol.kind == "2d" and vol.size == (source.shape[1], source.shape[0], 1)
    assert vol.is_rgb == (source.ndim == 3)
    assert vol.array.dtype == source.dtype
    if exact:
        np.testing.assert_array_equal(vol.array[0], source)
    else:
        assert np.abs(vol.array[0].astype(int) - source.astype(int)).mean() < 4


def test_grey_picture_saved_as_rgb_becomes_grey(dicom_file, tmp_path):
    grey8 = _pictures(dicom_file)[0]
    path = tmp_path / "grey_as_rgb.png"
    sitk.WriteImage(sitk.GetImageFromArray(np.repeat(grey8[..., None], 3, axis=2), isVector=True), str(path))
    vol = read_volume(path)
    assert not vol.is_rgb
    np.testing.assert_array_equal(vol.array[0], grey8)


@pytest.mark.parametrize("case", ["big-endian", "integer-scaling", "float-scaling"])
def test_nifti_byte_order_and_scaling(mni_nifti, tmp_path, case):
    src = np.asarray(nib.load(mni_nifti).dataobj)[::4, ::4, ::4]
    data = np.round(src * 1000).astype(np.int16)
    affine = np.array([[0, -1.5, 0, 10], [2, 0, 0, -20], [0, 0, 3, 5], [0, 0, 0, 1.0]])
    if case == "big-endian":
        img = nib.Nifti1Image(data.astype(">i2"), affine, header=nib.Nifti1Header(endianness=">"))
        img.set_data_dtype(">i2")
    else:
        img = nib.Nifti1Image(data, affine)
        img.header.set_slope_inter(*((2, -1024) if case == "integer-scaling" else (0.25, -3.5)))
    path = tmp_path / f"{case}.nii.gz"
    img.to_filename(path)
    vol = read_volume(path)
    expected = np.asarray(nib.load(path).dataobj).transpose(2, 1, 0)
    assert vol.array.dtype.isnative
    assert vol.array.dtype == {"big-endian": np.int16, "integer-scaling": np.int16, "float-scaling": np.float32}[case]
    np.testing.assert_allclose(vol.array, expected, rtol=1e-6)
    if case == "big-endian":
        _check_against_nibabel(vol, nib.load(path))
