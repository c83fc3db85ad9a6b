"""The model dock in the real main window: run a densenet2d checkpoint on a project, see the
predictions stored and the heat map layer appear."""
from __future__ import annotations

import os
import shutil

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture
def study(tmp_path):
    import torch
    from pydicom.data import get_testdata_file

    from workstation.core.project import Project
    from workstation.ml.checkpoint import save_checkpoint
    from workstation.ml.networks import build_network

    directory = tmp_path / "study"
    with Project.create(directory, task="binary", classes=["normal", "abnormal"]) as project:
        for name in ("CT_small.dcm", "MR_small.dcm"):
            shutil.copy(get_testdata_file(name), tmp_path / name)
            project.add_case([str(tmp_path / name)])
    torch.manual_seed(0)
    arch = {"name": "DenseNet", "spatial_dims": 2, "in_channels": 1, "out_channels": 1, "init_features": 8,
            "growth_rate": 8, "block_config": [2, 2]}
    save_checkpoint(directory / "models" / "densenet2d" / "tiny.pt", build_network(arch).state_dict(),
                    plugin_id="densenet2d", task="binary", classes=["normal", "abnormal"], architecture=arch,
                    preprocessing={"size": [64, 64]})
    return directory


def test_run_all_then_show_heatmap(qtbot, study, tmp_path):
    from workstation.core.review.overlays import HeatMapLayer
    from workstation.qt.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    panel = window.panels["model_dock"]
    assert panel.start("all") is False and "open a project first" in panel.messages.toPlainText()
    project = window.open_project(study)
    panel.plugin.setCurrentIndex(panel.plugin.findText("densenet2d", flags=qtbot_match()))
    assert panel.manifest().id == "densenet2d"
    panel.device.setCurrentText("cpu")
    changes = []
    project.events.predictions_changed.connect(lambda: changes.append(1))
    assert panel.start("all")
    qtbot.waitUntil(lambda: panel.last_report is not None, timeout=300_000)
    report = panel.last_report
    assert report.stored == 2 and report.failures == [] and changes
    assert "densenet2d done: 2/2 stored on cpu" in panel.messages.toPlainText()
    latest = project.latest_predictions("densenet2d")
    assert sorted(latest) == ["CT_small", "MR_small"] and all(r.heatmap_path for r in latest.values())

    with qtbot.waitSignal(window.case_opened, timeout=60_000):
        window.open_case("CT_small")
    panel.show_heatmap.setChecked(True)
    layer = window.overlays.find("heat map")
    assert isinstance(layer, HeatMapLayer) and layer.array.shape == (1, 128, 128)
    qtbot.wait(300)
    if os.environ.get("WORKSTATION_SCREENSHOT_DIR"):
        shot = window.screen().grabWindow(window.winId())
        shot.save(os.path.join(os.environ["WORKSTATION_SCREENSHOT_DIR"], "model_dock.png"))
    panel.show_heatmap.setChecked(False)
    assert window.overlays.find("heat map") is None

    panel.last_report = None
    before = latest["CT_small"].created_at
    assert panel.start("current")  # the shown volume goes to the worker as it is
    qtbot.waitUntil(lambda: panel.last_report is not None, timeout=300_000)
    assert panel.last_report.total == 1 and panel.last_report.stored == 1
    history = project.latest_predictions("densenet2d")
    assert history["CT_small"].created_at >= before and history["MR_small"] == latest["MR_small"]
    panel.shutdown()


def qtbot_match():
    from PySide6.QtCore import Qt

    return Qt.MatchContains
