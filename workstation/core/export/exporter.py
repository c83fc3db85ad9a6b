"""Export a labelled set: plan (ids, patients, splits), write the chosen format, then the table and
the manifest. Everything goes through an `OutputTree`, so nothing lands outside OUT and a failed
export leaves no manifest."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import workstation
from workstation.core.export.deid import Deidentifier, method_text

from workstation.core.export import formats
from workstation.core.export.output import ExportError, OutputTree, describe_os_error, safe_name
from workstation.core.export.records import ExportCase, ExportOptions, truth_keys
from workstation.core.export.splits import SPLIT_NAMES, grouped_stratified_split, parse_ratios

Progress = Callable[[float, str], None]


@dataclass
class Item:
    """A case as it is exported."""
    case: ExportCase
    export_id: str
    patient: str
    keys: list[str] | None
    split: str = ""
    images: list[str] = field(default_factory=list)
    image_ref: Any = None            # what a datalist's "image" names
    columns: dict[str, Any] = field(default_factory=dict)  # format-specific cells of cases.csv

    @property
    def labelled(self) -> bool:
        return self.keys is not None


@dataclass
class ExportResult:
    out: Path
    manifest: dict
    warnings: list[str]


def export(cases: Sequence[ExportCase], out, options: ExportOptions,
           progress: Progress | None = None) -> ExportResult:
    """Write `cases` to the folder `out` in `options.format`. Raises ExportError (one line) when the
    export cannot be done; then OUT holds no new manifest and no staged files."""
    options.validate()
    try:
        options.splits = parse_ratios(options.splits)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    ids = [c.case_id for c in cases]
    if len(set(ids)) != len(ids):
        raise ExportError("case ids repeat: " + ", ".join(sorted({i for i in ids if ids.count(i) > 1})[:5]))
    deid = Deidentifier(options.secret, options=options.deid_options) if options.deidentify else None
    items = _plan(cases, options, deid)
    tree = OutputTree(out, options.force)
    try:
        writer = formats.ImageWriter(tree, deid)
        exported = formats.write(options.format, items, tree, options, writer, progress)
        formats.write_cases_csv(exported, tree, options)
        formats.write_measurements_csv(exported, tree, options)
        writer.finish()
        manifest = _manifest(exported, items, options, writer)
        result = tree.commit(manifest)
    except OSError as exc:
        tree.abort()
        raise ExportError(f"export to {tree.out} failed: {describe_os_error(exc)}; "
                          f"no manifest was written") from None
    except BaseException:
        tree.abort()
        raise
    if progress:
        progress(1.0, f"exported {len(exported)} case(s) to {tree.out}")
    return ExportResult(tree.out, result, list(result.get("warnings", [])))


def _plan(cases: Sequence[ExportCase], options: ExportOptions, deid: Deidentifier | None) -> list[Item]:
    items, taken = [], set()
    for case in cases:
        if deid is not None:
            export_id = deid.case_pseudonym(case.case_id)
            patient = deid.pseudonym(case.patient_id) if case.patient_id else ""
        else:
            export_id, patient = safe_name(case.case_id, fallback="case"), case.patient_id or ""
        if export_id.lower() in taken:  # case-insensitive file systems
            export_id = safe_name(export_id + "\0" + case.case_id)
        taken.add(export_id.lower())
        items.append(Item(case, export_id, patient, truth_keys(case, options)))
    splits = assign_splits(cases, options)
    for it in items:
        it.split = splits.get(it.case.case_id, "")
    return items


def assign_splits(cases: Sequence[ExportCase], options: ExportOptions) -> dict[str, str]:
    """{case_id: "training" | "validation" | "test"} for the cases with truth: patient-grouped,
    stratified, seeded. Training uses this too, so a model trains on exactly the exported split."""
    labelled = [(c, truth_keys(c, options)) for c in cases]
    labelled = [(c, keys) for c, keys in labelled if keys is not None]
    if not labelled:
        return {}
    return grouped_stratified_split([c.case_id for c, _ in labelled], [c.patient_id for c, _ in labelled],
                                    [keys for _, keys in labelled], options.splits, options.seed)


def _balance(items: Sequence[Item]) -> dict[str, int]:
    counts = Counter(k for it in items for k in (it.keys or []))
    return dict(sorted(counts.items()))


def _manifest(exported: list[Item], planned: list[Item], options: ExportOptions,
              writer: formats.ImageWriter) -> dict:
    labelled = [it for it in exported if it.labelled]
    by_split = {name: [it for it in labelled if it.split == name] for name in SPLIT_NAMES}
    left_out = [it for it in planned if it not in exported]
    manifest: dict[str, Any] = {
        "format": options.format,
        "project": {"name": options.project, "task": options.task, "classes": list(options.classes)},
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "workstation_version": workstation.__version__,
        "label_source": options.label_source,
        "counts": {
            "cases": len(exported), "labelled": len(labelled), "unlabelled": len(exported) - len(labelled),
            "not_exported_without_truth": len(left_out),
            "patients": len({it.patient or f"case:{it.export_id}" for it in exported}),
            "image_files": sum(len(it.images) for it in exported),
            **{name: len(group) for name, group in by_split.items()},
        },
        "class_balance": {"all": _balance(labelled), **{n: _balance(g) for n, g in by_split.items()}},
        "splits": {"ratios": dict(zip(SPLIT_NAMES, options.splits)), "seed": options.seed,
                   "grouped_by": "patient", "stratified_by": "label"},
        "deidentified": options.deidentify,
        "warnings": list(writer.warnings),
    }
    if options.deidentify:
        manifest["deidentification"] = {
            "method": method_text(writer.deid.options),
            "report": writer.report_name,
            "secret": "supplied key" if options.secret is not None else "random per export, not stored",
            "burned_in_annotation": writer.burned_in,
        }
    return manifest
