"""The model dock: choose a plugin and a checkpoint, run it on the current case, on every case or on
the unlabelled ones, watch progress, cancel; results go into the project (so the worklist and the
live metrics update through the project's events), and a toggle shows the case's heat map.

`install(window)` adds the dock as `window.model_dock` (a ModelPanel). Inference runs in the
plugin host's worker process (see workstation/plugin_host/runner.py); this module only forwards
its callbacks to the GUI thread and stores results there.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit,
                               QPlainTextEdit, QProgressBar, QPushButton, QToolButton, QVBoxLayout, QWidget)

log = logging.getLogger(__name__)
HEATMAP_LAYER = "heat map"


class _Bridge(QObject):
    """Carries runner callbacks (runner thread) to the GUI thread as queued signals."""
    outcomes = Signal(object)
    progress = Signal(float, int)
    notice = Signal(str)
    finished = Signal(object)


class ModelPanel(QWidget):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.runner = None
        self.future = None
        self.cancel_event = threading.Event()
        self.last_report = None
        self._store_failures = 0
        self._bridge = _Bridge()
        self._bridge.outcomes.connect(self._store, Qt.QueuedConnection)
        self._bridge.progress.connect(self._on_progress, Qt.QueuedConnection)
        self._bridge.notice.connect(lambda text: self._log(f"notice: {text}"), Qt.QueuedConnection)
        self._bridge.finished.connect(self._on_finished, Qt.QueuedConnection)

        self.plugin = QComboBox()
        self.checkpoint = QLineEdit()
        self.checkpoint.setPlaceholderText("newest in the project's models/<plugin>/ folder")
        browse = QToolButton(text="…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.checkpoint)
        row.addWidget(browse)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.heatmaps = QCheckBox("compute heat maps")
        self.heatmaps.setChecked(True)
        form = QFormLayout()
        form.addRow("Plugin", self.plugin)
        form.addRow("Checkpoint", row)
        form.addRow("Device", self.device)
        form.addRow("", self.heatmaps)

        self.run_current = QPushButton("Run on current case")
        self.run_all = QPushButton("Run on all")
        self.run_unlabelled = QPushButton("Run on unlabelled")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.run_current.clicked.connect(lambda: self.start("current"))
        self.run_all.clicked.connect(lambda: self.start("all"))
        self.run_unlabelled.clicked.connect(lambda: self.start("unlabelled"))
        self.cancel.clicked.connect(lambda: self.cancel_event.set())
        buttons = QHBoxLayout()
        for button in (self.run_current, self.run_all, self.run_unlabelled, self.cancel):
            buttons.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.show_heatmap = QCheckBox("Show heat map")
        self.show_heatmap.toggled.connect(self.update_heatmap)
        self.messages = QPlainTextEdit(readOnly=True)
        self.messages.setMaximumBlockCount(500)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.show_heatmap)
        layout.addWidget(self.messages)
        self.refresh_plugins()
        window.case_opened.connect(lambda _case: self.update_heatmap())
        window.project_changed.connect(self._on_project)

    # -- plugins ---------------------------------------------------------------------------------
    def refresh_plugins(self) -> None:
        from workstation.core import settings
        from workstation.plugin_host import discover

        self.plugin.clear()
        for entry in discover():
            if entry.status != "enabled" or entry.manifest.kind == "report_labeler":
                if entry.error:
                    self._log(f"plugin {entry.id} is broken: {entry.error}")
                continue
            m = entry.manifest
            self.plugin.addItem(f"{m.name} ({m.id} {m.version})", m)
        device = settings.load().get("device") or "auto"
        index = self.device.findText(device)
        self.device.setCurrentIndex(max(0, index))

    def manifest(self):
        return self.plugin.currentData()

    def _browse(self) -> None:
        start = str(Path(self.window.project.directory) / "models") if self.window.project else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", start, "Checkpoints (*.pt *.pth)")
        if path:
            self.checkpoint.setText(path)

    # -- running ---------------------------------------------------------------------------------
    def start(self, which: str) -> bool:
        """Queue a job on `which` cases ("current", "all", "unlabelled"); False (with the reason
        in the dock) when it cannot start."""
        from workstation.plugin_host import CaseInput, InferenceRunner, JobSpec
        from workstation.plugin_host.project_sink import case_inputs, default_checkpoint

        project, manifest = self.window.project, self.manifest()
        if manifest is None:
            return self._refuse("no usable plugin is installed")
        if project is None:
            return self._refuse("open a project first: predictions are stored in it")
        if self.future is not None and not self.future.done():
            return self._refuse("a job is already running")
        if which == "current":
            case_id = getattr(self.window, "current_case", None)
            if not case_id:
                return self._refuse("no case is open")
            volume = self.window.volume
            cases = [CaseInput(case_id, volume=volume)] if volume is not None else case_inputs(project, case_ids=[case_id])
        else:
            cases = case_inputs(project, which)
        if not cases:
            return self._refuse(f"no {which} cases to run")
        checkpoint = self.checkpoint.text().strip() or default_checkpoint(project.directory, manifest.id)
        spec = JobSpec(manifest, cases, checkpoint=str(checkpoint) if checkpoint else None,
                       device=self.device.currentText(), options={"heatmap": self.heatmaps.isChecked()})
        if self.runner is None:
            self.runner = InferenceRunner()
        self.cancel_event = threading.Event()
        self._set_running(True)
        self._log(f"running {manifest.id} on {len(cases)} case(s)…")
        self.future = self.runner.submit(spec, self._bridge.outcomes.emit, progress=self._bridge.progress.emit,
                                         notice=self._bridge.notice.emit, cancel=self.cancel_event)
        self.future.add_done_callback(lambda f: self._bridge.finished.emit(f))
        return True

    def _refuse(self, reason: str) -> bool:
        self._log(reason)
        return False

    def _set_running(self, running: bool) -> None:
        for button in (self.run_current, self.run_all, self.run_unlabelled):
            button.setEnabled(not running)
        self.cancel.setEnabled(running)
        self.progress.setValue(0)

    def _store(self, outcomes) -> None:
        """Runs on the GUI thread: the project's events then update the worklist and metrics."""
        from workstation.plugin_host.project_sink import ProjectSink

        project = self.window.project
        if project is None:
            return
        try:
            ProjectSink(project)(outcomes)
        except Exception as exc:  # noqa: BLE001 - a storing failure is shown, never fatal
            self._log(f"could not store {len(outcomes)} prediction(s): {exc}")
            self._store_failures += len(outcomes)
        else:
            if self.window.current_case in {o.case_id for o in outcomes}:
                self.update_heatmap()

    def _on_progress(self, done: float, total: int) -> None:
        if total:
            self.progress.setValue(int(1000 * done / total))

    def _on_finished(self, future) -> None:
        self._set_running(False)
        try:
            report = future.result()
        except Exception as exc:  # noqa: BLE001
            self._log(f"the job failed: {exc}")
            return
        self.last_report = report
        failed, self._store_failures = self._store_failures, 0
        stored = report.stored - failed
        self.progress.setValue(1000)
        state = "cancelled" if report.cancelled else "done"
        self._log(f"{report.plugin_id} {state}: {stored}/{report.total} stored on "
                  f"{', '.join(report.devices) or '-'} in {report.elapsed_s:.1f} s")
        if report.error:
            self._log(f"error: {report.error}")
        for failure in report.failures[:50]:
            if failure.reason != "cancelled":
                self._log(f"{failure.case_id}: {failure.reason}")

    def _log(self, text: str) -> None:
        self.messages.appendPlainText(text)

    # -- heat map --------------------------------------------------------------------------------
    def _on_project(self, project) -> None:
        self.window.overlays.remove_named(HEATMAP_LAYER)
        if project is not None:
            project.events.predictions_changed.connect(self.update_heatmap)

    def update_heatmap(self, *_args) -> None:
        """Show (or hide) the current case's newest heat map of the chosen plugin."""
        from workstation.core.review.overlays import HeatMapLayer

        overlays = self.window.overlays
        project, case_id, manifest = self.window.project, self.window.current_case, self.manifest()
        record = None
        if self.show_heatmap.isChecked() and project is not None and case_id and manifest is not None:
            record = project.latest_predictions(manifest.id).get(case_id)
        if record is None or not record.heatmap_path:
            overlays.remove_named(HEATMAP_LAYER)
            return
        try:
            from workstation.core.io import read_volume

            heat = read_volume(Path(project.directory) / record.heatmap_path)
        except Exception as exc:  # noqa: BLE001
            self._log(f"cannot show the heat map: {exc}")
            return
        volume = self.window.volume
        grid = volume if volume is not None and volume.array.shape[:3] == heat.array.shape[:3] else heat
        overlays.put(HeatMapLayer(HEATMAP_LAYER, heat.array, grid, value_range=(0.0, 1.0)))

    def shutdown(self) -> None:
        self.cancel_event.set()
        if self.runner is not None:
            self.runner.close()
            self.runner = None


def install(window) -> ModelPanel:
    panel = ModelPanel(window)
    window.model_dock = panel
    window.add_dock("Model", panel, Qt.RightDockWidgetArea)
    app = __import__("PySide6.QtWidgets", fromlist=["QApplication"]).QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(panel.shutdown)
    return panel
