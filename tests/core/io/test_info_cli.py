"""`workstation info`: the JSON record of real files checked against pydicom, exit codes, and one
line per failure on stderr without a traceback. Runs the real console entry point."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pydicom
import pytest

FIELDS = ["path", "kind", "size", "spacing", "origin", "direction", "dtype", "modality", "min", "max",
          "mean", "frames", "series_uid", "description", "warnings"]


def _info(*args):
    proc = subprocess.run([sys.executable, "-m", "workstation.cli", "info", *map(str, args)],
                          capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_json_record_of_a_ct_slice(dicom_file):
    path = dicom_file("CT_small.dcm")
    proc = _info(path, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert list(out) == ["images", "refused"] and out["refused"] == []
    (record,) = out["images"]
    assert list(record) == FIELDS
    ds = pydicom.dcmread(path)
    values = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert record["path"] == str(path) and record["kind"] == "2d" and record["frames"] == 1
    assert record["size"] == [ds.Columns, ds.Rows, 1]
    assert record["spacing"][:2] == pytest.approx([float(ds.PixelSpacing[1]), float(ds.PixelSpacing[0])])
    assert record["origin"] == pytest.approx([float(v) for v in ds.ImagePositionPatient])
    iop = [float(v) for v in ds.ImageOrientationPatient]
    normal = np.cross(iop[:3], iop[3:])
    direction = np.column_stack([iop[:3], iop[3:], normal]).ravel()  # row-major 3x3, columns = axes
    assert record["direction"] == pytest.approx(direction.tolist())
    assert record["dtype"] == "int16" and record["modality"] == "CT"
    assert (record["min"], record["max"]) == (values.min(), values.max())
    assert record["mean"] == pytest.approx(values.mean())
    assert record["series_uid"] == ds.SeriesInstanceUID and record["warnings"] == []


def test_series_folder_and_multiframe(tmp_path, dicom_file, series_writer):
    series_writer(tmp_path / "ct", [(0.0, 0.0, 1.5 * k) for k in range(6)], description="six slices")
    proc = _info(tmp_path / "ct", dicom_file("emri_small.dcm"), "--json")
    assert proc.returncode == 0, proc.stderr
    series, multiframe = json.loads(proc.stdout)["images"]
    assert series["kind"] == "3d" and series["size"][2] == 6 and series["frames"] == 6
    assert series["spacing"][2] == pytest.approx(1.5) and series["description"] == "six slices"
    assert series["path"] == str(tmp_path / "ct")
    assert multiframe["frames"] == 10 and multiframe["size"] == [64, 64, 10]


def test_failures_exit_2_with_one_line_each(tmp_path, dicom_file):
    (tmp_path / "empty.dcm").write_bytes(b"")
    (tmp_path / "text.dcm").write_text("just text")
    proc = _info(dicom_file("MR_small.dcm"), tmp_path / "empty.dcm", tmp_path / "text.dcm",
                 tmp_path / "missing.nii.gz", "--json")
    assert proc.returncode == 2
    out = json.loads(proc.stdout)
    assert len(out["images"]) == 1  # the good file is still listed
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 3
    assert "empty.dcm: empty file" in lines[0] and "text.dcm: not a DICOM file" in lines[1]
    assert "missing.nii.gz: no such file or folder" in lines[2]
    # the same refusals, with path and reason, in the JSON
    assert [r["path"] for r in out["refused"]] == [str(tmp_path / n) for n in ("empty.dcm", "text.dcm", "missing.nii.gz")]
    assert [f"workstation info: {r['path']}: {r['reason']}" for r in out["refused"]] == lines


def test_text_output_and_nan_statistics(tmp_path, mni_nifti):
    import nibabel as nib

    img = nib.load(mni_nifti)
    data = np.asarray(img.dataobj).astype(np.float32)[::2, ::2, ::2]
    data[0, 0, 0] = np.nan
    data[1, 0, 0] = np.inf
    nib.Nifti1Image(data, img.affine).to_filename(tmp_path / "nan.nii.gz")
    proc = _info(tmp_path / "nan.nii.gz", "--json")
    assert proc.returncode == 0
    (record,) = json.loads(proc.stdout)["images"]
    finite = data[np.isfinite(data)]
    assert record["min"] == pytest.approx(float(finite.min())) and record["max"] == pytest.approx(float(finite.max()))
    assert record["mean"] == pytest.approx(float(finite.mean(dtype=np.float64)))
    assert any("NaN or infinite" in w for w in record["warnings"])
    text = _info(tmp_path / "nan.nii.gz")
    assert text.returncode == 0 and "warning: 2 voxel(s) are NaN or infinite" in text.stdout


def test_samples_list_json():
    proc = subprocess.run([sys.executable, "-m", "workstation.cli", "samples", "--list", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr
    items = {i["name"]: i for i in json.loads(proc.stdout)}
    assert items["ct-small"]["path"].endswith("CT_small.dcm") and items["ct-small"]["error"] is None
    assert {"mni152-t1", "chest-xrays"} <= set(items)
    not_ready = [n for n, i in items.items() if i["error"]]
    assert proc.returncode == (2 if not_ready else 0)
    assert len(proc.stderr.strip().splitlines()) == len(not_ready)
