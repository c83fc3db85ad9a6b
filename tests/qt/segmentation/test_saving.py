"""Saves leave the GUI thread: a stroke's mask is written on a background thread and recorded through
the session on the GUI thread; a save that fails (a file where the case's folder must be made) is one
line to the reader, and the edit is kept until a later Save stores it."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt

from workstation.core.segmentation import store


def _stroke(qtbot, view, at: QPoint) -> None:
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)


def test_the_write_runs_off_the_gui_thread(qtbot, seg_window, monkeypatch):
    panel = seg_window.panels["segmentation_panel"]
    panel.add_segment("lesion")
    panel.tool.setCurrentText("Paint")
    view = seg_window.viewer.views["axial"]
    qtbot.waitUntil(lambda: view.isVisible() and view.grid is not None, timeout=10000)
    threads, write = [], store.write_mask_file

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return write(*args, **kwargs)

    monkeypatch.setattr(store, "write_mask_file", spy)
    with qtbot.waitSignal(panel.saved, timeout=20000):
        _stroke(qtbot, view, QPoint(view.width() // 2, view.height() // 2))
    assert threads and all(t is not threading.main_thread() for t in threads)
    (version,) = store.latest_versions(seg_window.session.project, "brain", "alice")
    assert version.mask_sha256 == panel.editor.sha256("lesion")


def test_a_failed_save_is_one_line_and_nothing_is_lost(qtbot, seg_window):
    panel = seg_window.panels["segmentation_panel"]
    project = seg_window.session.project
    notify = seg_window.notify
    panel.add_segment("lesion")
    panel.tool.setCurrentText("Paint")
    view = seg_window.viewer.views["axial"]
    qtbot.waitUntil(lambda: view.isVisible() and view.grid is not None, timeout=10000)
    blocker = Path(project.directory) / "segmentation" / "brain"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("in the way of the case's folder")
    shown = []
    notify.shown.connect(lambda text, error: shown.append((text, error)))
    centre = QPoint(view.width() // 2, view.height() // 2)
    _stroke(qtbot, view, centre)
    qtbot.waitUntil(lambda: any(error for _t, error in shown), timeout=20000)
    ((text, _),) = [s for s in shown if s[1]]
    assert "\n" not in text and "not saved" in text and "segmentation/brain" in text and "kept" in text
    assert store.latest_versions(project, "brain") == []
    painted = panel.editor.mask("lesion").copy()
    assert painted.any() and len(panel.saver.unsaved) == 1
    assert "not saved" in panel.volume_text.text()
    # moving on to a reload (another case, another reader) keeps the unsaved copy
    panel.reload()
    assert len(panel.saver.unsaved) == 1 and np.array_equal(panel.editor.mask("lesion"), painted)
    blocker.unlink()
    with qtbot.waitSignal(panel.saved, timeout=20000):
        panel.save_all()
    (version,) = store.latest_versions(project, "brain", "alice")
    saved, _ = store.load_mask(project, version)
    assert np.array_equal(saved, painted) and panel.saver.unsaved == {}


def test_a_save_in_flight_lands_in_the_project_it_was_painted_in(qapp, tmp_path, mni_project):
    from PySide6.QtCore import QObject

    from workstation.core.project import Project
    from workstation.core.review.session import ReviewSession
    from workstation.core.segmentation.brush import sphere_mask
    from workstation.core.segmentation.grid import Grid
    from workstation.qt.segmentation.saver import MaskSaver

    first = Project.open(mni_project)
    other = Project.create(tmp_path / "other", task="detection", classes=["microbleed"])
    other.add_case([first.case("brain").paths[0]], case_id="brain")
    session = ReviewSession(first, reader="alice")
    owner, done, failed = QObject(), [], []
    saver = MaskSaver(owner, session, done.append, failed.append)
    grid = Grid.of(store.case_volume(first, "brain"))
    mask = sphere_mask(grid, (0.0, -20.0, 10.0), 5.0)
    saver.submit("brain", "alice", "lesion", mask, grid)
    session.set_project(other)  # the window opens another project while the file is written
    saver.flush()
    assert failed == [] and len(done) == 1
    (version,) = store.latest_versions(first, "brain", "alice")
    assert version.mask_sha256 == done[0].value["mask_sha256"]
    assert store.latest_versions(other, "brain") == []
    first.close()
    other.close()
