"""The models feature: the model dock (run a plugin) and the training dock (train one), built
together so that a model just trained is handed to the model dock and run over the project."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from workstation.qt.models.model_dock import ModelPanel
from workstation.qt.models.training_dock import TrainingPanel


def install(ctx) -> dict:
    model = ModelPanel(ctx)
    training = TrainingPanel(ctx)
    training.trained.connect(lambda plugin_id, checkpoint: model.use_checkpoint(
        plugin_id, checkpoint, device=training.device.currentText()))
    ctx.host.add_dock("Model", model, Qt.DockWidgetArea.RightDockWidgetArea)
    ctx.host.add_dock("Training", training, Qt.DockWidgetArea.RightDockWidgetArea)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(model.shutdown)
        app.aboutToQuit.connect(training.shutdown)
    return {"model_dock": model, "training_dock": training}
