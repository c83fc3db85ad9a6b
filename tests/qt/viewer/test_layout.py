"""The viewer gives the image the screen: 2D input opens in the 2D layout, docks appear only when
they have something to show, the Window box lists the presets of the image's modality, the
layout is remembered per user, and no two corner texts overlap in any pane size."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from PySide6.QtWidgets import QDockWidget

from workstation.core import settings
from workstation.core.review.overlays import Sphere, SphereLayer
from workstation.qt.viewer import display
from viewer_helpers import settle

WAIT_MS = 60_000
SIZE = (780, 560)  # pytest-xvfb's screen is 800x600


def sample_file(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom-data file {name} missing (install the 'samples' extra)"
    return Path(path)


def make_window(qtbot):
    from workstation.qt.main_window import MainWindow

    window = MainWindow()
    window.resize(*SIZE)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture(autouse=True)
def own_settings(tmp_path, monkeypatch):
    """Each test its own user settings: a remembered layout must not leak into another test."""
    monkeypatch.setenv("WORKSTATION_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def window(qtbot):
    return make_window(qtbot)


def load(qtbot, window, paths):
    with qtbot.waitSignal(window.load_finished, timeout=WAIT_MS) as blocker:
        window.load_paths(paths)
    return blocker.args


def visible_docks(window) -> list[str]:
    return sorted(d.objectName().removeprefix("dock-") for d in window.findChildren(QDockWidget) if d.isVisible())


def image_share(window) -> float:
    """The part of the window's area that the image panes take."""
    viewer = window.viewer
    return viewer.width() * viewer.height() / (window.width() * window.height())


@pytest.fixture
def ct_nifti(tmp_path) -> Path:
    """The real head CT slice of pydicom-data (CQ500), stacked into a small volume, saved as NIfTI:
    a CT without a modality tag, as NIfTI files are."""
    import pydicom

    ds = pydicom.dcmread(sample_file("693_UNCR.dcm"))
    hu = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    array = np.repeat(hu[None, ::4, ::4], 12, axis=0).astype(np.int16)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((2.0, 2.0, 5.0))
    path = tmp_path / "head_ct.nii.gz"
    sitk.WriteImage(image, str(path))
    return path


@pytest.fixture
def xray_project(tmp_path) -> Path:
    from workstation.core.project import Project

    folder = tmp_path / "xrays"
    project = Project.create(folder, "binary", ["normal", "abnormal"])
    try:
        project.add_cases([{"paths": [str(sample_file(name))], "case_id": name.split(".")[0]}
                           for name in ("RG1_UNCR.dcm", "RG3_UNCR.dcm")])
    finally:
        project.close()
    return folder


@pytest.mark.gui
def test_a_2d_image_opens_in_the_2d_layout_and_fills_the_window(qtbot, window):
    volumes, errors = load(qtbot, window, [sample_file("RG1_UNCR.dcm")])
    assert errors == [] and window.volume.kind == "2d"
    assert window.viewer.visible_views() == [window.viewer.views["native"]]
    assert window.layout_actions["2d"].isChecked() and not window.layout_actions["mpr"].isEnabled()
    assert visible_docks(window) == []  # nothing to show: no panel takes the image's room
    assert image_share(window) > 0.8


@pytest.mark.gui
def test_the_worklist_appears_with_a_project_and_the_layers_with_overlays(qtbot, window, xray_project, ct_nifti):
    load(qtbot, window, [ct_nifti])
    assert visible_docks(window) == []
    window.overlays.append(SphereLayer("marks", [Sphere("a", window.crosshair, 5.0)]))
    qtbot.waitUntil(lambda: "Layers" in visible_docks(window), timeout=5000)
    window.overlays.clear()
    qtbot.waitUntil(lambda: visible_docks(window) == [], timeout=5000)

    with qtbot.waitSignal(window.case_opened, timeout=WAIT_MS):
        assert window.open_project(xray_project) is not None
    docks = visible_docks(window)
    assert "Worklist" in docks and "Candidates" not in docks  # a classification project
    assert window.volume is not None and window.volume.kind == "2d"
    assert window.viewer.visible_views() == [window.viewer.views["native"]]  # a 2D project: 2D layout
    # one side bar: every dock on the same side, the image keeps more than half of the window
    areas = {window.dockWidgetArea(d) for d in window.findChildren(QDockWidget) if d.isVisible()}
    assert len(areas) == 1
    assert image_share(window) > 0.55


