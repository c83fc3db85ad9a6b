"""Readers' measurements as TID 1500 measurement groups: a line (Length, mm) and an angle (Angle, deg)
as TID 1501 groups whose measurement is inferred from its coordinates; an ellipse or polygon ROI as a
TID 1410 planar ROI (Area, mm², and the Mean, Standard Deviation, Minimum and Maximum of the stored
values: HU on CT); a sphere ROI as a TID 1411 volumetric ROI (an ellipsoid: Volume, mm³, and the
same statistics). Coordinates are world LPS mm (SCOORD3D in the sources' frame of reference) where the
sources have patient geometry, else pixel (column, row) on the one projection image (SCOORD); every
measurement names the source images it was made on (SOURCE IMAGE FOR MEASUREMENT)."""
from __future__ import annotations

import numpy as np

from workstation.core.export.results.sources import has_geometry


def _units():
    import highdicom as hd

    return {"mm": hd.sr.CodedConcept("mm", "UCUM", "millimeter"),
            "mm2": hd.sr.CodedConcept("mm2", "UCUM", "square millimeter"),
            "mm3": hd.sr.CodedConcept("mm3", "UCUM", "cubic millimeter"),
            "deg": hd.sr.CodedConcept("deg", "UCUM", "degree"),
            "hu": hd.sr.CodedConcept("[hnsf'U]", "UCUM", "Hounsfield unit"),
            "1": hd.sr.CodedConcept("1", "UCUM", "no units")}


def _touched(sources, points: np.ndarray, radius_mm: float = 0.0) -> list:
    """The source images an ROI lies on: with geometry, those whose plane passes within half a slice
    (or the sphere's radius) of the points' span; a projection image is its own only source."""
    if not has_geometry(sources) or len(sources) == 1:
        return list(sources[:1])
    normal = np.cross(*np.reshape([float(v) for v in sources[0].ImageOrientationPatient], (2, 3)))
    depth = np.array([float(np.dot(normal, [float(v) for v in d.ImagePositionPatient])) for d in sources])
    half = 0.5 * float(np.median(np.abs(np.diff(depth)))) if len(depth) > 1 else 0.5
    along = points @ normal
    lo, hi = along.min() - radius_mm - half, along.max() + radius_mm + half
    found = [d for d, z in zip(sources, depth) if lo <= z <= hi]
    return found or [sources[int(np.argmin(np.abs(depth - along.mean())))]]


def _to_pixels(grid, points: np.ndarray) -> np.ndarray:
    """(column, row) of world points on a projection image, pixel centres at +0.5 (DICOM's SCOORD)."""
    ijk = grid.world_to_index(points)
    return ijk[:, :2] + 0.5


