"""The training dock: train a classifier on the open project in the background (progress, cancel),
then hand the new checkpoint to the model dock and run it over every case, so that predictions,
live metrics and the worklist follow the new model. It also orders the worklist for the
active-learning loop: most uncertain first (entropy or margin) or model-reader disagreement first
(`workstation.core.review.ordering.order_project`), re-applied whenever predictions or labels change.

`install(window)` adds the dock as `window.training_dock` (a TrainingPanel). Training runs on a
Python thread with its own connection to the project; torch and MONAI are imported there, never
when the window opens.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget)

ORDERINGS = [("Project order", None), ("Most uncertain first (entropy)", "entropy"),
             ("Most uncertain first (margin)", "margin"), ("Model–reader disagreement first", "disagreement")]


class _Bridge(QObject):
    progress = Signal(object)  # TrainProgress
    finished = Signal(object, str)  # TrainResult or None, error text


class TrainingPanel(QWidget):
    trained = Signal(str, str)  # plugin id, checkpoint path

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.thread: threading.Thread | None = None
        self.cancel_event = threading.Event()
        self.result = None
        self.error = ""
        self._bridge = _Bridge()
        self._bridge.progress.connect(self._on_progress, Qt.QueuedConnection)
        self._bridge.finished.connect(self._on_finished, Qt.QueuedConnection)
        self._project = None
        self._reorder_timer = QTimer(self, singleShot=True, interval=150)
        self._reorder_timer.timeout.connect(lambda: self.apply_ordering(select_first=False))
        self._build()
        changed = getattr(window, "project_changed", None)
        if changed is not None:
            changed.connect(self._on_project)
        if getattr(window, "project", None) is not None:
            self._on_project(window.project)

    def _build(self) -> None:
        self.plugin = QComboBox()
        self.plugin.addItems(["densenet2d", "densenet3d"])
        self.mode = QComboBox()
        self.mode.addItem("Fine-tune all layers", "finetune")
        self.mode.addItem("Features only (frozen backbone)", "features")
        self.pretrained = QLineEdit(placeholderText="none: train from scratch")
        browse = QToolButton(text="…", toolTip="A checkpoint of ours or a torchvision densenet121 state dict")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.pretrained)
        row.addWidget(browse)
        self.epochs = QSpinBox(minimum=1, maximum=1000, value=20)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.multitask = QCheckBox("Multi-task (mask or heat-map head)")
        form = QFormLayout()
        form.addRow("Plugin", self.plugin)
        form.addRow("Mode", self.mode)
        form.addRow("Pretrained", row)
        form.addRow("Epochs", self.epochs)
        form.addRow("Device", self.device)
        form.addRow("", self.multitask)
        self.train_button = QPushButton("Train on final labels")
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.train_button.clicked.connect(self.start_training)
        self.cancel_button.clicked.connect(lambda: self.cancel_event.set())
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("", wordWrap=True)
        self.ordering = QComboBox(toolTip="Order the worklist so that readers label where it changes the model most")
        for text, key in ORDERINGS:
            self.ordering.addItem(text, key)
        self.ordering.activated.connect(lambda _i: self.apply_ordering(select_first=True))
        order_row = QHBoxLayout()
        order_row.addWidget(QLabel("Worklist:"))
        order_row.addWidget(self.ordering, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(order_row)
        layout.addStretch(1)

    # ---- project -------------------------------------------------------------------------------
    def _on_project(self, project) -> None:
        if self._project is not None:
            ev = self._project.events
            for signal in (ev.predictions_changed, ev.label_changed):
                try:
                    signal.disconnect(self._schedule_reorder)
                except (RuntimeError, ValueError, TypeError):
                    pass
        self._project = project
        if project is not None:
            project.events.predictions_changed.connect(self._schedule_reorder)
            project.events.label_changed.connect(self._schedule_reorder)
        self.ordering.setCurrentIndex(0)

    def _schedule_reorder(self, *_args) -> None:
        # psygnal may call from another thread; the timer must start on the GUI thread
        QTimer.singleShot(0, self, self._reorder_timer.start)

    def _browse(self) -> None:
        project = getattr(self.window, "project", None)
        start = str(Path(project.directory) / "models") if project is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Pretrained weights", start, "Weights (*.pt *.pth)")
        if path:
            self.pretrained.setText(path)

    # ---- training ------------------------------------------------------------------------------
    def config(self):
        from workstation.ml.training.config import TrainConfig

        return TrainConfig(plugin=self.plugin.currentText(), mode=self.mode.currentData(),
                           pretrained=self.pretrained.text().strip() or None, epochs=self.epochs.value(),
                           device=self.device.currentText(), multitask=self.multitask.isChecked())

    def start_training(self, config=None) -> bool:
        """Train in the background; False (with the reason shown) when it cannot start."""
        project = getattr(self.window, "project", None)
        if project is None:
            return self._say("open a project first: training uses its final labels")
        if self.thread is not None and self.thread.is_alive():
            return self._say("training is already running")
        config = config or self.config()
        self.cancel_event = threading.Event()
        self.result, self.error = None, ""
        self._set_running(True)
        self._say(f"training {config.plugin} ({config.mode}) on {Path(project.directory).name}…")
        self.thread = threading.Thread(target=self._work, args=(Path(project.directory), config),
                                       name="workstation-training", daemon=True)
        self.thread.start()
        return True

    def _work(self, directory: Path, config) -> None:
        try:
            from workstation.core.project import Project
            from workstation.ml.training import train

            with Project.open(directory) as project:  # its own connection, off the GUI thread
                result = train(project, config, self._bridge.progress.emit, self.cancel_event.is_set)
        except Exception as exc:  # noqa: BLE001 - shown in the dock, never fatal
            self._bridge.finished.emit(None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        else:
            self._bridge.finished.emit(result, "")

    def _on_progress(self, p) -> None:
        self.progress.setValue(int(1000 * p.fraction))
        text = p.message
        if p.val_auc is not None and p.val_auc == p.val_auc:
            text += f" — validation AUC {p.val_auc:.3f}"
        self.status.setText(text)

    def _on_finished(self, result, error: str) -> None:
        self._set_running(False)
        self.result, self.error = result, error
        if result is None:
            self._say(f"training stopped: {error}")
            return
        self.progress.setValue(1000)
        auc = result.card["validation"].get("auc")
        self._say(f"trained: best epoch {result.best_epoch}, validation AUC "
                  f"{'undefined' if auc is None else f'{auc:.3f}'}; {Path(result.checkpoint).name}")
        plugin = result.card["plugin"]
        self.trained.emit(plugin, result.checkpoint)
        self.switch_model(plugin, result.checkpoint)

    def switch_model(self, plugin_id: str, checkpoint: str, run: bool = True) -> bool:
        """Point the model dock at the new checkpoint and (by default) run it on every case."""
        dock = getattr(self.window, "model_dock", None)
        if dock is None:
            return self._say("no model dock: run the new checkpoint with `workstation infer`")
        if hasattr(dock, "set_checkpoint"):
            dock.set_checkpoint(plugin_id, checkpoint)
        else:
            index = next((i for i in range(dock.plugin.count())
                          if getattr(dock.plugin.itemData(i), "id", None) == plugin_id), -1)
            if index < 0:
                return self._say(f"the model dock does not list {plugin_id}")
            dock.plugin.setCurrentIndex(index)
            dock.checkpoint.setText(str(checkpoint))
        dock.device.setCurrentText(self.device.currentText())
        return dock.start("all") if run else True

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setValue(0)

    def _say(self, text: str) -> bool:
        self.status.setText(text)
        return False

    # ---- worklist ordering ---------------------------------------------------------------------
    def apply_ordering(self, key: str | None = "", select_first: bool = True) -> list[str] | None:
        """Order the worklist by `key` (entropy | margin | disagreement | None for project order;
        "" keeps the dock's choice). Returns the order applied, or None when there is none."""
        if key != "":
            self.ordering.setCurrentIndex(max(0, self.ordering.findData(key)))
        key = self.ordering.currentData()
        project = getattr(self.window, "project", None)
        worklist = getattr(self.window, "worklist", None)
        if project is None or worklist is None:
            return None
        if project.task not in ("binary", "multiclass", "multilabel"):
            self._say("orderings need case-level predictions (not a detection project)")
            return None
        if key is None:
            order = project.case_ids()
        else:
            from workstation.core.review.ordering import order_project

            reader = getattr(getattr(worklist, "model", None), "reader", "") or ""
            truth = reader if key == "disagreement" and reader in project.readers() else "final"
            try:
                order = order_project(project, key, truth=truth)
            except ValueError as exc:
                self._say(str(exc))
                return None
        set_worklist_order(worklist, order, select_first)
        return order

    def shutdown(self) -> None:
        self.cancel_event.set()
        if self.thread is not None:
            self.thread.join(30)


def set_worklist_order(worklist, order: list[str], select_first: bool = True) -> None:
    """Show the worklist's rows in `order` (cases not in it keep their place after it)."""
    worklist.set_order(order)
    if select_first:
        worklist.select_row(0)


def install(window) -> TrainingPanel:
    panel = TrainingPanel(window)
    window.training_dock = panel
    window.add_dock("Training", panel, Qt.RightDockWidgetArea)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(panel.shutdown)
    return panel
