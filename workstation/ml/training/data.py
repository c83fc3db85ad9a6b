"""Training data from a review Project: the final labels, the export's patient-grouped splits, and
each image prepared exactly as the classifier plugin prepares it at inference time
(`workstation.ml.preprocess`), so that training and inference see the same pixels.

A case may also carry a target for the multi-task head:
- a segmentation mask: `case.metadata["mask"]`, a label image on the case image's grid (any voxel
  above 0 is foreground; a relative path is taken from the project folder);
- otherwise localisation points: the readers' accepted findings on the case (`confirmed`/`added`
  candidate decisions with a world-mm centre), or `case.metadata["points"]` ([[x, y, z, radius_mm]]),
  drawn as a Gaussian heat map (sigma = the finding's radius, at least MIN_SIGMA_MM).
Prepared images are cached in memory (the network grid is small); augmentation runs per epoch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from workstation.core.export.from_project import project_splits
from workstation.core.vocab import ACCEPTED_STATES, Task
from workstation.ml import preprocess

SPLITS = ("training", "validation", "test")
MIN_SIGMA_MM = 3.0
ACCEPTED = ACCEPTED_STATES  # candidate states that make a lesion of the reader's truth


@dataclass
class CaseItem:
    case_id: str
    paths: list[str]
    patient_id: str | None
    label: Any  # the project's truth value
    target: np.ndarray  # binary: [0|1]; multiclass: class index; multilabel: 0/1 per class
    mask_path: str | None = None
    points: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def aux_kind(self) -> str | None:
        return "mask" if self.mask_path else ("heatmap" if self.points else None)


def encode(value, task: str, classes: list[str]) -> np.ndarray:
    if task == Task.BINARY:
        return np.array([1.0 if value == classes[1] else 0.0], np.float32)
    if task == Task.MULTICLASS:
        return np.array(classes.index(value), np.int64)
    chosen = set(value)
    return np.array([1.0 if c in chosen else 0.0 for c in classes], np.float32)


def _resolve(project, path: str) -> str:
    p = Path(path)
    return str(p if p.is_absolute() or p.exists() else Path(project.directory) / p)


def _points(project, case) -> list[tuple[float, float, float, float]]:
    out = []
    for state in project.candidate_states(case.case_id).values():
        centre = state.get("centre")
        if state.get("state") in ACCEPTED and centre and len(centre) == 3:
            out.append((*map(float, centre), float(state.get("diameter") or 0.0) / 2.0))
    for row in case.metadata.get("points") or []:
        if len(row) >= 3:
            out.append((float(row[0]), float(row[1]), float(row[2]), float(row[3]) if len(row) > 3 else 0.0))
    return out


def project_items(project, truth: str = "final", splits=(0.7, 0.15, 0.15), seed: int = 0,
                  with_aux: bool = False, level=None) -> dict[str, list[CaseItem]]:
    """The labelled cases of each split, in project order. The split is the export's
    (`project_splits`): every case of a patient in one split, stratified by class. With a taxonomy
    `level`, the labels are its nodes (levels.py)."""
    if project.task not in (Task.BINARY, Task.MULTICLASS, Task.MULTILABEL):
        raise ValueError(f"a {project.task} project has no case labels to train a classifier on")
    from workstation.ml.training import levels

    task, classes = levels.target(project, level)
    if levels.resolved(project, level) is None:
        truth_by_case = project.truth(truth)
        assignment = project_splits(project, truth, splits, seed)
    else:
        truth_by_case = levels.truth(project, truth, level)
        assignment = levels.splits(project, truth, level, splits, seed)
    out: dict[str, list[CaseItem]] = {name: [] for name in SPLITS}
    for case in project.cases():
        split = assignment.get(case.case_id)
        value = truth_by_case.get(case.case_id)
        if split is None or value is None:
            continue
        mask = case.metadata.get("mask") if with_aux else None
        out[split].append(CaseItem(case.case_id, [_resolve(project, p) for p in case.paths], case.patient_id, value,
                                   encode(value, task, classes),
                                   _resolve(project, str(mask)) if mask else None,
                                   _points(project, case) if with_aux and not mask else []))
    return out


@dataclass
class Preparation:
    """How images become network inputs: the checkpoint's `preprocessing` plus dims and channels."""
    dims: int
    in_channels: int
    size: tuple[int, ...]
    spacing: tuple[float, ...] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None

    def as_checkpoint(self) -> dict[str, Any]:
        return {"size": list(self.size), "spacing": list(self.spacing) if self.spacing else None,
                "mean": self.mean, "std": self.std}

    def fit(self, data: np.ndarray, volume):
        if self.dims == 2:
            if volume.array.shape[0] != 1:
                raise ValueError(f"a 2D network needs single images; this is a volume of {volume.array.shape[0]} slices")
            return preprocess.fit_2d(data, self.size)[0]
        if volume.array.shape[0] < 2:
            raise ValueError("a 3D network needs volumes; this is a single 2D image")
        return preprocess.fit_3d(data, volume.spacing, self.spacing, self.size)[0]

    def image(self, volume):
        data = preprocess.match_channels(preprocess.to_unit_intensity(volume), self.in_channels)
        return preprocess.normalise(self.fit(data, volume), self.mean, self.std)

    def mask(self, mask: np.ndarray, volume):
        data = (np.asarray(mask) > 0).astype(np.float32).reshape((1,) + volume.array.shape[:3])
        return self.fit_target(data, volume)

    def heatmap(self, points, volume):
        return self.fit_target(gaussian_heatmap(volume, points)[np.newaxis], volume)

    def fit_target(self, data: np.ndarray, volume):
        """An aux target (1, k, j, i) onto the network grid, placed exactly as the image is but
        shrunk by max pooling: a 3 mm microbleed must not vanish between 4 mm samples."""
        import torch
        import torch.nn.functional as F

        target = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
        if self.dims == 2:
            target = target.reshape(1, *target.shape[-2:])
            resized = preprocess.fit_2d(data.reshape(1, *data.shape[-2:]), self.size)[1].resized
            pooled = F.adaptive_max_pool2d(target[None], resized)[0]
            return preprocess.fit_2d(pooled.numpy(), self.size)[0].clamp(0, 1)
        resized = preprocess.fit_3d(data, volume.spacing, self.spacing, self.size)[1].resized
        pooled = F.adaptive_max_pool3d(target[None], resized)[0]
        return preprocess.fit_3d(pooled.numpy(), (1.0, 1.0, 1.0), None, self.size)[0].clamp(0, 1)


