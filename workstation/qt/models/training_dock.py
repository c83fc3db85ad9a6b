"""The training dock: train a classifier on the open project in the background (progress, cancel);
`trained` then carries the new checkpoint to the model dock (qt/models/install.py wires the two),
which runs it over every case, so that predictions, live metrics and the worklist follow the new
model. It also chooses the session's worklist order for the active-learning loop: most uncertain
first (entropy or margin) or model-reader disagreement first (core/review/ordering.py); the session
orders again whenever it reads predictions or labels again.

Training runs on a thread of its own with its own connection to the project; torch and MONAI are
imported there, never when the window opens.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from workstation.core.vocab import Task
from workstation.qt.threads import Job, Subscriptions, in_gui, run_in_background

ORDERINGS = [("Project order", None), ("Most uncertain first (entropy)", "entropy"),
             ("Most uncertain first (margin)", "margin"), ("Model–reader disagreement first", "disagreement")]


class TrainingPanel(QWidget):
    trained = Signal(str, str)  # plugin id, checkpoint path

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.thread: Job | None = None
        self.cancel_event = threading.Event()
        self.result = None
        self.error = ""
        self._progress = in_gui(self._on_progress, self)  # called by the training thread
        self._build()
        Subscriptions(self).add(self.session.events.project_changed, lambda _p: self.ordering.setCurrentIndex(0))

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

    def _browse(self) -> None:
        project = self.session.project
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
        project = self.session.project
        if project is None:
            return self._say("open a project first: training uses its final labels")
        if self.running:
            return self._say("training is already running")
        config = config or self.config()
        self.cancel_event = threading.Event()
        self.result, self.error = None, ""
        self._set_running(True)
        self._say(f"training {config.plugin} ({config.mode}) on {Path(project.directory).name}…")
        self.thread = run_in_background(self._work, Path(project.directory), config, name="workstation-training",
                                        on_result=lambda result: self._on_finished(result, ""),
                                        on_error=lambda text: self._on_finished(None, text), owner=self)
        return True

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _work(self, directory: Path, config):
        from workstation.core.project import Project
        from workstation.ml.training import train

        with Project.open(directory) as project:  # its own connection, off the GUI thread
            return train(project, config, self._progress, self.cancel_event.is_set)

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
            if not self.cancel_event.is_set():  # a failure, not the reader's Cancel
                self.ctx.notify.error(f"training stopped: {error}")
            return
        self.progress.setValue(1000)
        auc = result.card["validation"].get("auc")
        self._say(f"trained: best epoch {result.best_epoch}, validation AUC "
                  f"{'undefined' if auc is None else f'{auc:.3f}'}; {Path(result.checkpoint).name}")
        self.trained.emit(result.card["plugin"], result.checkpoint)

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setValue(0)

    def _say(self, text: str) -> bool:
        self.status.setText(text)
        return False

    # ---- worklist ordering (the session's) -----------------------------------------------------
    def apply_ordering(self, key: str | None = "", select_first: bool = True) -> list[str] | None:
        """Order the session's worklist by `key` (entropy | margin | disagreement | None for project
        order; "" keeps the dock's choice). Returns the worklist so ordered, or None when there is none."""
        if key != "":
            self.ordering.setCurrentIndex(max(0, self.ordering.findData(key)))
        key = self.ordering.currentData()
        session = self.session
        if session.project is None:
            return None
        if session.task not in (Task.BINARY, Task.MULTICLASS, Task.MULTILABEL):
            self._say("orderings need case-level predictions (not a detection project)")
            return None
        try:
            session.set_order(key)
        except ValueError as exc:
            self._say(str(exc))
            return None
        order = session.case_ids()
        if select_first and order:
            session.go_to(order[0])
        return order

    def shutdown(self) -> None:
        self.cancel_event.set()
        if self.thread is not None:
            self.thread.join(30)

