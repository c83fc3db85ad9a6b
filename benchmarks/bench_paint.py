"""Brush painting speed (issue 17).

A stroke of 20 dabs (sphere brush, radius 5 mm) on a 512x512x300 CT volume (pydicom-data's real
CT head slice `693_UNCI.dcm`, 0.49 mm pixels, stacked to 300 slices of 1.25 mm), in the viewer's
three MPR slice views, driven through the event loop as the dock drives it: per dab the editor
paints (its undo block recorded), the segmentation overlay's block is recomposed, the views are
told, and the event loop redraws what asked to be redrawn. Two ways in the same run:

- "before" (the way before, reproduced): every slice view redraws at every dab, its label layer
  resliced twice per dab and drawn as a translucent quad over the whole pane;
- "all views": the label layer drawn as now (once resliced, only the box of the slice that holds
  labels), but every view still redraws at every dab;
- "active view" (now, qt/segmentation/stroke_views.py): as "all views", but only the view painted
  on redraws per dab; the others are held and redraw once at the stroke's end (that cost is
  reported, and included in the per-dab figure amortised over the stroke).

Both are set against writing the same voxels with numpy alone (`mask[box][inside] = 1`, footprints
precomputed), the three views redrawn with no segmentation layer, and the painted view alone redrawn
with nothing changed (the GL floor of a dab: under Xvfb Mesa's software rasteriser, whose cost grows
with the pane's pixels; wall and CPU of all threads, as the machine's load inflates wall times). The save at the stroke's end
(compressed NIfTI + sha256, on a background thread in the app) is timed once per stroke.

    nice xvfb-run -a .venv/bin/python benchmarks/bench_paint.py [--dabs 20] [--radius 5] [--repeats 3]
Goal: <= 16 ms per dab (median) with the mask updated and the view redrawn.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time

import numpy as np


def ct_volume(slices: int):
    from pydicom.data import get_testdata_file

    from workstation.core.io import read_volume
    from workstation.core.volume import Volume

    one = read_volume(get_testdata_file("693_UNCI.dcm"))
    array = np.repeat(one.array[:1], slices, axis=0)
    return Volume(array, (one.spacing[0], one.spacing[1], 1.25), one.origin, one.direction, modality="CT")


def _save_once(tmp: str, editor, grid) -> float:
    """Seconds for the save at a stroke's end: the mask as a new audited version in a project."""
    import shutil

    from pydicom.data import get_testdata_file

    from workstation.core.project import Project
    from workstation.core.segmentation import store

    image = shutil.copy(get_testdata_file("693_UNCI.dcm"), f"{tmp}/ct.dcm")
    with Project.create(f"{tmp}/p", "detection", ["lesion"]) as project:
        project.add_case([image], case_id="c")
        t0 = time.perf_counter()
        store.save_mask(project, "c", "bench", "lesion", editor.mask("lesion"), grid)
        return time.perf_counter() - t0


class _TheWayBefore:
    """While on: label layers drawn over the whole pane, and resliced a second time per dab (what
    the second overlay update per dab cost before)."""

    def __init__(self) -> None:
        from workstation.qt.viewer import overlay_actors

        self.cls, self.crop = overlay_actors._GridActor, overlay_actors._GridActor._show_box

    def __enter__(self):
        self.cls._show_box = lambda actor, box: actor.actor.SetDisplayExtent(0, -1, 0, -1, 0, -1)
        return self

    def __exit__(self, *exc) -> None:
        self.cls._show_box = self.crop

    @staticmethod
    def again(views) -> None:
        for view in views:
            for actor in view.overlays.grid_actors.values():
                actor.matrix.Modified()
                actor.reslice.Update()


def _stroke(app, views, active, editor, display, path, radius, way: str) -> tuple[list[float], float]:
    """Seconds per dab and for the stroke's end, through the event loop."""
    import contextlib

    from workstation.qt.segmentation.stroke_views import HeldViews

    held = HeldViews()
    if way == "active":
        held.hold_all_but(active, views)
    before = _TheWayBefore() if way == "before" else contextlib.nullcontext()
    per_dab = []
    editor.begin()
    with before:
        return _dabs(app, views, editor, display, path, radius, held, before, per_dab)


