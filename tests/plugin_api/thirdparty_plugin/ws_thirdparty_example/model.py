"""Scores an image by its mean brightness in its own display window; the heat map is the image."""
import numpy as np

from workstation.plugin_api import ClassProbabilities, HeatMap, Prediction


class BrightnessClassifier:
    weights_sha256 = ""

    def __init__(self, checkpoint=None, options=None):
        self.options = options or {}

    def load(self, device):
        self.device = device

    def predict(self, batch, progress=None, cancel=None):
        out = []
        for n, volume in enumerate(batch):
            grey = volume.array.mean(axis=-1) if volume.is_rgb else volume.array
            grey = grey.astype(np.float32)
            center, width = volume.default_window()
            unit = np.clip((grey - (center - width / 2)) / width, 0, 1)
            p = float(unit.mean())
            out.append(Prediction(ClassProbabilities(("dark", "bright"), [1 - p, p]),
                                  heatmap=HeatMap(unit, target="bright")))
            if progress:
                progress((n + 1) / len(batch))
        return out
