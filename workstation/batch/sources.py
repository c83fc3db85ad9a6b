"""What a batch runs over: the images and series of a folder tree, or the paths listed in a CSV
file (column `path`, optional `case_id`). Each input gets a content hash (sha256 of its bytes; of
its files' hashes for a series), which with the plugin and weights is what a rerun skips on."""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from workstation.core.errors import WorkstationError
from workstation.plugin_host import file_sha256


class SourceError(WorkstationError, ValueError):
    """The source cannot be listed; a one-line reason."""


@dataclass
class BatchInput:
    case_id: str
    path: str  # the file, or the folder of a series
    files: list[str] = field(default_factory=list)
    kind: str = "image-file"  # scan.Entry kinds, or "unreadable" (found but not an image)
    reason: str = ""  # why an unreadable input cannot be run
    content_hash: str = ""
    pacs: dict = field(default_factory=dict)  # a PACS series: node, study and series UIDs, cache folder


def content_hash(files: list[str]) -> str:
    """sha256 of one file, or of the sorted hashes of a series' files; "" when a file cannot be read."""
    try:
        if len(files) == 1:
            return file_sha256(files[0])
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(file_sha256(name).encode())
        return digest.hexdigest()
    except OSError:
        return ""


def list_inputs(source) -> list[BatchInput]:
    path = Path(source)
    if path.is_dir():
        inputs = _folder(path)
    elif path.is_file() and path.suffix.lower() == ".csv":
        inputs = _csv(path)
    elif not path.exists():
        raise SourceError(f"{source}: no such file or folder")
    else:
        raise SourceError(f"{source}: a batch source is a folder or a CSV file of paths")
    for item in inputs:
        item.content_hash = content_hash(item.files) if item.files else ""
    return inputs


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or path.name
    except ValueError:
        return str(path)


def _folder(root: Path) -> list[BatchInput]:
    from workstation.core.io.scan import scan

    found = scan(root)
    inputs = [BatchInput(_relative(e.path, root), str(e.path), [str(f) for f in e.files], e.kind)
              for e in found.entries]
    inputs += [BatchInput(_relative(Path(err.path), root), str(err.path), [str(err.path)], "unreadable",
                          err.reason)
               for err in found.errors]
    inputs.sort(key=lambda i: i.case_id)
    taken: set[str] = set()
    for item in inputs:  # a series folder and a file in it could share a name: keep ids unique
        base, n = item.case_id, 1
        while item.case_id in taken:
            n += 1
            item.case_id = f"{base}#{n}"
        taken.add(item.case_id)
    return inputs


def _csv(path: Path) -> list[BatchInput]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SourceError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows or "path" not in rows[0]:
        raise SourceError(f"{path}: needs a `path` column (and optionally `case_id`)")
    inputs, taken = [], set()
    for line, row in enumerate(rows, start=2):
        text = (row.get("path") or "").strip()
        if not text:
            raise SourceError(f"{path}:{line}: empty path")
        target = Path(text) if Path(text).is_absolute() else path.parent / text
        case_id = (row.get("case_id") or "").strip() or text
        if case_id in taken:
            raise SourceError(f"{path}:{line}: case_id {case_id!r} appears twice")
        taken.add(case_id)
        inputs.append(_one(case_id, target))
    return inputs


def _one(case_id: str, target: Path) -> BatchInput:
    """A CSV row: a file, or a folder holding one series (its files hashed together)."""
    if not os.path.lexists(target):
        return BatchInput(case_id, str(target), [], "unreadable", "no such file or folder")
    if target.is_dir():
        files = sorted(str(p) for p in target.rglob("*") if p.is_file())
        if not files:
            return BatchInput(case_id, str(target), [], "unreadable", "empty folder")
        return BatchInput(case_id, str(target), files, "folder")
    return BatchInput(case_id, str(target), [str(target)], "image-file")
