"""Radiology reports on project cases: importing their text (a CSV, or DICOM SR objects lying beside
a DICOM case) and storing the labels a report labeler mines from them.

The text is kept in the case's metadata (`report`, and `report_source` saying where it came from);
mined labels are ordinary labels with the tag `report`, by the reader `report-labeler` unless told
otherwise, and the labeler's full output (finding -> 1/0/-1) is kept as the label's note and as
what was "shown" in the audit trail.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from sqlalchemy import select, update

from workstation.core.project import ProjectError
from workstation.core.project.importing import CaseLocator
from workstation.core.project.models import CaseRow
from workstation.core.project.store import translated_errors, write
from workstation.core.vocab import Task

REPORT_KEY, SOURCE_KEY = "report", "report_source"
REPORT_TAG = "report"
DEFAULT_READER = "report-labeler"
NO_FINDING = "No Finding"
_NORMAL_ALIASES = {"normal", "nofinding", "nofindings", "healthy"}


class Labeler(Protocol):
    def label(self, text: str) -> dict[str, int]: ...


# ---- report text ---------------------------------------------------------------------------------
def report_text(case) -> str | None:
    text = (case.metadata or {}).get(REPORT_KEY)
    return text if isinstance(text, str) and text.strip() else None


def set_report(project, case_id: str, text: str, source: str) -> None:
    """Merge the report into the case's metadata (one transaction), then announce changed cases."""
    table = CaseRow.__table__
    with translated_errors(project.db_url), write(project.engine) as conn, conn.begin():
        row = conn.execute(select(table.c.metadata).where(table.c.case_id == case_id)).first()
        if row is None:
            raise ProjectError(f"no case {case_id!r} in this project")
        meta = dict(row[0] or {})
        meta.update({REPORT_KEY: text, SOURCE_KEY: source})
        conn.execute(update(table).where(table.c.case_id == case_id).values(metadata=meta))


def import_reports(project, csv_path=None, scan_sr: bool = True) -> tuple[int, list[str]]:
    """Reports from `csv_path` (columns `case_id` or `path`, and `report`), then from DICOM SR files
    in the folders of DICOM cases that still have none (matched on StudyInstanceUID). Returns the
    number of reports stored and one line per row or file skipped, with the reason."""
    found: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    if csv_path is not None:
        _from_csv(project, Path(csv_path), found, problems)
    if scan_sr:
        _from_sr(project, found, problems)
    for case_id, (text, source) in found.items():
        set_report(project, case_id, text, source)
    if found:
        project.events.cases_changed.emit()
    return len(found), problems


def _from_csv(project, csv_path: Path, found: dict, problems: list[str]) -> None:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ProjectError(f"{csv_path}: cannot read CSV ({exc})") from None
    if not rows or "report" not in rows[0] or not ({"case_id", "path"} & set(rows[0])):
        raise ProjectError(f"{csv_path}: needs a `report` column and a `case_id` or `path` column")
    locate = CaseLocator(project)
    base = csv_path.resolve().parent
    for line, row in enumerate(rows, start=2):
        case_id = locate.find(row, base)
        text = (row.get("report") or "").strip()
        if case_id is None:
            problems.append(f"{csv_path}:{line}: no case for {row.get('case_id') or row.get('path')!r}")
        elif not text:
            problems.append(f"{csv_path}:{line}: empty report")
        else:
            found[case_id] = (text, f"csv:{csv_path.name}")


def _from_sr(project, found: dict, problems: list[str]) -> None:
    wanted: dict[str, list[str]] = {}  # study uid -> cases without a report
    folders: set[Path] = set()
    images: set[str] = set()  # case images are not reports: only the other files are read
    for case in project.cases():
        images.update(case.paths)  # stored resolved by `project add`; a miss only costs one header read
        if case.study_id and case.case_id not in found and not report_text(case):
            wanted.setdefault(case.study_id, []).append(case.case_id)
            folders.update(Path(p).parent for p in case.paths)
    if not wanted:
        return
    import pydicom

    for folder in sorted(folders):
        others = sorted(p for p in folder.iterdir() if str(p) not in images and p.is_file()) if folder.is_dir() else []
        for path in others:
            try:
                head = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality", "StudyInstanceUID"])
            except Exception:  # noqa: BLE001 — not DICOM: not a report either
                continue
            cases = wanted.get(str(head.get("StudyInstanceUID", "")))
            if head.get("Modality") != "SR" or not cases:
                continue
            try:
                text = sr_text(path)
            except Exception as exc:  # noqa: BLE001 — one broken SR must not stop the import
                problems.append(f"{path}: unreadable DICOM SR ({exc})".splitlines()[0])
                continue
            if text:
                for case_id in cases:
                    found.setdefault(case_id, (text, f"dicom-sr:{path.name}"))


def sr_text(path) -> str:
    """The narrative of a DICOM Structured Report: TEXT items (and NUM values inline) in document
    order; a named container starts a headed paragraph ("Findings: ...")."""
    import pydicom

    ds = pydicom.dcmread(path) if not isinstance(path, pydicom.Dataset) else path
    if ds.get("Modality") != "SR" and "ContentSequence" not in ds:
        raise ValueError("not a DICOM SR")
    return re.sub(r"[ \t]+", " ", _container(ds, top=True)).strip()


