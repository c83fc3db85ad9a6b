"""Segmentations in a project.

Segments (name, colour) are the project's, in `<project>/segmentation/segments.json`. A saved mask
is one segment of one case by one reader (or a model, reader "model:<plugin>"): a 0/1 compressed
NIfTI on the image grid at `<project>/segmentation/<case>/<reader>/<segment>/<sha256[:16]>.nii.gz`,
named by its content so no version is ever overwritten. Each save is a label of that reader under
the tag "final" whose candidate_id is "seg:<segment>" and whose value is {"file", "sha256" (of the
file), "mask_sha256" (of the voxels), "voxels", "volume_mm3", "source"}; so every version is in the
audit trail, and loading checks the file against the sha256 the audit recorded.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workstation.core.project.config import ProjectError
from workstation.core.segmentation.editor import mask_sha256
from workstation.core.segmentation.grid import Grid

SEG_PREFIX = "seg:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,63}$")
DEFAULT_COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45"]


@dataclass(frozen=True)
class Segment:
    name: str
    colour: str


@dataclass(frozen=True)
class MaskVersion:
    case_id: str
    reader: str
    segment: str
    file: str
    sha256: str
    mask_sha256: str
    voxels: int
    volume_mm3: float
    source: str
    updated_at: str


def _root(project) -> Path:
    return Path(project.directory) / "segmentation"


def check_name(name: str, what: str = "segment") -> str:
    name = str(name).strip()
    if not _NAME.match(name):
        raise ProjectError(f"bad {what} name {name!r}: letters, digits, space, _ . + - (up to 64), "
                           "starting with a letter or digit")
    return name


def segments(project) -> list[Segment]:
    path = _root(project) / "segments.json"
    if not path.exists():
        return []
    try:
        return [Segment(s["name"], s["colour"]) for s in json.loads(path.read_text())]
    except (ValueError, KeyError, TypeError):
        raise ProjectError(f"{path}: not a segment list (expected [{{'name', 'colour'}}, ...])") from None


def add_segment(project, name: str, colour: str | None = None) -> Segment:
    """The project's segment of this name (made, with the next free colour, when new)."""
    name = check_name(name)
    found = segments(project)
    for s in found:
        if s.name == name:
            return s
    if colour is None:
        colour = DEFAULT_COLOURS[len(found) % len(DEFAULT_COLOURS)]
    if not re.match(r"^#[0-9a-fA-F]{6}$", colour):
        raise ProjectError(f"bad colour {colour!r}: expected #rrggbb")
    seg = Segment(name, colour)
    root = _root(project)
    tmp = root / "segments.json.tmp"
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps([s.__dict__ for s in found + [seg]], indent=1))
        tmp.replace(root / "segments.json")
    except OSError as exc:
        if root.is_dir():
            tmp.unlink(missing_ok=True)
        raise ProjectError(f"segment {name!r} not added: cannot write {root / 'segments.json'}: "
                           f"{exc.strerror or exc}") from None
    return seg


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", part)


def save_mask(project, case_id: str, reader: str, segment: str, mask: np.ndarray, grid: Grid,
              source: str = "reader", action: str = "correct", note: str | None = None,
              undoable: bool = False) -> MaskVersion:
    """Write the mask as a new version and record it (audited). Returns what was recorded."""
    value = write_mask_file(project, case_id, reader, segment, mask, grid, source)
    return record_mask(project, case_id, reader, segment, value, action, note, undoable)


