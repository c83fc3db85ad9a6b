"""The four layouts of an export, and the cases.csv table every export carries.

    csv          images/<case>/<files>                       + cases.csv
    monai        images/<case>/<files>, datalist.json        (+ labels/, points/ for detection)
    imagefolder  train|val|test/<class>/<case>.png           (2D, one class per image)
    nifti        images/<case>.nii.gz, datalist.json         (+ labels/<case>.nii.gz masks and
                                                              points/<case>.json for detection)
"""
from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from workstation.core.export.images import (PLAIN_2D_SUFFIXES, ImageWriter, case_files, is_dicom, read_case_volume, to_sitk,
                     write_nifti, write_png)
from workstation.core.export.masks import outside, points_mask
from workstation.core.export.output import OutputTree, safe_name
from workstation.core.export.records import ExportOptions
from workstation.core.export.splits import SPLIT_NAMES
from workstation.core.vocab import Task

if TYPE_CHECKING:
    from workstation.core.export.exporter import Item

__all__ = ["ImageWriter", "write", "write_cases_csv"]
IMAGEFOLDER_SPLITS = {"training": "train", "validation": "val", "test": "test"}


def write(fmt: str, items: list["Item"], tree: OutputTree, options: ExportOptions, writer: ImageWriter,
          progress: Callable[[float, str], None] | None) -> list["Item"]:
    """Write the items of format `fmt`; returns those exported (csv: all; others: the labelled)."""
    chosen = items if fmt == "csv" else [it for it in items if it.labelled]
    for n, item in enumerate(chosen):
        if progress:
            progress(0.95 * n / max(len(chosen), 1), f"exporting {item.export_id}")
        if fmt in ("csv", "monai"):
            _copy_images(item, tree, options, writer)
        elif fmt == "imagefolder":
            _imagefolder_image(item, tree, options, writer)
        else:
            _nifti_case(item, tree, options, writer)
        if fmt == "monai" and options.task == Task.DETECTION:
            _detection_truth(item, tree, options, writer, read_case_volume(item.case))
    if options.task == Task.DETECTION:
        for item in chosen:
            item.columns.setdefault("n_findings", "" if item.case.points is None else len(item.case.points))
    if fmt in ("monai", "nifti"):
        _write_datalist(chosen, tree, options)
    if options.task == Task.DETECTION:
        _write_points_csv(chosen, tree)
    return chosen


def _patient_key(item: "Item") -> str | None:
    return item.case.patient_id or None


def _copy_images(item: "Item", tree: OutputTree, options: ExportOptions, writer: ImageWriter) -> None:
    folder = f"images/{item.export_id}"
    item.images = writer.copy_case(item.case, folder, _patient_key(item))
    if len(item.images) == 1:
        item.image_ref = item.images[0]
    elif all(r.endswith(".dcm") or is_dicom(tree.staging / r) for r in item.images):
        item.image_ref = folder  # a DICOM series: readers take the folder
    else:
        item.image_ref = list(item.images)


def _imagefolder_image(item: "Item", tree: OutputTree, options: ExportOptions, writer: ImageWriter) -> None:
    label = safe_name(item.case.label, fallback="class")
    base = f"{IMAGEFOLDER_SPLITS[item.split]}/{label}/{item.export_id}"
    files = case_files(item.case)
    if len(files) == 1 and files[0].suffix.lower() in PLAIN_2D_SUFFIXES and not options.deidentify:
        rel = base + files[0].suffix.lower()
        shutil.copyfile(files[0], tree.path(rel))  # already a plain 2D picture: keep its bytes
    else:
        rel = base + ".png"  # converting drops every header, so this also de-identifies
        write_png(read_case_volume(item.case), tree.path(rel), item.case.case_id)
    item.images = [rel]
    item.image_ref = rel
    writer.check_burned_in(item.case, rel)


def _nifti_case(item: "Item", tree: OutputTree, options: ExportOptions, writer: ImageWriter) -> None:
    volume = read_case_volume(item.case)
    rel = f"images/{item.export_id}.nii.gz"
    write_nifti(to_sitk(volume), tree.path(rel))
    item.images = [rel]
    item.image_ref = rel
    writer.check_burned_in(item.case, rel)
    if options.task == Task.DETECTION:
        _detection_truth(item, tree, options, writer, volume)


