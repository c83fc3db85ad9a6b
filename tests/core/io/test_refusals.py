"""Damaged files are refused, each with one line naming the file and the reason, never read as
valid: every case is made here from a real file (nilearn's MNI152, pydicom-data)."""
from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.encaps import encapsulate, generate_frames

from workstation.core.io import ImageReadError, read, read_volume


def _refused(path, *words) -> str:
    with pytest.raises(ImageReadError) as info:
        read(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text
    for word in words:
        assert word in text, text
    return text


# --- compressed streams and the data a header promises -------------------------------------------

@pytest.fixture(scope="module")
def mni_bytes(mni_nifti):
    packed = mni_nifti.read_bytes()
    return packed, gzip.decompress(packed)


@pytest.mark.parametrize("cut", [200, 348, 5000, "half", -8, -1])
def test_cut_gzip_nifti(tmp_path, mni_bytes, cut):
    packed, _ = mni_bytes
    end = len(packed) // 2 if cut == "half" else cut
    (tmp_path / "cut.nii.gz").write_bytes(packed[:end])
    _refused(tmp_path / "cut.nii.gz", "cannot read NIfTI file")


def test_bad_gzip_crc(tmp_path, mni_bytes):
    packed, _ = mni_bytes
    damaged = bytearray(packed)
    damaged[-8] ^= 0x01  # the CRC32 in the trailer
    (tmp_path / "crc.nii.gz").write_bytes(bytes(damaged))
    _refused(tmp_path / "crc.nii.gz", "CRC")
    damaged = bytearray(packed)
    damaged[-1] ^= 0x01  # the length (ISIZE) in the trailer
    (tmp_path / "size.nii.gz").write_bytes(bytes(damaged))
    _refused(tmp_path / "size.nii.gz", "cannot read NIfTI file")


def test_plain_nifti_named_gz(tmp_path, mni_bytes):
    (tmp_path / "plain.nii.gz").write_bytes(mni_bytes[1])
    _refused(tmp_path / "plain.nii.gz", "named .gz but not gzip-compressed")


@pytest.mark.parametrize("factor", [1.5, 2, 3])
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_header_promising_more_data_than_the_file_holds(tmp_path, mni_bytes, factor, suffix):
    raw = bytearray(mni_bytes[1])
    nz = struct.unpack_from("<h", raw, 46)[0]
    struct.pack_into("<h", raw, 46, int(nz * factor))  # dim[3]
    path = tmp_path / f"forged{suffix}"
    path.write_bytes(gzip.compress(bytes(raw), 1) if suffix == ".nii.gz" else bytes(raw))
    _refused(path, "truncated")


def test_gzip_holding_far_more_than_the_header_describes(tmp_path, mni_bytes):
    raw = mni_bytes[1]
    (tmp_path / "bomb.nii.gz").write_bytes(gzip.compress(raw + bytes(3 * len(raw)), 1))
    _refused(tmp_path / "bomb.nii.gz", "far more data than its header describes")


def test_layout_left_to_simpleitk_is_checked_for_completeness_too(tmp_path, mni_nifti):
    """A real brain in RGB voxels: a layout the direct reader leaves to SimpleITK, whose NIfTI
    library would zero-fill a short file."""
    import nibabel as nib

    from workstation.core.io import nifti

    src = nib.load(mni_nifti)
    grey = np.asarray(src.dataobj)[60:100, 60:100, 60:90]
    grey = (grey / max(grey.max(), 1) * 255).astype(np.uint8)
    rgb = np.zeros(grey.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    rgb["R"], rgb["G"], rgb["B"] = grey, grey // 2, 255 - grey
    path = tmp_path / "rgb.nii"
    nib.Nifti1Image(rgb, src.affine).to_filename(path)
    with pytest.raises(nifti.UnsupportedNifti):
        nifti.read_header(path)
    assert read_volume(path).size == grey.shape  # the complete file reads (through SimpleITK)
    whole = path.read_bytes()
    (tmp_path / "rgb_cut.nii").write_bytes(whole[: len(whole) * 2 // 3])
    _refused(tmp_path / "rgb_cut.nii", "truncated")
    (tmp_path / "rgb_cut.nii.gz").write_bytes(gzip.compress(whole)[:-8])
    _refused(tmp_path / "rgb_cut.nii.gz", "cannot read NIfTI file")


# --- decoders: what they report, and codestreams cut short ---------------------------------------

def _cut_frames(src, dest, keep: float):
    """The real file with each compressed frame cut to `keep` of its length (structure intact)."""
    ds = pydicom.dcmread(src)
    frames = list(generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames", 1) or 1)))
    cut = [f[: int(len(f) * keep)] for f in frames]
    ds["PixelData"].value = encapsulate([c + b"\0" * (len(c) % 2) for c in cut])
    ds.save_as(dest)
    return dest


@pytest.mark.parametrize("name", ["JPGExtended.dcm", "JPEG-LL.dcm", "MR_small_jpeg_ls_lossless.dcm",
                                  "RG1_J2KR.dcm", "MR2_J2KI.dcm", "emri_small_jpeg_2k_lossless.dcm"])
@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_compressed_frames_cut_short(tmp_path, dicom_file, name, keep):
    assert read_volume(dicom_file(name)).size[0] > 0  # the complete file reads
    path = _cut_frames(dicom_file(name), tmp_path / name, keep)
    _refused(path, "truncated compressed pixel data")


@pytest.mark.parametrize("keep", [0.4, 0.95])
def test_rle_segments_short(tmp_path, dicom_file, keep):
    path = _cut_frames(dicom_file("OBXXXX1A_rle.dcm"), tmp_path / "rle.dcm", keep)
    _refused(path, "RLE segment")


def test_rle_image_whose_rows_were_cut(tmp_path, dicom_file):
    """Rows lowered in the header of a real RLE image: pydicom decodes the first rows and warns."""
    ds = pydicom.dcmread(dicom_file("OBXXXX1A_rle.dcm"))
    ds.Rows = 200  # of 600
    ds.save_as(tmp_path / "rows.dcm")
    _refused(tmp_path / "rows.dcm", "more than Rows x Columns describe")


def test_native_image_whose_rows_were_cut_but_padding_is_fine(tmp_path, dicom_file):
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    ds.Rows = 100  # of 128
    ds.save_as(tmp_path / "rows.dcm")
    _refused(tmp_path / "rows.dcm", "more than Rows x Columns describe")
    assert read_volume(dicom_file("MR_small_padded.dcm")).size == (64, 64, 1)  # one row of padding: fine


def test_dicom_file_cut_inside_encapsulated_pixel_data(tmp_path, dicom_file):
    data = dicom_file("RG1_J2KR.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: int(len(data) * 0.6)])
    _refused(tmp_path / "cut.dcm", "truncated DICOM file")


@pytest.fixture(scope="module")
def cr_picture(tmp_path_factory):
    """A real CR chest film (pydicom-data RG1_UNCR) as 8-bit grey pixels."""
    from pydicom.data import get_testdata_file

    pixels = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm", download=False)).pixel_array
    return (pixels / pixels.max() * 255).astype(np.uint8)


def test_truncated_jpeg_file(tmp_path, cr_picture):
    Image.fromarray(cr_picture).save(tmp_path / "cr.jpg", quality=90)
    assert read_volume(tmp_path / "cr.jpg").size[:2] == cr_picture.shape[::-1]
    data = (tmp_path / "cr.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "cut.jpg", "Premature end of JPEG file")


def test_truncated_png_file(tmp_path, cr_picture):
    Image.fromarray(cr_picture).save(tmp_path / "cr.png")
    data = (tmp_path / "cr.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "cut.png", "cannot read PNG file")


# --- geometry and values -------------------------------------------------------------------------

@pytest.mark.parametrize("keyword, value, words", [
    ("ImageOrientationPatient", ["nan"] * 6, "ImageOrientationPatient is not finite"),
    ("ImageOrientationPatient", [0] * 6, "ImageOrientationPatient is not a direction"),
    ("ImageOrientationPatient", [1, 0, 0, 0.5, 0.866025, 0], "ImageOrientationPatient is not orthogonal"),
    ("ImagePositionPatient", [0, "nan", 0], "ImagePositionPatient is not finite"),
    ("ImagePositionPatient", ["inf", 0, 0], "ImagePositionPatient is not finite"),
    ("RescaleSlope", "nan", "RescaleSlope is not a finite number"),
    ("RescaleIntercept", "nan", "RescaleIntercept is not a finite number"),
])
def test_impossible_dicom_geometry_or_rescale(tmp_path, dicom_file, keyword, value, words):
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    setattr(ds, keyword, value)
    ds.save_as(tmp_path / "ct.dcm")
    _refused(tmp_path / "ct.dcm", words)


def _patched(raw: bytes, *fields) -> bytes:
    out = bytearray(raw)
    for offset, fmt, values in fields:
        struct.pack_into("<" + fmt, out, offset, *values)
    return bytes(out)


QFORM = (252, "h", (1,))  # the MNI152 file sets only its sform; these cases need the qform in use


@pytest.mark.parametrize("fields, words", [
    ([(80, "f", (float("nan"),))], "pixdim is not finite"),
    ([(84, "f", (-1.0,))], "pixdim is negative"),
    ([(88, "f", (0.0,))], "pixdim is zero"),
    ([(284, "f", (float("nan"),))], "sform is not finite"),
    ([(280, "12f", (0.0,) * 12)], "sform is degenerate"),
    ([QFORM, (256, "3f", (0.9, 0.9, 0.9))], "invalid qform quaternion"),
    ([QFORM, (260, "f", (float("inf"),))], "qform is not finite"),
    ([QFORM, (268, "f", (float("nan"),))], "qform is not finite"),
    ([(0, "i", (0,))], "sizeof_hdr is 0"),
    ([(108, "f", (float("nan"),))], "vox_offset"),
    ([(108, "f", (-352.0,))], "vox_offset"),
])
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_impossible_nifti_geometry_in_the_real_mni152(tmp_path, mni_bytes, fields, words, suffix):
    raw = _patched(mni_bytes[1], *fields)
    path = tmp_path / f"mni{suffix}"
    path.write_bytes(gzip.compress(raw, 1) if suffix == ".nii.gz" else raw)
    _refused(path, words)


def test_series_with_one_nan_position_is_refused(tmp_path, series_writer):
    paths = series_writer(tmp_path / "s", [(0.0, 0.0, 2.0 * k) for k in range(5)])
    ds = pydicom.dcmread(paths[3])
    ds.ImagePositionPatient = [0, 0, "nan"]
    ds.save_as(paths[3])
    errors: list = []
    volumes = read(tmp_path / "s", errors=errors)
    assert any("ImagePositionPatient is not finite" in str(e) for e in errors)
    assert all(np.isfinite(v.origin).all() for v in volumes)


def test_nan_slope_in_a_series_leaves_that_slice_out(tmp_path, series_writer):
    paths = series_writer(tmp_path / "s", [(0.0, 0.0, 2.0 * k) for k in range(5)])
    ds = pydicom.dcmread(paths[1])
    ds.RescaleSlope = "nan"
    ds.save_as(paths[1])
    errors: list = []
    (vol,) = read(tmp_path / "s", errors=errors)
    assert [str(e) for e in errors] == [f"{paths[1]}: RescaleSlope is not a finite number (nan)"]
    assert vol.size[2] == 4 and paths[1] not in vol.sources and np.isfinite(vol.array).all()
    assert any("missing slices: about 1" in w for w in vol.warnings)
    assert any(w.startswith("slice left out of the series:") for w in vol.warnings)


@pytest.mark.parametrize("keyword, value, words", [
    ("ImagePositionPatient", [0, 0], "ImagePositionPatient has 2 values, not 3"),
    ("ImageOrientationPatient", [1, 0, 0, 0, 1], "ImageOrientationPatient has 5 values, not 6"),
    ("PixelSpacing", ["nan", "0.5"], "PixelSpacing is not two positive numbers"),
    ("PixelSpacing", [-0.5, 0.5], "PixelSpacing is not two positive numbers"),
])
def test_malformed_geometry_values(tmp_path, dicom_file, keyword, value, words):
    ds = pydicom.dcmread(dicom_file("MR_small.dcm"))
    setattr(ds, keyword, value)
    ds.save_as(tmp_path / "mr.dcm")
    _refused(tmp_path / "mr.dcm", words)


def test_zero_pixel_spacing_of_a_real_cr_is_unknown_not_damage(dicom_file):
    vol = read_volume(dicom_file("RG1_UNCR.dcm"))  # PixelSpacing 0\0 as written by its scanner
    assert vol.spacing[:2] == (1.0, 1.0) and any("no valid pixel spacing" in w for w in vol.warnings)


# --- the decompression-bomb limit ----------------------------------------------------------------

def _png_with_size(source: bytes, width: int, height: int) -> bytes:
    """A real PNG whose IHDR claims another size (CRC recomputed, so only the size is a lie)."""
    ihdr = bytearray(source[8:8 + 25])
    struct.pack_into(">II", ihdr, 8, width, height)
    struct.pack_into(">I", ihdr, 21, zlib.crc32(bytes(ihdr[4:21])) & 0xFFFFFFFF)
    return source[:8] + bytes(ihdr) + source[33:]


def test_png_bomb_is_refused_from_its_header_without_allocating(tmp_path, cr_picture):
    Image.fromarray(cr_picture).save(tmp_path / "cr.png")
    (tmp_path / "bomb.png").write_bytes(_png_with_size((tmp_path / "cr.png").read_bytes(), 40000, 40000))
    # peak resident memory of this process image (VmHWM starts afresh at exec; ru_maxrss would
    # carry the forking pytest's own peak)
    code = ("import sys\n"
            "from workstation.core.io import ImageReadError, read_volume\n"
            "try:\n    read_volume(sys.argv[1])\nexcept ImageReadError as exc:\n    print(exc)\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print(int(hwm.split()[1]) // 1024)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "bomb.png")], capture_output=True, text=True)
    reason, peak_mib = proc.stdout.strip().splitlines()
    assert "too large to load: 40000 x 40000" in reason and "WORKSTATION_MAX_VOXELS" in reason
    assert int(peak_mib) < 1000  # decoding would take 1,526 MiB


def test_voxel_limit_from_env_and_settings(tmp_path, mni_nifti, dicom_file, monkeypatch):
    monkeypatch.setenv("WORKSTATION_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("WORKSTATION_MAX_VOXELS", "1000000")
    _refused(mni_nifti, "too large to load: 189 x 233 x 197", "over the limit of 1,000,000")
    _refused(dicom_file("RG1_UNCR.dcm"), "too large to load: 1 x 1955 x 1841")
    monkeypatch.delenv("WORKSTATION_MAX_VOXELS")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text(json.dumps({"max_voxels": 10_000}))
    _refused(dicom_file("CT_small.dcm"), "over the limit of 10,000")
    (tmp_path / "config" / "settings.json").write_text(json.dumps({"max_voxels": 100_000}))
    assert read_volume(dicom_file("CT_small.dcm")).size == (128, 128, 1)  # 16,384 values


def test_series_over_the_limit_is_refused_before_reading_slices(tmp_path, series_writer, monkeypatch):
    series_writer(tmp_path / "s", [(0.0, 0.0, 2.0 * k) for k in range(6)])
    monkeypatch.setenv("WORKSTATION_MAX_VOXELS", str(128 * 128 * 5))
    _refused(tmp_path / "s", "series too large to load: 6 x 128 x 128")


def test_a_limit_that_is_not_a_number_is_one_clear_line(dicom_file, monkeypatch):
    monkeypatch.setenv("WORKSTATION_MAX_VOXELS", "lots")
    with pytest.raises(ImageReadError, match="WORKSTATION_MAX_VOXELS: not a number: 'lots'"):
        read_volume(dicom_file("CT_small.dcm"))
