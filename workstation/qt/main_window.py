"""The main window: a shell of docks around the image viewer.

Other parts of the application join it through `add_dock`, and talk to it through `load_paths`,
`show_volume`, `overlays`, `set_crosshair`, `open_project` / `open_case` and the signals below.

The image gets the screen: a dock is shown only while it has something to show (the project
panels while a project is open, the layers while there are overlays), all of them in one side
bar. Where the user moves, hides or resizes them is remembered per user (in `core.settings`), for
plain images and per project task, together with the layout volumes open in."""
from __future__ import annotations

import base64
import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QFileDialog, QFrame, QLabel, QMainWindow, QMessageBox, QProgressBar,
    QPushButton, QScrollArea, QToolBar,
)

from workstation.core import settings
from workstation.core.review.overlays import OverlayList
from workstation.core.volume import Volume
from workstation.core.review.session import ReviewSession
from workstation.qt import actions as shortcuts
from workstation.qt.context import ask_reader, make_context
from workstation.qt.notify import Notifier
from workstation.qt.threads import connect_in_gui
from workstation.qt.viewer import display
from workstation.qt.viewer.icons import icon
from workstation.qt.viewer.loader import LoadJob
from workstation.qt.viewer.viewer_widget import LAYOUTS, Viewer
from workstation.core.vocab import Task