def gaussian_heatmap(volume, points) -> np.ndarray:
    """A float32 map on the volume's grid ([k, j, i]): the maximum over the points of
    exp(-d^2 / 2 sigma^2), d in mm, sigma the point's radius (at least MIN_SIGMA_MM)."""
    shape = volume.array.shape[:3]
    heat = np.zeros(shape, np.float32)
    spacing = np.asarray(volume.spacing, float)
    for x, y, z, radius in points:
        sigma = max(radius, MIN_SIGMA_MM)
        centre = volume.world_to_index([x, y, z])  # i, j, k
        reach = np.ceil(3 * sigma / spacing)
        lo = np.maximum(np.floor(centre - reach), 0).astype(int)
        hi = np.minimum(np.ceil(centre + reach), np.asarray(shape[::-1]) - 1).astype(int)
        if np.any(hi < lo):
            continue
        axes = [(np.arange(lo[a], hi[a] + 1) - centre[a]) * spacing[a] for a in range(3)]
        d2 = axes[2][:, None, None] ** 2 + axes[1][None, :, None] ** 2 + axes[0][None, None, :] ** 2
        region = (slice(lo[2], hi[2] + 1), slice(lo[1], hi[1] + 1), slice(lo[0], hi[0] + 1))
        heat[region] = np.maximum(heat[region], np.exp(-d2 / (2 * sigma ** 2)).astype(np.float32))
    return heat


def read_case_volume(item: CaseItem):
    from workstation.core.io import read_volume

    return read_volume(item.paths[0] if len(item.paths) == 1 else item.paths)


def prepare(items: list[CaseItem], prep: Preparation, multitask: bool = False,
            progress: Callable[[int, int, str], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> tuple[list[dict], list[dict]]:
    """Read and prepare every case once: ([{"image", "label", "aux", "has_aux", "case_id"}],
    [{"case_id", "reason"}] for the cases skipped because they could not be read)."""
    import torch

    from workstation.ml.training.errors import TrainingCancelled

    records, skipped = [], []
    for n, item in enumerate(items):
        if cancel is not None and cancel():
            raise TrainingCancelled()
        try:
            volume = read_case_volume(item)
            image = prep.image(volume)
            aux = torch.zeros((1, *image.shape[1:]))
            if multitask and item.mask_path:
                from workstation.core.io import read_volume

                aux = prep.mask(read_volume(item.mask_path).array, volume)
            elif multitask and item.points:
                aux = prep.heatmap(item.points, volume)
        except Exception as exc:  # an unreadable case is skipped and named, never fatal
            skipped.append({"case_id": item.case_id, "reason": str(exc).splitlines()[0] if str(exc) else type(exc).__name__})
            continue
        records.append({"case_id": item.case_id, "image": image.float(), "label": torch.as_tensor(item.target),
                        "aux": aux.float(), "has_aux": torch.tensor(float(multitask and item.aux_kind is not None))})
        if progress is not None:
            progress(n + 1, len(items), item.case_id)
    return records, skipped


def augmentations(dims: int, seed: int):
    """MONAI random transforms, image and aux target moved together: small rotations, scaling and
    shifts, contrast (gamma) and noise. No flips: left and right differ in medical images."""
    from monai.transforms import Compose, RandAdjustContrastd, RandAffined, RandGaussianNoised

    rotate = 0.15 if dims == 2 else (0.1, 0.1, 0.1)
    transform = Compose([
        RandAffined(keys=["image", "aux"], prob=0.7, rotate_range=rotate, scale_range=0.1,
                    translate_range=[4] * dims, mode=("bilinear", "bilinear"), padding_mode="zeros"),
        RandAdjustContrastd(keys=["image"], prob=0.3, gamma=(0.8, 1.25)),
        RandGaussianNoised(keys=["image"], prob=0.3, std=0.02),
    ])
    transform.set_random_state(seed)
    return transform
