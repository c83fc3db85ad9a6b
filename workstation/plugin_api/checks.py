"""Checks the host applies to every plugin output before anything is stored. Plugin authors can
call `prediction_problems` in their own tests."""
from __future__ import annotations

import numpy as np

from workstation.plugin_api.manifest import PluginManifest
from workstation.plugin_api.results import Candidate, ClassProbabilities, HeatMap, Prediction
from workstation.core.vocab import Task

SUM_TOLERANCE = 1e-3


def prediction_problems(manifest: PluginManifest, image_shape: tuple[int, ...], prediction) -> list[str]:
    """Why `prediction` cannot be stored for an image whose voxel grid is `image_shape` ([k, j, i]);
    an empty list when it is fine."""
    if not isinstance(prediction, Prediction):
        return [f"returned a {type(prediction).__name__}, not a Prediction"]
    out: list[str] = []
    probs = prediction.probabilities
    if manifest.task == Task.DETECTION:
        if probs is not None:
            out.extend(_probability_problems(manifest, probs))
        for n, cand in enumerate(prediction.candidates):
            out.extend(f"candidate {n}: {p}" for p in _candidate_problems(cand))
    else:
        if probs is None:
            out.append(f"a {manifest.task} classifier returned no class probabilities")
        else:
            out.extend(_probability_problems(manifest, probs))
        if prediction.candidates:
            out.append("a classifier returned detection candidates")
    if prediction.heatmap is not None:
        out.extend(_heatmap_problems(prediction.heatmap, tuple(image_shape)))
    return out


def _probability_problems(manifest: PluginManifest, probs) -> list[str]:
    if not isinstance(probs, ClassProbabilities):
        return [f"probabilities are a {type(probs).__name__}, not ClassProbabilities"]
    values = probs.values
    if values.shape != (len(manifest.classes),):
        return [f"probabilities have shape {values.shape}, expected ({len(manifest.classes)},) "
                f"for classes {list(manifest.classes)}"]
    if tuple(probs.classes) != tuple(manifest.classes):
        return [f"probabilities name classes {list(probs.classes)}, the manifest {list(manifest.classes)}"]
    if not np.all(np.isfinite(values)):
        return ["probabilities contain NaN or infinity"]
    if values.min() < 0 or values.max() > 1:
        return [f"probabilities outside [0, 1]: {values.round(4).tolist()}"]
    if manifest.task in (Task.BINARY, Task.MULTICLASS) and abs(values.sum() - 1.0) > SUM_TOLERANCE:
        return [f"{manifest.task} probabilities sum to {values.sum():.4f}, not 1"]
    return []


def _candidate_problems(cand) -> list[str]:
    if not isinstance(cand, Candidate):
        return [f"is a {type(cand).__name__}, not a Candidate"]
    out = []
    if len(cand.centre_mm) != 3 or not np.all(np.isfinite(cand.centre_mm)):
        out.append(f"centre {cand.centre_mm} is not three finite millimetre coordinates")
    if not np.isfinite(cand.diameter_mm) or cand.diameter_mm <= 0:
        out.append(f"diameter {cand.diameter_mm} mm is not positive")
    if not np.isfinite(cand.score) or not 0 <= cand.score <= 1:
        out.append(f"score {cand.score} is not in [0, 1]")
    return out


def _heatmap_problems(heatmap, image_shape: tuple[int, ...]) -> list[str]:
    if not isinstance(heatmap, HeatMap):
        return [f"heat map is a {type(heatmap).__name__}, not a HeatMap"]
    if heatmap.array.shape != image_shape:
        return [f"heat map has shape {heatmap.array.shape}, the image grid is {image_shape}"]
    if not np.all(np.isfinite(heatmap.array)):
        return ["heat map contains NaN or infinity"]
    return []
