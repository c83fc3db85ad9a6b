"""The model dock sends every case of the open project to a Dask scheduler, follows its progress
and stores the predictions in the open project (the worklist and live metrics hear of them)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_send_all_cases_to_dask(qtbot, xrays, checkpoint, cluster, tmp_path):
    from PySide6.QtCore import Qt

    from workstation.batch import read_results
    from workstation.core.project import Project
    from workstation.qt.main_window import MainWindow

    directory = tmp_path / "study"
    with Project.create(directory, task="binary", classes=["NORMAL", "PNEUMONIA"]) as project:
        project.add_cases([{"paths": [str(p)]} for p in sorted(xrays.glob("*/*.jpeg"))])

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    panel = window.panels["model_dock"]
    assert panel.start_batch() is False and "open a project first" in panel.messages.toPlainText()
    project = window.open_project(directory)
    panel.plugin.setCurrentIndex(panel.plugin.findText("densenet2d", flags=Qt.MatchContains))
    panel.checkpoint.setText(str(checkpoint))
    panel.device.setCurrentText("cpu")
    panel.scheduler.setText("localhost:8786")
    assert panel.start_batch() is False and "tcp://host:8786" in panel.messages.toPlainText()
    panel.scheduler.setText(cluster.scheduler_address)
    seen, changes = [], []
    panel.progress.valueChanged.connect(seen.append)
    project.events.predictions_changed.connect(lambda: changes.append(1))

    assert panel.start_batch()
    assert not panel.run_all.isEnabled() and panel.start("all") is False  # one job at a time
    qtbot.waitUntil(lambda: panel.last_batch is not None, timeout=300_000)
    report = panel.last_batch
    assert report.ok == 16 and report.failed == 0 and changes
    assert seen and seen[-1] == 1000 and panel.run_batch.isEnabled()
    text = panel.messages.toPlainText()
    assert "Dask dashboard: http" in text and "batch done: 16 case(s)" in text and "16 stored" in text
    latest = project.latest_predictions("densenet2d")
    assert set(latest) == set(project.case_ids())
    rows = read_results(directory / "batch" / "densenet2d-results").to_pylist()
    assert {r["case_id"] for r in rows} == set(project.case_ids())

    panel.last_batch = None
    assert panel.start_batch()  # sent again: every case is already done
    qtbot.waitUntil(lambda: panel.last_batch is not None, timeout=300_000)
    assert panel.last_batch.skipped == 16 and panel.last_batch.ran == 0
    panel.shutdown()
