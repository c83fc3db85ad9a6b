"""`export --format seg|sr`: one DICOM object per case into OUT/<format>/<case>.dcm (through the
export's OutputTree, so a failed export leaves no half set), with a manifest; `--deidentify`
de-identifies the source headers first (the export's Deidentifier), so the results carry the
pseudonyms and the new UIDs of a de-identified export made with the same key."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import workstation
from workstation.core.export.output import ExportError, OutputTree, describe_os_error, safe_name
from workstation.core.export.results.masks import mask_segments, sphere_segments
from workstation.core.export.results.sources import load_sources

RESULT_FORMATS = ("seg", "sr")


@dataclass
class ResultExport:
    out: Path
    files: list[Path]
    warnings: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def _findings(project, case_id: str, record) -> list[dict]:
    """Every candidate of the case: the model's proposals with the readers' decisions, and the
    readers' own additions."""
    proposed = {str(c.get("id")): c for c in (record.candidates if record else None) or []}
    states = project.candidate_states(case_id)
    findings = []
    for cid in list(proposed) + [c for c in states if c not in proposed]:
        c, s = proposed.get(cid, {}), states.get(cid, {})
        centre = s.get("centre") or c.get("centre")
        if not centre or len(centre) != 3:
            continue
        findings.append({"id": cid, "centre": [float(v) for v in centre],
                         "diameter_mm": float(s.get("diameter") or c.get("diameter_mm") or 0.0),
                         "score": c.get("score"), "decision": str(s.get("state") or "proposed"),
                         "region": s.get("region") or c.get("region"), "label": s.get("label") or c.get("label")})
    return findings


def _model(record) -> dict:
    if record is None:
        return {}
    return {"plugin_id": record.plugin_id, "plugin_version": record.plugin_version,
            "weights_sha256": record.weights_sha256, "device": record.device}


def _measurement_groups(project, case, sources) -> list:
    """The case's drawn measurements (every reader's) as SR measurement groups."""
    from workstation.core.export.results.measurement_sr import measurement_groups
    from workstation.core.export.results.sources import has_geometry
    from workstation.core.measurements.store import measurements

    found = measurements(project, case.case_id)
    if not found:
        return []
    grid = None
    if not has_geometry(sources):  # a projection image: its grid maps world points to pixels
        from workstation.core.export.images import read_case_volume
        from workstation.core.export.records import ExportCase
        from workstation.core.segmentation.grid import Grid

        grid = Grid.of(read_case_volume(ExportCase(case.case_id, [Path(p) for p in case.paths])))
    return measurement_groups(sources, found, grid)


def build_case_result(fmt: str, project, case, record, truth, reader: str, deid=None):
    """(dataset or None, warning or None) for one case."""
    from workstation.core.export.results.seg import build_seg
    from workstation.core.export.results.sr import classification_report, detection_report, measurement_report

    sources = load_sources(case.case_id, case.paths)
    if deid is not None:
        sources = [copy.deepcopy(d) for d in sources]
        for d in sources:
            deid.deidentify(d, patient_key=case.patient_id or case.case_id)
    detection = project.task == "detection"
    findings = _findings(project, case.case_id, record) if detection else []
    if fmt == "seg":
        if case.metadata.get("mask"):
            segments = mask_segments(case.case_id, case.metadata["mask"], sources)
        else:
            segments = sphere_segments([f for f in findings if f["decision"] in ("confirmed", "added")], sources)
        if not segments:
            return None, f"{case.case_id}: no mask and no accepted finding; no SEG written"
        return build_seg(sources, segments), None
    measured = _measurement_groups(project, case, sources)
    if detection and findings:
        return detection_report(sources, findings, reader, _model(record), extra_groups=measured), None
    if not detection and (truth is not None or (record and record.probabilities)):
        return classification_report(sources, truth, reader, _model(record),
                                     dict(record.probabilities) if record and record.probabilities else None,
                                     extra_groups=measured), None
    if measured:
        return measurement_report(sources, measured, reader), None
    if detection:
        return None, f"{case.case_id}: no detection candidates and no measurements; no SR written"
    return None, f"{case.case_id}: no label, no model output and no measurements; no SR written"


def export_results(project, out, fmt: str, deidentify: bool = False, secret: bytes | None = None,
                   deid_options=None, force: bool = False, plugin_id: str | None = None,
                   progress=None) -> ResultExport:
    if fmt not in RESULT_FORMATS:
        raise ExportError(f"unknown result format {fmt!r}")
    from workstation.core.export.deid import Deidentifier

    cases = project.cases()
    if not cases:
        raise ExportError(f"{project.directory}: the project has no cases to export")
    if plugin_id is None:
        used = project.prediction_plugins()
        plugin_id = used[0] if used else None
    predictions = project.latest_predictions(plugin_id) if plugin_id else {}
    truth = {} if project.task == "detection" else project.truth("final")
    reader = ", ".join(project.readers()) or "unknown"
    deid = Deidentifier(secret, options=deid_options) if deidentify else None
    tree = OutputTree(out, force)
    warnings, written = [], []
    try:
        for n, case in enumerate(cases):
            if progress:
                progress(n / len(cases), f"{fmt} for {case.case_id}")
            try:
                ds, warning = build_case_result(fmt, project, case, predictions.get(case.case_id),
                                                truth.get(case.case_id), reader, deid)
            except ExportError:
                raise
            except (ValueError, TypeError, AttributeError, KeyError) as exc:  # highdicom refuses an input
                raise ExportError(f"case {case.case_id!r}: cannot build the {fmt.upper()}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
            if warning:
                warnings.append(warning)
                continue
            name = deid.case_pseudonym(case.case_id) if deid else safe_name(case.case_id, fallback="case")
            rel = f"{fmt}/{name}.dcm"
            ds.save_as(tree.path(rel), enforce_file_format=True)
            written.append(rel)
        if not written:
            raise ExportError(f"nothing to write as {fmt.upper()}: " + "; ".join(warnings[:3]))
        manifest = tree.commit({"format": fmt, "workstation_version": workstation.__version__,
                                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                "deidentified": deidentify, "counts": {"cases": len(written)},
                                "warnings": warnings})
    except OSError as exc:
        tree.abort()
        raise ExportError(f"export to {tree.out} failed: {describe_os_error(exc)}") from None
    except BaseException:
        tree.abort()
        raise
    return ResultExport(tree.out, [tree.out / rel for rel in written], warnings, manifest)


def push(files, node) -> int:
    """Send written results to a PACS node (STOW-RS or C-STORE); the number sent."""
    import pydicom

    from workstation.core.pacs import connect

    remote = connect(node)
    try:
        return remote.store([pydicom.dcmread(f) for f in files])
    finally:
        remote.close()


def case_results(project, case_id: str, plugin_id: str | None = None) -> list:
    """The SEG (when there is a mask or an accepted finding) and the SR of one case, in memory."""
    case = next((c for c in project.cases() if c.case_id == case_id), None)
    if case is None:
        raise ExportError(f"no case {case_id!r} in this project")
    if plugin_id is None:
        used = project.prediction_plugins()
        plugin_id = used[0] if used else None
    record = project.latest_predictions(plugin_id).get(case_id) if plugin_id else None
    truth = None if project.task == "detection" else project.truth("final").get(case_id)
    reader = ", ".join(project.readers()) or "unknown"
    built = [build_case_result(fmt, project, case, record, truth, reader)[0] for fmt in RESULT_FORMATS]
    datasets = [ds for ds in built if ds is not None]
    if not datasets:
        raise ExportError(f"case {case_id!r} has no results to send yet (no label, mask or finding)")
    return datasets