def write_mask_file(project, case_id: str, reader: str, segment: str, mask: np.ndarray, grid: Grid,
                    source: str = "reader") -> dict[str, Any]:
    """The file half of a save, nothing recorded (a view runs it off the GUI thread): the mask as a
    content-named .nii.gz; returns the version's value for `record_mask`. A failed write (a full
    disk, a folder that cannot be made) raises ProjectError with one line and leaves no file."""
    import os
    import uuid

    import SimpleITK as sitk

    if not reader or not str(reader).strip():
        raise ProjectError("a segmentation needs a reader name")
    segment = check_name(segment)
    project.case(case_id)  # an unknown case says so before a file is written
    mask = np.asarray(mask)
    if not (mask.dtype == np.uint8 and mask.flags.c_contiguous and int(mask.max(initial=0)) <= 1):
        mask = (mask != 0).astype(np.uint8)  # the editor's masks are 0/1 uint8 already: no copy
    if mask.shape != grid.shape:
        raise ProjectError(f"mask shape {mask.shape} is not the image grid {grid.shape}")
    image = sitk.GetImageFromArray(mask)
    image.SetSpacing(grid.spacing)
    image.SetOrigin(grid.origin)
    image.SetDirection(grid.direction)
    folder = _root(project) / _safe(case_id) / _safe(reader) / _safe(segment)
    tmp = folder / f".saving-{os.getpid()}-{uuid.uuid4().hex[:8]}.nii.gz"  # two savers never share one
    try:
        folder.mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(image, str(tmp), useCompression=True)
        data = tmp.read_bytes()
        if not _complete_gzip(data, mask.nbytes):
            raise OSError(28, "the file was cut short (disk full?)")
        digest = hashlib.sha256(data).hexdigest()
        final = folder / f"{digest[:16]}.nii.gz"
        tmp.replace(final)
    except (OSError, RuntimeError) as exc:  # SimpleITK reports a failed write as RuntimeError
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "the write failed (disk full?)"
        raise ProjectError(f"segment {segment!r} not saved: cannot write to {folder}: {why}") from None
    voxels = int(np.count_nonzero(mask))
    return {"file": final.relative_to(project.directory).as_posix(), "sha256": digest,
            "mask_sha256": mask_sha256(mask), "voxels": voxels, "volume_mm3": voxels * grid.voxel_mm3,
            "source": source}


def _complete_gzip(data: bytes, voxel_bytes: int) -> bool:
    """Whether a written .nii.gz is whole: ITK's gzip writer does not report a full disk, but a cut
    file's last four bytes are not gzip's length of the NIfTI (its header, then the voxels)."""
    if len(data) < 18 or data[:2] != b"\x1f\x8b":
        return False
    header = (int.from_bytes(data[-4:], "little") - voxel_bytes) % 2 ** 32
    return 348 <= header <= 65536


def record_mask(project, case_id: str, reader: str, segment: str, value: dict[str, Any], action: str = "correct",
                note: str | None = None, undoable: bool = False) -> MaskVersion:
    """The record half of a save: the written version as the reader's label "seg:<segment>" (audited;
    the project's undo brings the previous version back when `undoable`)."""
    segment = check_name(segment)
    if segment not in {s.name for s in segments(project)}:
        add_segment(project, segment)
    # Project has no public call for a structured label of a non-case target yet; boxes use this one
    project._edit(case_id, SEG_PREFIX + segment, reader, "final", value, note, action, None, undoable)
    return _version(case_id, reader, segment, value, "")


def current_value(project, case_id: str, reader: str, segment: str) -> dict[str, Any] | None:
    """The stored value of a reader's segment now (None: none saved)."""
    for v in latest_versions(project, case_id, reader):
        if v.segment == segment:
            return _value(v)
    return None


def _value(v: "MaskVersion") -> dict[str, Any]:
    return {"file": v.file, "sha256": v.sha256, "mask_sha256": v.mask_sha256, "voxels": v.voxels,
            "volume_mm3": v.volume_mm3, "source": v.source}


def version_of(case_id: str, reader: str, segment: str, value: dict[str, Any]) -> "MaskVersion":
    return _version(case_id, reader, segment, value, "")


def _version(case_id, reader, segment, v: dict[str, Any], updated_at: str) -> MaskVersion:
    return MaskVersion(case_id, reader, segment, v["file"], v["sha256"], v["mask_sha256"], int(v["voxels"]),
                       float(v["volume_mm3"]), v.get("source", "reader"), updated_at)


