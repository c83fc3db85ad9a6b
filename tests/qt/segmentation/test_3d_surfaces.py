"""Segments in the 3D view: each label of a mask overlay becomes a surface placed in world mm (its
bounds are the voxel block's outer faces on an anisotropic, offset grid)."""
from __future__ import annotations

import numpy as np
import pytest


def test_label_surfaces_in_world_mm(qtbot):
    from workstation.core.review.overlays import LabelMaskLayer, OverlayList
    from workstation.core.volume import Volume
    from workstation.qt.viewer.viewer_widget import Viewer

    overlays = OverlayList()
    viewer = Viewer(overlays)
    qtbot.addWidget(viewer)
    vol = Volume(np.random.default_rng(0).normal(size=(40, 50, 60)).astype(np.float32), (1.0, 1.2, 2.0), (5, 6, 7))
    viewer.resize(800, 600)
    viewer.set_volume(vol, layout="mpr3d")
    viewer.show()
    qtbot.waitExposed(viewer)
    mask = np.zeros((40, 50, 60), np.uint8)
    mask[10:20, 10:30, 20:40] = 1
    mask[25:30, 5:10, 5:10] = 2
    surfaces = viewer.volume_view.mask_surfaces
    overlays.put(LabelMaskLayer("seg", mask, colours={1: (1, 0, 0), 2: (0, 1, 0)}))
    qtbot.waitUntil(lambda: len(surfaces.actors) == 2, timeout=5000)
    lo = vol.index_to_world([20, 10, 10]) - np.array(vol.spacing) / 2
    hi = vol.index_to_world([39, 29, 19]) + np.array(vol.spacing) / 2
    bounds = np.array(surfaces.actors[0].GetBounds())
    assert bounds == pytest.approx([lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]], abs=1e-6)
    assert surfaces.actors[1].GetProperty().GetColor() == (0.0, 1.0, 0.0)
    # an edit re-meshes after the pause
    mask[:] = 0
    overlays.find("seg").notify_data_changed()
    qtbot.waitUntil(lambda: len(surfaces.actors) == 0, timeout=5000)
    viewer.dispose()
