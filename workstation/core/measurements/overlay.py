"""Measurements as an overlay layer: polylines in world mm (a line, the two arms of an angle, a
polygon's or an ellipse's outline) with their text, drawn by a slice view whose plane holds them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from workstation.core.review.overlays import Layer


@dataclass(frozen=True)
class Polyline:
    id: str
    points: tuple  # world (x, y, z) mm
    closed: bool = False
    colour: tuple[float, float, float] = (1.0, 0.85, 0.0)
    label: str = ""

    def array(self) -> np.ndarray:
        return np.asarray(self.points, dtype=float).reshape(-1, 3)


class PolylineLayer(Layer):
    kind = "polylines"

    def __init__(self, name: str = "measurements", lines: Iterable[Polyline] = (), *, visible: bool = True,
                 opacity: float = 1.0) -> None:
        super().__init__(name, visible=visible, opacity=opacity)
        self._lines = list(lines)

    @property
    def lines(self) -> list[Polyline]:
        return list(self._lines)

    def set_lines(self, lines: Iterable[Polyline]) -> None:
        self._lines = list(lines)
        self._data_changed()

    def in_plane(self, normal, offset: float, tolerance: float) -> list[Polyline]:
        """The polylines whose every point lies within `tolerance` mm of the plane x·normal = offset."""
        n = np.asarray(normal, dtype=float)
        return [line for line in self._lines if np.all(np.abs(line.array() @ n - offset) <= tolerance)]


def ellipse_outline(centre, a_end, b_point, steps: int = 48) -> np.ndarray:
    """World points around an ellipse given as a measurement stores it (centre, end of the first
    semi-axis, a point on the second)."""
    c, a_end, b_point = (np.asarray(p, dtype=float) for p in (centre, a_end, b_point))
    u = a_end - c
    a = np.linalg.norm(u)
    u = u / a
    w = b_point - c
    v = w - (w @ u) * u
    b = np.linalg.norm(v)
    v = v / b if b > 0 else v
    t = np.linspace(0, 2 * np.pi, steps, endpoint=False)
    return c + np.outer(a * np.cos(t), u) + np.outer(b * np.sin(t), v)


def measurement_lines(measurements) -> list[Polyline]:
    """Polylines with text for stored measurements (core.measurements.store.Measurement)."""
    out = []
    for m in measurements:
        pts = np.asarray(m.points, dtype=float)
        text = _text(m.kind, m.result)
        if m.kind == "line":
            out.append(Polyline(m.measurement_id, tuple(map(tuple, pts)), label=text))
        elif m.kind == "angle":
            out.append(Polyline(m.measurement_id + "/a", tuple(map(tuple, pts[:2]))))
            out.append(Polyline(m.measurement_id, tuple(map(tuple, pts[1:])), label=text))
        elif m.kind == "polygon":
            out.append(Polyline(m.measurement_id, tuple(map(tuple, pts)), closed=True, label=text))
        elif m.kind == "ellipse":
            out.append(Polyline(m.measurement_id, tuple(map(tuple, ellipse_outline(*pts[:3]))), closed=True,
                                label=text))
    return out


def _text(kind: str, result: dict) -> str:
    if kind == "line":
        return f"{result['length_mm']:.1f} mm"
    if kind == "angle":
        return f"{result['angle_deg']:.1f}°"
    size = f"{result['area_mm2']:.1f} mm²" if "area_mm2" in result else f"{result.get('volume_mm3', 0):.0f} mm³"
    if result.get("mean") is None:
        return size
    return f"{size} mean {result['mean']:.1f} SD {result['sd']:.1f}"
