"""Typed plugin outputs, one `Prediction` per input image. Plain dataclasses of numbers and numpy
arrays, so that they cross a process boundary by pickling."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ClassProbabilities:
    """Probabilities in manifest class order. Binary and multiclass: they sum to 1 (binary lists
    (negative, positive)); multilabel: each label has its own probability in [0, 1]."""
    classes: tuple[str, ...]
    values: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "values", np.asarray(self.values, dtype=np.float64).reshape(-1))

    def as_dict(self) -> dict[str, float]:
        return {name: float(v) for name, v in zip(self.classes, self.values)}


@dataclass(frozen=True)
class Candidate:
    """A detected finding: centre in world millimetres (LPS), its diameter, and a score in [0, 1]."""
    centre_mm: tuple[float, float, float]
    diameter_mm: float
    score: float
    label: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "centre_mm", tuple(float(c) for c in self.centre_mm))
        object.__setattr__(self, "diameter_mm", float(self.diameter_mm))
        object.__setattr__(self, "score", float(self.score))

    def as_dict(self) -> dict:
        return {"centre": list(self.centre_mm), "diameter_mm": self.diameter_mm, "score": self.score,
                "label": self.label}


@dataclass(frozen=True)
class HeatMap:
    """Where the model looked, on the input image's own voxel grid (numpy order [k, j, i], the
    shape of `Volume.array[..., 0]`), scaled to [0, 1]. `target` names the class it explains."""
    array: np.ndarray
    target: str = ""
    method: str = "gradcam"

    def __post_init__(self) -> None:
        object.__setattr__(self, "array", np.asarray(self.array, dtype=np.float32))


@dataclass(frozen=True)
class Prediction:
    probabilities: ClassProbabilities | None = None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    heatmap: HeatMap | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", tuple(self.candidates))
