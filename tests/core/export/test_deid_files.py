"""Non-DICOM images under --deidentify: real pixels (pydicom-data CR and CT, nilearn's MNI152)
written as JPEG, PNG, TIFF, NIfTI and MetaImage with identifying metadata; after the export no
metadata marker is left in any file, the pixels are equal, names are pseudonyms, and the report
and the warnings say that pixels were not inspected."""
from __future__ import annotations

import io
import json

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from PIL import Image, PngImagePlugin, TiffImagePlugin
from pydicom.data import get_testdata_file

from workstation.core.export import ExportCase, ExportOptions, export
from workstation.core.export.deid.files import MetadataError, strip_metadata

SECRET_TEXT = "Doe^Jane MRN-4471 St Elsewhere"


def _cr_pixels() -> np.ndarray:
    a = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm")).pixel_array.astype(float)
    return ((a - a.min()) / (a.max() - a.min()) * 255).astype(np.uint8)[::8, ::8]


def _jpeg(path, progressive=False):
    exif = Image.Exif()
    exif[0x010E] = SECRET_TEXT          # ImageDescription
    exif[0x013B] = "Doe Jane"           # Artist
    Image.fromarray(_cr_pixels()).save(path, quality=92, exif=exif.tobytes(), comment=SECRET_TEXT.encode(),
                                       progressive=progressive)
    data = path.read_bytes()  # and an APP13 (Photoshop/IPTC) block after the EXIF one
    app13 = b"Photoshop 3.0\0" + SECRET_TEXT.encode()
    path.write_bytes(data[:2] + b"\xff\xed" + (len(app13) + 2).to_bytes(2, "big") + app13 + data[2:])


def _png(path):
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", SECRET_TEXT)
    info.add_text("Comment", SECRET_TEXT, zip=True)
    info.add_itxt("Description", SECRET_TEXT)
    Image.fromarray(_cr_pixels()).save(path, pnginfo=info)
    data = path.read_bytes()  # a tIME chunk before IEND
    import zlib
    body = b"tIME" + bytes([7, 226, 3, 4, 10, 20, 30])
    chunk = (7).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    path.write_bytes(data[:-12] + chunk + data[-12:])


def _tiff(path):
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[270] = SECRET_TEXT      # ImageDescription
    ifd[315] = "Doe Jane"       # Artist
    ifd[306] = "2019:03:04 10:20:30"
    Image.fromarray(_cr_pixels()).save(path, tiffinfo=ifd)


def _nifti(path, gz=True):
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm")).pixel_array.astype(np.int16)
    img = nib.Nifti1Image(np.stack([ct, ct[::-1]], axis=-1), np.diag([0.7, 0.7, 5.0, 1.0]))
    img.header["descrip"] = SECRET_TEXT[:79].encode()
    img.header["aux_file"] = b"MRN-4471"
    img.header["intent_name"] = b"Doe^Jane"
    img.header["db_name"] = b"StElsewhere"
    img.header.extensions.append(nib.nifti1.Nifti1Extension(6, SECRET_TEXT.encode() * 3))  # comment
    nib.save(img, path)


def _metaimage(path):
    image = sitk.GetImageFromArray(pydicom.dcmread(get_testdata_file("CT_small.dcm")).pixel_array)
    image.SetMetaData("PatientName", SECRET_TEXT)
    sitk.WriteImage(image, str(path))


def _no_secret(data: bytes) -> bool:
    return not any(w.encode() in data for w in ("Doe", "4471", "Elsewhere", "2019:03:04"))


def _pixels(path) -> np.ndarray:
    if path.name.endswith((".nii", ".nii.gz")):
        return np.asarray(nib.load(path).dataobj)
    if path.suffix in (".mha",):
        return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    with Image.open(path) as im:
        return np.asarray(im)


