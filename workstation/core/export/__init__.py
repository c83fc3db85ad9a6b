"""Labelled sets out of a project: csv, MONAI datalist, ImageFolder tree or NIfTI, with
patient-grouped stratified splits, optional DICOM de-identification and a manifest.

    from workstation.core.export import ExportCase, ExportOptions, export
    export([ExportCase("c1", ["a.dcm"], patient_id="p1", label="pneumonia")], "out",
           ExportOptions(format="monai", task="binary", classes=["normal", "pneumonia"]))

`export_project(project, out, ...)` (in `from_project`) builds the cases from a `Project`.
"""
from workstation.core.export.exporter import ExportResult, export
from workstation.core.export.output import MANIFEST_NAME, ExportError, safe_name, sha256_file, verify_manifest
from workstation.core.export.records import FORMATS, ExportCase, ExportOptions, Point
from workstation.core.export.splits import SPLIT_NAMES, grouped_stratified_split, parse_ratios

__all__ = ["export", "ExportResult", "ExportCase", "ExportOptions", "Point", "ExportError", "FORMATS",
           "MANIFEST_NAME", "SPLIT_NAMES", "grouped_stratified_split", "parse_ratios", "safe_name",
           "sha256_file", "verify_manifest"]
