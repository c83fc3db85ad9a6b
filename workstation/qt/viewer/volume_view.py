"""The 3D view: volume rendering of the shared volume, with sphere overlays as 3D spheres.

On a machine without a GPU (software OpenGL: llvmpipe, softpipe, swrast) it uses VTK's CPU
ray-caster (vtkFixedPointVolumeRayCastMapper); with a GPU, vtkGPUVolumeRayCastMapper. Volumes over
16 M voxels are rendered from a downsampled copy so that the CPU path stays interactive and the
memory bounded. The pipeline is built only when the view is first shown."""
from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import QTimer, Signal

import workstation.qt.vtk_setup  # noqa: F401
import vtkmodules.vtkInteractionStyle  # noqa: F401
import vtkmodules.vtkRenderingFreeType  # noqa: F401
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401  (the ray-cast display helper lives here)
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkPiecewiseFunction, vtkPolyData
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkRenderingAnnotation import vtkCornerAnnotation
from vtkmodules.vtkRenderingCore import (
    vtkActor, vtkColorTransferFunction, vtkGlyph3DMapper, vtkRenderer, vtkVolume, vtkVolumeProperty,
)

from workstation.core.review.overlays import SphereLayer
from workstation.qt.viewer import display
from workstation.qt.viewer.slice_view import release_render_window
from workstation.qt.viewer.viewer_state import ViewerState

MAX_RENDER_VOXELS = 1 << 24
SOFTWARE_GL = re.compile(r"llvmpipe|softpipe|swrast|software", re.I)


def uses_software_gl(render_window) -> bool:
    return bool(SOFTWARE_GL.search(render_window.ReportCapabilities() or ""))


