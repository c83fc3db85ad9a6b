"""Image input: files and folders into `Volume`s.

    read(path_or_files, progress=None, cancel=None, errors=None) -> list[Volume]
    read_volume(path_or_files, progress=None, cancel=None) -> Volume
    scan(path, progress=None, cancel=None) -> ScanResult (headers only; entries have .read())
    scan_files(files, progress=None, cancel=None) -> ScanResult

    sniff(path) -> format name by content (magic bytes) or None; is_image_file(path) -> bool

`progress(fraction, message)` is called with fraction in 0..1; `cancel()` returning True stops the
read with `ReadCancelled`. Every failure is an `ImageReadError` whose text is one line naming the
file and the reason: damaged files are refused, never read as valid (see docs/readme/io.md for the
checks and the `WORKSTATION_MAX_VOXELS` limit). Safe to call from a worker thread.
"""
from __future__ import annotations

import os
from pathlib import Path

from workstation.core.io.errors import ImageReadError, ReadCancelled, check_cancel
from workstation.core.io.formats import is_image_file, sniff
from workstation.core.io.itk import ITK_SUFFIXES
from workstation.core.io.scan import Entry, ScanResult, scan, scan_files
from workstation.core.volume import Volume

__all__ = ["read", "read_volume", "scan", "scan_files", "Entry", "ScanResult", "ImageReadError", "ReadCancelled",
           "ITK_SUFFIXES", "is_image_file", "sniff"]


def read(path, progress=None, cancel=None, errors: list | None = None) -> list[Volume]:
    """Every image or series under `path`: a file, a folder (searched recursively), or a list of
    files (DICOM files among them stack into series as in a folder).

    Files that cannot be read are appended to `errors` when a list is given. Without one, they are
    named in the warnings of each returned volume, and ImageReadError is raised only when nothing
    at all could be read.
    """
    if isinstance(path, (list, tuple)):  # an explicit set of files, grouped like a folder's
        scan_share = 0.1
        result = scan_files(path, _sub(progress, 0.0, scan_share), cancel)
        path = _common_folder(path)
    else:
        path = Path(path)
        scan_share = 0.1 if path.is_dir() else 0.0
        result = scan(path, _sub(progress, 0.0, scan_share), cancel)
    failures = list(result.errors)
    volumes: list[Volume] = []
    total = sum(len(e.files) for e in result.entries) or 1
    done = 0
    for entry in result.entries:
        check_cancel(cancel)
        start = scan_share + (1 - scan_share) * done / total
        done += len(entry.files)
        try:
            volumes.append(entry.read(_sub(progress, start, scan_share + (1 - scan_share) * done / total), cancel,
                                      failures))
        except ImageReadError as exc:
            failures.append(exc)
    if errors is not None:
        errors.extend(failures)
    elif failures:
        if not volumes:
            raise failures[0] if len(failures) == 1 else ImageReadError(
                path, f"nothing readable: {len(failures)} failures, first: {failures[0]}")
        for volume in volumes:
            volume.warnings.extend(f"skipped unreadable file {f}" for f in failures)
    if not volumes and errors is None:
        raise ImageReadError(path, f"no images found (supported: DICOM, NIfTI, NRRD, MetaImage, PNG, JPEG, TIFF, BMP)")
    if progress:
        progress(1.0, f"read {len(volumes)} image(s)")
    return volumes


def read_volume(path, progress=None, cancel=None) -> Volume:
    """The first (usually only) image or series under `path`."""
    return read(path, progress, cancel)[0]


def _common_folder(files) -> Path:
    try:
        return Path(os.path.commonpath([str(Path(p).resolve().parent) for p in files]))
    except ValueError:
        return Path(".")


def _sub(progress, start: float, end: float):
    if progress is None:
        return None
    return lambda fraction, message="": progress(start + (end - start) * min(max(fraction, 0.0), 1.0), message)
