"""The training dock in the real main window: train in the background, switch the model dock to the
new checkpoint and run it over the project, then order the worklist for the active-learning loop."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ml" / "training"))

from training_shapes import make_shapes_project  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    import torch

    from workstation.qt.main_window import MainWindow

    torch.set_num_threads(1)
    win = MainWindow()
    win.training_dock, win.model_dock = win.panels["training_dock"], win.panels["model_dock"]
    win.worklist = win.panels["worklist"]
    win.show()
    yield win
    win.training_dock.shutdown()
    win.model_dock.shutdown()
    project, win.project = win.project, None
    win.session.set_project(None)
    win.project_changed.emit(None)
    qtbot.wait(200)
    win.close()
    win.deleteLater()
    qtbot.wait(50)
    if project is not None:
        project.close()


def test_train_switch_model_run_and_order_worklist(qtbot, window, tmp_path):
    from workstation.core.review.ordering import order_project
    from workstation.ml.training import TrainConfig

    made = make_shapes_project(tmp_path / "p", 20, classes=("hbar", "vbar"), noise=0.2)
    directory = made.directory
    made.close()
    panel = window.training_dock
    assert panel.start_training() is False and "open a project first" in panel.status.text()
    project = window.open_project(directory)
    assert panel.apply_ordering("entropy") == project.case_ids()  # no predictions yet: project order

    panel.device.setCurrentText("cpu")
    config = TrainConfig(tiny=True, size=(32, 32), epochs=2, device="cpu", augment=False)
    with qtbot.waitSignal(panel.trained, timeout=300_000) as trained:
        assert panel.start_training(config)
        assert panel.start_training(config) is False and "already running" in panel.status.text()
    plugin_id, checkpoint = trained.args
    assert plugin_id == "densenet2d" and Path(checkpoint).is_file()
    assert Path(checkpoint).parent == Path(directory) / "models" / "densenet2d"
    assert "trained: best epoch" in panel.status.text() and panel.progress.value() == 1000

    dock = window.model_dock
    assert dock.manifest().id == "densenet2d" and dock.checkpoint.text() == checkpoint
    qtbot.waitUntil(lambda: dock.last_report is not None, timeout=300_000)
    assert dock.last_report.stored == 20
    stored = project.latest_predictions("densenet2d")
    assert {r.weights_sha256 for r in stored.values()} == {panel.result.sha256}

    worklist = window.worklist
    rows = lambda: [worklist.model.case_at(r) for r in range(worklist.model.rowCount())]  # noqa: E731
    order = panel.apply_ordering("entropy")
    assert order == order_project(project, "entropy") and rows() == order
    assert worklist.current_case() == order[0]
    order = panel.apply_ordering("disagreement")
    assert rows() == order_project(project, "disagreement")
    worklist.set_filter("all")  # choosing a filter keeps the ordering
    assert rows() == order_project(project, "disagreement")
    project.set_label(order[0], "hbar" if project.truth()[order[0]] == "vbar" else "vbar", reader="reader1")
    qtbot.waitUntil(lambda: rows() == order_project(project, "disagreement"), timeout=10_000)
    panel.apply_ordering(None)
    assert rows() == project.case_ids()


def test_cancel_stops_training_and_writes_nothing(qtbot, window, tmp_path):
    from workstation.ml.training import TrainConfig

    made = make_shapes_project(tmp_path / "p", 20, classes=("hbar", "vbar"))
    directory = made.directory
    made.close()
    window.open_project(directory)
    panel = window.training_dock
    panel.cancel_event.set()  # an old event must not cancel the next run
    assert panel.start_training(TrainConfig(tiny=True, size=(32, 32), epochs=500, patience=500, device="cpu",
                                                augment=False))
    qtbot.waitUntil(lambda: panel.progress.value() > 100, timeout=120_000)
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: not panel.thread.is_alive() and bool(panel.error), timeout=60_000)
    assert panel.result is None and "cancelled" in panel.error and "cancelled" in panel.status.text()
    assert not (Path(directory) / "models" / "densenet2d").exists() or not list(
        (Path(directory) / "models" / "densenet2d").glob("*.pt"))
    assert panel.train_button.isEnabled()
