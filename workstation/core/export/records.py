"""Plain inputs of an export: what a case brings (paths, patient, truth, prediction, points) and
how to export. The project adapter fills these; tests build them directly."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.core.export.deid.table import DeidOptions
from workstation.core.vocab import Task

FORMATS = ("csv", "monai", "imagefolder", "nifti")
TASKS = ("binary", "multiclass", "multilabel", "detection")


@dataclass
class Point:
    """A detection finding: centre in world millimetres (LPS, the Volume frame), and its size."""
    x: float
    y: float
    z: float
    radius_mm: float = 1.0
    label: str = ""          # the detection class; "" = the project's first class
    source: str = ""         # candidate id, or who added it

    def to_json(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "z": self.z, "radius_mm": self.radius_mm,
                "label": self.label, "source": self.source}


@dataclass
class ExportCase:
    """One case. `label` is the truth: a class name (binary, multiclass), the list of positive class
    names (multilabel; [] = none of them), or None when the case has no truth yet. Detection cases
    carry their truth in `points` (None = not read yet; [] = read, nothing found)."""
    case_id: str
    paths: list[Path]
    patient_id: str | None = None
    study_id: str | None = None
    label: str | list[str] | None = None
    probabilities: dict[str, float] | None = None
    model: str = ""
    points: list[Point] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    measurements: list[dict[str, Any]] = field(default_factory=list)  # rows of core.measurements CSV_COLUMNS

    def __post_init__(self) -> None:
        self.paths = [Path(p) for p in self.paths]


@dataclass
class ExportOptions:
    format: str
    task: str
    classes: list[str]
    project: str = ""
    label_source: str = "final"
    splits: tuple[float, float, float] = (0.7, 0.15, 0.15)
    seed: int = 0
    deidentify: bool = False
    secret: bytes | None = None      # for --deidentify; None = a fresh random secret, never stored
    deid_options: DeidOptions | None = None  # the PS3.15 options; None = the basic profile alone
    force: bool = False

    def validate(self) -> None:
        from workstation.core.export.output import ExportError

        if self.format not in FORMATS:
            raise ExportError(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.task not in TASKS:
            raise ExportError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        if not self.classes:
            raise ExportError("an export needs the project's class names")
        if self.format == "imagefolder" and self.task not in (Task.BINARY, Task.MULTICLASS):
            raise ExportError(f"an ImageFolder tree holds one class per image; a {self.task} project "
                              f"exports as csv, monai or nifti")


def truth_keys(case: ExportCase, options: ExportOptions) -> list[str] | None:
    """The stratification keys of a case's truth, or None when it has no valid truth."""
    if options.task == Task.DETECTION:
        if case.points is None:
            return None
        return ["findings" if case.points else "no findings"]
    if options.task == Task.MULTILABEL:
        if not isinstance(case.label, (list, tuple)) or any(v not in options.classes for v in case.label):
            return None
        return list(case.label) or ["(none)"]
    return [case.label] if isinstance(case.label, str) and case.label in options.classes else None
