"""A small dock listing the overlay layers: a check box to show or hide each, an opacity slider,
and what the layer holds. It follows the OverlayList's events."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget,
)

from workstation.core.review.overlays import Layer, OverlayList
from workstation.qt.viewer.overlay_actors import layer_summary


class LayerRow(QWidget):
    def __init__(self, layer: Layer, parent=None) -> None:
        super().__init__(parent)
        self.layer = layer
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        self.check = QCheckBox(layer.name)
        self.check.setChecked(layer.visible)
        self.check.toggled.connect(self._set_visible)
        self.opacity = QSlider(Qt.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(layer.opacity * 100))
        self.opacity.setFixedWidth(90)
        self.opacity.setToolTip("opacity")
        self.opacity.valueChanged.connect(self._set_opacity)
        self.summary = QLabel(layer_summary(layer))
        self.summary.setStyleSheet("color: gray")
        row.addWidget(self.check, 1)
        row.addWidget(self.summary)
        row.addWidget(self.opacity)
        layer.events.changed.connect(self.refresh)

    def _set_visible(self, on: bool) -> None:
        self.layer.visible = on

    def _set_opacity(self, value: int) -> None:
        self.layer.opacity = value / 100.0

    def refresh(self) -> None:
        self.check.blockSignals(True)
        self.opacity.blockSignals(True)
        self.check.setChecked(self.layer.visible)
        self.opacity.setValue(round(self.layer.opacity * 100))
        self.summary.setText(layer_summary(self.layer))
        self.check.blockSignals(False)
        self.opacity.blockSignals(False)

    def detach(self) -> None:
        self.layer.events.changed.disconnect(self.refresh)


class LayersPanel(QWidget):
    def __init__(self, overlays: OverlayList, parent=None) -> None:
        super().__init__(parent)
        self.overlays = overlays
        self.rows: list[LayerRow] = []
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(2, 2, 2, 2)
        self.empty = QLabel("No overlay layers")
        self.empty.setStyleSheet("color: gray")
        self.box.addWidget(self.empty)
        self.box.addStretch(1)
        overlays.events.connect(self.rebuild)
        self.rebuild()

    def rebuild(self, *args) -> None:
        for row in self.rows:
            row.detach()
            self.box.removeWidget(row)
            row.setParent(None)  # gone now, not at the next event-loop turn
            row.deleteLater()
        self.rows = []
        for index, layer in enumerate(reversed(list(self.overlays))):  # top layer first
            row = LayerRow(layer, self)
            self.box.insertWidget(index, row)
            self.rows.append(row)
        self.empty.setVisible(not self.rows)
