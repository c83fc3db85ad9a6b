"""Label-mask overlays in the 3D view: one surface per label (discrete flying edges on the label
image, placed in world mm by the grid's index-to-world matrix), coloured as in the slice views.
Rebuilt a moment after the mask last changed, so a brush stroke does not re-mesh at every dab."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer

from workstation.core.review.overlays import LabelMaskLayer
from workstation.qt.viewer.viewer_state import to_vtk_image


def index_to_world_matrix(volume) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = np.asarray(volume.direction, dtype=float) * np.asarray(volume.spacing)
    m[:3, 3] = volume.origin
    return m


class MaskSurfaces:
    def __init__(self, renderer, state, render, delay_ms: int = 300, parent=None) -> None:
        self.renderer, self.state, self.render = renderer, state, render
        self.actors: list = []
        self._layers: dict[int, LabelMaskLayer] = {}
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.rebuild)

    def _soon(self) -> None:
        self._timer.start()

    def detach(self) -> None:
        self._timer.stop()
        for layer in self._layers.values():
            layer.events.changed.disconnect(self._soon)
        self._layers.clear()

    def layers_changed(self, *args) -> None:
        layers = {id(layer): layer for layer in self.state.overlays if isinstance(layer, LabelMaskLayer)}
        for key, layer in layers.items():
            if key not in self._layers:
                layer.events.changed.connect(self._soon)
        for key, layer in self._layers.items():
            if key not in layers:
                layer.events.changed.disconnect(self._soon)
        self._layers = layers
        self._timer.start()

    def rebuild(self) -> None:
        from vtkmodules.vtkCommonMath import vtkMatrix4x4
        from vtkmodules.vtkFiltersGeneral import vtkDiscreteFlyingEdges3D
        from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

        for actor in self.actors:
            self.renderer.RemoveActor(actor)
        self.actors = []
        volume = self.state.volume
        for layer in self._layers.values():
            grid = layer.grid or volume
            if grid is None or not layer.visible or not layer.fits(volume) or layer.array.shape[0] < 2:
                continue
            labels = [int(v) for v in np.unique(layer.array) if v != 0]
            if not labels:
                continue
            image = to_vtk_image(np.ascontiguousarray(layer.array))
            matrix = vtkMatrix4x4()
            for r, row in enumerate(index_to_world_matrix(grid)):
                for c, value in enumerate(row):
                    matrix.SetElement(r, c, float(value))
            for label in labels:
                edges = vtkDiscreteFlyingEdges3D()
                edges.SetInputData(image)
                edges.SetValue(0, label)
                edges.Update()
                mapper = vtkPolyDataMapper()
                mapper.SetInputData(edges.GetOutput())
                mapper.ScalarVisibilityOff()
                actor = vtkActor()
                actor.SetMapper(mapper)
                actor.SetUserMatrix(matrix)
                actor.GetProperty().SetColor(*layer.colour(label))
                actor.GetProperty().SetOpacity(max(layer.opacity, 0.3))
                self.renderer.AddActor(actor)
                self.actors.append(actor)
        self.render()
