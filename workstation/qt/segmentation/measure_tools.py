"""Measurements from the segmentation dock: line, angle, ellipse and polygon ROIs drawn in a slice
view (world LPS mm; ROIs in the view's plane, oblique too), stored for the reader through the review
session (audited, undone by its undo), listed and drawn with their text."""
from __future__ import annotations

import numpy as np

from workstation.core.errors import WorkstationError

MEASURE_LAYER = "measurements"


class MeasurementTools:
    """The measurement half of SegmentationPanel (it provides ctx, session, project, case_id,
    reader, measurements (a QListWidget) and the `measured` signal)."""

    def measure_line(self, a, b) -> str | None:
        return self.measure_points("line", [a, b])

    def measure_points(self, kind: str, points, normal=None) -> str | None:
        """Store a measurement (world points) for the reader, through the session."""
        from workstation.core.segmentation.grid import Grid

        volume = self.ctx.volume
        grid, image = (Grid.of(volume), volume.array) if kind not in ("line", "angle") else (None, None)
        try:
            change = self.session.measure(self.case_id, kind, points, grid, image, normal, reader=self.reader)
        except WorkstationError as exc:
            self.ctx.notify.info(str(exc))
            return None
        self._list_measurements()
        self.measured.emit(change.candidate_id)
        return change.candidate_id

    def measure_ellipse(self, view, centre, corner) -> str | None:
        """An ellipse ROI in the plane of `view`: semi-axes along the view's x and y."""
        ex, ey = view.frame.ex, view.frame.ey
        d = np.asarray(corner, dtype=float) - np.asarray(centre, dtype=float)
        a, b = abs(float(d @ ex)), abs(float(d @ ey))
        if a <= 0 or b <= 0:
            self.ctx.notify.info("drag from the centre to a corner to draw an ellipse")
            return None
        points = [centre, centre + a * ex, centre + b * ey]
        return self.measure_points("ellipse", points, normal=view.frame.en)

    def delete_measurement(self) -> None:
        """Delete the selected measurement (audited; the project's undo brings it back)."""
        item = self.measurements.currentItem()
        if item is None or self.case_id is None:
            return
        try:
            self.session.delete_measurement(self.case_id, item.text().split(" ", 1)[0], reader=self.reader)
        except WorkstationError as exc:
            self.ctx.notify.info(str(exc))
        self._list_measurements()

    def _list_measurements(self) -> None:
        from workstation.core.measurements import store as mstore

        self.measurements.clear()
        if self.project is None or self.case_id is None:
            return
        from workstation.core.measurements.overlay import PolylineLayer, measurement_lines

        found = mstore.measurements(self.project, self.case_id, self.reader)
        for m in found:
            text = ", ".join(f"{k} {v:.1f}" for k, v in m.result.items() if isinstance(v, float))
            self.measurements.addItem(f"{m.measurement_id} {m.kind}: {text}")
        self.ctx.overlays.put(PolylineLayer(MEASURE_LAYER, measurement_lines(found)))


    def _click(self, view, world, tool: str, double: bool) -> bool:
        """A click of an angle (done at the third) or a polygon (done at a double-click)."""
        if self._clicks and self._clicks[0][0] is not view:
            self._clicks = []
        if not double:
            self._clicks.append((view, np.asarray(world, dtype=float)))
        points = [p for _, p in self._clicks]
        if tool == "Angle" and len(points) == 3:
            self._clicks = []
            self.measure_points("angle", points)
        elif tool == "Polygon" and double:
            self._clicks = []
            if len(points) >= 3:
                self.measure_points("polygon", points, normal=view.frame.en)
            else:
                self.ctx.notify.info("a polygon needs three or more corners (double-click closes it)")
        return True