class VolumeView(QVTKRenderWindowInteractor):
    maximise_requested = Signal()

    def __init__(self, state: ViewerState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.08, 0.08, 0.1)
        self.GetRenderWindow().AddRenderer(self.renderer)
        self._Iren.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        self.volume_actor: vtkVolume | None = None
        self.mapper = None
        self.mapper_name = ""
        self._built_for = None
        self.text = vtkCornerAnnotation()
        self.text.SetMaximumFontSize(14)
        self.text.GetTextProperty().SetColor(0.9, 0.9, 0.6)
        self.text.SetText(vtkCornerAnnotation.UpperLeft, "3D")
        self.renderer.AddViewProp(self.text)
        self.glyphs = vtkGlyph3DMapper()
        self.sphere_actor = vtkActor()
        self.sphere_actor.SetMapper(self.glyphs)
        self.renderer.AddActor(self.sphere_actor)
        from vtkmodules.vtkFiltersSources import vtkSphereSource

        source = vtkSphereSource()
        source.SetThetaResolution(16)
        source.SetPhiResolution(12)
        source.SetRadius(1.0)
        self.glyphs.SetSourceConnection(source.GetOutputPort())
        self.glyphs.SetScaleModeToScaleByMagnitude()
        self.glyphs.SetScaleArray("radius")
        self.glyphs.SetScalarModeToUsePointFieldData()
        self.glyphs.SelectColorArray("colours")
        self.glyphs.SetColorModeToDirectScalars()
        state.volume_changed.connect(self._volume_changed)
        state.overlays.events.connect(self._overlays_changed)
        self._connected_layers: dict[int, object] = {}
        from workstation.qt.viewer.mask_surfaces import MaskSurfaces

        self.mask_surfaces = MaskSurfaces(self.renderer, state, self._render_if_shown, parent=self)
        state.overlays.events.connect(self.mask_surfaces.layers_changed)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._RenderWindow is not None and not self._Iren.GetInitialized():
            self.Initialize()  # enables the trackball interaction (and painting through it)
        QTimer.singleShot(0, self.rebuild)

    def _volume_changed(self, volume) -> None:
        self._built_for = None
        if self.isVisible():
            self.rebuild()

    def rebuild(self) -> None:
        volume = self.state.volume
        if self._RenderWindow is None:
            return
        if volume is None or volume is self._built_for or volume.is_rgb or volume.kind == "2d":
            return
        self._built_for = volume
        if self.volume_actor is not None:
            self.renderer.RemoveViewProp(self.volume_actor)
        image = self.state.image
        shrink = (volume.array.size / MAX_RENDER_VOXELS) ** (1 / 3)
        if shrink > 1:
            from vtkmodules.vtkImagingCore import vtkImageResample

            resample = vtkImageResample()
            resample.SetInputData(image)
            resample.SetDimensionality(3)
            for axis in range(3):
                resample.SetAxisMagnificationFactor(axis, 1.0 / shrink)
            resample.Update()
            image = resample.GetOutput()
        self.GetRenderWindow().Render()  # makes the GL context, so its renderer can be read
        if uses_software_gl(self.GetRenderWindow()):
            from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper

            self.mapper, self.mapper_name = vtkFixedPointVolumeRayCastMapper(), "CPU ray-cast"
            self.mapper.SetAutoAdjustSampleDistances(True)
        else:
            from vtkmodules.vtkRenderingVolumeOpenGL2 import vtkOpenGLGPUVolumeRayCastMapper

            self.mapper, self.mapper_name = vtkOpenGLGPUVolumeRayCastMapper(), "GPU ray-cast"
        self.mapper.SetInputData(image)
        self.volume_actor = vtkVolume()
        self.volume_actor.SetMapper(self.mapper)
        self.volume_actor.SetProperty(self._property(volume))
        matrix = np.eye(4)
        matrix[:3, :3] = volume.direction * np.asarray(volume.spacing)[None, :]
        matrix[:3, 3] = volume.origin
        user = vtkMatrix4x4()
        user.DeepCopy(matrix.ravel().tolist())
        self.volume_actor.SetUserMatrix(user)
        self.renderer.AddViewProp(self.volume_actor)
        self.text.SetText(vtkCornerAnnotation.UpperLeft, f"3D ({self.mapper_name})")
        self._overlays_changed()
        self.reset_camera()

    def _property(self, volume) -> vtkVolumeProperty:
        colour, opacity = vtkColorTransferFunction(), vtkPiecewiseFunction()
        if volume.modality.upper() == "CT" and volume.array.min() < -500:
            for value, rgb, alpha in ((-1024, (0, 0, 0), 0.0), (-200, (0.55, 0.25, 0.15), 0.0),
                                      (40, (0.85, 0.55, 0.45), 0.08), (300, (1.0, 0.95, 0.85), 0.4),
                                      (1500, (1, 1, 1), 0.85)):
                colour.AddRGBPoint(value, *rgb)
                opacity.AddPoint(value, alpha)
        else:
            center, width = display.percentile_window(volume, 30.0, 99.5)
            low, high = center - width / 2, center + width / 2
            colour.AddRGBPoint(low, 0, 0, 0)
            colour.AddRGBPoint(high, 1, 1, 1)
            opacity.AddPoint(low, 0.0)
            opacity.AddPoint(high, 0.6)
        prop = vtkVolumeProperty()
        prop.SetColor(colour)
        prop.SetScalarOpacity(opacity)
        prop.SetInterpolationTypeToLinear()
        prop.ShadeOn()
        prop.SetAmbient(0.3)
        prop.SetDiffuse(0.7)
        return prop

    def _overlays_changed(self, *args) -> None:
        layers = [layer for layer in self.state.overlays if isinstance(layer, SphereLayer)]
        for layer in layers:
            if id(layer) not in self._connected_layers:
                layer.events.changed.connect(self._overlays_changed)
                self._connected_layers[id(layer)] = layer
        centres, radii, colours = [], [], []
        for layer in layers:
            if layer.visible:
                for sphere in layer:
                    centres.append(sphere.center)
                    radii.append(sphere.radius)
                    colours.append(sphere.colour)
        poly = vtkPolyData()
        if centres:
            points = vtkPoints()
            points.SetData(numpy_support.numpy_to_vtk(np.asarray(centres, dtype=float), deep=True))
            poly.SetPoints(points)
            r = numpy_support.numpy_to_vtk(np.asarray(radii, dtype=float), deep=True)
            r.SetName("radius")
            c = numpy_support.numpy_to_vtk((np.asarray(colours) * 255).astype(np.uint8), deep=True)
            c.SetName("colours")
            poly.GetPointData().AddArray(r)
            poly.GetPointData().AddArray(c)
        self.glyphs.SetInputData(poly)
        self.sphere_actor.SetVisibility(bool(centres))
        if self.isVisible() and self._RenderWindow is not None:
            self.GetRenderWindow().Render()

    def _render_if_shown(self) -> None:
        if self.isVisible() and self._RenderWindow is not None:
            self.GetRenderWindow().Render()

    def reset_camera(self) -> None:
        """Look at the patient from the front (anterior), head up: patient's right on the left."""
        camera = self.renderer.GetActiveCamera()
        camera.SetFocalPoint(0, 0, 0)
        camera.SetPosition(0, -1, 0)
        camera.SetViewUp(0, 0, 1)
        self.renderer.ResetCamera()
        camera.Zoom(1.4)  # ResetCamera fits the bounding sphere, which leaves wide margins
        self.GetRenderWindow().Render()

    def mouseDoubleClickEvent(self, event) -> None:
        self.maximise_requested.emit()

    def closeEvent(self, event) -> None:
        self.dispose()

    def dispose(self) -> None:
        if self._RenderWindow is None:
            return
        self.state.volume_changed.disconnect(self._volume_changed)
        self.state.overlays.events.disconnect(self._overlays_changed)
        self.state.overlays.events.disconnect(self.mask_surfaces.layers_changed)
        self.mask_surfaces.detach()
        for layer in self._connected_layers.values():
            layer.events.changed.disconnect(self._overlays_changed)
        self._connected_layers.clear()
        self.volume_actor = self.mapper = None
        release_render_window(self)

    def paintEvent(self, event) -> None:
        if self._RenderWindow is not None:
            super().paintEvent(event)

    def resizeEvent(self, event) -> None:
        if self._RenderWindow is not None:
            super().resizeEvent(event)
