"""Measurements on pydicom's CT slice (real HU): lengths, angles, ROI statistics equal numpy's on
the same voxels, storage with audit and undo, CSV."""
from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from workstation.core.io import read_volume
from workstation.core.measurements import geometry, store
from workstation.core.segmentation.grid import Grid


@pytest.fixture(scope="module")
def ct():
    return read_volume(get_testdata_file("CT_small.dcm"))


def test_line_and_angle():
    assert geometry.line_length([(0, 0, 0), (3, 4, 12)]) == pytest.approx(13.0)
    assert geometry.angle_degrees([(1, 0, 0), (0, 0, 0), (0, 5, 0)]) == pytest.approx(90.0)
    assert geometry.angle_degrees([(1, 0, 0), (0, 0, 0), (1, 1, 0)]) == pytest.approx(45.0)
    with pytest.raises(geometry.MeasurementError, match="needs 2 points"):
        geometry.line_length([(0, 0, 0)])


def test_polygon_roi_stats_equal_numpy(ct):
    grid = Grid.of(ct)
    z = ct.origin[2]
    corners_ij = np.array([(30.3, 40.6), (90.2, 35.1), (100.7, 95.4), (45.1, 80.8)])  # no centre on an edge
    points = [ct.index_to_world([i, j, 0]) for i, j in corners_ij]
    result = geometry.measure("polygon", points, grid, ct.array)
    # the same voxels picked independently: the quadrilateral is convex, so a voxel centre is inside
    # when it lies on the inner side of every edge (cross products), not by the ROI's ray casting
    jj, ii = np.mgrid[:ct.array.shape[1], :ct.array.shape[2]]
    inside = np.ones(jj.shape, dtype=bool)
    for (x1, y1), (x2, y2) in zip(corners_ij, np.roll(corners_ij, -1, axis=0)):
        inside &= (x2 - x1) * (jj - y1) - (y2 - y1) * (ii - x1) > 0
    values = ct.array[0][inside].astype(float)
    assert result["voxels"] == values.size
    assert result["mean"] == pytest.approx(values.mean())
    assert result["sd"] == pytest.approx(values.std())
    assert (result["min"], result["max"]) == (values.min(), values.max())
    sx, sy = ct.spacing[:2]
    x, y = corners_ij[:, 0] * sx, corners_ij[:, 1] * sy
    shoelace = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    assert result["area_mm2"] == pytest.approx(shoelace)
    assert z == pytest.approx(points[0][2])


def test_ellipse_roi_stats_equal_numpy(ct):
    grid = Grid.of(ct)
    c = np.array([64.2, 60.4])  # no voxel centre on the rim
    a_px, b_px = 25.3, 14.6
    points = [ct.index_to_world([c[0], c[1], 0]), ct.index_to_world([c[0] + a_px, c[1], 0]),
              ct.index_to_world([c[0], c[1] + b_px, 0])]
    result = geometry.measure("ellipse", points, grid, ct.array)
    jj, ii = np.mgrid[:128, :128]
    inside = ((ii - c[0]) / a_px) ** 2 + ((jj - c[1]) / b_px) ** 2 <= 1
    values = ct.array[0][inside].astype(float)
    assert result["voxels"] == values.size
    assert result["mean"] == pytest.approx(values.mean()) and result["sd"] == pytest.approx(values.std())
    assert result["area_mm2"] == pytest.approx(math.pi * a_px * b_px * ct.spacing[0] * ct.spacing[1])


def test_stored_audited_undone_and_exported(tmp_path, ct):
    from workstation.core.project import Project

    path = tmp_path / "ct.dcm"
    path.write_bytes(open(get_testdata_file("CT_small.dcm"), "rb").read())
    project = Project.create(tmp_path / "p", "binary", ["normal", "abnormal"])
    project.add_case([str(path)], case_id="c0")
    grid = Grid.of(ct)
    line = store.add(project, "c0", "ann", "line", [(0, 0, -75.7), (30, 40, -75.7)], label="diam")
    roi = store.add(project, "c0", "ann", "sphere", [ct.index_to_world([64, 64, 0]), ct.index_to_world([74, 64, 0])],
                    grid, ct.array)
    assert line.result["length_mm"] == pytest.approx(50.0)
    assert roi.measurement_id == "meas:2" and roi.result["voxels"] > 0
    assert [e.candidate_id for e in project.audit("c0")] == ["meas:1", "meas:2"]
    rows = list(csv.DictReader(io.StringIO(store.to_csv(project))))
    assert [r["measurement_id"] for r in rows] == ["meas:1", "meas:2"]
    assert float(rows[0]["length_mm"]) == pytest.approx(50.0) and rows[0]["label"] == "diam"
    store.delete(project, "c0", "ann", "meas:1")
    assert [m.measurement_id for m in store.measurements(project, "c0")] == ["meas:2"]
    project.undo()  # the delete
    project.undo()  # the sphere
    assert [m.measurement_id for m in store.measurements(project, "c0")] == ["meas:1"]
    assert project.labels(candidates=True) == [] and project.verify().ok
    project.close()