class _Builder:
    def __init__(self, sources, grid, modality: str) -> None:
        import highdicom as hd

        self.hd, self.sources, self.grid = hd, sources, grid
        self.geometry = has_geometry(sources)
        self.frame = str(sources[0].get("FrameOfReferenceUID", "")) if self.geometry else ""
        if self.geometry and not self.frame:
            self.geometry = False  # world points need a frame of reference to mean anything
        self.units = _units()
        self.value_unit = self.units["hu"] if modality.upper() == "CT" else self.units["1"]

    def _images(self, touched):
        return [self.hd.sr.SourceImageForMeasurement(str(d.SOPClassUID), str(d.SOPInstanceUID)) for d in touched]

    def _coordinates(self, graphic_type: str, points: np.ndarray):
        hd = self.hd
        if self.geometry:
            return hd.sr.CoordinatesForMeasurement3D(graphic_type, points, self.frame)
        ds = self.sources[0]
        return hd.sr.CoordinatesForMeasurement(
            graphic_type, _to_pixels(self.grid, points),
            hd.sr.SourceImageForRegion(str(ds.SOPClassUID), str(ds.SOPInstanceUID)))

    def _stats(self, result: dict, images) -> list:
        from pydicom.sr.codedict import codes

        out = []
        for key, name in (("mean", codes.SCT.Mean), ("sd", codes.SCT.StandardDeviation),
                          ("min", codes.SCT.Minimum), ("max", codes.SCT.Maximum)):
            if result.get(key) is not None:
                out.append(self.hd.sr.Measurement(name=name, value=float(result[key]), unit=self.value_unit,
                                                  referenced_images=images))
        return out

    def group(self, m):
        """The measurement group of one stored measurement (core.measurements.store.Measurement)."""
        from pydicom.sr.codedict import codes

        hd = self.hd
        points = np.asarray(m.points, dtype=float).reshape(-1, 3)
        tracking = hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"{m.measurement_id} {m.kind} by {m.reader}"[:64])
        finding = _finding(m)
        if m.kind in ("line", "angle"):
            images = self._images(_touched(self.sources, points))
            name, value, unit = ((codes.SCT.Length, m.result["length_mm"], self.units["mm"]) if m.kind == "line"
                                 else (codes.SCT.Angle, m.result["angle_deg"], self.units["deg"]))
            measurement = hd.sr.Measurement(name=name, value=float(value), unit=unit, referenced_images=images,
                                            referenced_coordinates=[self._coordinates("POLYLINE", points)])
            return hd.sr.MeasurementsAndQualitativeEvaluations(tracking_identifier=tracking, finding_type=finding,
                                                               measurements=[measurement])
        if m.kind == "sphere":
            centre, edge = points[:2]
            r = float(np.linalg.norm(edge - centre))
            images = self._images(_touched(self.sources, centre[None], r))
            measurements = [hd.sr.Measurement(name=codes.SCT.Volume, value=float(m.result["volume_mm3"]),
                                              unit=self.units["mm3"], referenced_images=images)]
            measurements += self._stats(m.result, images)
            if not self.geometry:
                return hd.sr.MeasurementsAndQualitativeEvaluations(tracking_identifier=tracking,
                                                                   finding_type=finding, measurements=measurements)
            axes = np.eye(3) * r
            ellipsoid = np.concatenate([[centre - a, centre + a] for a in axes])  # three axes' end points
            surface = hd.sr.VolumeSurface("ELLIPSOID", ellipsoid, self.frame,
                                          source_series=hd.sr.SourceSeriesForSegmentation(
                                              str(self.sources[0].SeriesInstanceUID)))
            return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=tracking, referenced_volume_surface=surface, finding_type=finding,
                measurements=measurements)
        # ellipse (centre, end of the first semi-axis, a point on the second) or polygon (corners)
        if m.kind == "ellipse":
            outline = _ellipse_axes(points)
            kind = "ELLIPSE"
        else:
            outline = np.concatenate([points, points[:1]])  # a POLYGON is closed: first point again
            kind = "POLYGON"
        touched = _touched(self.sources, outline)
        images = self._images(touched)
        measurements = [hd.sr.Measurement(name=codes.SCT.Area, value=float(m.result["area_mm2"]),
                                          unit=self.units["mm2"], referenced_images=images)]
        measurements += self._stats(m.result, images)
        if self.geometry:
            region = hd.sr.ImageRegion3D(kind, outline, self.frame)
        else:
            ds = self.sources[0]
            region = hd.sr.ImageRegion("ELLIPSE" if kind == "ELLIPSE" else "POLYLINE",
                                       _to_pixels(self.grid, outline),
                                       hd.sr.SourceImageForRegion(str(ds.SOPClassUID), str(ds.SOPInstanceUID)))
        return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking, referenced_region=region, finding_type=finding, measurements=measurements)


def _ellipse_axes(points: np.ndarray) -> np.ndarray:
    """The four end points of an ellipse's two axes (major first), as DICOM's ELLIPSE wants them."""
    c, a_end, b_point = points[:3]
    u = a_end - c
    a = float(np.linalg.norm(u))
    u = u / a
    w = b_point - c
    v = w - (w @ u) * u
    b = float(np.linalg.norm(v))
    v = v / b
    axes = [(a, u), (b, v)] if a >= b else [(b, v), (a, u)]
    return np.array([c - axes[0][0] * axes[0][1], c + axes[0][0] * axes[0][1],
                     c - axes[1][0] * axes[1][1], c + axes[1][0] * axes[1][1]])


def _finding(m):
    from workstation.core.export.results.sr import _concept

    return _concept(m.label or f"{m.kind} measurement")


def measurement_groups(sources, measurements, grid=None, modality: str = "") -> list:
    """TID 1500 measurement groups for a case's stored measurements. `grid` (the case image's) maps
    world points to pixels when the sources have no patient geometry (a projection image)."""
    if not measurements:
        return []
    if not has_geometry(sources) and grid is None:
        raise ValueError("measurements on a projection image need the image grid to place them")
    builder = _Builder(sources, grid, modality or str(sources[0].get("Modality", "")))
    return [builder.group(m) for m in measurements]


__all__ = ["measurement_groups"]
