"""The image area of the main window: the slice views and the optional 3D view, laid out as
"2d" (one view: a 2D image in its own plane, a volume in its acquisition plane), "mpr" (axial
large, sagittal and coronal beside it) or "mpr3d" (four panes with the 3D view); double-click on a
view maximises it and double-click again restores the layout."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from workstation.core.review.overlays import OverlayList
from workstation.core.volume import Volume
from workstation.qt.viewer import display
from workstation.qt.viewer.slice_view import SliceView
from workstation.qt.viewer.view_geometry import acquisition_plane
from workstation.qt.viewer.viewer_state import ViewerState

LAYOUTS = ("2d", "mpr", "mpr3d")
ORIENTATIONS = ("axial", "coronal", "sagittal", "native")


class _Views(dict):
    """The slice views by orientation, each made on first use (`views["axial"]`); iterating
    gives the views made so far."""

    def __init__(self, make) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, name: str):
        if name not in ORIENTATIONS:
            raise KeyError(name)
        view = self[name] = self._make(name)
        return view


class Viewer(QWidget):
    layout_changed = Signal(str)

    def __init__(self, overlays: OverlayList | None = None, parent=None, lazy: bool = False) -> None:
        """`lazy`: make each slice view when a layout first needs it (each is a native window
        with its own GL context: `workstation open` shows its first frame sooner); call
        `make_all_views()` before anything that wants every view (the docks' event filters)."""
        super().__init__(parent)
        self.state = ViewerState(overlays, self)
        self.views = _Views(self._make_view)
        self.volume_view = None  # built on first use: VTK's volume rendering is heavy to import
        self.layout_name = "mpr"
        self.preferred_3d = "mpr"  # the layout a volume opens in: the last one chosen for a volume
        self.maximised: QWidget | None = None
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        self.setMinimumSize(300, 300)
        if not lazy:
            self.make_all_views()

    def _make_view(self, name: str) -> SliceView:
        view = SliceView(self.state, name, self)
        view.maximise_requested.connect(lambda v=view: self.toggle_maximised(v))
        view.hide()
        return view

    def make_all_views(self) -> None:
        for name in ORIENTATIONS:
            self.views[name]

    # -- volume ------------------------------------------------------------------------------
    @property
    def volume(self) -> Volume | None:
        return self.state.volume

    def set_volume(self, volume: Volume | None, layout: str | None = None) -> None:
        self.maximised = None
        self.state.set_volume(volume)
        if volume is not None:
            self.state.set_invert(bool(getattr(volume, "invert", False)))
        if layout is None:
            layout = "2d" if volume is None or volume.kind == "2d" else self.preferred_3d
        self.set_layout(layout)

    # -- layout ------------------------------------------------------------------------------
    def _ensure_volume_view(self):
        if self.volume_view is None:
            from workstation.qt.viewer.volume_view import VolumeView

            self.volume_view = VolumeView(self.state, self)
            self.volume_view.maximise_requested.connect(
                lambda: self.toggle_maximised(self.volume_view))
            self.volume_view.hide()
        return self.volume_view

    def single_view(self) -> SliceView:
        volume = self.state.volume
        if volume is None or volume.kind == "2d":
            return self.views["native"]
        return self.views[acquisition_plane(volume)]

    def visible_views(self) -> list[QWidget]:
        """The panes of the current layout (one when a view is maximised)."""
        if self.maximised is not None:
            return [self.maximised]
        if self.layout_name == "2d" or self.volume is None or self.volume.kind == "2d":
            return [self.single_view()]
        panes = [self.views["axial"], self.views["sagittal"], self.views["coronal"]]
        if self.layout_name == "mpr3d":
            panes.append(self._ensure_volume_view())
        return panes

    def set_layout(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {name!r}")
        self.layout_name = name
        if self.volume is not None and self.volume.kind == "3d":
            self.preferred_3d = name
        self.maximised = None
        self._arrange()
        self.layout_changed.emit(name)

    def toggle_maximised(self, view: QWidget) -> None:
        panes = self.visible_views()
        self.maximised = None if self.maximised is view or len(panes) == 1 else view
        self._arrange()

    def _arrange(self) -> None:
        panes = self.visible_views()
        for widget in list(self.views.values()) + [self.volume_view]:
            if widget is not None and widget not in panes:
                self.grid.removeWidget(widget)
                widget.hide()
        for row in range(3):
            self.grid.setRowStretch(row, 0)
            self.grid.setColumnStretch(row, 0)
        if len(panes) == 1:
            self.grid.addWidget(panes[0], 0, 0)
        elif len(panes) == 3:  # axial big on the left, sagittal and coronal stacked on the right
            self.grid.addWidget(panes[0], 0, 0, 2, 1)
            self.grid.addWidget(panes[1], 0, 1)
            self.grid.addWidget(panes[2], 1, 1)
            self.grid.setColumnStretch(0, 2)
            self.grid.setColumnStretch(1, 1)
        else:
            for n, pane in enumerate(panes):
                self.grid.addWidget(pane, n // 2, n % 2)
        for row in range(1 if len(panes) == 1 else 2):
            self.grid.setRowStretch(row, 1)
        for pane in panes:
            pane.show()
        for pane in panes:
            if isinstance(pane, SliceView):
                pane.reset_camera()

    # -- display -----------------------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        if self.volume is not None:
            self.state.set_window(*display.preset_window(self.volume, name))

    def reset(self) -> None:
        """Initial window, no inversion (unless MONOCHROME1), views fitted."""
        if self.volume is None:
            return
        self.state.set_window(*display.initial_window(self.volume))
        self.state.set_invert(bool(getattr(self.volume, "invert", False)))
        for view in self.visible_views():
            if isinstance(view, SliceView):
                view.reset_camera()

    def center_on(self, point) -> None:
        for view in self.visible_views():
            if isinstance(view, SliceView):
                view.center_on(point)

    def dispose(self) -> None:
        """Free every VTK render window (call when the viewer goes away)."""
        for view in self.views.values():
            view.dispose()
        if self.volume_view is not None:
            self.volume_view.dispose()

    def flush(self) -> None:
        """Render every view that has a change waiting, now."""
        for view in self.views.values():
            view.render_now()
        if self.volume_view is not None and self.volume_view.isVisible():
            self.volume_view.GetRenderWindow().Render()
