"""Plugins that misbehave on purpose, for the runner's fault tests. Imported by the worker process
(the test puts this folder on sys.path, which 'spawn' passes to the child)."""
from __future__ import annotations

import os
import time

import numpy as np

from workstation.plugin_api import ClassProbabilities, HeatMap, InputSpec, PluginManifest, Prediction

CLASSES = ("normal", "abnormal")


def manifest(behaviour: str, task: str = "binary", classes=CLASSES, batch_size: int = 4) -> PluginManifest:
    return PluginManifest(id=f"fault-{behaviour}", name=f"fault {behaviour}", version="0.0.1",
                          kind="classifier", task=task, classes=tuple(classes),
                          input=InputSpec(dims=2, channels=(1,)), factory=f"fault_plugins:build_{behaviour}",
                          batch_size=batch_size, heatmap=True).validate()


class _Base:
    weights_sha256 = "f" * 64

    def __init__(self, checkpoint=None, options=None):
        self.options = options or {}
        self.device = None

    def load(self, device):
        self.device = device

    def _good(self, volume) -> Prediction:
        p = float(np.clip(volume.array.mean() / 255.0, 0, 1))
        return Prediction(ClassProbabilities(CLASSES, [1 - p, p]),
                          heatmap=HeatMap(np.zeros(volume.array.shape[:3], np.float32), target="abnormal"))

    def predict(self, batch, progress=None, cancel=None):
        out = []
        for n, volume in enumerate(batch):
            out.append(self._good(volume))
            if progress:
                progress((n + 1) / len(batch))
        return out


class Good(_Base):
    pass


class Raises(_Base):
    def predict(self, batch, progress=None, cancel=None):
        raise RuntimeError("deliberate failure in predict")


class Sleeps(_Base):
    def predict(self, batch, progress=None, cancel=None):
        time.sleep(600)
        return super().predict(batch)


class NaN(_Base):
    def predict(self, batch, progress=None, cancel=None):
        return [Prediction(ClassProbabilities(CLASSES, [np.nan, np.nan])) for _ in batch]


class WrongShape(_Base):
    def predict(self, batch, progress=None, cancel=None):
        return [Prediction(ClassProbabilities(CLASSES, [0.2, 0.3, 0.5])) for _ in batch]


class NotSumming(_Base):
    def predict(self, batch, progress=None, cancel=None):
        return [Prediction(ClassProbabilities(("a", "b", "c"), [0.5, 0.5, 0.5])) for _ in batch]


class BadHeatmap(_Base):
    def predict(self, batch, progress=None, cancel=None):
        return [Prediction(ClassProbabilities(CLASSES, [0.5, 0.5]), heatmap=HeatMap(np.zeros((1, 3, 3))))
                for _ in batch]


class Crashes(_Base):
    def predict(self, batch, progress=None, cancel=None):
        os._exit(3)  # as a segfault in native code would


class PoisonPixel(_Base):
    """Fails only on images whose first pixel is 13, in a batch or alone."""
    def predict(self, batch, progress=None, cancel=None):
        if any(v.array.flat[0] == 13 for v in batch):
            raise ValueError("cannot handle this image")
        return super().predict(batch)


class WaitsForCancel(_Base):
    def predict(self, batch, progress=None, cancel=None):
        from workstation.plugin_api import Cancelled

        while not cancel():
            time.sleep(0.02)
        raise Cancelled()


class FailsToLoad(_Base):
    def load(self, device):
        raise FileNotFoundError("weights file missing")


class SlowToLoad(_Base):
    def load(self, device):
        time.sleep(600)


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError, which the worker recognises by name."""


class OomAboveOne(_Base):
    """Runs out of memory for batches larger than one, and on every batch on 'cuda'."""
    calls: list = []

    def predict(self, batch, progress=None, cancel=None):
        OomAboveOne.calls.append((self.device, len(batch)))
        if self.device == "cuda" or len(batch) > 1:
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().predict(batch)


build_good = Good
build_raises = Raises
build_sleeps = Sleeps
build_nan = NaN
build_wrongshape = WrongShape
build_notsumming = NotSumming
build_badheatmap = BadHeatmap
build_crashes = Crashes
build_poison = PoisonPixel
build_waitsforcancel = WaitsForCancel
build_failstoload = FailsToLoad
build_oom = OomAboveOne
build_slowload = SlowToLoad


def build_notaplugin(checkpoint=None, options=None):
    return object()