log = logging.getLogger(__name__)
MAX_RECENT = 10
LAYOUT_TITLES = {"2d": "2D", "mpr": "MPR", "mpr3d": "MPR + 3D"}
LAYOUT_KEYS = {name: shortcuts.SHORTCUTS[f"layout {name}"].keys[0] for name in LAYOUT_TITLES}  # qt/actions.py
SETTINGS_KEY = "main_window"  # in core.settings: {"layout_3d": ..., "states": {mode: base64 state}}
SIDEBAR_WIDTH = (260, 360)    # the side bar's width: a quarter of the window within these bounds
# when a dock has something to show: (window, project) -> bool; not listed: a project is open
DOCK_WANTED = {
    "Layers": lambda window, project: len(window.overlays) > 0,
    "Metrics": lambda window, project: project is not None and _has_predictions(project),
    "Candidates": lambda window, project: project is not None and _task(project) == Task.DETECTION,
    "Boxes": lambda window, project: project is not None and _task(project) != "detection",
    "Report": lambda window, project: project is not None and _task(project) != "detection",
}


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
        self.viewer = Viewer(self.overlays, self, lazy=not docks)
        self.setCentralWidget(self.viewer)
        self.viewer.state.crosshair_changed.connect(self.crosshair_changed)
        self._job: LoadJob | None = None
        self._job_case: str | None = None
        self._job_volumes: list[Volume] = []
        self._job_errors: list[str] = []
        self.remember_layout = True  # False: this window's layout changes are not saved (screenshots)
        self._mode: str | None = None  # "image" or "project:<task>": the dock arrangement in use
        self._preset_windows: list[tuple[str, tuple[float, float]]] = []
        self._build_status_bar()
        # the review session and what every dock is given (qt/context.py)
        self.session = ReviewSession(ask_reader=lambda: ask_reader(self))
        self.notify = Notifier(self.statusBar(), self, self.status_text)
        self.context = make_context(self, self.session, self.overlays, self.viewer, self.notify)
        self.panels: dict = {}  # the docks' panels by name (docks.install_all)
        self._requested_case: str | None = None
        self.case_holds: list = []  # case_id -> a line while its images are not here yet (DockHost.hold_cases)
        self._open_timer = QTimer(self, singleShot=True, interval=120)  # paging fast through cases loads one
        self._open_timer.timeout.connect(self._open_current)
        connect_in_gui(self.session.events.current_changed, lambda _case: self._open_timer.start(), self)
        self._build_menus()
        self._build_toolbar()
        from workstation.qt.viewer.layers_dock import LayersPanel

        self.layers_dock = self.add_dock("Layers", LayersPanel(self.overlays), Qt.RightDockWidgetArea)
        self._docks_later = QTimer(self, singleShot=True, interval=0)  # after the list has settled
        self._docks_later.timeout.connect(self.update_docks)
        connect_in_gui(self.overlays.events, lambda *_: self._docks_later.start(), self)
        self.project_changed.connect(self._follow_predictions)
        self.viewer.preferred_3d = self._preferences().get("layout_3d", "mpr")
        if self.viewer.preferred_3d not in LAYOUTS:
            self.viewer.preferred_3d = "mpr"
        self.docks_installed = False
        if docks:
            self.install_docks()

    def install_docks(self) -> None:
        """Add the other panels (worklist, metrics, model, candidates); once."""
        if self.docks_installed:
            return
        self.docks_installed = True
        self.viewer.make_all_views()  # docks filter the events of every view
        from workstation.qt import docks

        self.panels = docks.install_all(self.context)
        self.fit_docks()
        self._mode = None
        self.update_docks()

    def fit_docks(self) -> None:
        """One side bar on the left, out of the images' way: the worklist on top, every other
        panel a tab of one stack below it (the arrangement before the user changes it)."""
        panels = [d for d in self.findChildren(QDockWidget) if not d.isFloating()]
        if not panels:
            return
        first = next((d for d in panels if d.objectName() == "dock-Worklist"), None)
        rest = [d for d in panels if d is not first]
        for dock in panels:
            self.addDockWidget(Qt.LeftDockWidgetArea, dock)
        if first is not None and rest:
            self.splitDockWidget(first, rest[0], Qt.Vertical)
        for panel in rest[1:]:
            self.tabifyDockWidget(rest[0], panel)
        if rest:
            rest[0].raise_()
        self._size_sidebar()

    def _size_sidebar(self) -> None:
        """A quarter of the window's width (within SIDEBAR_WIDTH); the worklist over half its height."""
        panels = [d for d in self.findChildren(QDockWidget) if not d.isFloating()]
        if not panels:
            return
        width = max(SIDEBAR_WIDTH[0], min(SIDEBAR_WIDTH[1], self.width() // 4))
        self.resizeDocks(panels, [width] * len(panels), Qt.Horizontal)
        first = next((d for d in panels if d.objectName() == "dock-Worklist"), None)
        below = [d for d in panels if d is not first and d.isVisible()]
        if first is not None and below:
            height = max(self.height() - 120, 200)
            self.resizeDocks([first, below[0]], [height * 11 // 20, height * 9 // 20], Qt.Vertical)

    # -- which docks show, and the remembered arrangement -----------------------------------
    def dock_wanted(self, dock: QDockWidget) -> bool:
        """Whether a dock has something to show now."""
        title = dock.objectName().removeprefix("dock-")
        rule = DOCK_WANTED.get(title, lambda window, project: project is not None)
        return bool(rule(self, self.project))

    def update_docks(self) -> None:
        """Show the docks that have something to show; when the mode (plain images, or a project
        of some task) changes, save the old mode's arrangement and restore the new one's."""
        mode = "image" if self.project is None else f"project:{_task(self.project)}"
        docks = self.findChildren(QDockWidget)
        if mode != self._mode:
            if self._mode is not None:
                self._save_state()
            self._mode = mode
            for dock in docks:
                wanted = self.dock_wanted(dock)
                dock.setProperty("wanted", wanted)
                dock.setVisible(wanted)
            saved = self._preferences().get("states", {}).get(mode)
            if saved:
                self.restoreState(QByteArray(base64.b64decode(saved)))
            else:
                self._size_sidebar()
        for dock in docks:
            wanted = self.dock_wanted(dock)
            if not wanted:  # nothing to show: it goes, whatever the saved state said
                dock.hide()
            elif dock.property("wanted") is not True:  # it has just got something to show
                dock.show()
            dock.setProperty("wanted", wanted)

    def _follow_predictions(self, project) -> None:
        """The metrics appear once a model has predicted (a run may store predictions later)."""
        self.update_docks()
        events = getattr(project, "events", None)
        if events is not None and hasattr(events, "predictions_changed"):
            connect_in_gui(events.predictions_changed, lambda *_: self.update_docks(), self)

    def _preferences(self) -> dict:
        try:
            return dict(settings.load().get(SETTINGS_KEY) or {})
        except (OSError, ValueError, TypeError):
            return {}

    def _save_state(self) -> None:
        if not self.remember_layout or self._mode is None:
            return
        values = self._preferences()
        states = dict(values.get("states") or {})
        states[self._mode] = base64.b64encode(bytes(self.saveState())).decode("ascii")
        values.update(states=states, layout_3d=self.viewer.preferred_3d)
        try:
            settings.update(**{SETTINGS_KEY: values})
        except OSError as exc:
            log.warning("could not save the window layout: %s", exc)

    # -- public API --------------------------------------------------------------------------
    def add_dock(self, title: str, widget, area=Qt.RightDockWidgetArea) -> QDockWidget:
        """Add a panel; it shows while it has something to show (see DOCK_WANTED)."""
        dock = _Dock(title, widget, self)
        dock.setObjectName(f"dock-{title}")
        self.addDockWidget(area, dock)
        self.docks_menu.addAction(dock.toggleViewAction())
        wanted = self.dock_wanted(dock)
        dock.setProperty("wanted", wanted)
        dock.setVisible(wanted)
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
            self.notify.info(warning, 8000)
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
        self._requested_case = None
        self._remember(path)
        self.session.set_project(project)
        self.project_changed.emit(project)
        return project

    def open_case(self, case_id: str, paths=None) -> LoadJob | None:
        """Load a case of the open project (or the given paths) and emit `case_opened` when done."""
        held = paths is None
        if paths is None:
            if self.project is None:
                self._error("no project is open")
                return None
            try:
                paths = self.project.case(case_id).paths
            except Exception as exc:  # noqa: BLE001
                self._error(str(exc))
                return None
        self._requested_case = case_id
        if self.project is not None and self.session.project is self.project and self.session.current != case_id:
            try:
                self.session.go_to(case_id)
            except Exception as exc:  # noqa: BLE001 - a case outside the project is still shown
                log.info("%s", exc)
        waiting = next((line for line in (hold(case_id) for hold in self.case_holds) if line), None) if held else None
        if waiting:  # e.g. a PACS case still being retrieved: its holder opens it again once it is here
            self.cancel_load()
            self.viewer.set_volume(None)  # never the previous case's images under this case's name
            self.status_text.setText(waiting)
            return None
        return self.load_paths(paths, case_id=case_id)

    def _open_current(self) -> None:
        """Show the images of the session's current case (once it has stayed current 120 ms)."""
        case_id = self.session.current
        if case_id is not None and self.project is not None and case_id != self._requested_case:
            self.open_case(case_id)

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
            self._requested_case = None  # choosing the case again reads it again
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
        self.notify.error(message)

    @property
    def _message_box(self) -> QMessageBox | None:
        return self.notify.message_box

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
        self.open_action = file_menu.addAction(icon("open-file"), "&Open files…", shortcuts.keys("open files")[0],
                                                self._ask_files)
        self.open_folder_action = file_menu.addAction(icon("open-folder"), "Open &folder…", self._ask_folder)
        self.open_project_action = file_menu.addAction(icon("open-project"), "Open &project…", self._ask_project)
        for action, tip in ((self.open_action, "Open image files (DICOM, NIfTI, NRRD, pictures)"),
                            (self.open_folder_action, "Open a folder: every DICOM series in it"),
                            (self.open_project_action, "Open a review project")):
            action.setToolTip(tip)
        self.recent_menu = file_menu.addMenu("&Recent")
        self._fill_recent()
        file_menu.addSeparator()
        file_menu.addAction("&Quit", shortcuts.keys("quit")[0], self.close)
        view = self.menuBar().addMenu("&View")
        group = QActionGroup(self)
        self.layout_actions = {}
        for name in LAYOUTS:
            action = QAction(icon(f"layout-{name}"), LAYOUT_TITLES[name], self, checkable=True)
            action.setShortcut(LAYOUT_KEYS[name])
            action.setToolTip(f"Layout: {LAYOUT_TITLES[name]} ({LAYOUT_KEYS[name]})")
            action.triggered.connect(lambda _=False, n=name: self.set_layout(n))
            group.addAction(action)
            view.addAction(action)
            self.layout_actions[name] = action
        view.addSeparator()
        self.invert_action = QAction(icon("invert"), "&Invert", self, checkable=True, shortcut=shortcuts.keys("invert")[0])
        self.invert_action.setToolTip("Invert the grey scale (I)")
        self.invert_action.toggled.connect(self.viewer.state.set_invert)
        self.viewer.state.invert_changed.connect(self.invert_action.setChecked)
        view.addAction(self.invert_action)
        self.reset_action = QAction(icon("reset"), "&Reset view", self, shortcut=shortcuts.keys("reset view")[0])
        self.reset_action.setToolTip("Reset window, zoom and pan (R)")
        self.reset_action.triggered.connect(self.viewer.reset)
        view.addAction(self.reset_action)
        view.addSeparator()
        self.docks_menu = view.addMenu("&Panels")

    def _build_toolbar(self) -> None:
        """One slim row of icons: open, layout, window preset, invert, reset, series."""
        bar = QToolBar("Display", self)
        bar.setObjectName("display-toolbar")
        bar.setMovable(False)
        bar.setIconSize(bar.iconSize().scaled(20, 20, Qt.KeepAspectRatio))
        bar.setToolButtonStyle(Qt.ToolButtonIconOnly)
        self.addToolBar(bar)
        self.toolbar = bar
        for action in (self.open_action, self.open_folder_action, self.open_project_action):
            bar.addAction(action)
        bar.addSeparator()
        for name in LAYOUTS:
            bar.addAction(self.layout_actions[name])
        bar.addSeparator()
        window_label = QLabel()
        window_label.setPixmap(icon("window-level").pixmap(18, 18))
        window_label.setToolTip("Window/level preset (right drag in a view sets it by hand)")
        bar.addWidget(window_label)
        self.preset_box = QComboBox()
        self.preset_box.setMinimumContentsLength(16)
        self.preset_box.setPlaceholderText("Custom")
        self.preset_box.setToolTip("Window/level presets for this modality")
        self.preset_box.activated.connect(self._preset_chosen)
        bar.addWidget(self.preset_box)
        bar.addAction(self.invert_action)
        bar.addAction(self.reset_action)
        bar.addSeparator()
        self.series_label = QLabel()
        self.series_label.setPixmap(icon("series").pixmap(18, 18))
        self.series_label.setToolTip("Series read from the paths opened")
        self.series = QComboBox()
        self.series.setMinimumContentsLength(24)
        self.series.activated.connect(lambda i: self.show_volume(self.volumes[i]))
        self._series_actions = [bar.addWidget(self.series_label), bar.addWidget(self.series)]
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
        for action in self._series_actions:  # one series needs no chooser
            action.setVisible(len(self.volumes) > 1)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in settings.load().get("recent_files", [])[:MAX_RECENT]:
            self.recent_menu.addAction(path, lambda p=path: self._open_any(p))
        self.recent_menu.setEnabled(not self.recent_menu.isEmpty())

    def _sync_controls(self) -> None:
        volume = self.viewer.volume
        if volume is not getattr(self, "_preset_volume", None):
            self._preset_volume = volume
            self._preset_windows = display.preset_windows(volume) if volume is not None and not volume.is_rgb else []
        names = [name for name, _ in self._preset_windows]
        if names != [self.preset_box.itemText(i) for i in range(self.preset_box.count())]:
            self.preset_box.clear()
            self.preset_box.addItems(names)
        self.preset_box.setEnabled(bool(names))
        self.preset_box.setPlaceholderText("Custom" if names else "")  # an RGB image has no window
        layout = self.viewer.layout_name
        for name, action in self.layout_actions.items():
            action.setEnabled(volume is None or volume.kind == "3d")
        self._window_changed(*self.viewer.state.window)
        self.layout_actions[layout].setChecked(True)

    def _window_changed(self, center: float, width: float) -> None:
        """Show the preset the window matches, or "Custom" when it was set by hand."""
        match = next((index for index, (_, window) in enumerate(self._preset_windows)
                      if np.allclose(window, (center, width))), -1)
        if match >= self.preset_box.count():
            match = -1
        self.preset_box.setCurrentIndex(match)

    def _preset_chosen(self, index: int) -> None:
        if 0 <= index < len(self._preset_windows):
            self.viewer.state.set_window(*self._preset_windows[index][1])

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
        self._save_state()
        if self._job is not None:
            self._job.cancel()
            self._job.wait(5000)
        self.viewer.dispose()
        super().closeEvent(event)


class _Dock(QDockWidget):
    """A dock whose panel scrolls when the side bar is narrower than the panel would like, so
    that no panel's minimum size widens the side bar; `widget()` is still the panel."""

    def __init__(self, title: str, panel, parent) -> None:
        super().__init__(title, parent)
        self._panel = panel
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(panel)
        scroll.setMinimumWidth(120)
        self.setWidget(scroll)

    def widget(self):  # noqa: D102 - the panel, not its scroll area
        return self._panel


def _has_predictions(project) -> bool:
    """Whether a model has predicted any case (the metrics compare predictions with labels)."""
    try:
        return bool(project.prediction_plugins())
    except Exception:  # noqa: BLE001 - a project without the call still shows its metrics
        return True


def _task(project) -> str:
    return str(getattr(project, "task", "") or "")


def _is_project(path: str) -> bool:
    try:
        from workstation.core.project import Project
    except ImportError:
        return False
    return Project.is_project_dir(path)
