"""Single DICOM files from pydicom-data: geometry, rescale, window, photometry, compression and
multi-frame layouts, each checked against values computed here with pydicom."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_color_lut

from workstation.core.io import read, read_volume


def _ds(dicom_file, name):
    return pydicom.dcmread(dicom_file(name))


def test_ct_geometry_rescale_and_dtype(dicom_file):
    ds = _ds(dicom_file, "CT_small.dcm")
    vol = read_volume(dicom_file("CT_small.dcm"))
    row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
    assert vol.kind == "2d" and vol.size == (ds.Columns, ds.Rows, 1)
    assert vol.spacing[:2] == pytest.approx((col_spacing, row_spacing))
    assert vol.origin == pytest.approx([float(v) for v in ds.ImagePositionPatient])
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    assert vol.direction[:, 0] == pytest.approx(iop[:3])
    assert vol.direction[:, 1] == pytest.approx(iop[3:])
    expected = ds.pixel_array.astype(np.int64) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
    assert vol.array.dtype == np.int16  # integer rescale stays integer, no float copy
    np.testing.assert_array_equal(vol.array[0], expected)
    assert vol.modality == "CT" and vol.series_uid == ds.SeriesInstanceUID
    assert vol.metadata["StudyInstanceUID"] == ds.StudyInstanceUID
    assert vol.sources == [dicom_file("CT_small.dcm")]
    # a pixel's world position from the DICOM formula: IPP + col*dx*row_cos + row*dy*col_cos
    r, c = 17, 91
    world = np.array([float(v) for v in ds.ImagePositionPatient]) + c * col_spacing * iop[:3] + r * row_spacing * iop[3:]
    assert vol.index_to_world([c, r, 0]) == pytest.approx(world)


def test_mr_window_from_voi_lut_first_value(dicom_file):
    ds = _ds(dicom_file, "MR_small.dcm")
    vol = read_volume(dicom_file("MR_small.dcm"))
    center = ds.WindowCenter[0] if isinstance(ds.WindowCenter, pydicom.multival.MultiValue) else ds.WindowCenter
    width = ds.WindowWidth[0] if isinstance(ds.WindowWidth, pydicom.multival.MultiValue) else ds.WindowWidth
    assert vol.window == (float(center), float(width))
    assert vol.default_window() == vol.window
    np.testing.assert_array_equal(vol.array[0], ds.pixel_array)
    assert vol.array.dtype == ds.pixel_array.dtype


def test_non_integer_rescale_gives_float32(dicom_file):
    ds = _ds(dicom_file, "MR2_UNCR.dcm")
    vol = read_volume(dicom_file("MR2_UNCR.dcm"))
    assert vol.array.dtype == np.float32
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(vol.array[0], expected, rtol=1e-6, atol=1e-3)


def test_monochrome1_keeps_values_and_flags_inversion(dicom_file):
    ds = _ds(dicom_file, "RG1_UNCR.dcm")
    assert ds.PhotometricInterpretation == "MONOCHROME1" and ds.Modality == "CR"
    vol = read_volume(dicom_file("RG1_UNCR.dcm"))
    assert vol.invert is True
    np.testing.assert_array_equal(vol.array[0], ds.pixel_array)
    assert vol.window == (float(ds.WindowCenter), float(ds.WindowWidth))
    flipped = vol.display_oriented()
    lo, hi = int(ds.pixel_array.min()), int(ds.pixel_array.max())
    np.testing.assert_array_equal(flipped[0].astype(np.int64), lo + hi - ds.pixel_array.astype(np.int64))
    assert not read_volume(dicom_file("CT_small.dcm")).invert


@pytest.mark.parametrize("compressed, reference", [
    ("MR_small_RLE.dcm", "MR_small.dcm"),                      # RLE
    ("MR_small_jp2klossless.dcm", "MR_small.dcm"),             # JPEG 2000 lossless
    ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),         # JPEG-LS lossless
    ("693_J2KR.dcm", "693_UNCR.dcm"),                          # JPEG 2000, 512x512 CT
    ("RG1_J2KR.dcm", "RG1_UNCR.dcm"),                          # JPEG 2000, CR MONOCHROME1
    ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb.dcm"),                    # JPEG lossless, RGB
    ("emri_small_RLE.dcm", "emri_small.dcm"),                  # RLE multi-frame
    ("emri_small_jpeg_2k_lossless.dcm", "emri_small.dcm"),     # JPEG 2000 multi-frame
    ("MR_small_bigendian.dcm", "MR_small.dcm"),                # big-endian -> native order
])
def test_lossless_compression_matches_uncompressed(dicom_file, compressed, reference):
    a, b = read_volume(dicom_file(compressed)), read_volume(dicom_file(reference))
    assert pydicom.dcmread(dicom_file(compressed)).file_meta.TransferSyntaxUID != \
        pydicom.dcmread(dicom_file(reference)).file_meta.TransferSyntaxUID
    assert a.array.dtype.isnative
    np.testing.assert_array_equal(a.array, b.array)
    assert a.spacing == b.spacing and a.origin == b.origin


def test_jpeg_baseline_lossy_is_close_to_original(dicom_file):
    ds = _ds(dicom_file, "SC_rgb_dcmtk_+eb+cr.dcm")
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.JPEGBaseline8Bit
    lossy, original = read_volume(dicom_file("SC_rgb_dcmtk_+eb+cr.dcm")), read_volume(dicom_file("SC_rgb.dcm"))
    assert lossy.is_rgb and lossy.array.shape == original.array.shape == (1, 100, 100, 3)
    assert np.abs(lossy.array.astype(int) - original.array.astype(int)).mean() < 2


def test_jpeg_lossless_process14_ultrasound(dicom_file):
    ds = _ds(dicom_file, "JPGLosslessP14SV1_1s_1f_8b.dcm")
    vol = read_volume(dicom_file("JPGLosslessP14SV1_1s_1f_8b.dcm"))
    assert vol.modality == "US" and vol.array.dtype == np.uint8
    np.testing.assert_array_equal(vol.array[0], ds.pixel_array)


def test_rgb_keeps_channels(dicom_file):
    ds = _ds(dicom_file, "US1_UNCR.dcm")
    vol = read_volume(dicom_file("US1_UNCR.dcm"))
    assert vol.is_rgb and vol.array.shape == (1, ds.Rows, ds.Columns, 3) and vol.kind == "2d"
    np.testing.assert_array_equal(vol.array[0], ds.pixel_array)


def test_palette_colour_becomes_rgb(dicom_file):
    ds = _ds(dicom_file, "OBXXXX1A.dcm")
    vol = read_volume(dicom_file("OBXXXX1A.dcm"))
    assert vol.is_rgb
    np.testing.assert_array_equal(vol.array[0], apply_color_lut(ds.pixel_array, ds))
    region = ds.SequenceOfUltrasoundRegions[0]  # ultrasound: spacing from the region, in cm
    assert (region.PhysicalUnitsXDirection, region.PhysicalUnitsYDirection) == (3, 3)
    assert vol.spacing[:2] == pytest.approx((10 * region.PhysicalDeltaX, 10 * region.PhysicalDeltaY))


def test_multiframe_without_positions(dicom_file):
    ds = _ds(dicom_file, "emri_small.dcm")
    vol = read_volume(dicom_file("emri_small.dcm"))
    assert vol.frames == int(ds.NumberOfFrames) == vol.size[2] and vol.kind == "3d"
    np.testing.assert_array_equal(vol.array, ds.pixel_array)
    assert vol.spacing[2] == pytest.approx(float(ds.SpacingBetweenSlices))
    assert any("no slice positions" in w for w in vol.warnings)


def test_enhanced_multiframe_per_frame_geometry(dicom_file):
    ds = _ds(dicom_file, "eCT_Supplemental.dcm")
    vol = read_volume(dicom_file("eCT_Supplemental.dcm"))
    shared = ds.SharedFunctionalGroupsSequence[0]
    iop = np.array([float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    positions = np.array([[float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient]
                          for f in ds.PerFrameFunctionalGroupsSequence])
    order = np.argsort(positions @ normal)
    assert vol.origin == pytest.approx(positions[order[0]])
    assert vol.spacing[2] == pytest.approx(abs(np.diff(positions[order] @ normal)[0]))
    row_spacing, col_spacing = (float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing)
    assert vol.spacing[:2] == pytest.approx((col_spacing, row_spacing))
    assert vol.direction[:, 0] == pytest.approx(iop[:3]) and vol.direction[:, 2] == pytest.approx(normal)
    pvt = shared.PixelValueTransformationSequence[0]
    expected = ds.pixel_array[order].astype(np.int64) * int(pvt.RescaleSlope) + int(pvt.RescaleIntercept)
    np.testing.assert_array_equal(vol.array, expected)
    voi = shared.FrameVOILUTSequence[0]
    assert vol.window == (float(voi.WindowCenter), float(voi.WindowWidth))


def test_rt_dose_grid_frame_offsets(dicom_file):
    ds = _ds(dicom_file, "rtdose.dcm")
    vol = read_volume(dicom_file("rtdose.dcm"))
    offsets = [float(v) for v in ds.GridFrameOffsetVector]
    assert vol.size == (ds.Columns, ds.Rows, len(offsets))
    assert vol.spacing[2] == pytest.approx(offsets[1] - offsets[0])
    assert vol.origin == pytest.approx([float(v) for v in ds.ImagePositionPatient])


def test_read_returns_one_volume_for_one_file(dicom_file):
    assert len(read(dicom_file("MR_small.dcm"))) == 1
