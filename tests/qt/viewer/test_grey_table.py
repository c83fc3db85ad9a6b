"""The window/level table a slice view maps 8- and 16-bit slices through (grey_stage) draws exactly
the greys VTK's image mapper draws from the same values: every value of the type, odd windows,
inverted or not."""
from __future__ import annotations

import numpy as np
import pytest
from vtkmodules.util import numpy_support
from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

from workstation.core.volume import Volume
from workstation.qt.viewer import slice_view
from workstation.qt.viewer.grey_stage import grey_table

from viewer_helpers import settle

WINDOWS = [(40.0, 400.0), (37.3, 351.7), (-1000.5, 1.0), (127.7, 255.3), (127.5, 255.0), (3.0, 1e-6),
           (30000.5, 7001.0)]


def frame_pixels(view) -> np.ndarray:
    """The view's last frame as VTK drew it (8 bits a channel, whatever the X display's depth)."""
    grab = vtkWindowToImageFilter()
    grab.SetInput(view.GetRenderWindow())
    grab.ReadFrontBufferOff()
    grab.ShouldRerenderOff()
    grab.Update()
    out = grab.GetOutput()
    width, height, _ = out.GetDimensions()
    return numpy_support.vtk_to_numpy(out.GetPointData().GetScalars()).reshape(height, width, -1).copy()


def every_value(dtype, shape=(2, 256, 256)) -> np.ndarray:
    """A volume holding every value of `dtype` (16-bit types: all 65536), shuffled."""
    info = np.iinfo(dtype)
    values = np.arange(info.min, info.max + 1, dtype=np.int64)
    values = np.resize(values, int(np.prod(shape)))
    return np.random.default_rng(0).permutation(values).astype(dtype).reshape(shape)


@pytest.mark.gui
@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.uint8, np.int8])
def test_the_table_draws_what_vtk_draws(qtbot, viewer, monkeypatch, dtype):
    viewer.resize(300, 300)
    viewer.set_volume(Volume(every_value(dtype), modality="MR"), layout="2d")
    view = viewer.single_view()
    view.text.SetVisibility(False)
    view.cross.SetVisibility(False)
    view.actor.GetProperty().SetInterpolationTypeToNearest()  # one texel per pixel: no blending hides a grey
    view.zoom(1.6)
    greys = 0
    for invert in (False, True):
        viewer.state.set_invert(invert)
        for center, width in WINDOWS:
            viewer.state.set_window(center, width)
            settle(qtbot, viewer)
            assert view._via_table
            drawn = frame_pixels(view)
            with monkeypatch.context() as patch:
                patch.setattr(slice_view, "grey_table", lambda *args: None)
                view._display_mapping()
                view.request_render()
                settle(qtbot, viewer)
                assert not view._via_table
                by_vtk = frame_pixels(view)
            view._display_mapping()
            assert np.array_equal(drawn, by_vtk), (dtype, center, width, invert)
            greys = max(greys, len(np.unique(drawn[..., 0])))
    assert greys > 100  # some window showed a ramp, not only black and white


def test_no_table_for_types_vtk_maps_better():
    assert grey_table(np.float32, 0, 1) is None
    assert grey_table(np.int32, 0, 1) is None
    assert grey_table(np.dtype(">i2"), 0, 1) is None  # to_vtk_image makes such volumes native first


def test_inverted_table_is_vtks_lookup_table():
    """The inverted greys against vtkLookupTable itself, for every int16 value."""
    values = np.arange(-32768, 32768, dtype=np.int16)
    table = slice_view._inverted_grey()
    for center, width in WINDOWS:
        table.SetRange(center - width / 2, center + width / 2)
        rgba = numpy_support.vtk_to_numpy(table.MapScalars(numpy_support.numpy_to_vtk(values), 0, -1))
        mine = grey_table(np.int16, center, width, invert=True)[values.view(np.uint16)]  # indexed by bit pattern
        assert np.array_equal(mine, rgba[:, 0]), (center, width)


@pytest.mark.gui
def test_the_last_of_several_windows_between_frames_is_drawn(qtbot, viewer, monkeypatch):
    """A window drag sets many windows between two frames: the frame shows the last one."""
    viewer.resize(300, 300)
    viewer.set_volume(Volume(every_value(np.int16), modality="CT"), layout="2d")
    view = viewer.single_view()
    view.text.SetVisibility(False)
    view.actor.GetProperty().SetInterpolationTypeToNearest()
    viewer.state.set_window(40.0, 400.0)
    settle(qtbot, viewer)
    for n in range(30):
        viewer.state.set_window(40.0 + 7 * n, 400.0 + 13 * n)
    settle(qtbot, viewer)
    drawn = frame_pixels(view)
    monkeypatch.setattr(slice_view, "grey_table", lambda *args: None)
    view._display_mapping()
    view.request_render()
    settle(qtbot, viewer)
    assert np.array_equal(drawn, frame_pixels(view))
