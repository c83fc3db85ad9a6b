"""Model-assisted segmentation: a detector's candidates (world-mm centre, diameter) as spheres on
the image grid, stored as the model's mask of a segment (reader "model:<plugin>", so agreement
can compare readers with it) and, for a reader, as the start of their own editable mask."""
from __future__ import annotations

import numpy as np

from workstation.core.project.config import ProjectError
from workstation.core.segmentation.brush import sphere_box
from workstation.core.segmentation.grid import Grid


def candidate_spheres(project, case_id: str, plugin_id: str | None = None, min_score: float = 0.0):
    """(plugin id, [(centre, radius mm, score)]) of the case's latest detector run."""
    found = [r for r in project.prediction_history(case_id) if r.candidates and
             (plugin_id is None or r.plugin_id == plugin_id)]
    if not found:
        which = f" from {plugin_id!r}" if plugin_id else ""
        raise ProjectError(f"case {case_id!r} has no detector candidates{which}")
    record = max(found, key=lambda r: r.created_at)
    spheres = []
    for c in record.candidates:
        score = float(c.get("score", 1.0))
        diameter = c.get("diameter_mm", c.get("diameter"))
        if score >= min_score and c.get("centre") is not None and diameter:
            spheres.append((np.asarray(c["centre"], dtype=float), 0.5 * float(diameter), score))
    return record.plugin_id, spheres


def spheres_mask(grid: Grid, spheres) -> np.ndarray:
    out = grid.empty()
    for centre, radius, _score in spheres:
        found = sphere_box(grid, centre, radius)
        if found is not None:
            box, inside = found
            out[box][inside] = 1
    return out


def model_reader(plugin_id: str) -> str:
    return f"model:{plugin_id}"
