"""Turning files and folders into cases with the image scanner of `workstation.core.io`: each image
file is a case, each DICOM series is one case (its files in slice order)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_ID_TAGS = ["PatientID", "StudyInstanceUID", "Modality"]


@dataclass
class FoundCase:
    paths: list[str]
    name: str
    patient_id: str | None = None
    study_id: str | None = None
    metadata: dict = field(default_factory=dict)


def find_cases(paths, progress=None, cancel=None, follow_symlinks: bool = False,
               verify: bool = True) -> tuple[list[FoundCase], list[str]]:
    """Cases found under `paths` (files or folders) and one line per file skipped, with the reason.
    A file reached through a symbolic link that leads out of the folder given is skipped unless
    `follow_symlinks` (a link inside a project's image folder must not pull in /etc/hostname).
    With `verify` every case is read whole, with every check the readers make, so that a damaged
    file (cut short, forged sizes, NaN geometry, a bomb) never becomes a case; a series with one
    damaged slice is refused whole."""
    from workstation.core.io import ImageReadError, scan

    entries, problems = [], []
    for start in paths:
        result = scan(start, progress, cancel)
        problems.extend(str(err) for err in result.errors)
        problems.extend(f"{p}: not an image" for p in result.skipped)
        root = _resolved(Path(start))
        if root is None:
            problems.append(f"{start}: a symbolic link loop")
            continue
        root = root if root.is_dir() else root.parent
        for entry in result.entries:
            outside = [f for f in entry.files if not _inside(Path(f), root)]
            if outside and not follow_symlinks:
                problems.extend(f"{f}: a symbolic link to {_resolved(Path(f)) or 'itself (a loop)'}, outside "
                                f"{root} (pass --follow-symlinks to add it)" for f in outside)
                continue
            if verify:
                bad: list = []
                try:
                    entry.read(None, cancel, bad)
                except ImageReadError as exc:
                    bad.append(exc)
                if bad:
                    problems.append(str(bad[0]) if len(entry.files) == 1 else
                                    f"{entry.path}: series refused, {len(bad)} damaged file(s); first: {bad[0]}")
                    continue
            entries.append(entry)
    shared = Counter(str(e.path) for e in entries if e.kind == "dicom-series")
    found = []
    for entry in entries:
        name = entry.path.name
        if entry.kind == "dicom-series" and shared[str(entry.path)] > 1:
            name = f"{entry.path.name}_{entry.description or entry.series_uid[-8:]}"
        case = FoundCase([str(Path(f).resolve()) for f in entry.files], name)
        if entry.kind != "image-file":
            _dicom_ids(case, entry)
        found.append(case)
    return found, problems


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return None


def _inside(path: Path, root: Path) -> bool:
    resolved = _resolved(path)
    return resolved is not None and resolved.is_relative_to(root)


def _dicom_ids(case: FoundCase, entry) -> None:
    import pydicom

    try:
        ds = pydicom.dcmread(entry.files[0], stop_before_pixels=True, specific_tags=_ID_TAGS, force=True)
    except Exception:  # noqa: BLE001 — the scanner already read this header; ids are optional
        return
    case.patient_id = str(ds.get("PatientID", "") or "") or None
    case.study_id = str(ds.get("StudyInstanceUID", "") or "") or None
    meta = {"series_uid": entry.series_uid, "modality": str(ds.get("Modality", "") or ""),
            "series_description": entry.description, "kind": entry.kind}
    case.metadata = {k: v for k, v in meta.items() if v}
