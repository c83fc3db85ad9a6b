"""Localisation boxes and their metrics, as Wang et al. (ChestX-ray8, CVPR 2017) reported them.

A box is in image pixels: `x`, `y` the column and row of its top-left corner, `w`, `h` its width
and height (the NIH `BBox_List_2017.csv` convention). A ground-truth box counts as correctly
localised at threshold T when some predicted box of the same finding on the same image overlaps it
with IoU > T (or IoBB > T, intersection over the *predicted* box's area); a predicted box that
overlaps no ground-truth box of its finding above T is a false positive. Accuracy = correctly
localised ground-truth boxes / all ground-truth boxes; AFP = false positives / images.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy import ndimage

IOU_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
IOBB_THRESHOLDS = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    finding: str = ""
    score: float | None = None

    def __post_init__(self) -> None:
        for name in ("x", "y", "w", "h"):
            value = float(getattr(self, name))
            if not np.isfinite(value):
                raise ValueError(f"box {name} is not a finite number: {getattr(self, name)!r}")
            object.__setattr__(self, name, value)
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"box width and height must be positive, got w={self.w}, h={self.h}")

    @property
    def area(self) -> float:
        return self.w * self.h

    def to_json(self) -> dict:
        out = {"finding": self.finding, "x": self.x, "y": self.y, "w": self.w, "h": self.h}
        if self.score is not None:
            out["score"] = float(self.score)
        return out


def intersection(a: Box, b: Box) -> float:
    dx = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    dy = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return dx * dy if dx > 0 and dy > 0 else 0.0


def iou(a: Box, b: Box) -> float:
    inter = intersection(a, b)
    return min(1.0, inter / (a.area + b.area - inter))  # (x + w) - x may exceed w by an ulp


def iobb(predicted: Box, truth: Box) -> float:
    """Intersection over the predicted box's area: 1 when the prediction lies inside the truth."""
    return min(1.0, intersection(predicted, truth) / predicted.area)


_MEASURES = {"iou": iou, "iobb": iobb}


@dataclass
class LocalisationScores:
    """Counts for one finding (or all pooled) at each threshold of each measure."""
    images: int = 0
    truth_boxes: int = 0
    predicted_boxes: int = 0
    hits: dict[str, dict[float, int]] = field(default_factory=dict)
    false_positives: dict[str, dict[float, int]] = field(default_factory=dict)

    def add(self, other: "LocalisationScores") -> None:
        self.images += other.images
        self.truth_boxes += other.truth_boxes
        self.predicted_boxes += other.predicted_boxes
        for table, theirs in ((self.hits, other.hits), (self.false_positives, other.false_positives)):
            for measure, per_t in theirs.items():
                mine = table.setdefault(measure, {})
                for t, n in per_t.items():
                    mine[t] = mine.get(t, 0) + n

    def accuracy(self, measure: str, t: float) -> float:
        return self.hits[measure][t] / self.truth_boxes if self.truth_boxes else float("nan")

    def afp(self, measure: str, t: float) -> float:
        return self.false_positives[measure][t] / self.images if self.images else float("nan")

    def to_json(self) -> dict:
        out = {"images": self.images, "truth_boxes": self.truth_boxes, "predicted_boxes": self.predicted_boxes}
        for measure, per_t in self.hits.items():
            out[measure] = {
                _key(t): {"accuracy": _num(self.accuracy(measure, t)), "afp": _num(self.afp(measure, t)),
                          "hits": per_t[t], "false_positives": self.false_positives[measure][t]}
                for t in sorted(per_t)}
        return out


def _key(t: float) -> str:
    return f"{t:g}"


def _num(v: float):
    return None if np.isnan(v) else round(float(v), 6)


@dataclass
class BoxEvaluation:
    findings: dict[str, LocalisationScores]
    overall: LocalisationScores
    image_set: str
    unmatched_images: list[str]  # predicted images absent from the truth (ignored)
    ignored_predictions: int  # predicted boxes on images or findings outside the scored set

    def to_json(self) -> dict:
        return {"image_set": self.image_set, "overall": self.overall.to_json(),
                "findings": {f: s.to_json() for f, s in sorted(self.findings.items())},
                "unmatched_images": sorted(self.unmatched_images), "ignored_predictions": self.ignored_predictions}


