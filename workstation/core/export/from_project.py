"""Export cases from a review `Project`: its truth (final, consensus or one reader), its latest
predictions, and for detection projects the readers' candidate decisions as points."""
from __future__ import annotations

from typing import Any

from workstation.core.export.exporter import ExportResult, Progress, assign_splits, export
from workstation.core.export.output import ExportError
from workstation.core.export.records import ExportCase, ExportOptions, Point
from workstation.core.export.splits import parse_ratios
from workstation.core.vocab import ACCEPTED_STATES, CandidateState, Task, Truth

SHARED_TRUTHS = (Truth.FINAL, Truth.CONSENSUS, Truth.ORIGINAL)


def _label_source(project, truth: str) -> str:
    if truth in SHARED_TRUTHS:
        return truth
    if truth not in project.readers():
        known = ", ".join(project.readers()) or "none yet"
        raise ExportError(f"no reader {truth!r} in this project (readers: {known}; or use final, consensus)")
    return f"reader:{truth}"


def _detection_points(project, case_id: str, reader: str | None, candidates: list[dict]) -> list[Point] | None:
    """Accepted findings of a case, or None when nobody has decided on any candidate yet."""
    states = project.candidate_states(case_id, reader=reader)
    decided = {cid: s for cid, s in states.items() if s.get("state") != CandidateState.PROPOSED}
    if not decided:
        return None
    proposed = {str(c.get("id")): c for c in candidates or []}
    points = []
    for cid, state in decided.items():
        if state["state"] not in ACCEPTED_STATES:
            continue
        model = proposed.get(cid, {})
        centre = state.get("centre") or model.get("centre")
        diameter = state.get("diameter") or model.get("diameter_mm") or 0.0
        if not centre or len(centre) != 3:
            raise ExportError(f"case {case_id!r}: accepted finding {cid!r} has no centre")
        points.append(Point(*(float(v) for v in centre), radius_mm=float(diameter) / 2.0,
                            label=str(state.get("label") or model.get("label") or ""), source=cid))
    return points


def cases_from_project(project, truth: str = "final", plugin_id: str | None = None) -> tuple[list[ExportCase], str]:
    """The project's cases as export inputs, and the label source named in the manifest. Predictions
    come from one model: `plugin_id`, else the most recently used one."""
    source = _label_source(project, truth)
    if plugin_id is None:
        used = project.prediction_plugins()
        plugin_id = used[0] if used else None
    predictions = project.latest_predictions(plugin_id) if plugin_id else {}
    detection = project.task == Task.DETECTION
    if detection and truth == Truth.CONSENSUS:
        raise ExportError("consensus truth is defined for case labels; for detection use final or a reader")
    truth_by_case: dict[str, Any] = {} if detection else project.truth(truth)
    reader = None if truth in SHARED_TRUTHS else truth
    drawn = measurement_rows(project)
    cases = []
    for case in project.cases():
        record = predictions.get(case.case_id)
        model = f"{record.plugin_id}@{record.plugin_version}".rstrip("@") if record else ""
        cases.append(ExportCase(
            case_id=case.case_id, paths=list(case.paths), patient_id=case.patient_id, study_id=case.study_id,
            label=truth_by_case.get(case.case_id),
            probabilities=dict(record.probabilities) if record and record.probabilities else None,
            model=model, metadata=dict(case.metadata),
            points=_detection_points(project, case.case_id, reader, record.candidates if record else [])
            if detection else None, measurements=drawn.get(case.case_id, [])))
    return cases, source


def measurement_rows(project) -> dict[str, list[dict[str, Any]]]:
    """{case_id: the readers' drawn measurements as rows of the measurements CSV}."""
    from workstation.core.measurements.store import csv_row, measurements

    rows: dict[str, list[dict[str, Any]]] = {}
    for m in measurements(project):
        rows.setdefault(m.case_id, []).append(csv_row(m))
    return rows


def export_project(project, out, fmt: str, truth: str = "final", splits=(0.7, 0.15, 0.15), seed: int = 0,
                   deidentify: bool = False, secret: bytes | None = None, force: bool = False,
                   plugin_id: str | None = None, progress: Progress | None = None,
                   deid_options=None) -> ExportResult:
    """Export an open Project (see `export` for what is written and raised)."""
    cases, source = cases_from_project(project, truth, plugin_id)
    if not cases:
        raise ExportError(f"{project.directory}: the project has no cases to export")
    options = ExportOptions(format=fmt, task=project.task, classes=project.classes,
                            project=project.directory.resolve().name, label_source=source, splits=splits,
                            seed=seed, deidentify=deidentify, secret=secret, force=force,
                            deid_options=deid_options)
    return export(cases, out, options, progress)


def project_splits(project, truth: str = "final", splits=(0.7, 0.15, 0.15), seed: int = 0) -> dict[str, str]:
    """The split of every case with truth, exactly as `export_project` with the same truth, splits
    and seed assigns it ({case_id: "training" | "validation" | "test"})."""
    cases, _ = cases_from_project(project, truth)
    options = ExportOptions(format="csv", task=project.task, classes=project.classes,
                            splits=parse_ratios(splits), seed=seed)
    return assign_splits(cases, options)
