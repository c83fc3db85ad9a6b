"""Operating points on a ROC curve: Youden's J, a fixed sensitivity, a fixed specificity.
A point's threshold is applied as score >= threshold -> positive."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workstation.core.metrics.roc import RocCurve


@dataclass(frozen=True)
class OperatingPoint:
    name: str
    threshold: float
    sensitivity: float
    specificity: float
    reason: str | None = None

    def to_dict(self) -> dict:
        f = lambda v: None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v  # noqa: E731
        return {"threshold": f(self.threshold), "sensitivity": f(self.sensitivity),
                "specificity": f(self.specificity), "reason": self.reason}


def _point(name: str, curve: RocCurve, i: int) -> OperatingPoint:
    return OperatingPoint(name, float(curve.thresholds[i]), float(curve.tpr[i]), float(1 - curve.fpr[i]))


def _none(name: str, reason: str) -> OperatingPoint:
    return OperatingPoint(name, math.nan, math.nan, math.nan, reason)


def youden(curve: RocCurve) -> OperatingPoint:
    """The threshold maximising sensitivity + specificity - 1 (the highest such on ties)."""
    if curve.reason:
        return _none("youden", curve.reason)
    return _point("youden", curve, int(np.argmax(curve.tpr - curve.fpr)))


def at_sensitivity(curve: RocCurve, target: float = 0.95) -> OperatingPoint:
    """The most specific threshold whose sensitivity is at least `target`."""
    name = f"sensitivity_{target:g}"
    if curve.reason:
        return _none(name, curve.reason)
    ok = np.flatnonzero(curve.tpr >= target - 1e-12)
    return _point(name, curve, int(ok[0]))  # fpr never falls as the threshold drops


def at_specificity(curve: RocCurve, target: float = 0.95) -> OperatingPoint:
    """The most sensitive threshold whose specificity is at least `target`."""
    name = f"specificity_{target:g}"
    if curve.reason:
        return _none(name, curve.reason)
    ok = np.flatnonzero(1 - curve.fpr >= target - 1e-12)
    return _point(name, curve, int(ok[-1]))  # the (0, 0) start always qualifies


def standard_points(curve: RocCurve) -> dict[str, OperatingPoint]:
    pts = (youden(curve), at_sensitivity(curve, 0.95), at_specificity(curve, 0.95))
    return {p.name: p for p in pts}