def _name(item) -> str:
    seq = item.get("ConceptNameCodeSequence")
    return str(seq[0].get("CodeMeaning", "")) if seq else ""


def _container(item, top: bool = False) -> str:
    joiner = " " if item.get("ContinuityOfContent") == "CONTINUOUS" else "\n"
    parts = []
    for child in item.get("ContentSequence", []):
        kind = child.get("ValueType")
        if kind == "TEXT" and str(child.get("TextValue", "")).strip():
            parts.append(str(child.TextValue).strip())
        elif kind == "NUM" and child.get("MeasuredValueSequence"):
            measured = child.MeasuredValueSequence[0]
            units = measured.get("MeasurementUnitsCodeSequence")
            unit = str(units[0].get("CodeValue", "")) if units else ""
            parts.append(f"{measured.get('NumericValue', '')} {unit}".strip())
        elif kind == "CONTAINER":
            inner = _container(child)
            if inner:
                parts.append(f"{_name(child)}: {inner}" if _name(child) else inner)
    text = joiner.join(parts)
    return text if top or joiner == " " else f"\n{text}\n"


# ---- mined labels --------------------------------------------------------------------------------
def _key(name: str) -> str:
    key = re.sub(r"[\s_\-]+", "", str(name).lower())
    return "nofinding" if key in _NORMAL_ALIASES else key


def project_value(findings: dict[str, int], task: str, classes: list[str], finding: str | None = None,
                  known: Iterable[str] = ()) -> Any:
    """The project's label for a report's findings, or None when the report says nothing about the
    project's classes. Class names match findings ignoring case, spaces and '_' ("normal" and
    "no finding" match "No Finding"). A binary project's positive class must be one of the `known`
    findings (the labeler's classes) unless `finding` names the finding it stands for."""
    by_key = {_key(f): v for f, v in findings.items()}
    if task == Task.DETECTION:
        raise ProjectError("mined report labels are case labels; a detection project has none")
    if task == Task.BINARY:
        negative, positive = classes
        value = by_key.get(_key(finding or positive))
        if value is None and finding is None and _key(positive) not in {_key(f) for f in known}:
            raise ProjectError(f"which finding is the class {positive!r}? name it with --finding")
        if value is None:
            return negative if by_key.get("nofinding") == 1 else None
        return {1: positive, 0: negative, -1: "uncertain"}[value]
    mapped = {c: by_key[_key(c)] for c in classes if _key(c) in by_key}
    if not mapped:
        return None
    positives = [c for c in classes if mapped.get(c) == 1]
    if task == Task.MULTILABEL:
        return positives if positives or -1 not in mapped.values() else "uncertain"
    if len(positives) == 1:
        return positives[0]
    return "uncertain" if positives or -1 in mapped.values() else None


def mine_labels(project, labeler: Labeler, *, plugin_id: str = "", plugin_version: str = "",
                reader: str = DEFAULT_READER, finding: str | None = None,
                progress: Callable[[float], None] | None = None) -> tuple[list[dict], list[str]]:
    """Label every case that has a report; store each label the project's task can hold under the
    tag `report`. Returns ([{case_id, path, findings}], problems)."""
    known = tuple(getattr(labeler, "classes", ()))
    results, problems = [], []
    cases = [c for c in project.cases() if report_text(c)]
    for n, case in enumerate(cases):
        findings = labeler.label(report_text(case))
        results.append({"case_id": case.case_id, "path": case.paths[0] if case.paths else None,
                        "findings": findings})
        try:
            value = project_value(findings, project.task, project.classes, finding, known)
            if value is not None:
                _store(project, case.case_id, value, findings, reader, plugin_id, plugin_version)
        except ProjectError as exc:
            problems.append(f"{case.case_id}: {exc}")
        if progress is not None:
            progress((n + 1) / len(cases))
    return results, problems


def _store(project, case_id, value, findings, reader, plugin_id, plugin_version) -> None:
    current = project.label(case_id, reader=reader, tag=REPORT_TAG)
    note = json.dumps(findings)
    if current is not None and current.value == value and current.note == note:
        return  # mining again changes nothing: no new audit entry
    shown = {"plugin_id": plugin_id, "plugin_version": plugin_version, "findings": findings}
    project.set_label(case_id, value, reader=reader, tag=REPORT_TAG, action="import", shown=shown,
                      note=note, undoable=False)


def reports_with_labels(project, reader: str = DEFAULT_READER) -> Iterable[dict]:
    """Each case with a report: its text, where it came from and the mined findings (or None)."""
    mined = {lab.case_id: lab for lab in project.labels(reader=reader, tag=REPORT_TAG)}
    for case in project.cases():
        text = report_text(case)
        if text:
            lab = mined.get(case.case_id)
            yield {"case_id": case.case_id, "report": text, "source": case.metadata.get(SOURCE_KEY),
                   "findings": json.loads(lab.note) if lab and lab.note else None}