def _stored(project, case_id: str | None) -> list:
    from sqlalchemy import select

    from workstation.core.project import store as db
    from workstation.core.project.models import LabelRow

    L = LabelRow.__table__
    query = (select(L.c.case_id, L.c.reader, L.c.candidate_id, L.c.value, L.c.updated_at)
             .where(L.c.tag == "final", L.c.candidate_id.startswith(SEG_PREFIX)).order_by(L.c.id))
    if case_id is not None:
        query = query.where(L.c.case_id == case_id)
    with db.translated_errors(project.db_url), project.engine.connect() as conn:
        return conn.execute(query).all()


def latest_versions(project, case_id: str | None, reader: str | None = None) -> list[MaskVersion]:
    """The current saved mask of each (reader, segment) of a case (None: of every case, one query)."""
    out = []
    for r in _stored(project, case_id):
        if reader is not None and r.reader != reader:
            continue
        value = r.value if isinstance(r.value, dict) else json.loads(r.value)
        out.append(_version(r.case_id, r.reader, r.candidate_id[len(SEG_PREFIX):], value, r.updated_at))
    return out


def history(project, case_id: str, reader: str, segment: str) -> list[dict[str, Any]]:
    """Every saved version of one mask, oldest first, from the audit trail."""
    target = SEG_PREFIX + segment
    return [e.new_value for e in project.audit(case_id) if e.candidate_id == target and e.reader == reader
            and e.new_value]


def load_mask(project, version: MaskVersion) -> tuple[np.ndarray, Grid]:
    """The voxels of a saved version, after checking the file against its audited sha256."""
    import SimpleITK as sitk

    path = Path(project.directory) / version.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read the saved mask ({exc.strerror})") from None
    if hashlib.sha256(data).hexdigest() != version.sha256:
        raise ProjectError(f"{path}: the file is not the version the audit recorded (sha256 differs)")
    image = sitk.ReadImage(str(path))
    mask = sitk.GetArrayFromImage(image).astype(np.uint8)
    grid = Grid(mask.shape, tuple(image.GetSpacing()), tuple(image.GetOrigin()), tuple(image.GetDirection()))
    return mask, grid


def load_masks(project, case_id: str, reader: str) -> dict[str, np.ndarray]:
    return {v.segment: load_mask(project, v)[0] for v in latest_versions(project, case_id, reader)}


def read_mask_file(path, grid: Grid) -> np.ndarray:
    """A mask file given by the user (NIfTI, NRRD, ...) as 0/1 on the image grid; a file on another
    grid is refused with the reason."""
    import SimpleITK as sitk

    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError:
        raise ProjectError(f"{path}: not a readable mask image") from None
    mask = sitk.GetArrayFromImage(image)
    if image.GetDimension() == 2 and grid.shape[0] == 1:  # a 2D mask of a 2D image
        image = sitk.JoinSeries(image)
        image.SetSpacing(image.GetSpacing()[:2] + (grid.spacing[2],))
        image.SetOrigin(image.GetOrigin()[:2] + (grid.origin[2],))
        mask = mask[np.newaxis]
    if mask.ndim != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise ProjectError(f"{path}: a mask needs 3 dimensions of one value per voxel, got shape {mask.shape}")
    other = Grid(mask.shape, tuple(image.GetSpacing()), tuple(image.GetOrigin()), tuple(image.GetDirection()))
    if not grid.same_as(other, tol=1e-3):
        raise ProjectError(f"{path}: the mask is not on the case's image grid (shape {mask.shape[::-1]} vs "
                           f"{grid.shape[::-1]}, spacing {other.spacing} vs {grid.spacing})")
    return (mask != 0).astype(np.uint8)


def case_volume(project, case_id: str):
    """The case's image as a Volume (the grid its masks live on)."""
    from workstation.core.export.images import read_case_volume
    from workstation.core.export.records import ExportCase

    case = project.case(case_id)
    from workstation.core.errors import WorkstationError

    try:
        return read_case_volume(ExportCase(case.case_id, [Path(p) for p in case.paths]))
    except WorkstationError as exc:
        raise ProjectError(str(exc)) from None