@pytest.mark.parametrize("name, make", [
    ("chest.jpg", _jpeg), ("chest-progressive.jpg", lambda p: _jpeg(p, progressive=True)),
    ("chest.png", _png), ("chest.tif", _tiff), ("head.nii.gz", _nifti), ("head.nii", lambda p: _nifti(p, False)),
    ("head.mha", _metaimage),
])
def test_metadata_removed_pixels_kept_names_pseudonymous(tmp_path, name, make):
    src = tmp_path / "src" / f"Doe_Jane_{name}"
    src.parent.mkdir()
    make(src)
    raw = src.read_bytes()
    if name.endswith(".gz"):
        import gzip
        raw = gzip.decompress(raw)
    assert not _no_secret(raw)  # the planted metadata really is in the input
    out = tmp_path / "out"
    result = export([ExportCase("Doe_Jane", [src], patient_id="PID-4471", label="a")], out,
                    ExportOptions("csv", "binary", ["a", "b"], splits=(1, 0, 0), deidentify=True))
    images = [p for p in (out / "images").rglob("*") if p.is_file()]
    assert len(images) == 1
    copy = images[0]
    assert "Doe" not in copy.name and "4471" not in str(copy.relative_to(out)) and copy.name.startswith("f-")
    data = copy.read_bytes()
    if copy.name.endswith(".gz"):
        import gzip
        data = gzip.decompress(data)
    assert _no_secret(data)
    np.testing.assert_array_equal(_pixels(copy), _pixels(src))
    if copy.name.endswith((".nii", ".nii.gz")):
        before, after = nib.load(src), nib.load(copy)
        np.testing.assert_allclose(after.affine, before.affine)
        assert not after.header.extensions and after.header["descrip"].item() == b""
        assert after.header["aux_file"].item() == b"" and after.header["intent_name"].item() == b""
    warnings = [w for w in result.warnings if "not inspected for burned-in text" in w]
    assert len(warnings) == 1
    report = json.loads((out / "deidentification.json").read_text())
    assert report["warnings"] == result.warnings and sum(report["non_dicom_files"].values()) == 1
    assert report["non_dicom_metadata_removed"]
    assert _no_secret((out / "cases.csv").read_bytes()) and _no_secret((out / "deidentification.json").read_bytes())


def test_damaged_files_are_refused_not_copied(tmp_path):
    bad = tmp_path / "cut.jpg"
    _jpeg(bad)
    bad.write_bytes(bad.read_bytes()[:400])
    with pytest.raises(MetadataError):
        strip_metadata(bad, tmp_path / "o.jpg", ".jpg")
    png = tmp_path / "x.png"
    png.write_bytes(b"not a png")
    with pytest.raises(MetadataError):
        strip_metadata(png, tmp_path / "o.png", ".png")
    with pytest.raises(MetadataError):
        strip_metadata(png, tmp_path / "o.xyz", ".xyz")


def test_jpeg_entropy_data_is_copied_byte_for_byte(tmp_path):
    src, dst = tmp_path / "a.jpg", tmp_path / "b.jpg"
    _jpeg(src)
    removed = strip_metadata(src, dst, ".jpg")
    assert removed["COM"] == 1 and removed["APP1"] == 1 and removed["APP13"] == 1
    sos_in, sos_out = src.read_bytes().index(b"\xff\xda"), dst.read_bytes().index(b"\xff\xda")
    assert src.read_bytes()[sos_in:] == dst.read_bytes()[sos_out:]
    assert Image.open(io.BytesIO(dst.read_bytes())).size == Image.open(src).size


def test_detached_metaimage_becomes_one_file(tmp_path):
    folder = tmp_path / "src" / "Doe_Jane"
    folder.mkdir(parents=True)
    image = sitk.GetImageFromArray(pydicom.dcmread(get_testdata_file("CT_small.dcm")).pixel_array)
    image.SetMetaData("PatientName", SECRET_TEXT)
    sitk.WriteImage(image, str(folder / "Doe_Jane.mhd"))
    assert (folder / "Doe_Jane.raw").exists() or (folder / "Doe_Jane.zraw").exists()
    out = tmp_path / "out"
    export([ExportCase("Doe_Jane", [folder], patient_id="PID-4471", label="a")], out,
           ExportOptions("csv", "binary", ["a", "b"], splits=(1, 0, 0), deidentify=True))
    images = [p for p in (out / "images").rglob("*") if p.is_file()]
    assert len(images) == 1 and images[0].suffix == ".mha" and _no_secret(images[0].read_bytes())
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(images[0]))),
                                  sitk.GetArrayFromImage(image))
