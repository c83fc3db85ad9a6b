"""Folders that cannot be read are reported, not passed over; what a file is, by its content; and
the C libraries' console output kept off the terminal."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from workstation.core.io import ImageReadError, is_image_file, read, scan, sniff


def test_symlink_loop_is_reported_and_the_rest_read(tmp_path, dicom_file):
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(dicom_file("CT_small.dcm"), tmp_path / "a" / "ct.dcm")
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "back")  # b/back -> a: a loop
    os.symlink("self.dcm", tmp_path / "a" / "self.dcm")  # a link to itself
    found = scan(tmp_path)
    assert [e.path.name for e in found.entries] == ["ct.dcm"]
    reasons = {e.path.name: e.reason for e in found.errors}
    assert reasons["back"] == "symlink loop: this link points back to a folder above it"
    assert "Too many levels of symbolic links" in reasons["self.dcm"]


def test_dangling_link_is_reported(tmp_path, dicom_file):
    shutil.copy(dicom_file("MR_small.dcm"), tmp_path / "mr.dcm")
    os.symlink(tmp_path / "gone.dcm", tmp_path / "link.dcm")
    errors: list = []
    (vol,) = read(tmp_path, errors=errors)
    assert vol.modality == "MR" and [e.path.name for e in errors] == ["link.dcm"]


def test_linked_folder_is_followed_once(tmp_path, series_writer):
    series_writer(tmp_path / "data" / "s", [(0.0, 0.0, 2.0 * k) for k in range(3)])
    os.symlink(tmp_path / "data", tmp_path / "alias")
    found = scan(tmp_path)
    assert len(found.entries) == 1 and len(found.entries[0].files) == 3 and not found.errors


def _unprivileged(command: list[str]) -> list[str]:
    """As root, permissions are not checked: run without the capabilities that bypass them."""
    if os.getuid() != 0:
        return command
    assert shutil.which("setpriv"), "setpriv (util-linux) is needed to test permissions as root"
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


def test_unreadable_folder_and_file_are_reported(tmp_path, dicom_file):
    """Permission denied on a subfolder and on a file: both reported by `info`, the rest read."""
    root = tmp_path / "study"
    try:
        (root / "open").mkdir(parents=True)
        (root / "locked").mkdir()
        shutil.copy(dicom_file("CT_small.dcm"), root / "open" / "ct.dcm")
        shutil.copy(dicom_file("MR_small.dcm"), root / "locked" / "mr.dcm")
        shutil.copy(dicom_file("MR_small.dcm"), root / "open" / "secret.dcm")
        os.chmod(root / "locked", 0o000)
        os.chmod(root / "open" / "secret.dcm", 0o000)
        proc = subprocess.run(_unprivileged([sys.executable, "-m", "workstation.cli", "info", "--json", str(root)]),
                              capture_output=True, text=True)
        import json

        out = json.loads(proc.stdout)
        assert proc.returncode == 2 and [r["path"] for r in out["images"]] == [str(root / "open" / "ct.dcm")]
        reasons = {r["path"]: r["reason"] for r in out["refused"]}
        assert reasons == {str(root / "locked"): "cannot read folder: Permission denied",
                           str(root / "open" / "secret.dcm"): "cannot open: Permission denied"}
        assert len(proc.stderr.strip().splitlines()) == 2
    finally:
        os.chmod(root / "locked", 0o755)


# --- formats by content --------------------------------------------------------------------------

def test_sniff_real_files_by_content(tmp_path, dicom_file, mni_nifti):
    pixels = pydicom.dcmread(dicom_file("CT_small.dcm")).pixel_array
    grey = (pixels - pixels.min()) / np.ptp(pixels) * 255
    for suffix in ("png", "jpeg", "tiff", "bmp"):
        Image.fromarray(grey.astype(np.uint8)).save(tmp_path / f"ct.{suffix}")
    shutil.copy(tmp_path / "ct.png", tmp_path / "named_wrong.dcm")
    (tmp_path / "plain.nii").write_bytes(gzip.decompress(mni_nifti.read_bytes()))
    (tmp_path / "report.dcm").write_text("Findings: none\n" * 20)
    (tmp_path / "other.gz").write_bytes(gzip.compress(b"just some text" * 40))
    raw = pydicom.dcmread(dicom_file("CT_small.dcm"))
    raw.save_as(tmp_path / "no_preamble.dcm", enforce_file_format=False)
    with open(tmp_path / "no_preamble.dcm", "rb") as f:
        body = f.read()[132:]  # drop preamble and DICM: an ACR-NEMA-style stream
    (tmp_path / "acr.img").write_bytes(body)
    expected = {
        dicom_file("CT_small.dcm"): "dicom", dicom_file("JPGExtended.dcm"): "dicom",
        mni_nifti: "nifti-gz", tmp_path / "plain.nii": "nifti", tmp_path / "ct.png": "png",
        tmp_path / "ct.jpeg": "jpeg", tmp_path / "ct.tiff": "tiff", tmp_path / "ct.bmp": "bmp",
        tmp_path / "named_wrong.dcm": "png", tmp_path / "report.dcm": None, tmp_path / "other.gz": "gzip",
    }
    assert {p: sniff(p) for p in expected} == expected
    assert is_image_file(mni_nifti) and not is_image_file(tmp_path / "report.dcm")
    assert not is_image_file(tmp_path / "other.gz")
    with pytest.raises(OSError):
        sniff(tmp_path / "missing.png")


def test_sniff_nrrd_and_metaimage_written_by_simpleitk(tmp_path, mni_nifti):
    import SimpleITK as sitk

    image = sitk.ReadImage(str(mni_nifti))
    for name in ("brain.nrrd", "brain.mha", "brain.mhd"):
        sitk.WriteImage(image, str(tmp_path / name))
    assert [sniff(tmp_path / n) for n in ("brain.nrrd", "brain.mha", "brain.mhd", "brain.raw")] == \
           ["nrrd", "metaimage", "metaimage", None]


# --- C libraries' output -------------------------------------------------------------------------

def test_libjpeg_message_is_captured_not_printed(tmp_path, capfd, dicom_file):
    pixels = pydicom.dcmread(dicom_file("RG1_UNCR.dcm")).pixel_array
    Image.fromarray((pixels / pixels.max() * 255).astype(np.uint8)).save(tmp_path / "cr.jpg")
    data = (tmp_path / "cr.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    capfd.readouterr()
    with pytest.raises(ImageReadError, match="Premature end of JPEG file"):
        read(tmp_path / "cut.jpg")
    out, err = capfd.readouterr()  # file descriptors 1 and 2, where libjpeg writes
    assert out == "" and err == ""


def test_info_json_stays_json_with_decoder_noise(tmp_path, dicom_file, mni_nifti):
    pixels = pydicom.dcmread(dicom_file("RG1_UNCR.dcm")).pixel_array
    Image.fromarray((pixels / pixels.max() * 255).astype(np.uint8)).save(tmp_path / "cr.jpg")
    data = (tmp_path / "cr.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    raw = bytearray(gzip.decompress(mni_nifti.read_bytes()))
    raw[280:284] = np.float32(np.nan).tobytes()  # NaN in the sform (ITK's VNL would print a page)
    (tmp_path / "nan_sform.nii").write_bytes(bytes(raw))
    proc = subprocess.run([sys.executable, "-m", "workstation.cli", "info", "--json", str(tmp_path / "cut.jpg"),
                           str(tmp_path / "nan_sform.nii"), str(tmp_path / "cr.jpg")], capture_output=True, text=True)
    import json

    out = json.loads(proc.stdout)  # nothing but JSON
    assert proc.returncode == 2 and [Path(r["path"]).name for r in out["images"]] == ["cr.jpg"]
    assert [Path(r["path"]).name for r in out["refused"]] == ["cut.jpg", "nan_sform.nii"]
    assert proc.stderr.splitlines() == [f"workstation info: {r['path']}: {r['reason']}" for r in out["refused"]]
