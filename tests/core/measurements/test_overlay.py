"""Measurements as polylines with text, and which of them a slice plane holds."""
from __future__ import annotations

import numpy as np

from workstation.core.measurements.overlay import PolylineLayer, ellipse_outline, measurement_lines
from workstation.core.measurements.store import Measurement


def _m(mid, kind, points, result):
    return Measurement("c", mid, "ann", kind, points, result, "drawn", "", "")


def test_lines_and_text():
    lines = measurement_lines([
        _m("meas:1", "line", [[0, 0, 5], [3, 4, 5]], {"length_mm": 5.0}),
        _m("meas:2", "angle", [[1, 0, 5], [0, 0, 5], [0, 1, 5]], {"angle_deg": 90.0}),
        _m("meas:3", "ellipse", [[0, 0, 9], [4, 0, 9], [0, 2, 9]],
           {"area_mm2": 25.13, "mean": 40.0, "sd": 2.0, "voxels": 20, "min": 1, "max": 50}),
    ])
    assert [l.label for l in lines] == ["5.0 mm", "", "90.0°", "25.1 mm² mean 40.0 SD 2.0"]
    layer = PolylineLayer("m", lines)
    assert [l.id for l in layer.in_plane((0, 0, 1), 5.0, 0.5)] == ["meas:1", "meas:2/a", "meas:2"]
    assert [l.id for l in layer.in_plane((0, 0, 1), 9.2, 0.5)] == ["meas:3"]
    ring = ellipse_outline([0, 0, 9], [4, 0, 9], [0, 2, 9])
    assert np.allclose((ring[:, 0] / 4) ** 2 + (ring[:, 1] / 2) ** 2, 1.0) and np.allclose(ring[:, 2], 9)
    seen = []
    layer.events.data.connect(lambda: seen.append(1))
    layer.set_lines([])
    assert seen == [1] and layer.lines == []