def evaluate(predicted: Mapping[str, Sequence[Box]], truth: Mapping[str, Sequence[Box]], *,
             iou_thresholds: Iterable[float] = IOU_THRESHOLDS, iobb_thresholds: Iterable[float] = IOBB_THRESHOLDS,
             all_images: bool = False) -> BoxEvaluation:
    """Both mappings go from image id to boxes. For each finding the images scored are, as in Wang et
    al., those whose truth has a box of that finding; `all_images=True` scores every truth image
    (an image listed with no boxes then counts every prediction on it as a false positive)."""
    thresholds = {"iou": tuple(iou_thresholds), "iobb": tuple(iobb_thresholds)}
    findings = sorted({b.finding for boxes in truth.values() for b in boxes}
                      | ({b.finding for boxes in predicted.values() for b in boxes} if all_images else set()))
    per_finding: dict[str, LocalisationScores] = {}
    for finding in findings:
        scores = LocalisationScores(hits={m: dict.fromkeys(ts, 0) for m, ts in thresholds.items()},
                                    false_positives={m: dict.fromkeys(ts, 0) for m, ts in thresholds.items()})
        for image_id, truth_boxes in truth.items():
            gt = [b for b in truth_boxes if b.finding == finding]
            if not gt and not all_images:
                continue
            pred = [b for b in predicted.get(image_id, ()) if b.finding == finding]
            scores.images += 1
            scores.truth_boxes += len(gt)
            scores.predicted_boxes += len(pred)
            for measure, ts in thresholds.items():
                overlap = _MEASURES[measure]
                table = np.array([[overlap(p, g) for g in gt] for p in pred]).reshape(len(pred), len(gt))
                for t in ts:
                    above = table > t
                    scores.hits[measure][t] += int(above.any(axis=0).sum())
                    scores.false_positives[measure][t] += int((~above.any(axis=1)).sum())
        per_finding[finding] = scores
    overall = LocalisationScores(hits={m: dict.fromkeys(ts, 0) for m, ts in thresholds.items()},
                                 false_positives={m: dict.fromkeys(ts, 0) for m, ts in thresholds.items()})
    for scores in per_finding.values():
        overall.add(scores)
    unmatched = [i for i in predicted if i not in truth]
    ignored = sum(len(boxes) for boxes in predicted.values()) - overall.predicted_boxes
    return BoxEvaluation(per_finding, overall, "all" if all_images else "with-finding", unmatched, ignored)


def boxes_from_heatmap(heatmap: np.ndarray, threshold: float = 0.5, *, relative: bool = True,
                       max_boxes: int = 3, min_area: int = 1, finding: str = "",
                       image_shape: tuple[int, int] | None = None) -> list[Box]:
    """Boxes around the largest connected regions of a 2D heat map (rows, columns; a leading axis of
    length 1 is dropped) where it exceeds `threshold` — a fraction of its min-max range when
    `relative`, else an absolute value. Each box's score is the heat map's maximum inside its region.
    `image_shape` (rows, columns) rescales boxes from a coarser heat-map grid to the image."""
    values = np.asarray(heatmap, dtype=np.float64)
    while values.ndim > 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise ValueError(f"heat map must be 2D, got shape {np.shape(heatmap)}")
    values = np.nan_to_num(values, nan=-np.inf)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    lo, hi = float(finite.min()), float(finite.max())
    if relative:
        if hi <= lo:
            return []  # a flat map points nowhere
        level = lo + threshold * (hi - lo)
    else:
        level = threshold
    mask = values >= level
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return []
    areas = np.bincount(labels.ravel())[1:]
    peaks = ndimage.maximum(values, labels, index=np.arange(1, count + 1))
    order = [i for i in np.argsort(-areas, kind="stable") if areas[i] >= min_area][:max_boxes]
    sy, sx = (1.0, 1.0) if image_shape is None else (image_shape[0] / values.shape[0], image_shape[1] / values.shape[1])
    slices = ndimage.find_objects(labels)
    out = []
    for i in order:
        rows, cols = slices[i]
        out.append(Box(cols.start * sx, rows.start * sy, (cols.stop - cols.start) * sx, (rows.stop - rows.start) * sy,
                       finding=finding, score=float(peaks[i])))
    return out
