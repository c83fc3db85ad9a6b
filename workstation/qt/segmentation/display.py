"""The segments of the case being edited as one label-mask overlay: segment n is label n + 1 in its
colour. After a dab only the dab's voxel block is recomposed, so a stroke on a 512x512x300 volume
does not pass over the whole volume."""
from __future__ import annotations

import numpy as np

from workstation.core.review.overlays import LabelMaskLayer

LAYER_NAME = "segmentation"


def hex_rgb(colour: str) -> tuple[float, float, float]:
    c = colour.lstrip("#")
    return tuple(int(c[i:i + 2], 16) / 255.0 for i in (0, 2, 4))


class SegmentDisplay:
    def __init__(self, overlays) -> None:
        self.overlays = overlays
        self.layer: LabelMaskLayer | None = None
        self.order: list[str] = []

    def show(self, editor, segments) -> None:
        """Build the layer for the editor's masks (segments: [(name, '#rrggbb')])."""
        self.order = [name for name, _ in segments]
        labels = np.zeros(editor.grid.shape, dtype=np.uint8)
        self._compose(editor, labels, (slice(None),) * 3)
        colours = {n + 1: hex_rgb(colour) for n, (_, colour) in enumerate(segments)}
        self.layer = LabelMaskLayer(LAYER_NAME, labels, None, colours=colours, opacity=0.5)
        self.overlays.put(self.layer)

    def _compose(self, editor, labels: np.ndarray, box) -> None:
        block = np.zeros(labels[box].shape, dtype=np.uint8)
        for n, name in enumerate(self.order):
            mask = editor.masks.get(name)
            if mask is not None:
                block[mask[box] != 0] = n + 1
        labels[box] = block

    def update(self, editor, box=None) -> None:
        """Recompose `box` (all when None) after an edit, and tell the views."""
        if self.layer is None:
            return
        self._compose(editor, self.layer.array, box if box is not None else (slice(None),) * 3)
        self.layer.notify_data_changed()

    def hide(self) -> None:
        self.overlays.remove_named(LAYER_NAME)
        self.layer = None
