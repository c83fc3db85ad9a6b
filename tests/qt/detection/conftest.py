"""A detection project of one real-brain microbleed phantom with candidates (the phantom's true
microbleeds plus two of its mimics, with scores), opened in the main window for review."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from qt_windows import close_window

sys.path.insert(0, str(Path(__file__).parent))  # candidates_helpers

SCORES_BLEEDS = [0.95, 0.85, 0.7]
SCORES_MIMICS = [0.6, 0.3]


@pytest.fixture(scope="session")
def phantom_case(tmp_path_factory):
    from workstation.core.phantoms import make_phantom, write_phantom

    out = tmp_path_factory.mktemp("cand-phantom")
    phantom = make_phantom(seed=5150, index=0, resolution="1mm", n_microbleeds=3)
    truth = write_phantom(phantom, out, "ph0")
    return out / truth["image"], truth


@pytest.fixture
def detection_project(tmp_path, phantom_case):
    from workstation.core.project import PredictionRecord, Project

    image, truth = phantom_case
    project = Project.create(tmp_path / "det", "detection", ["microbleed"])
    project.add_case([str(image)], case_id="ph0")
    lesions = truth["lesions"]
    mimics = [m for m in truth["mimics"] if m["type"] == "vessel"][:2]
    candidates = [{"id": f"microbleeds-{n}", "centre": les["centre"], "diameter_mm": les["diameter_mm"],
                   "score": s, "label": "microbleed"} for n, (les, s) in enumerate(zip(lesions, SCORES_BLEEDS))]
    candidates += [{"id": f"microbleeds-{n + 3}", "centre": m["centre"], "diameter_mm": 3.0, "score": s,
                    "label": "microbleed"} for n, (m, s) in enumerate(zip(mimics, SCORES_MIMICS))]
    project.add_predictions([PredictionRecord("ph0", {}, "microbleeds", "1.0.0", "0" * 64, "cpu",
                                              candidates=candidates)])
    project.close()
    return tmp_path / "det", truth, candidates


@pytest.fixture
def review_window(qtbot, detection_project):
    from workstation.qt.main_window import MainWindow

    folder, truth, candidates = detection_project
    window = MainWindow()
    window.resize(1300, 850)
    window.session.set_reader("alice")
    with qtbot.waitSignal(window.case_opened, timeout=60000):
        window.open_project(str(folder))
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    panels = window.panels
    window.candidates_panel, window.froc_tab = panels["candidates_panel"], panels["froc_tab"]
    window.metrics_panel = panels["metrics_panel"]
    qtbot.waitUntil(lambda: len(window.candidates_panel.rows) == len(candidates), timeout=10000)
    window.truth, window.candidates = truth, candidates
    yield window
    close_window(qtbot, window)
