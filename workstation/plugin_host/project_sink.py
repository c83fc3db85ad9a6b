"""Storing runner outcomes in a review project: one `PredictionRecord` per case through
`Project.add_predictions`, heat maps written beside the project as NIfTI on the image grid."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from workstation.plugin_host.jobs import CaseInput, PredictionOutcome

HEATMAP_DIR = "heatmaps"
MODELS_DIR = "models"


def heatmap_file(project_dir: Path, outcome: PredictionOutcome) -> Path:
    """heatmaps/<plugin>/<case>-<hash>-<time>.nii.gz: case ids are untrusted, so the name is sanitised
    and a hash keeps distinct ids apart."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", outcome.case_id)[:40].strip("._") or "case"
    digest = hashlib.sha1(outcome.case_id.encode()).hexdigest()[:8]
    stamp = re.sub(r"[^0-9]", "", outcome.created_at)[:20]
    return project_dir / HEATMAP_DIR / outcome.plugin_id / f"{safe}-{digest}-{stamp}.nii.gz"


def write_heatmap(path: Path, outcome: PredictionOutcome) -> None:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(outcome.prediction.heatmap.array, dtype=np.float32))
    geometry = outcome.geometry
    if geometry:
        image.SetSpacing(tuple(float(s) for s in geometry["spacing"]))
        image.SetOrigin(tuple(float(o) for o in geometry["origin"]))
        image.SetDirection(tuple(float(d) for d in np.asarray(geometry["direction"]).ravel()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name.replace(".nii.gz", ".tmp.nii.gz"))
    sitk.WriteImage(image, str(tmp), useCompression=True)
    tmp.replace(path)


class ProjectSink:
    """The runner's result sink for a project. Call it on the thread that owns the project (the Qt
    dock forwards outcomes to the GUI thread first), so its events reach the views safely."""

    def __init__(self, project) -> None:
        self.project = project

    def records(self, outcomes: list[PredictionOutcome]) -> list:
        from workstation.core.project import PredictionRecord

        out = []
        for o in outcomes:
            probs = o.prediction.probabilities
            probabilities = probs.as_dict() if probs is not None else {}
            if probabilities and sorted(probabilities) != sorted(self.project.classes):
                raise ValueError(f"the model's classes {sorted(probabilities)} are not the project's "
                                 f"{sorted(self.project.classes)}")
            heatmap_path = None
            if o.prediction.heatmap is not None:
                path = heatmap_file(self.project.directory, o)
                write_heatmap(path, o)
                heatmap_path = str(path.relative_to(self.project.directory))
            # ids by position in this run; add_predictions re-keys them so decisions follow their focus
            candidates = [dict(c.as_dict(), id=f"{o.plugin_id}-{n}")
                          for n, c in enumerate(o.prediction.candidates)] or None
            out.append(PredictionRecord(
                case_id=o.case_id, probabilities=probabilities, plugin_id=o.plugin_id,
                plugin_version=o.plugin_version, weights_sha256=o.weights_sha256, device=o.device,
                created_at=o.created_at, candidates=candidates, heatmap_path=heatmap_path))
        return out

    def __call__(self, outcomes: list[PredictionOutcome]) -> None:
        self.project.add_predictions(self.records(outcomes))


def case_inputs(project, which: str = "all", case_ids: list[str] | None = None) -> list[CaseInput]:
    """The project's cases to run: "all", "unlabelled" (no final label by anyone), or `case_ids`."""
    cases = project.cases()
    if case_ids is not None:
        wanted = set(case_ids)
        cases = [c for c in cases if c.case_id in wanted]
    elif which == "unlabelled":
        labelled = {lab.case_id for lab in project.labels(tag="final")}
        cases = [c for c in cases if c.case_id not in labelled]
    elif which != "all":
        raise ValueError(f"--cases must be all or unlabelled, not {which!r}")
    return [CaseInput(c.case_id, path=str(case_path(project.directory, c.paths))) for c in cases]


def case_path(project_dir: Path, paths: list[str]) -> Path:
    """One path for the reader: the file itself, or the folder that holds a multi-file series."""
    resolved = [Path(p) if Path(p).is_absolute() else Path(project_dir) / p for p in paths]
    if len(resolved) == 1:
        return resolved[0]
    parents = {p.parent for p in resolved}
    return parents.pop() if len(parents) == 1 else resolved[0]


def default_checkpoint(project_dir: Path, plugin_id: str) -> Path | None:
    """The newest checkpoint in <project>/models/<plugin_id>/ (training writes there), or None."""
    folder = Path(project_dir) / MODELS_DIR / plugin_id
    found = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    return found[-1] if found else None
