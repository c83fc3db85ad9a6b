"""Importing labels and predictions from CSV files into a project.

labels.csv: a `case_id` or a `path` column, and `label` (multi-label: `;`-separated class names;
an empty multi-label cell means "no finding"); optional `reader` and `note` columns.
predictions.csv: `case_id` or `path`, one `p_<class>` column per class; optional `plugin_id`,
`plugin_version` columns.
"""
from __future__ import annotations

import csv
from pathlib import Path

from workstation.core.project.config import ProjectError
from workstation.core.project.records import PredictionRecord
from workstation.core.vocab import Task


def _rows(path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ProjectError(f"{path}: cannot read CSV ({exc})") from None
    if not rows:
        raise ProjectError(f"{path}: no rows")
    return rows


class CaseLocator:
    """Finds a case by id, by one of its image paths, or by the folder of a DICOM series."""

    def __init__(self, project):
        self.ids = set()
        self.by_path: dict[str, str] = {}
        for case in project.cases():
            self.ids.add(case.case_id)
            for p in case.paths:
                self.by_path.setdefault(str(Path(p).resolve()), case.case_id)
            if len(case.paths) > 1:
                self.by_path.setdefault(str(Path(case.paths[0]).resolve().parent), case.case_id)

    def find(self, row: dict[str, str], base: Path) -> str | None:
        if row.get("case_id"):
            return row["case_id"] if row["case_id"] in self.ids else None
        raw = (row.get("path") or "").strip()
        if not raw:
            return None
        p = Path(raw)
        for candidate in (p, base / p):
            found = self.by_path.get(str(candidate.resolve()))
            if found:
                return found
        return None


def import_labels(project, csv_path, reader: str = "import", tag: str = "original") -> tuple[int, list[str]]:
    rows = _rows(csv_path)
    if "label" not in rows[0] or not ({"case_id", "path"} & set(rows[0])):
        raise ProjectError(f"{csv_path}: needs a `label` column and a `case_id` or `path` column")
    locate = CaseLocator(project)
    base = Path(csv_path).resolve().parent
    problems, n = [], 0
    for line, row in enumerate(rows, start=2):
        case_id = locate.find(row, base)
        if case_id is None:
            problems.append(f"{csv_path}:{line}: no case for {row.get('case_id') or row.get('path')!r}")
            continue
        value = row["label"].strip()
        if project.task == Task.MULTILABEL:
            value = [v.strip() for v in value.split(";") if v.strip()]
        try:
            project.set_label(case_id, value, reader=(row.get("reader") or reader).strip(), tag=tag,
                              action="import", note=row.get("note") or None, undoable=False)
            n += 1
        except ProjectError as exc:
            problems.append(f"{csv_path}:{line}: {exc}")
    return n, problems


def import_predictions(project, csv_path, plugin_id: str | None = None) -> tuple[int, list[str]]:
    rows = _rows(csv_path)
    columns = {f"p_{c}": c for c in project.classes}
    missing = [c for c in columns if c not in rows[0]]
    if missing or not ({"case_id", "path"} & set(rows[0])):
        raise ProjectError(f"{csv_path}: needs `case_id` or `path` and the columns {list(columns)} "
                           f"(missing {missing})")
    extra = [c[2:] for c in rows[0] if c and c.startswith("p_") and c not in columns]
    if extra and project.taxonomy is not None:  # a model of other classes: its sums at a level would be wrong
        raise ProjectError(f"{csv_path}: the taxonomy does not cover the model's classes: not in the tree: "
                           + ", ".join(map(repr, extra)))
    locate = CaseLocator(project)
    base = Path(csv_path).resolve().parent
    records, problems = [], []
    default_plugin = plugin_id or f"csv:{Path(csv_path).name}"
    for line, row in enumerate(rows, start=2):
        case_id = locate.find(row, base)
        if case_id is None:
            problems.append(f"{csv_path}:{line}: no case for {row.get('case_id') or row.get('path')!r}")
            continue
        try:
            probs = {cls: float(row[col]) for col, cls in columns.items()}
        except ValueError as exc:
            problems.append(f"{csv_path}:{line}: {exc}")
            continue
        record = PredictionRecord(case_id, probs, row.get("plugin_id") or default_plugin,
                                  row.get("plugin_version") or "", device="import")
        try:
            from workstation.core.project.predictions import check

            check(record, project.task, project.classes)
        except ProjectError as exc:
            problems.append(f"{csv_path}:{line}: {exc}")
            continue
        records.append(record)
    return project.add_predictions(records), problems
