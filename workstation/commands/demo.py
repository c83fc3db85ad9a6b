"""`workstation demo [--dir D] [--screenshot OUT.png] [--rebuild]` — build the demo projects (once;
cached) and open the microbleed detection project in the main window; the Demo menu switches to
the chest X-ray classification project and back.

The first build makes SWI-like microbleed phantoms on the MNI152 brain and runs the `microbleeds`
detector on them through the plugin host, fetches the 16 real chest X-rays and trains a small
DenseNet on them (`workstation train`): a few minutes on a CPU. Later runs reuse it.
`--screenshot OUT.png` opens the first case, waits for its candidates, saves a PNG of the window
and exits (0 saved, 1 not); `--no-gui` only builds. Exit 2 when the demo cannot be built."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="build (once) and open the demo projects",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", metavar="D", default=None, help="demo folder (default: <data dir>/demo)")
    p.add_argument("--screenshot", metavar="OUT.png", help="save a PNG of the candidate review and exit")
    p.add_argument("--rebuild", action="store_true", help="build everything again (new model runs)")
    p.add_argument("--phantoms", type=int, default=3, metavar="N", help="number of microbleed phantoms (3)")
    p.add_argument("--epochs", type=int, default=8, metavar="N", help="training epochs of the chest X-ray model (8)")
    p.add_argument("--no-gui", action="store_true", help="build the projects and print where they are")
    p.add_argument("--size", default="1400x900", metavar="WxH", help="window size (default 1400x900)")
    p.set_defaults(func=run)


def run(args) -> int:
    from workstation.commands.demo_build import DemoError, build

    if args.phantoms < 1:
        print("workstation demo: --phantoms must be at least 1", file=sys.stderr)
        return 2
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"workstation demo: --size must be WxH, got {args.size!r}", file=sys.stderr)
        return 2
    try:
        info = build(Path(args.dir) if args.dir else None, n_phantoms=args.phantoms, rebuild=args.rebuild,
                     epochs=args.epochs, log=lambda text: print(f"demo: {text}", file=sys.stderr, flush=True))
    except (DemoError, OSError) as exc:
        print(f"workstation demo: {exc}", file=sys.stderr)
        return 2
    for note in info.notes:
        print(f"demo: NOTE: {note}", file=sys.stderr)
    if args.no_gui:
        print(info.detection)
        print(info.classification)
        return 0
    return _gui(info, args.screenshot, (width, height))


def _gui(info, screenshot: str | None, size: tuple[int, int]) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from workstation.qt.app import get_app
    from workstation.qt.main_window import MainWindow

    app = get_app()
    window = MainWindow()
    window.resize(*size)
    menu = window.menuBar().addMenu("&Demo")
    menu.addAction("Microbleed candidates (detection)", lambda: window.open_project(str(info.detection)))
    menu.addAction("Chest X-rays (classification)", lambda: window.open_project(str(info.classification)))
    window.show()
    window.open_project(str(info.detection))
    notes = " ".join(info.notes)
    if notes:
        window.statusBar().showMessage(notes)
        if screenshot is None:
            box = QMessageBox(QMessageBox.Information, "workstation demo", notes, parent=window)
            box.setModal(False)
            box.show()
    if screenshot is None:
        return app.exec()

    outcome = {"code": 1, "done": False}

    def save() -> None:
        if outcome["done"]:
            return
        outcome["done"] = True
        window.viewer.flush()
        app.processEvents()
        pixmap = window.screen().grabWindow(window.winId())
        Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
        if pixmap.save(screenshot):
            print(screenshot)
            outcome["code"] = 0
        else:
            print(f"workstation demo: could not write {screenshot}", file=sys.stderr)
        window.close()
        app.exit(outcome["code"])

    def case_opened(_case_id: str) -> None:
        panel = getattr(window, "candidates_panel", None)
        if panel is not None and panel.rows:
            panel.select(0)
        QTimer.singleShot(1500, save)

    window.case_opened.connect(case_opened)
    QTimer.singleShot(180_000, save)  # a case that never opens still ends the run
    app.exec()
    return outcome["code"]
