"""The main window: a shell of docks around the image viewer.

Other parts of the application join it through `add_dock`, and talk to it through `load_paths`,
`show_volume`, `overlays`, `set_crosshair`, `open_project` / `open_case` and the signals below."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar,
    QPushButton, QToolBar,
)

from workstation.core import settings
from workstation.core.review.overlays import OverlayList
from workstation.core.volume import Volume
from workstation.qt.viewer import display
from workstation.qt.viewer.loader import LoadJob
from workstation.qt.viewer.viewer_widget import LAYOUTS, Viewer

log = logging.getLogger(__name__)
MAX_RECENT = 10
LAYOUT_TITLES = {"2d": "2D", "mpr": "MPR", "mpr3d": "MPR + 3D"}


class MainWindow(QMainWindow):
    project_changed = Signal(object)      # the Project just opened (or None when closed)
    case_opened = Signal(str)             # case id, once its images are shown (or failed to load)
    volume_shown = Signal(object)         # the Volume now in the viewer
    crosshair_changed = Signal(object)    # np.ndarray (3,), world LPS mm
    load_finished = Signal(list, list)    # volumes read, error lines

    def __init__(self, parent=None, docks: bool = True) -> None:
        """`docks=False` leaves out the other panels until `install_docks()` (the `open` command
        shows the first image before building them)."""
        super().__init__(parent)
        self.setWindowTitle("workstation")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.project = None
        self.current_case: str | None = None
        self.volumes: list[Volume] = []
        self.errors: list[str] = []
        self.overlays = OverlayList()
        self.viewer = Viewer(self.overlays, self)
        self.setCentralWidget(self.viewer)
        self.viewer.state.crosshair_changed.connect(self.crosshair_changed)
        self._job: LoadJob | None = None
        self._job_case: str | None = None
        self._job_volumes: list[Volume] = []
        self._job_errors: list[str] = []
        self._message_box: QMessageBox | None = None
        self._build_status_bar()
        self._build_menus()
        self._build_toolbar()
        from workstation.qt.viewer.layers_dock import LayersPanel

        self.layers_dock = self.add_dock("Layers", LayersPanel(self.overlays), Qt.RightDockWidgetArea)
        self.docks_installed = False
        if docks:
            self.install_docks()

    def install_docks(self) -> None:
        """Add the other panels (worklist, metrics, model, candidates); once."""
        if self.docks_installed:
            return
        self.docks_installed = True
        from workstation.qt import docks

        docks.install_all(self)
        self.fit_docks()

    def fit_docks(self) -> None:
        """Keep the side panels out of the images' way: more than two panels on a side become
        tabs of one stack, and the sides are kept narrow."""
        width = max(240, min(400, self.width() // 5))
        for area in (Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea):
            panels = [d for d in self.findChildren(QDockWidget)
                      if self.dockWidgetArea(d) == area and not d.isFloating()]
            if len(panels) > 2:
                for panel in panels[1:]:
                    self.tabifyDockWidget(panels[0], panel)
                panels[0].raise_()
            if panels:
                self.resizeDocks(panels, [width] * len(panels), Qt.Horizontal)

    # -- public API --------------------------------------------------------------------------
    def add_dock(self, title: str, widget, area=Qt.RightDockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks_menu.addAction(dock.toggleViewAction())
        return dock

    def load_paths(self, paths, case_id: str | None = None) -> LoadJob | None:
        """Read files/folders in the background and show the first volume read. A load already
        running is cancelled. Returns the job (its `finished` signal says when it is over)."""
        paths = [str(p) for p in paths]
        if not paths:
            return None
        job = LoadJob(paths, self)
        self.adopt_load(job, case_id)
        job.start()
        return job

    def adopt_load(self, job: LoadJob, case_id: str | None = None) -> None:
        """Follow a LoadJob made elsewhere (perhaps already running): progress, results, errors."""
        if self._job is not None:
            self._job.cancel()
        job.setParent(self)
        self._job, self._job_case = job, case_id
        self._job_volumes, self._job_errors = [], []
        job.progress.connect(lambda f, t, j=job: self._on_progress(j, f, t))
        job.loaded.connect(lambda p, v, j=job: self._on_loaded(j, p, v))
        job.failed.connect(lambda p, e, j=job: self._on_failed(j, p, e))
        job.finished.connect(lambda c, j=job: self._on_finished(j, c))
        job.finished.connect(job.deleteLater)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.status_text.setText(f"Reading {Path(job.paths[0]).name}…")

    def cancel_load(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def show_volume(self, volume: Volume, layout: str | None = None) -> None:
        self.viewer.set_volume(volume, layout)
        self._sync_controls()
        name = volume.description or (volume.sources[0].name if volume.sources else "image")
        self.setWindowTitle(f"{name} — workstation")
        index = next((n for n, v in enumerate(self.volumes) if v is volume), -1)
        if index >= 0:
            self.series.blockSignals(True)
            self.series.setCurrentIndex(index)
            self.series.blockSignals(False)
        for warning in volume.warnings:
            self.statusBar().showMessage(warning, 8000)
        self.volume_shown.emit(volume)

    @property
    def volume(self) -> Volume | None:
        return self.viewer.volume

    @property
    def crosshair(self) -> np.ndarray:
        return self.viewer.state.crosshair.copy()

    def set_crosshair(self, xyz, center: bool = False) -> None:
        """Move the crosshair (world LPS mm) and every view's slice to it; `center` also pans the
        views so that the point is in the middle."""
        self.viewer.state.set_crosshair(xyz)
        if center:
            self.viewer.center_on(self.viewer.state.crosshair)

    def set_window(self, center: float, width: float) -> None:
        self.viewer.state.set_window(center, width)

    def set_layout(self, name: str) -> None:
        self.viewer.set_layout(name)
        self._sync_controls()

    def open_project(self, path):
        """Open a review project; returns it, or None after showing why it failed."""
        try:
            from workstation.core.project import Project
        except ImportError as exc:
            self._error(f"projects are not available in this build ({exc})")
            return None
        try:
            project = Project.open(path)
        except Exception as exc:  # noqa: BLE001 - a bad folder must not close the window
            text = " ".join(str(exc).split())
            self._error(text if str(path) in text else f"{path}: {text}")
            return None
        if self.project is not None and hasattr(self.project, "close"):
            self.project.close()
        self.project = project
        self._remember(path)
        self.project_changed.emit(project)
        return project

    def open_case(self, case_id: str, paths=None) -> LoadJob | None:
        """Load a case of the open project (or the given paths) and emit `case_opened` when done."""
        if paths is None:
            if self.project is None:
                self._error("no project is open")
                return None
            try:
                paths = self.project.case(case_id).paths
            except Exception as exc:  # noqa: BLE001
                self._error(str(exc))
                return None
            worklist = getattr(self, "worklist", None)
            if worklist is not None:
                worklist.follow(case_id)
        return self.load_paths(paths, case_id=case_id)

    # -- loading -----------------------------------------------------------------------------
    def _on_progress(self, job, fraction: float, text: str) -> None:
        if job is self._job:
            self.progress.setValue(int(round(fraction * 100)))
            if text:
                self.status_text.setText(f"Reading {text}…")

    def _on_loaded(self, job, path: str, volumes) -> None:
        if job is not self._job:
            return
        first = not self._job_volumes
        self._job_volumes.extend(volumes)
        self.volumes = list(self._job_volumes)
        self._fill_series()
        self._remember(path)
        if first:
            self.show_volume(volumes[0])

    def _on_failed(self, job, path: str, message: str) -> None:
        if job is self._job:
            self._job_errors.append(message)

    def _on_finished(self, job, cancelled: bool) -> None:
        if job is not self._job:
            return
        self._job = None
        self.progress.hide()
        self.cancel_button.hide()
        self.errors = list(self._job_errors)
        if cancelled:
            self.status_text.setText("Loading cancelled")
        elif self.errors:
            self._error("\n".join(self.errors))
        else:
            self.status_text.setText("")
        if self._job_case is not None and not cancelled:
            self.current_case = self._job_case
            self.case_opened.emit(self._job_case)
        self.load_finished.emit(list(self._job_volumes), list(self.errors))

    def _error(self, message: str) -> None:
        """Show a problem without blocking: status bar plus a non-modal message box."""
        log.warning("%s", message)
        self.status_text.setText(message.splitlines()[0])
        if self._message_box is None:
            self._message_box = QMessageBox(QMessageBox.Warning, "workstation", "", parent=self)
            self._message_box.setWindowModality(Qt.NonModal)
        self._message_box.setText(message)
        self._message_box.show()

    def _remember(self, path) -> None:
        path = str(Path(path).resolve())
        try:
            recent = [p for p in settings.load().get("recent_files", []) if p != path]
            settings.update(recent_files=[path] + recent[: MAX_RECENT - 1])
        except OSError as exc:
            log.warning("could not save recent files: %s", exc)
        self._fill_recent()

    # -- widgets -----------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_text = QLabel("")
        self.readout = QLabel("")
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFixedWidth(160)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_load)
        bar.addWidget(self.status_text, 1)
        bar.addPermanentWidget(self.readout)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        self.progress.hide()
        self.cancel_button.hide()
        self.viewer.state.readout_changed.connect(self.readout.setText)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("&Open files…", QKeySequence.Open, self._ask_files)
        file_menu.addAction("Open &folder…", self._ask_folder)
        file_menu.addAction("Open &project…", self._ask_project)
        self.recent_menu = file_menu.addMenu("&Recent")
        self._fill_recent()
        file_menu.addSeparator()
        file_menu.addAction("&Quit", QKeySequence.Quit, self.close)
        view = self.menuBar().addMenu("&View")
        group = QActionGroup(self)
        self.layout_actions = {}
        for name in LAYOUTS:
            action = QAction(LAYOUT_TITLES[name], self, checkable=True)
            action.triggered.connect(lambda _=False, n=name: self.set_layout(n))
            group.addAction(action)
            view.addAction(action)
            self.layout_actions[name] = action
        view.addSeparator()
        self.invert_action = QAction("&Invert", self, checkable=True, shortcut="I")
        self.invert_action.toggled.connect(self.viewer.state.set_invert)
        self.viewer.state.invert_changed.connect(self.invert_action.setChecked)
        view.addAction(self.invert_action)
        self.reset_action = QAction("&Reset view", self, shortcut="R")
        self.reset_action.triggered.connect(self.viewer.reset)
        view.addAction(self.reset_action)
        view.addSeparator()
        self.docks_menu = view.addMenu("&Panels")

    def _build_toolbar(self) -> None:
        bar = QToolBar("Display", self)
        bar.setObjectName("display-toolbar")
        self.addToolBar(bar)
        self.layout_box = QComboBox()
        for name in LAYOUTS:
            self.layout_box.addItem(LAYOUT_TITLES[name], name)
        self.layout_box.activated.connect(lambda i: self.set_layout(self.layout_box.itemData(i)))
        bar.addWidget(QLabel(" Layout "))
        bar.addWidget(self.layout_box)
        self.preset_box = QComboBox()
        self.preset_box.setMinimumContentsLength(14)
        self.preset_box.activated.connect(self._preset_chosen)
        bar.addWidget(QLabel(" Window "))
        bar.addWidget(self.preset_box)
        bar.addAction(self.invert_action)
        bar.addAction(self.reset_action)
        self.series = QComboBox()
        self.series.setMinimumContentsLength(24)
        self.series.activated.connect(lambda i: self.show_volume(self.volumes[i]))
        bar.addWidget(QLabel(" Series "))
        bar.addWidget(self.series)
        self.viewer.state.window_changed.connect(self._window_changed)
        self._sync_controls()

    def _fill_series(self) -> None:
        self.series.blockSignals(True)
        self.series.clear()
        for n, volume in enumerate(self.volumes):
            size = "×".join(str(s) for s in volume.size if s > 1 or volume.kind == "3d")
            name = " ".join(part for part in (volume.modality, volume.description) if part)
            self.series.addItem(f"{n + 1}. {name or 'image'} ({size})")
        self.series.blockSignals(False)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in settings.load().get("recent_files", [])[:MAX_RECENT]:
            self.recent_menu.addAction(path, lambda p=path: self._open_any(p))
        self.recent_menu.setEnabled(not self.recent_menu.isEmpty())

    def _sync_controls(self) -> None:
        volume = self.viewer.volume
        self.preset_box.clear()
        self.preset_box.addItems(display.preset_names(volume))
        self.preset_box.setEnabled(volume is not None and not volume.is_rgb)
        layout = self.viewer.layout_name
        self.layout_box.setCurrentIndex(LAYOUTS.index(layout))
        self.layout_box.setEnabled(volume is None or volume.kind == "3d")
        self._window_changed(*self.viewer.state.window)
        self.layout_actions[layout].setChecked(True)

    def _window_changed(self, center: float, width: float) -> None:
        """Show the preset the window matches, or nothing when it was set by hand."""
        volume = self.viewer.volume
        if volume is None:
            return
        match = -1
        for index in range(self.preset_box.count()):
            name = self.preset_box.itemText(index)
            # the box may still list the previous image's presets while a new image arrives
            if name in display.CT_PRESETS or (name == display.HEADER_PRESET and volume.window is not None):
                if np.allclose(display.preset_window(volume, name), (center, width)):
                    match = index
                    break
        self.preset_box.setCurrentIndex(match)

    def _preset_chosen(self, index: int) -> None:
        self.viewer.apply_preset(self.preset_box.itemText(index))

    def _ask_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images")
        self.load_paths(paths)

    def _ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if path:
            self.load_paths([path])

    def _ask_project(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a review project")
        if path:
            self.open_project(path)

    def _open_any(self, path: str) -> None:
        """A recent entry or a dropped folder: a project when it is one, else images."""
        if _is_project(path):
            self.open_project(path)
        else:
            self.load_paths([path])

    # -- drag and drop -----------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if len(paths) == 1 and _is_project(paths[0]):
            self.open_project(paths[0])
        elif paths:
            self.load_paths(paths)
        event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        if self._job is not None:
            self._job.cancel()
            self._job.wait(5000)
        self.viewer.dispose()
        super().closeEvent(event)


def _is_project(path: str) -> bool:
    try:
        from workstation.core.project import Project
    except ImportError:
        return False
    return Project.is_project_dir(path)