@pytest.mark.gui
def test_the_window_box_lists_the_presets_of_the_images_modality(qtbot, window, ct_nifti):
    def listed():
        return [window.preset_box.itemText(i) for i in range(window.preset_box.count())]

    ct_names = list(display.CT_PRESETS)
    assert {"CT brain", "CT subdural", "CT stroke", "CT bone", "CT lung", "CT abdomen", "CT mediastinum",
            "CT liver"} <= set(ct_names)
    load(qtbot, window, [sample_file("693_UNCR.dcm")])  # a CT slice with its header's window
    assert listed()[: len(ct_names)] == ct_names and display.HEADER_PRESET in listed()
    assert window.preset_box.currentText() == display.HEADER_PRESET  # the header's window is what shows

    load(qtbot, window, [ct_nifti])  # no modality tag, Hounsfield units: still a CT
    assert listed()[: len(ct_names)] == ct_names
    window.preset_box.activated.emit(listed().index("CT brain"))
    assert window.viewer.state.window == (40.0, 80.0) and window.preset_box.currentText() == "CT brain"
    window.viewer.state.set_window(123.0, 45.0)  # by hand: no preset matches
    assert window.preset_box.currentIndex() == -1

    load(qtbot, window, [sample_file("MR_small.dcm")])
    assert listed()[0] == "Auto 1-99%" and not any(name.startswith("CT ") for name in listed())
    load(qtbot, window, [sample_file("RG1_UNCR.dcm")])
    assert listed()[0] == display.HEADER_PRESET and not any(name.startswith("CT ") for name in listed())


@pytest.mark.gui
def test_the_layout_is_remembered_per_user(qtbot, xray_project, ct_nifti):
    first = make_window(qtbot)
    load(qtbot, first, [ct_nifti])
    assert first.viewer.layout_name == "mpr"  # what a volume opens in the first time
    first.set_layout("2d")
    with qtbot.waitSignal(first.case_opened, timeout=WAIT_MS):
        first.open_project(xray_project)
    assert not first.findChild(QDockWidget, "dock-Metrics").isVisible()  # no model has predicted yet
    model = first.findChild(QDockWidget, "dock-Model")
    assert model is not None and model.isVisible()
    model.toggleViewAction().trigger()  # the reader closes the model panel
    assert not model.isVisible()
    first.close()
    saved = settings.load()["main_window"]
    assert saved["layout_3d"] == "2d" and "project:binary" in saved["states"]

    second = make_window(qtbot)
    load(qtbot, second, [ct_nifti])
    assert second.viewer.layout_name == "2d" and second.viewer.visible_views() == [second.viewer.views["axial"]]
    with qtbot.waitSignal(second.case_opened, timeout=WAIT_MS):
        second.open_project(xray_project)
    assert not second.findChild(QDockWidget, "dock-Model").isVisible()
    assert second.findChild(QDockWidget, "dock-Worklist").isVisible()


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def assert_texts_apart(view) -> int:
    """Every text on screen is inside the pane and clear of every other; returns how many show."""
    boxes = view.text.boxes()
    width, height = view.GetRenderWindow().GetSize()
    for position, box in boxes.items():
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height, (position, box, width, height)
        for other, other_box in boxes.items():
            if other > position:
                assert not overlaps(box, other_box), (view.orientation, (width, height), position, box, other, other_box)
    return len(boxes)


@pytest.mark.gui
@pytest.mark.parametrize("size", [(780, 560), (520, 380), (300, 240), (160, 140)])
def test_corner_texts_never_overlap(qtbot, viewer, size):
    from workstation.core.volume import Volume
    from workstation.qt.viewer.view_text import ViewText

    volume = Volume(np.full((201, 256, 256), -1000, np.int16), spacing=(0.9, 0.9, 1.0), modality="CT")
    volume.array[:, 40:200, 50:210] = 40
    viewer.resize(*size)
    viewer.set_volume(volume, layout="mpr")
    viewer.state.set_window(385.0, 1234.5678)
    settle(qtbot, viewer)
    shown = 0
    for view in viewer.visible_views():
        # the longest texts a view shows: slice number and position, window, a readout
        view.text.SetText(ViewText.LowerRight, "voxel (105, 201, 133)  LPS (-112.5, 80.1, 133.0) mm  value -1000",
                          "voxel (105, 201, 133)  value -1000", "value -1000")
        view.text.SetText(ViewText.LowerLeft, "Series 3: HEAD 5mm STND")
        view.step_slice(100)
        shown += assert_texts_apart(view)
    if size[0] >= 520:  # big enough panes keep the slice number, window and letters
        for view in viewer.visible_views():
            assert view.text.shown(ViewText.UpperLeft) and view.text.shown(ViewText.UpperRight)
            assert view.text.shown(ViewText.LeftEdge) and view.text.shown(ViewText.UpperEdge)
    assert shown > 0


@pytest.mark.gui
def test_corner_texts_apart_in_the_sagittal_pane_of_a_full_window(qtbot, window, ct_nifti):
    """The case the issue saw: "105/201S" ran into "W 385" in the narrow sagittal and coronal panes."""
    load(qtbot, window, [ct_nifti])
    window.set_layout("mpr")
    window.viewer.state.set_window(40.0, 385.0)
    settle(qtbot, window.viewer)
    for name in ("axial", "sagittal", "coronal"):
        view = window.viewer.views[name]
        assert assert_texts_apart(view) >= 4
        assert view.text.shown(view.text.UpperRight)  # the window stays on screen
