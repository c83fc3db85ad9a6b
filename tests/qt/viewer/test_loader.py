"""The image loader reads on a thread of its own and reports on the GUI thread only."""
from __future__ import annotations

import threading

import numpy as np
import SimpleITK as sitk

from workstation.qt.viewer import loader


def test_reports_arrive_on_the_gui_thread_and_stop_all_stops_a_load(qtbot, tmp_path, monkeypatch):
    good = tmp_path / "good.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)), str(good))
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(good.read_bytes()[:200])
    seen = []
    job = loader.LoadJob([good, bad])
    for name in ("progress", "loaded", "failed", "finished"):
        getattr(job, name).connect(lambda *a, _n=name: seen.append((_n, threading.current_thread().name, a)))
    with qtbot.waitSignal(job.finished, timeout=60_000):
        job.start()
    assert {thread for _, thread, _ in seen} == {threading.main_thread().name}
    kinds = [n for n, _, _ in seen]
    assert kinds.count("loaded") == 1 and kinds.count("failed") == 1 and kinds[-1] == "finished"
    (reason,) = [a[1] for n, _, a in seen if n == "failed"]
    assert "\n" not in reason and "bad.nii.gz" in reason

    gate, entered = threading.Event(), threading.Event()

    def slow(path, progress=None, cancel=None):
        entered.set()
        while not gate.wait(0.01):
            if cancel():
                return []
        return []

    monkeypatch.setattr(loader, "read_path", slow)
    job = loader.LoadJob([good, good])
    job.start()
    assert entered.wait(30)
    assert job.running
    assert loader.stop_all(timeout_ms=30_000)
    assert not job.running
    with qtbot.waitSignal(job.finished, timeout=30_000) as blocker:
        pass
    assert blocker.args == [True]
