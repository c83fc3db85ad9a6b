"""The model dock: choose a plugin and a checkpoint, run it on the current case, on every case or on
the unlabelled ones, watch progress, cancel; results go into the project (so the worklist and the
live metrics update through the project's events), and a toggle shows the case's heat map.

Built by `qt/models/install.py` with the training dock. Inference runs in the plugin host's worker
process (see workstation/plugin_host/runner.py); its callbacks reach the GUI thread through
qt/threads.py, and results are stored there.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit,
                               QPlainTextEdit, QProgressBar, QPushButton, QToolButton, QVBoxLayout, QWidget)

from workstation.qt.threads import Subscriptions, in_gui, one_line, preload

log = logging.getLogger(__name__)
HEATMAP_LAYER = "heat map"


class ModelPanel(QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.runner = None
        self.future = None
        self.cancel_event = threading.Event()
        self.last_report = None
        self.last_batch = None
        self._store_failures = 0
        # the runner calls these on its own threads
        self._outcomes = in_gui(self._store, self)
        self._progress = in_gui(self._on_progress, self)
        self._notice = in_gui(lambda text: self._log(f"notice: {text}"), self)
        self._finished = in_gui(self._on_finished, self)
        preload()  # the runner's threads call the four above

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
        from workstation.core import settings

        self.scheduler = QLineEdit(str(settings.load().get("dask_scheduler") or ""))
        self.scheduler.setPlaceholderText("tcp://host:port (empty: a local Dask cluster)")
        form = QFormLayout()
        form.addRow("Plugin", self.plugin)
        form.addRow("Checkpoint", row)
        form.addRow("Device", self.device)
        form.addRow("", self.heatmaps)
        form.addRow("Dask scheduler", self.scheduler)

        self.run_current = QPushButton("Run on current case")
        self.run_all = QPushButton("Run on all")
        self.run_unlabelled = QPushButton("Run on unlabelled")
        self.run_batch = QPushButton("Send all to Dask")
        self.run_batch.setToolTip("run every case as a batch on the Dask scheduler; results also land in "
                                  "<project>/batch/ as Parquet")
        self.run_batch.clicked.connect(self.start_batch)
        self.batch_job = None
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.run_current.clicked.connect(lambda: self.start("current"))
        self.run_all.clicked.connect(lambda: self.start("all"))
        self.run_unlabelled.clicked.connect(lambda: self.start("unlabelled"))
        self.cancel.clicked.connect(lambda: self.cancel_event.set())
        buttons = QHBoxLayout()
        for button in (self.run_current, self.run_all, self.run_unlabelled, self.run_batch, self.cancel):
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
        self._project_subs = Subscriptions(self)
        Subscriptions(self).add(self.session.events.project_changed, self._on_project)
        if ctx.viewer is not None:  # the current case's image is shown: its heat map fits it
            ctx.viewer.state.volume_changed.connect(lambda _v: self.update_heatmap())
        self._on_project(self.session.project)

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
        project = self.session.project
        start = str(Path(project.directory) / "models") if project is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", start, "Checkpoints (*.pt *.pth)")
        if path:
            self.checkpoint.setText(path)

    # -- running ---------------------------------------------------------------------------------
    def start(self, which: str) -> bool:
        """Queue a job on `which` cases ("current", "all", "unlabelled"); False (with the reason
        in the dock) when it cannot start."""
        from workstation.plugin_host import CaseInput, InferenceRunner, JobSpec
        from workstation.plugin_host.project_sink import case_inputs, default_checkpoint

        project, manifest = self.session.project, self.manifest()
        if manifest is None:
            return self._refuse("no usable plugin is installed")
        if project is None:
            return self._refuse("open a project first: predictions are stored in it")
        if self._busy():
            return self._refuse("a job is already running")
        if which == "current":
            case_id = self.session.current
            if not case_id:
                return self._refuse("no case is open")
            volume = self.ctx.volume
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
        self.future = self.runner.submit(spec, self._outcomes, progress=self._progress, notice=self._notice,
                                         cancel=self.cancel_event)
        self.future.add_done_callback(self._finished)
        return True

    def _busy(self) -> bool:
        return (self.future is not None and not self.future.done()) or (
            self.batch_job is not None and self.batch_job.is_alive())

    # -- batch on Dask ---------------------------------------------------------------------------
    def start_batch(self) -> bool:
        """Send every case to the Dask scheduler (or a local cluster) with `workstation.batch`;
        progress follows here, each written part's predictions are stored in the open project on
        the GUI thread. False (with the reason in the dock) when it cannot start."""
        from workstation.batch import BatchSpec, run_batch
        from workstation.batch.project_store import project_source
        from workstation.plugin_host.project_sink import default_checkpoint
        from workstation.qt.threads import run_in_background

        project, manifest = self.session.project, self.manifest()
        if manifest is None:
            return self._refuse("no usable plugin is installed")
        if project is None:
            return self._refuse("open a project first: predictions are stored in it")
        if self._busy():
            return self._refuse("a job is already running")
        if not project.case_ids():
            return self._refuse("no cases to run")
        scheduler = self.scheduler.text().strip()
        if scheduler and "://" not in scheduler:
            return self._refuse(f"a Dask scheduler address looks like tcp://host:8786, not {scheduler!r}")
        checkpoint = self.checkpoint.text().strip() or default_checkpoint(project.directory, manifest.id)
        folder = Path(project.directory) / "batch"
        source = project_source(project, folder / f"{manifest.id}-cases.csv")
        spec = BatchSpec(source=str(source), plugin_id=manifest.id, out=str(folder / f"{manifest.id}-results"),
                         checkpoint=str(checkpoint) if checkpoint else None, scheduler=scheduler or None,
                         device=self.device.currentText() if self.device.currentText() in ("auto", "cpu", "cuda") else "auto")
        self.cancel_event = threading.Event()
        self._set_running(True)
        self._batch_stored = 0
        self._log(f"sending {len(project.case_ids())} case(s) of {manifest.id} to {scheduler or 'a local Dask cluster'}…")
        self.batch_job = run_in_background(
            run_batch, spec, progress=in_gui(self._on_progress, self), cancel=self.cancel_event,
            on_start=in_gui(lambda report: self._log(f"Dask dashboard: {report.dashboard or 'none'} "
                                                     f"({report.workers} workers)"), self),
            on_rows=in_gui(self._store_batch_rows, self),
            on_result=self._on_batch_finished, on_error=self._on_batch_error, owner=self, name="workstation-batch")
        return True

    def _store_batch_rows(self, rows) -> None:
        from workstation.batch.project_store import ProjectStore

        project = self.session.project
        if project is None:
            return
        try:
            self._batch_stored += ProjectStore(project).store(rows, {})
        except Exception as exc:  # noqa: BLE001 - a storing failure is shown, never fatal
            self._log(f"could not store {len(rows)} prediction(s): {exc}")
            self.ctx.notify.error(f"could not store batch predictions: {one_line(exc)}")

    def _on_batch_finished(self, report) -> None:
        self._set_running(False)
        self.last_batch = report
        self.progress.setValue(1000)
        state = "cancelled" if report.cancelled else "done"
        self._log(f"batch {state}: {report.total} case(s), {report.skipped} already done, {report.ok} ok, "
                  f"{report.failed} failed in {report.elapsed_s:.1f} s; {self._batch_stored} stored")
        for case_id, reason in report.failures[:50]:
            self._log(f"{case_id}: {reason}")

    def _on_batch_error(self, text: str) -> None:
        self._set_running(False)
        self._log(f"the batch failed: {text}")
        self.ctx.notify.error(f"the batch failed: {text}")

    def _refuse(self, reason: str) -> bool:
        self._log(reason)
        return False

    def _set_running(self, running: bool) -> None:
        for button in (self.run_current, self.run_all, self.run_unlabelled, self.run_batch):
            button.setEnabled(not running)
        self.cancel.setEnabled(running)
        self.progress.setValue(0)

    def _store(self, outcomes) -> None:
        """Runs on the GUI thread: the project's events then update the worklist and metrics."""
        from workstation.plugin_host.project_sink import ProjectSink

        project = self.session.project
        if project is None:
            return
        try:
            ProjectSink(project)(outcomes)
        except Exception as exc:  # noqa: BLE001 - a storing failure is shown, never fatal
            self._log(f"could not store {len(outcomes)} prediction(s): {exc}")
            self.ctx.notify.error(f"could not store {len(outcomes)} prediction(s): {one_line(exc)}")
            self._store_failures += len(outcomes)
        else:
            if self.session.current in {o.case_id for o in outcomes}:
                self.update_heatmap()

    def _on_progress(self, done: float, total: int) -> None:
        if total:
            self.progress.setValue(int(1000 * done / total))

    def _on_finished(self, future) -> None:
        self._set_running(False)
        try:
            report = future.result()
        except Exception as exc:  # noqa: BLE001 - shown, never fatal
            self._log(f"the job failed: {exc}")
            self.ctx.notify.error(f"the model run failed: {one_line(exc)}")
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
        self._project_subs.clear()
        self.ctx.overlays.remove_named(HEATMAP_LAYER)
        if project is not None:
            self._project_subs.add(project.events.predictions_changed, self.update_heatmap)

    def use_checkpoint(self, plugin_id: str, checkpoint: str, device: str | None = None, run: bool = True) -> bool:
        """Choose this plugin and checkpoint (a model just trained) and by default run it on every case."""
        index = next((i for i in range(self.plugin.count())
                      if getattr(self.plugin.itemData(i), "id", None) == plugin_id), -1)
        if index < 0:
            return self._refuse(f"the model dock does not list {plugin_id}")
        self.plugin.setCurrentIndex(index)
        self.checkpoint.setText(str(checkpoint))
        if device:
            self.device.setCurrentText(device)
        return self.start("all") if run else True

    def update_heatmap(self, *_args) -> None:
        """Show (or hide) the current case's newest heat map of the chosen plugin."""
        from workstation.core.review.overlays import HeatMapLayer

        overlays = self.ctx.overlays
        project, case_id, manifest = self.session.project, self.session.current, self.manifest()
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
        volume = self.ctx.volume
        grid = volume if volume is not None and volume.array.shape[:3] == heat.array.shape[:3] else heat
        overlays.put(HeatMapLayer(HEATMAP_LAYER, heat.array, grid, value_range=(0.0, 1.0)))

    def shutdown(self) -> None:
        self.cancel_event.set()
        if self.runner is not None:
            self.runner.close()
            self.runner = None
