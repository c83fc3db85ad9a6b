"""The MONAI DenseNet classifier behind the bundled `densenet2d` and `densenet3d` plugins.

Weights come only from a checkpoint file (see `checkpoint.py`); nothing is downloaded. Without a
checkpoint, `load` refuses with a message saying where to put one, unless the caller passes the
option `allow_untrained` (tests, benchmarks), in which case a seeded random network runs and its
weights are recorded as "untrained".
"""
from __future__ import annotations

from typing import Any

import numpy as np

from workstation.core.vocab import Task
from workstation.plugin_api import CheckpointMissing, ClassProbabilities, HeatMap, PluginError, Prediction

from workstation.ml import preprocess


class DenseNetClassifier:
    plugin_id = ""
    dims = 2
    default_size: tuple[int, ...] = ()
    default_spacing: tuple[float, ...] | None = None
    default_task = "binary"
    default_classes = ("negative", "positive")

    def __init__(self, checkpoint: str | None = None, options: dict[str, Any] | None = None):
        self.checkpoint_path = checkpoint
        self.options = dict(options or {})
        self.model = None
        self.device = "cpu"
        self.weights_sha256 = ""
        self._explainer = None

    def _untrained(self) -> tuple[dict, dict, str, list[str]]:
        task = self.options.get("task", self.default_task)
        classes = list(self.options.get("classes", self.default_classes))
        from workstation.ml.checkpoint import output_size

        arch = {"name": "DenseNet121", "spatial_dims": self.dims, "in_channels": int(self.options.get("in_channels", 1)),
                "out_channels": output_size(task, classes)}
        prep = {"size": list(self.options.get("size", self.default_size)), "spacing": self.default_spacing}
        return arch, prep, task, classes

    def load(self, device: str) -> None:
        import torch

        from workstation.ml.checkpoint import CheckpointError, load_checkpoint
        from workstation.ml.networks import build_network

        if self.checkpoint_path:
            try:
                ckpt = load_checkpoint(self.checkpoint_path, plugin_id=self.plugin_id)
            except CheckpointError as exc:
                raise PluginError(str(exc)) from exc
            arch, prep, state = ckpt.architecture, ckpt.preprocessing, ckpt.state_dict
            self.task, self.classes, self.weights_sha256 = ckpt.task, list(ckpt.classes), ckpt.sha256
            if int(arch.get("spatial_dims", 0)) != self.dims:
                raise PluginError(f"checkpoint {self.checkpoint_path} is a {arch.get('spatial_dims')}D network; "
                                  f"{self.plugin_id} needs {self.dims}D")
        elif self.options.get("allow_untrained"):
            arch, prep, self.task, self.classes = self._untrained()
            torch.manual_seed(int(self.options.get("seed", 0)))
            state, self.weights_sha256 = None, "untrained"
        else:
            raise CheckpointMissing(
                f"{self.plugin_id} has no weights: pass --checkpoint PATH (or keep a checkpoint in the project's "
                f"models/{self.plugin_id}/ folder); nothing is downloaded")
        model = build_network(arch)
        if state is not None:
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise PluginError(f"checkpoint weights do not fit its architecture: {str(exc).splitlines()[0]}") from exc
        self.model = model.to(device).eval()
        self.device = device
        self.in_channels = int(arch["in_channels"])
        self.size = tuple(int(s) for s in (prep.get("size") or self.default_size))
        spacing = prep.get("spacing", self.default_spacing)
        self.spacing = tuple(float(s) for s in spacing) if spacing else None
        self.mean, self.std = prep.get("mean"), prep.get("std")
        self._explainer = None

    def prepare(self, volume):
        """The network input (C, *network grid) for one volume, and where the image sits in it."""
        data = preprocess.match_channels(preprocess.to_unit_intensity(volume), self.in_channels)
        if self.dims == 2:
            if volume.array.shape[0] != 1:
                raise PluginError(f"{self.plugin_id} reads 2D images; this is a volume of {volume.array.shape[0]} slices")
            tensor, placement = preprocess.fit_2d(data, self.size)
        else:
            if volume.array.shape[0] < 2:
                raise PluginError(f"{self.plugin_id} reads 3D volumes; this is a single 2D image")
            tensor, placement = preprocess.fit_3d(data, volume.spacing, self.spacing, self.size)
        return preprocess.normalise(tensor, self.mean, self.std), placement

    def predict(self, batch, progress=None, cancel=None) -> list[Prediction]:
        import torch

        from workstation.ml.device import autocast

        prepared = [self.prepare(v) for v in batch]
        x = torch.stack([t for t, _ in prepared]).to(self.device)
        with torch.inference_mode(), autocast(self.device):
            logits = self.model(x)
        from workstation.ml.networks import probabilities

        probs = probabilities(logits, self.task)
        out = []
        for n, (volume, (_, placement)) in enumerate(zip(batch, prepared)):
            if cancel is not None and cancel():
                from workstation.plugin_api import Cancelled

                raise Cancelled()
            heatmap = self._heatmap(x[n:n + 1], probs[n], placement, volume) if self.options.get("heatmap") else None
            out.append(Prediction(ClassProbabilities(self.classes, probs[n]), heatmap=heatmap))
            if progress is not None:
                progress((n + 1) / len(batch))
        return out

    def _heatmap(self, x, probs: np.ndarray, placement, volume) -> HeatMap:
        """Grad-CAM of the positive logit (binary) or of the most probable class."""
        from workstation.ml.gradcam import GradCamExplainer

        if self._explainer is None:
            self._explainer = GradCamExplainer(self.model)
        if self.task == Task.BINARY:
            index, target = 0, self.classes[1]
        else:
            index = int(np.argmax(probs))
            target = self.classes[index]
        cam = self._explainer(x, index)[0]
        image = preprocess.heatmap_to_image(cam, placement)
        if self.dims == 2:
            image = image[np.newaxis]
        peak = float(image.max())
        return HeatMap(image / peak if peak > 0 else image, target=target)
