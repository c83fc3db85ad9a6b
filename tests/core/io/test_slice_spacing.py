"""Slice spacing is the least-squares fit of the positions against the slice index: on a real
RT dose grid (pydicom-data rtdose.dcm, 15 frames) and series written from a real CT slice, with
positions jittered, displaced and missing here."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pydicom
import pytest

from workstation.core.io import read_volume
from workstation.core.io.dicom_geometry import fit_spacing


def _dose(tmp_path, dicom_file, offsets):
    ds = pydicom.dcmread(dicom_file("rtdose.dcm"))
    assert len(ds.GridFrameOffsetVector) == len(offsets) == 15
    ds.GridFrameOffsetVector = [f"{v:.4f}" for v in offsets]
    ds.save_as(tmp_path / "dose.dcm")
    return read_volume(tmp_path / "dose.dcm")


def _fit(z):
    index = np.arange(len(z))
    slope, intercept = np.polyfit(index, z, 1)
    return slope, np.abs(np.asarray(z) - (intercept + slope * index)).max()


def test_complete_regular_grid_equals_last_minus_first(dicom_file):
    ds = pydicom.dcmread(dicom_file("rtdose.dcm"))
    offsets = [float(v) for v in ds.GridFrameOffsetVector]
    vol = read_volume(dicom_file("rtdose.dcm"))
    assert vol.spacing[2] == pytest.approx((offsets[-1] - offsets[0]) / (len(offsets) - 1), abs=1e-9)
    assert not any("slice" in w for w in vol.warnings), vol.warnings


def test_small_jitter_fits_without_warning(tmp_path, dicom_file):
    z = 5.0 * np.arange(15) + np.random.default_rng(3).uniform(-0.04, 0.04, 15)
    vol = _dose(tmp_path, dicom_file, z)
    slope, _ = _fit(np.round(z, 4))
    assert vol.spacing[2] == pytest.approx(slope, abs=1e-6)
    assert vol.spacing[2] == pytest.approx((z[-1] - z[0]) / 14, abs=0.01)
    assert not any("non-uniform" in w for w in vol.warnings), vol.warnings


def test_one_displaced_slice_is_named_with_its_residual(tmp_path, dicom_file):
    z = 5.0 * np.arange(15)
    z[9] += 0.6
    vol = _dose(tmp_path, dicom_file, z)
    slope, worst = _fit(z)
    assert vol.spacing[2] == pytest.approx(slope, abs=1e-6)
    assert abs(vol.spacing[2] - 5.0) < abs(np.median(np.diff(z)) - 5.0) + 0.01  # one slice barely moves it
    warning = next(w for w in vol.warnings if "non-uniform slice spacing" in w)
    assert f"slice 10 of 15 lies {worst:.3g} mm from the least-squares grid" in warning


def _jittered_gaps(n=20, seed=7):
    """Gaps between 6.958 and 7.071 mm whose mean (7.0005) is not their median: an oblique MR as
    scanners write it."""
    rng = np.random.default_rng(seed)
    gaps = np.concatenate([np.full(n // 2, 6.965), np.full(n - 1 - n // 2, 7.04)]) + rng.uniform(-0.007, 0.007, n - 1)
    rng.shuffle(gaps)
    return gaps


def test_oblique_jittered_series_keeps_the_last_slice_where_its_header_puts_it(tmp_path, series_writer):
    angle = np.radians(25)
    row = np.array([np.cos(angle), np.sin(angle), 0.0])
    col = np.array([0.0, np.sin(0.2), -np.cos(0.2)])
    col -= (col @ row) * row
    col /= np.linalg.norm(col)
    normal = np.cross(row, col)
    gaps = _jittered_gaps()
    along = np.concatenate([[0.0], np.cumsum(gaps)])
    start = np.array([-20.0, 35.0, 60.0])
    positions = [tuple(start + d * normal) for d in along]
    paths = series_writer(tmp_path / "mr", positions, orientation=tuple(row) + tuple(col), source="MR_small.dcm")
    vol = read_volume(tmp_path / "mr")
    n = len(positions)
    written = np.array([[float(v) for v in pydicom.dcmread(p).ImagePositionPatient] for p in paths])
    projected = written @ vol.direction[:, 2]
    slope, worst = _fit(projected)
    assert vol.spacing[2] == pytest.approx(slope, abs=1e-6)
    assert vol.spacing[2] == pytest.approx((projected[-1] - projected[0]) / (n - 1), abs=0.005)  # as ITK
    median = float(np.median(np.diff(projected)))
    drawn_last = vol.index_to_world([0, 0, n - 1])
    assert np.linalg.norm(drawn_last - written[-1]) < 0.1
    assert abs(median * (n - 1) - (projected[-1] - projected[0])) > 0.4  # what the median step gave


def test_missing_slices_are_still_found_in_a_jittered_series(tmp_path, series_writer):
    z = 3.0 * np.arange(16) + np.random.default_rng(11).uniform(-0.05, 0.05, 16)
    kept = [k for k in range(16) if k not in (5, 11)]
    series_writer(tmp_path / "gap", [(0.0, 0.0, z[k]) for k in kept])
    vol = read_volume(tmp_path / "gap")
    slope, intercept = np.polyfit(kept, np.round(z[kept], 4), 1)  # fitted against the true indices
    assert vol.spacing[2] == pytest.approx(slope, abs=1e-6)
    assert any("missing slices: about 2 missing in 2 gap(s)" in w for w in vol.warnings), vol.warnings
    assert not any("non-uniform" in w for w in vol.warnings)


def test_fit_spacing_indices_and_residuals():
    spacing, index, residuals = fit_spacing(np.array([0.0, 2.5, 5.0, 10.0, 12.5, 20.0]))
    assert spacing == pytest.approx(2.5) and index.tolist() == [0, 1, 2, 4, 5, 8]
    assert np.abs(residuals).max() < 1e-9


def test_info_reports_the_largest_residual(tmp_path, series_writer):
    z = [0.0, 2.0, 4.0, 6.0, 8.3, 10.0, 12.0]
    series_writer(tmp_path / "s", [(0.0, 0.0, v) for v in z])
    proc = subprocess.run([sys.executable, "-m", "workstation.cli", "info", "--json", str(tmp_path / "s")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)["images"]
    _, worst = _fit(z)
    assert any(f"slice 5 of 7 lies {worst:.3g} mm from the least-squares grid" in w for w in record["warnings"])