def _dabs(app, views, editor, display, path, radius, held, before, per_dab):
    for point in path:
        t0, c0 = time.perf_counter(), time.process_time()
        editor.dab("lesion", point, radius)
        display.update(editor, editor.last_box)
        if isinstance(before, _TheWayBefore):
            before.again(views)
        app.processEvents()
        per_dab.append((time.perf_counter() - t0, time.process_time() - c0))
        assert not any(v._render_pending for v in views if not v._held), "a view did not redraw"
    editor.end()
    t0 = time.perf_counter()
    held.release()
    app.processEvents()
    end = time.perf_counter() - t0
    assert not any(v._render_pending for v in views), "a held view did not redraw at the stroke's end"
    return per_dab, end


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dabs", type=int, default=20)
    ap.add_argument("--radius", type=float, default=5.0)
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--view", default="axial", help="the view painted on")
    args = ap.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from workstation.core.review.overlays import OverlayList
    from workstation.core.segmentation.brush import sphere_box
    from workstation.core.segmentation.editor import SegmentationEditor
    from workstation.core.segmentation.grid import Grid
    from workstation.qt.segmentation.display import SegmentDisplay
    from workstation.qt.viewer.viewer_widget import Viewer

    app = QApplication.instance() or QApplication(sys.argv)
    volume = ct_volume(args.slices)
    grid = Grid.of(volume)
    overlays = OverlayList()
    viewer = Viewer(overlays)
    viewer.resize(1200, 800)
    viewer.set_volume(volume)
    viewer.show()
    for _ in range(20):
        app.processEvents()
    views = [v for v in viewer.views.values() if v.isVisible()]
    active = viewer.views[args.view]
    centre = volume.index_to_world(np.array(volume.size) / 2.0)
    path = [centre + np.array([1.5 * n - 15.0, 0.8 * n - 8.0, 0.0]) for n in range(args.dabs)]

    def frames(among, n=9):
        """Median (wall, CPU of all threads) seconds to redraw `among` once, nothing changed."""
        out = []
        for _ in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            for view in among:
                view.GetRenderWindow().Render()
            out.append((time.perf_counter() - t0, time.process_time() - c0))
        return statistics.median(w for w, _ in out), statistics.median(c for _, c in out)

    plain_frame = frames(views)[0]  # the three views redrawn with no segmentation layer: the GL floor
    active_frame = frames([active])  # the floor of a dab: the painted view's frame alone
    ways = ("before", "all", "active")
    got = {way: ([], [], []) for way in ways}
    numpy_dab, saves = [], []
    for rep in range(args.repeats):
        for way in ways if rep % 2 == 0 else ways[::-1]:  # none always first
            editor = SegmentationEditor(grid, volume.array)
            display = SegmentDisplay(overlays)
            display.show(editor, [("lesion", "#e6194b")])
            for _ in range(5):
                app.processEvents()
            per_dab, end = _stroke(app, views, active, editor, display, path, args.radius, way)
            got[way][0].extend(wall for wall, _ in per_dab)
            got[way][1].append(end)
            got[way][2].extend(cpu for _, cpu in per_dab)
        # the floor: the same voxels written with numpy, footprints found beforehand
        plain = grid.empty()
        footprints = [sphere_box(grid, p, args.radius) for p in path]
        for box, inside in footprints:
            t0 = time.perf_counter()
            plain[box][inside] = 1
            numpy_dab.append(time.perf_counter() - t0)
        assert np.array_equal(plain, editor.mask("lesion"))
        with tempfile.TemporaryDirectory() as tmp:
            saves.append(_save_once(tmp, editor, grid))
    floor = statistics.median(numpy_dab)

    def summary(way):
        per_dab, ends, cpu = got[way]
        med, end = statistics.median(per_dab), statistics.median(ends)
        return {"ms_per_dab_median": round(med * 1e3, 2),
                "cpu_ms_per_dab_median": round(statistics.median(cpu) * 1e3, 2),
                "ms_per_dab_p90": round(sorted(per_dab)[int(0.9 * len(per_dab))] * 1e3, 2),
                "ms_stroke_end": round(end * 1e3, 1),
                "ms_per_dab_with_end_amortised": round((med + end / args.dabs) * 1e3, 2),
                "ratio_vs_numpy": round(med / floor, 1)}

    old, all_views, new = summary("before"), summary("all"), summary("active")
    out = {"volume": list(volume.array.shape[::-1]), "dabs": args.dabs, "radius_mm": args.radius,
           "views": {v.orientation: [v.width(), v.height()] for v in views}, "painted_in": args.view,
           "repeats": args.repeats, "before": old, "all_views": all_views, "active_view": new,
           "speedup_vs_before": round(old["ms_per_dab_median"] / new["ms_per_dab_median"], 2),
           "speedup_vs_before_amortised": round(old["ms_per_dab_median"] / new["ms_per_dab_with_end_amortised"], 2),
           "redraw_3_views_ms_no_mask": round(plain_frame * 1e3, 1),
           "redraw_active_view_ms_no_mask": round(active_frame[0] * 1e3, 1),
           "redraw_active_view_cpu_ms_no_mask": round(active_frame[1] * 1e3, 1),
           "load_average": round(__import__("os").getloadavg()[0], 1),
           "numpy_ms_per_dab_median": round(floor * 1e3, 3),
           "save_nii_gz_s_per_stroke": round(statistics.median(saves), 2), "goal_ms": 16,
           "met": new["ms_per_dab_median"] <= 16}
    print(json.dumps(out, indent=1))
    viewer.dispose() if hasattr(viewer, "dispose") else None
    return 0


if __name__ == "__main__":
    sys.exit(main())
