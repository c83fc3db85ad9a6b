"""Metrics speed at 100,000 binary cases.

1. One full recompute (sort, ROC, AUC with DeLong CI, matrix at a threshold) against
   scikit-learn's roc_curve + roc_auc_score + confusion_matrix on the same data; target <= 50 ms
   and no slower than scikit-learn.
2. A label change in a real 100,000-case project -> LiveMetrics -> panels redrawn and painted;
   target <= 100 ms. Needs a display: run under `xvfb-run -a`.

    nice .venv/bin/python benchmarks/bench_metrics.py [--cases 100000] [--no-gui]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

import numpy as np


def timed(fn, repeats: int) -> float:
    """Median wall time in ms."""
    return statistics.median(samples(fn, repeats))


def samples(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def bench_engine(n: int, repeats: int = 15) -> None:
    from sklearn import metrics as skm

    from workstation.core.metrics.binary import BinaryEvaluation

    rng = np.random.default_rng(0)
    y = rng.random(n) < 0.3
    for label, s in (("continuous scores", 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))),
                     ("scores rounded to 0.01 (heavy ties)", None)):
        if s is None:
            s = np.round(1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y))), 2)

        def ours():
            ev = BinaryEvaluation(y, s)
            ev.roc, ev.auc, ev.at(0.5)

        def sklearn():
            skm.roc_curve(y, s)
            skm.roc_auc_score(y, s)
            skm.confusion_matrix(y, s >= 0.5)

        ours(), sklearn()
        ta, tb = [], []
        for _ in range(repeats):  # interleaved, so that both see the same machine load
            ta += samples(ours, 1)
            tb += samples(sklearn, 1)
        a, b = statistics.median(ta), statistics.median(tb)
        ev = BinaryEvaluation(y, s)
        assert abs(ev.auc.auc - skm.roc_auc_score(y, s)) < 1e-12
        print(f"engine, {n:,} cases, {label}:")
        print(f"  workstation full recompute (ROC + AUC + DeLong 95% CI + matrix): {a:7.1f} ms median, "
              f"{min(ta):.1f} best  "
              f"[target <= 50 ms: {'PASS' if a <= 50 else 'FAIL'}]")
        print(f"  scikit-learn roc_curve + roc_auc_score + confusion_matrix:       {b:7.1f} ms median, "
              f"{min(tb):.1f} best")
        print(f"  ratio workstation / scikit-learn: {a / b:.2f}  "
              f"[target <= 1: {'PASS' if a <= b else 'FAIL'}]")


def build_project(directory: str, n: int):
    from sqlalchemy import insert

    from workstation.core.project import PredictionRecord, Project
    from workstation.core.project.models import LabelRow
    from workstation.core.project.records import now

    rng = np.random.default_rng(1)
    y = rng.random(n) < 0.3
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))
    project = Project.create(directory, "binary", ["normal", "abnormal"], readers=["alice"])
    project.add_cases([dict(paths=[f"/data/{i}.dcm"], case_id=f"c{i:06d}") for i in range(n)])
    project.add_predictions([PredictionRecord(f"c{i:06d}", {"normal": 1 - s[i], "abnormal": s[i]}, "model-a")
                             for i in range(n)])
    # Set-up only: 100,000 labels in one insert (set_label commits and syncs each one).
    with project.engine.begin() as conn:
        conn.execute(insert(LabelRow.__table__), [
            dict(case_id=f"c{i:06d}", candidate_id="", reader="alice", tag="final",
                 value="abnormal" if y[i] else "normal", note=None, updated_at=now()) for i in range(n - 50)])
    project.close()
    return y


def bench_panels(n: int, repeats: int = 10) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    from workstation.core.project import Project
    from workstation.qt.app import get_app
    from workstation.qt.metrics.panels import MetricsPanel

    app = get_app()
    workdir = tempfile.mkdtemp(prefix="bench-metrics-")
    directory = workdir + "/project"
    t = time.perf_counter()
    build_project(directory, n)
    print(f"panels, {n:,}-case project (built in {time.perf_counter() - t:.0f} s):")

    def wait_redrawn(panel, action) -> float:
        loop = QEventLoop()
        panel.redrawn.connect(loop.quit)
        QTimer.singleShot(20000, loop.quit)
        t0 = time.perf_counter()
        action()
        loop.exec()
        app.processEvents()  # the repaint of the plots and the table
        panel.redrawn.disconnect(loop.quit)
        return (time.perf_counter() - t0) * 1000

    project = Project.open(directory)
    panel = MetricsPanel()
    panel.resize(1000, 800)
    panel.show()
    first = wait_redrawn(panel, lambda: panel.set_project(project))  # a full load, off the GUI thread
    times, updates = [], []
    for i in range(repeats):  # each confirm adds an unlabelled case to the matrix
        case = f"c{n - 50 + i:06d}"
        times.append(wait_redrawn(panel, lambda c=case: project.set_label(c, "abnormal", reader="alice")))
        updates.append(1000 * panel.result.seconds)
    label_ms = statistics.median(times)
    full = statistics.median(timed(panel.live.recompute, 1) for _ in range(3))  # synchronous here
    redraw = statistics.median(samples(lambda: (panel.redraw(curves=True), app.processEvents()), repeats))
    slider = statistics.median(timed(lambda v=v: (panel.slider.setValue(v), app.processEvents()), 1)
                               for v in range(300, 300 + repeats))
    print(f"  opening the project in the panel: {first:.0f} ms (on a worker thread; the window stays live); "
          f"full reload + recompute: {full:.0f} ms")
    print(f"  label change (set_label incl. database commit) -> LiveMetrics -> panels redrawn and painted: "
          f"{label_ms:.1f} ms median of {len(times)}, {min(times):.1f} best  "
          f"[target <= 100 ms: {'PASS' if label_ms <= 100 else 'FAIL'}]")
    print(f"    of which the incremental table update + evaluation: {statistics.median(updates):.1f} ms median")
    print(f"  redraw alone (matrix, ROC, table): {redraw:.1f} ms; threshold slider step: {slider:.1f} ms")
    panel.set_project(None)
    panel.close()
    panel.deleteLater()
    app.processEvents()
    project.close()
    shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--no-gui", action="store_true", help="only the engine benchmark")
    args = parser.parse_args()
    print("load average (1, 5, 15 min): %.1f %.1f %.1f on %d CPUs" % (*os.getloadavg(), os.cpu_count()))
    bench_engine(args.cases)
    if not args.no_gui:
        bench_panels(args.cases)


if __name__ == "__main__":
    main()
