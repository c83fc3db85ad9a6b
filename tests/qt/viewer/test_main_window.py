"""The main window: background loading with progress and cancel, errors that leave the window
working, real DICOM (X-ray VOI window and MONOCHROME1, RGB ultrasound), presets, recent files,
drag and drop, the layers dock, projects and cases."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDockWidget

from workstation.core import settings
from workstation.core.review.overlays import Sphere, SphereLayer
from workstation.qt.viewer import display
from workstation.qt.viewer import loader
from viewer_helpers import grab, phantom, settle, sphere_fn

WAIT_MS = 60_000  # how long to wait for a background read before calling the test failed


def sample_file(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom-data file {name} missing (install the 'samples' extra)"
    return Path(path)


@pytest.fixture
def window(qtbot):
    from workstation.qt.main_window import MainWindow

    win = MainWindow()
    win.resize(780, 560)  # pytest-xvfb's screen is 800x600
    qtbot.addWidget(win)  # closed at teardown, which frees its VTK windows
    for dock in win.findChildren(QDockWidget):
        if dock is not win.layers_dock:
            dock.hide()  # other panels (worklist, metrics...) would squeeze the viewer off screen
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def nifti(tmp_path) -> Path:
    volume = phantom((40, 36, 20), (1.0, 1.0, 2.5), np.eye(3), sphere_fn((5.0, -3.0, 4.0), 6.0))
    image = sitk.GetImageFromArray(volume.array)
    image.SetSpacing(volume.spacing)
    image.SetOrigin(volume.origin)
    path = tmp_path / "sphere.nii.gz"
    sitk.WriteImage(image, str(path))
    return path


def load(qtbot, window, paths):
    with qtbot.waitSignal(window.load_finished, timeout=WAIT_MS) as blocker:
        window.load_paths(paths)
    return blocker.args  # volumes, errors


@pytest.mark.gui
def test_loads_in_the_background_and_remembers_the_file(qtbot, window, nifti):
    progress = []
    volumes, errors = [], []
    job = window.load_paths([nifti])
    job.progress.connect(lambda f, t: progress.append(f))
    assert window.progress.isVisible() and window.cancel_button.isVisible()
    with qtbot.waitSignal(window.load_finished, timeout=WAIT_MS) as blocker:
        pass
    volumes, errors = blocker.args
    assert errors == [] and len(volumes) == 1
    assert window.volume is volumes[0] and window.volume.size == (40, 36, 20)
    assert not window.progress.isVisible()
    assert "sphere.nii.gz" in window.windowTitle()
    assert window.viewer.visible_views() == [window.viewer.views[n] for n in ("axial", "sagittal", "coronal")]
    assert settings.load()["recent_files"][0] == str(nifti.resolve())
    assert window.recent_menu.actions()[0].text() == str(nifti.resolve())


@pytest.mark.gui
def test_a_bad_file_shows_a_message_and_the_window_keeps_working(qtbot, window, tmp_path, nifti):
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"this is not an image")
    volumes, errors = load(qtbot, window, [bad])
    assert volumes == [] and len(errors) == 1
    assert "broken.nii.gz" in errors[0] and "\n" not in errors[0]
    assert window._message_box.isVisible() and not window._message_box.isModal()
    assert "broken.nii.gz" in window.status_text.text()
    volumes, errors = load(qtbot, window, [nifti, bad])  # one good, one bad: the good one shows
    assert len(volumes) == 1 and len(errors) == 1
    assert window.volume is volumes[0]


@pytest.mark.gui
def test_loading_can_be_cancelled(qtbot, window, tmp_path, monkeypatch):
    from viewer_helpers import write_dicom_series

    volume = phantom((32, 32, 12), (1.0, 1.0, 2.0), np.eye(3), sphere_fn((0, 0, 0), 5))
    folder = write_dicom_series(volume, tmp_path / "series")
    started, go_on = threading.Event(), threading.Event()
    real = loader.read_path

    def gated(path, progress=None, cancel=None):
        def report(fraction, text=""):
            started.set()
            go_on.wait(WAIT_MS / 1000)  # hold the reader until the test has pressed Cancel
            progress(fraction, text)
        return real(path, progress=report, cancel=cancel)

    monkeypatch.setattr(loader, "read_path", gated)
    with qtbot.waitSignal(window.load_finished, timeout=WAIT_MS) as blocker:
        window.load_paths([folder])
        assert started.wait(WAIT_MS / 1000)
        qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
        go_on.set()
    volumes, errors = blocker.args
    assert volumes == [] and errors == [] and window.volume is None
    assert window.status_text.text() == "Loading cancelled"


@pytest.mark.gui
def test_xray_opens_with_its_voi_window_and_monochrome1_inverted(qtbot, window):
    volumes, errors = load(qtbot, window, [sample_file("RG3_UNCR.dcm")])
    assert errors == []
    state = window.viewer.state
    assert state.window == (550.0, 1024.0)
    assert state.invert and window.invert_action.isChecked()
    assert window.viewer.visible_views() == [window.viewer.views["native"]]
    assert window.preset_box.itemText(0) == display.HEADER_PRESET
    window.viewer.apply_preset("Auto 1-99%")
    assert state.window == display.percentile_window(window.volume, 1, 99)
    window.viewer.reset()
    assert state.window == (550.0, 1024.0) and state.invert


@pytest.mark.gui
def test_rgb_ultrasound_shows_in_colour(qtbot, window):
    volumes, errors = load(qtbot, window, [sample_file("US1_UNCR.dcm")])
    assert errors == [] and window.volume.is_rgb
    view = window.viewer.single_view()
    view.cross.SetVisibility(False)
    settle(qtbot, window.viewer)
    pixels = grab(view).astype(int)
    rgb = window.volume.array[0].astype(int)
    # clearly coloured pixels inside patches of one colour, so that screen resampling keeps them
    spread = np.zeros(rgb.shape[:2], int)
    for dj in range(-3, 4):
        for di in range(-3, 4):
            shifted = np.roll(np.roll(rgb, dj, axis=0), di, axis=1)
            spread = np.maximum(spread, np.abs(shifted - rgb).max(axis=2))
    saturated = np.argwhere((np.ptp(rgb, axis=2) > 80) & (spread < 25))
    assert len(saturated) > 50
    checked = 0
    for j, i in saturated[:: max(1, len(saturated) // 40)]:
        x, y = view.pixel_of(window.volume.index_to_world([i, j, 0]))
        if 0 <= x < pixels.shape[1] and 0 <= y < pixels.shape[0]:
            got = pixels[round(y), round(x)]
            assert np.abs(rgb[j, i] - got).max() <= 40, (i, j, rgb[j, i], got)
            checked += 1
    assert checked > 20
    assert not window.preset_box.isEnabled()


@pytest.mark.gui
def test_ct_presets(qtbot, window):
    volumes, errors = load(qtbot, window, [sample_file("CT_small.dcm")])
    names = [window.preset_box.itemText(i) for i in range(window.preset_box.count())]
    assert names[:len(display.CT_PRESETS)] == list(display.CT_PRESETS)
    window.preset_box.setCurrentIndex(names.index("CT lung"))
    window.preset_box.activated.emit(names.index("CT lung"))
    assert window.viewer.state.window == (-600.0, 1500.0)


@pytest.mark.gui
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # QDragEnterEvent's only constructor
def test_drop_files_and_folders(qtbot, window, nifti):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(nifti))])
    enter = QDragEnterEvent(QPoint(200, 200), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(200, 200), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.load_finished, timeout=WAIT_MS) as blocker:
        QApplication.sendEvent(window, drop)
    assert len(blocker.args[0]) == 1 and window.volume is blocker.args[0][0]


@pytest.mark.gui
def test_layers_dock_toggles_and_sets_opacity(qtbot, window, nifti):
    load(qtbot, window, [nifti])
    layer = SphereLayer("candidates", [Sphere("a", (5.0, -3.0, 4.0), 6.0)])
    window.overlays.append(layer)
    panel = window.layers_dock.widget()
    (row,) = panel.rows
    assert row.check.text() == "candidates" and "1 points" in row.summary.text()
    row.check.setChecked(False)
    assert layer.visible is False
    row.opacity.setValue(40)
    assert layer.opacity == pytest.approx(0.4)
    layer.visible = True  # the model drives the dock too
    assert row.check.isChecked()
    window.overlays.remove(layer)
    assert panel.rows == []


@pytest.mark.gui
def test_set_crosshair_moves_slices_and_can_centre(qtbot, window, nifti):
    load(qtbot, window, [nifti])
    seen = []
    window.crosshair_changed.connect(seen.append)
    axial = window.viewer.views["axial"]
    axial.zoom(3.0)
    window.set_crosshair((12.0, 10.0, -15.0), center=True)
    assert np.allclose(seen[-1], (12.0, 10.0, -15.0))
    assert axial.index == int(round(window.volume.world_to_index((12.0, 10.0, -15.0))[2]))
    x, y = axial.pixel_of((12.0, 10.0, -15.0))
    assert abs(x - axial.width() / 2) < 1 and abs(y - axial.height() / 2) < 1


@pytest.mark.gui
def test_projects_and_cases(qtbot, window, tmp_path, nifti):
    from workstation.core.project import Project

    assert window.open_project(tmp_path / "not-a-project") is None
    assert window._message_box.isVisible()
    project = Project.create(tmp_path / "study", task="binary", classes=["normal", "abnormal"])
    (case,) = project.add_cases([{"paths": [str(nifti)], "case_id": "case-1"}])
    project.close()
    with qtbot.waitSignal(window.project_changed, timeout=WAIT_MS) as opened:
        window.open_project(tmp_path / "study")
    assert opened.args[0] is window.project and window.project.case_ids() == ["case-1"]
    with qtbot.waitSignal(window.case_opened, timeout=WAIT_MS) as shown:
        window.open_case("case-1")
    assert shown.args == ["case-1"] and window.current_case == "case-1"
    assert window.volume.sources[0].name == "sphere.nii.gz"
