"""DICOM folders: series written here from a real CT slice, with regular, uneven, gapped, tilted
and oblique geometry, several series in one folder, progress and cancel."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest

from workstation.core.io import ReadCancelled, read, read_volume, scan


def _ct(dicom_file):
    return pydicom.dcmread(dicom_file("CT_small.dcm"))


def test_regular_series_sorted_by_position_not_name_or_instance(tmp_path, dicom_file, series_writer):
    ds = _ct(dicom_file)
    z = [-40.0 + 2.5 * k for k in range(12)]
    order = [5, 0, 11, 3, 8, 1, 10, 2, 7, 4, 9, 6]  # written out of order
    positions = [(-158.1358, -179.0358, z[k]) for k in order]
    paths = series_writer(tmp_path / "ct", positions, pixel_offsets=[10 * k for k in order])
    vol = read_volume(tmp_path / "ct")
    assert vol.size == (ds.Columns, ds.Rows, 12) and vol.kind == "3d" and vol.frames == 12
    # spacing from positions (2.5), never from SliceThickness (5.0 in this file)
    assert float(ds.SliceThickness) == 5.0 and vol.spacing[2] == pytest.approx(2.5)
    assert vol.origin == pytest.approx((-158.1358, -179.0358, -40.0))
    assert vol.warnings == []
    expected = ds.pixel_array.astype(np.int64) + int(ds.RescaleIntercept)
    for k in range(12):  # slice k carries offset 10*k: sorted along z, whatever the file names
        np.testing.assert_array_equal(vol.array[k], expected + 10 * k)
    assert vol.sources == [paths[order.index(k)] for k in range(12)]
    assert vol.array.dtype == np.int16


def test_oblique_series_sorted_along_the_normal(tmp_path, series_writer):
    angle = np.radians(30)
    row = np.array([np.cos(angle), np.sin(angle), 0.0])
    col = np.array([0.0, 0.0, -1.0])  # a tilted coronal-ish plane
    normal = np.cross(row, col)
    start = np.array([10.0, -20.0, 30.0])
    steps = [3, 0, 4, 1, 2]
    positions = [tuple(start + 1.25 * k * normal) for k in steps]
    series_writer(tmp_path / "obl", positions, orientation=tuple(row) + tuple(col), pixel_offsets=steps)
    vol = read_volume(tmp_path / "obl")
    assert vol.direction[:, 0] == pytest.approx(row, abs=1e-6)
    assert vol.direction[:, 1] == pytest.approx(col, abs=1e-6)
    assert vol.direction[:, 2] == pytest.approx(normal, abs=1e-6)
    assert vol.origin == pytest.approx(start, abs=1e-3)
    assert vol.spacing[2] == pytest.approx(1.25, abs=1e-3)
    offsets = [int(vol.array[k, 0, 0]) - int(vol.array[0, 0, 0]) for k in range(5)]
    assert offsets == [0, 1, 2, 3, 4]
    assert vol.index_to_world([0, 0, 4]) == pytest.approx(start + 4 * 1.25 * normal, abs=1e-3)


def test_uneven_spacing_warns(tmp_path, series_writer):
    z = [0.0, 2.0, 4.0, 6.5, 8.5, 10.5, 12.0]
    series_writer(tmp_path / "uneven", [(0.0, 0.0, v) for v in z])
    vol = read_volume(tmp_path / "uneven")
    slope, intercept = np.polyfit(np.arange(len(z)), z, 1)  # least squares against the slice index
    assert vol.spacing[2] == pytest.approx(slope, abs=1e-4)
    worst = np.abs(np.asarray(z) - (intercept + slope * np.arange(len(z)))).max()
    warning = next(w for w in vol.warnings if "non-uniform slice spacing" in w)
    assert f"{worst:.3g} mm from the least-squares grid" in warning and "slice 7 of 7" in warning
    assert not any("missing" in w for w in vol.warnings)


def test_missing_slice_warns(tmp_path, series_writer):
    z = [0.0, 3.0, 6.0, 9.0, 15.0, 18.0]  # the slice at 12 mm is missing
    series_writer(tmp_path / "gap", [(0.0, 0.0, v) for v in z])
    vol = read_volume(tmp_path / "gap")
    assert vol.spacing[2] == pytest.approx(3.0)
    assert any("missing slices" in w and "about 1" in w for w in vol.warnings), vol.warnings


def test_gantry_tilt_warns(tmp_path, series_writer):
    tilt = np.radians(15)  # each slice shifts in y as z grows: a sheared stack
    positions = [(0.0, 5.0 * k * np.tan(tilt), 5.0 * k) for k in range(6)]
    series_writer(tmp_path / "tilt", positions)
    vol = read_volume(tmp_path / "tilt")
    assert vol.spacing[2] == pytest.approx(5.0)  # distance between planes, along the normal
    warning = next(w for w in vol.warnings if "gantry tilt" in w)
    assert "15.0 degrees" in warning


def test_folder_with_several_series_and_a_2d_file(tmp_path, dicom_file, series_writer):
    series_writer(tmp_path / "study" / "a", [(0.0, 0.0, 2.0 * k) for k in range(4)], description="axial A")
    series_writer(tmp_path / "study" / "a", [(0.0, 0.0, 3.0 * k) for k in range(3)], description="axial B")
    (tmp_path / "study" / "b").mkdir()
    (tmp_path / "study" / "b" / "cr.dcm").write_bytes(dicom_file("RG1_UNCR.dcm").read_bytes())
    (tmp_path / "study" / "notes.txt").write_text("not an image")
    found = scan(tmp_path / "study")
    assert len(found.entries) == 3 and found.errors == []
    assert tmp_path / "study" / "notes.txt" in found.skipped
    volumes = read(tmp_path / "study")
    by_description = {v.description: v for v in volumes}
    assert by_description["axial A"].size[2] == 4 and by_description["axial B"].size[2] == 3
    assert by_description["axial A"].series_uid != by_description["axial B"].series_uid
    assert sum(v.modality == "CR" for v in volumes) == 1


def test_progress_reaches_one_and_cancel_raises(tmp_path, series_writer):
    series_writer(tmp_path / "s", [(0.0, 0.0, float(k)) for k in range(8)])
    seen = []
    read(tmp_path / "s", progress=lambda fraction, message: seen.append(fraction))
    assert seen and seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:]))
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3  # cancel part-way through the slices

    with pytest.raises(ReadCancelled):
        read(tmp_path / "s", cancel=cancel)


def test_explicit_file_list_stacks_like_a_folder(tmp_path, series_writer):
    paths = series_writer(tmp_path / "s", [(0.0, 0.0, 4.0 * k) for k in range(6)], pixel_offsets=list(range(6)))
    (tmp_path / "s" / "notes.txt").write_text("x")
    (vol,) = read(paths[:4])  # a project case may hold a subset of a folder's files
    assert vol.size[2] == 4 and vol.spacing[2] == pytest.approx(4.0)
    assert vol.sources == paths[:4]
    errors: list = []
    volumes = read([paths[0], tmp_path / "s" / "notes.txt", tmp_path / "gone.dcm"], errors=errors)
    assert len(volumes) == 1 and volumes[0].kind == "2d"
    assert sorted(e.path.name for e in errors) == ["gone.dcm", "notes.txt"]


def test_per_slice_rescale_gives_float32_with_each_slices_own_slope(tmp_path, dicom_file, series_writer):
    paths = series_writer(tmp_path / "pet", [(0.0, 0.0, 3.0 * k) for k in range(4)], shuffle=False)
    slopes = [0.5, 1.25, 2.0, 0.75]
    for path, slope in zip(paths, slopes):  # PET-style: every slice has its own scale
        ds = pydicom.dcmread(path)
        ds.RescaleSlope, ds.RescaleIntercept = slope, 0
        ds.save_as(path)
    vol = read_volume(tmp_path / "pet")
    assert vol.array.dtype == np.float32
    raw = pydicom.dcmread(dicom_file("CT_small.dcm")).pixel_array.astype(np.float64)
    for k, slope in enumerate(slopes):
        np.testing.assert_allclose(vol.array[k], raw * slope, rtol=1e-6)