def _detection_truth(item: "Item", tree: OutputTree, options: ExportOptions, writer: ImageWriter, volume) -> None:
    points = item.case.points or []
    for p in points:
        if outside(volume, p):
            writer.warnings.append(f"{item.export_id}: finding at ({p.x:.1f}, {p.y:.1f}, {p.z:.1f}) mm "
                                   f"lies outside the image; kept in the point list, not in the mask")
    mask_rel, points_rel = f"labels/{item.export_id}.nii.gz", f"points/{item.export_id}.json"
    mask = points_mask(volume, points, options.classes)
    write_nifti(to_sitk(volume, mask), tree.path(mask_rel))
    document = {"case_id": item.export_id, "coordinate_system": "LPS", "unit": "mm",
                "points": [p.to_json() for p in points]}
    tree.path(points_rel).write_text(json.dumps(document, indent=2) + "\n")
    item.columns.update(label_mask=mask_rel, points=points_rel, n_findings=len(points))


def _datalist_label(item: "Item", options: ExportOptions):
    if options.task == Task.DETECTION:
        return item.columns["label_mask"]
    if options.task == Task.MULTILABEL:
        chosen = set(item.case.label or [])
        return [1 if c in chosen else 0 for c in options.classes]
    return options.classes.index(item.case.label)


def _write_datalist(items: Sequence["Item"], tree: OutputTree, options: ExportOptions) -> None:
    """MONAI's decathlon-style datalist: paths relative to this file's folder (load it with
    `monai.data.load_decathlon_datalist(path, data_list_key="training")`)."""
    document = {"name": options.project, "task": options.task, "labels": dict(enumerate(options.classes)),
                **{name: [] for name in SPLIT_NAMES}}
    for item in items:
        entry = {"image": item.image_ref, "label": _datalist_label(item, options), "case_id": item.export_id}
        if "points" in item.columns:
            entry["points"] = item.columns["points"]
        document[item.split].append(entry)
    tree.path("datalist.json").write_text(json.dumps(document, indent=2) + "\n")


def _write_points_csv(items: Sequence["Item"], tree: OutputTree) -> None:
    with open(tree.path("points.csv"), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["case_id", "x_mm", "y_mm", "z_mm", "radius_mm", "label", "source"])
        for item in items:
            for p in item.case.points or []:
                out.writerow([item.export_id, p.x, p.y, p.z, p.radius_mm, p.label, p.source])


def write_cases_csv(items: Sequence["Item"], tree: OutputTree, options: ExportOptions) -> None:
    """One row per exported case. `label` and the `p_<class>` columns use the layout that
    `workstation project add --labels/--predictions` reads, so an export can be re-imported."""
    deid = options.deidentify
    meta_keys = [] if deid else sorted({k for it in items for k in it.case.metadata})
    extra = sorted({k for it in items for k in it.columns})
    header = (["case_id", "patient_id"] + ([] if deid else ["study_id"]) + ["split", "has_truth", "label"]
              + [f"p_{c}" for c in options.classes] + ["model", "images"] + extra
              + ([] if deid else ["source_paths"]) + [f"meta_{k}" for k in meta_keys])
    with open(tree.path("cases.csv"), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        for it in items:
            case = it.case
            label = case.label
            if options.task == Task.MULTILABEL and isinstance(label, (list, tuple)):
                label = ";".join(label)
            probs = case.probabilities or {}
            row = [it.export_id, it.patient] + ([] if deid else [case.study_id or ""])
            row += [it.split, int(it.labelled), label if (it.labelled and isinstance(label, str)) else ""]
            row += [probs.get(c, "") for c in options.classes]
            row += [case.model, ";".join(it.images)] + [it.columns.get(k, "") for k in extra]
            if not deid:
                row.append(";".join(str(p) for p in case.paths))
                row += [_cell(case.metadata.get(k, "")) for k in meta_keys]
            out.writerow(row)


def write_measurements_csv(items: Sequence["Item"], tree: OutputTree, options: ExportOptions) -> bool:
    """measurements.csv: the readers' drawn measurements of the exported cases, under their export
    ids (the columns of `workstation measure --csv`); de-identified, without the time they were
    drawn (it dates the study). Returns whether there were any."""
    from workstation.core.measurements.store import CSV_COLUMNS

    rows = [{**row, "case_id": it.export_id} for it in items for row in it.case.measurements]
    if not rows:
        return False
    columns = [c for c in CSV_COLUMNS if not (options.deidentify and c == "updated_at")]
    with open(tree.path("measurements.csv"), "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        out.writeheader()
        out.writerows(rows)
    return True


def _cell(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)
