"""`workstation open PATH...` — the main window with images (files, DICOM folders) or a project.

`--screenshot OUT.png` loads, renders, saves a PNG of the whole window (VTK panes included) and
exits 0 (1 when nothing could be read). A bare `workstation` calls `run_gui([])`: an empty window.
With WORKSTATION_TIMING=1 in the environment the first rendered frame prints
`workstation: first frame at <unix time> (cpu <s> s)` on stderr (what benchmarks/bench_view.py times)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

LAYOUT_CHOICES = ("2d", "mpr", "mpr3d")


def register(subparsers) -> None:
    p = subparsers.add_parser("open", help="open images or a project in the main window")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders, or a project folder")
    p.add_argument("--screenshot", metavar="OUT.png", help="save a PNG of the window after loading and exit")
    p.add_argument("--layout", choices=LAYOUT_CHOICES, help="2d: one view; mpr: axial, sagittal, coronal; "
                                                            "mpr3d: with 3D volume rendering")
    p.add_argument("--window", type=float, metavar="W", help="window width")
    p.add_argument("--level", type=float, metavar="L", help="window level (centre)")
    p.add_argument("--preset", metavar="NAME", help="a window preset, e.g. 'CT brain', 'CT bone', 'Auto 1-99%%'")
    p.add_argument("--point", metavar="X,Y,Z", type=_point, help="crosshair at this world point (LPS mm)")
    p.add_argument("--size", metavar="WxH", type=_size, default=(1280, 800), help="window size (default 1280x800)")
    p.set_defaults(func=run)


def _point(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected X,Y,Z in mm, got {text!r}")
    return values


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, e.g. 1280x800, got {text!r}") from None
    return w, h


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"workstation open: no such file or folder: {missing[0]}", file=sys.stderr)
        return 2
    if (args.window is None) != (args.level is None):
        print("workstation open: give --window and --level together", file=sys.stderr)
        return 2
    return run_gui(args.paths, args)


def run_gui(paths, args: argparse.Namespace | None = None) -> int:
    """Start the application with a main window on `paths` (none: an empty window)."""
    from PySide6.QtCore import QCoreApplication, QEvent, QTimer

    from workstation.qt.app import get_app
    from workstation.qt.viewer.loader import LoadJob

    app = get_app()
    # the window shows problems itself and this command prints each once ("workstation open: ...");
    # without a handler Python would print every logged warning a second time
    logging.getLogger("workstation").addHandler(logging.NullHandler())
    image_paths = [str(p) for p in paths if not _is_project(p)]
    job = LoadJob(image_paths) if image_paths else None
    if job is not None:
        job.start()  # reading (and importing the readers) overlaps building the window
    from workstation.qt.main_window import MainWindow

    window = MainWindow(docks=False)  # the panels are built once the first image is on screen
    width, height = getattr(args, "size", None) or (1280, 800)
    window.resize(width, height)
    screenshot = getattr(args, "screenshot", None)
    if screenshot is not None:
        window.remember_layout = False  # a scripted picture does not change the user's layout
    outcome = {"code": 0, "first": True, "loading": job is not None}

    def first_volume(volume) -> None:
        if not outcome["first"]:
            return
        outcome["first"] = False
        _apply_options(window, args)
        # lay the panes out at their real size (layout requests only: a queued "load finished"
        # must not build the other panels before this frame is on screen)
        QCoreApplication.sendPostedEvents(None, QEvent.LayoutRequest)
        window.viewer.flush()
        if os.environ.get("WORKSTATION_TIMING"):
            print(f"workstation: first frame at {time.time():.3f} (cpu {time.process_time():.2f} s)",
                  file=sys.stderr, flush=True)
        QTimer.singleShot(0, window.install_docks)

    def finished(volumes, errors) -> None:
        for line in errors:
            print(f"workstation open: {line}", file=sys.stderr)
        if not volumes and window.project is None:
            window.install_docks()
            if screenshot is not None:
                outcome["code"] = 1
                _quit(app, window, 1)

    window.volume_shown.connect(first_volume)
    window.load_finished.connect(finished)
    window.show()
    projects = [p for p in paths if str(p) not in image_paths]
    if projects or not image_paths:
        window.install_docks()  # a project needs its panels (worklist) before it opens
    for path in projects:
        if window.open_project(path) is None:
            outcome["code"] = 1
            print(f"workstation open: {window.status_text.text() or f'{path}: not a readable project'}",
                  file=sys.stderr)
    if job is not None:
        window.adopt_load(job)
    if screenshot is not None:
        window.screenshot_waiter = _ScreenshotWhenReady(app, window, screenshot, outcome)
    code = app.exec()
    return outcome["code"] or code


class _ScreenshotWhenReady:
    """Save the window once the current case's first frame is on screen: every load finished,
    the panels built and, with a project, its current case opened (or known to have failed)."""

    POLL_MS, SETTLE_MS, GIVE_UP_S = 100, 300, 300

    def __init__(self, app, window, out: str, outcome: dict) -> None:
        from PySide6.QtCore import QTimer

        self.app, self.window, self.out, self.outcome = app, window, out, outcome
        self.started = time.monotonic()
        self.ready_since: float | None = None
        self.timer = QTimer(window)
        self.timer.timeout.connect(self.poll)
        self.timer.start(self.POLL_MS)

    def ready(self) -> bool:
        window = self.window
        return window._job is None and window.docks_installed and _case_on_screen(window, self.outcome)

    def poll(self) -> None:
        now = time.monotonic()
        if not self.ready():
            self.ready_since = None
            if now - self.started < self.GIVE_UP_S:
                return
            print(f"workstation open: the image was not on screen after {self.GIVE_UP_S} s; "
                  "saving the window as it is", file=sys.stderr)
        elif self.ready_since is None:  # let the last panels and the 3D view draw
            self.ready_since = now
            self.window.viewer.flush()
            return
        elif (now - self.ready_since) * 1000 < self.SETTLE_MS:
            return
        self.timer.stop()
        _save_screenshot(self.app, self.window, self.out, self.outcome)


def _case_on_screen(window, outcome: dict) -> bool:
    """The image is on screen, or known never to come: with a project, its current case has been
    opened (or it has no case); without one, the images were read (or failed, or none was given)."""
    project = window.project
    if project is None:
        return window.volume is not None or bool(window.errors) or not outcome["loading"]
    if window.current_case is not None:
        return True
    try:
        return not project.case_ids()
    except Exception:  # noqa: BLE001 - a broken project has nothing to wait for
        return True


def _is_project(path) -> bool:
    # a cheap look first: importing the project package (SQLAlchemy) costs startup time
    if not (Path(path) / "project.json").is_file():
        return False
    from workstation.core.project import Project

    return Project.is_project_dir(path)


def _apply_options(window, args) -> None:
    if args is None:
        return
    if args.layout:
        window.set_layout(args.layout)
    if args.preset:
        try:
            window.viewer.apply_preset(args.preset)
        except KeyError as exc:
            print(f"workstation open: {exc.args[0]}", file=sys.stderr)
    if args.window is not None:
        window.set_window(args.level, args.window)
    if args.point is not None:
        window.set_crosshair(args.point)


def _save_screenshot(app, window, out: str, outcome: dict) -> None:
    window.viewer.flush()
    app.processEvents()
    # the screen's pixels: QWidget.grab() would paint the VTK panes black
    pixmap = window.screen().grabWindow(window.winId())
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(out):
        print(f"workstation open: could not write {out}", file=sys.stderr)
        outcome["code"] = 1
    else:
        print(out)
    _quit(app, window, outcome["code"])


def _quit(app, window, code: int) -> None:
    """Close the window and stop every background thread before the event loop ends."""
    from workstation.qt.app import stop_threads

    window.close()
    stop_threads()
    app.exit(code)
