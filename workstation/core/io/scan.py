"""Finding images: a path (file or folder, searched recursively) becomes a list of entries (DICOM
series, single DICOM files, other image files) found from headers only, plus one error per file that
looks like an image but cannot be read. Reading the pixels is `Entry.read`."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from workstation.core.io import itk
from workstation.core.io.dicom_headers import DICOM_SUFFIXES, DicomHeader, group_series, read_header
from workstation.core.io.errors import ImageReadError, ReadCancelled, check_cancel
from workstation.core.volume import Volume

SUPPORTED = "DICOM, NIfTI, NRRD, MetaImage, PNG, JPEG, TIFF or BMP"
_SKIP_NAMES = {"DICOMDIR", "LOCKFILE", "VERSION"}


@dataclass
class Entry:
    """One image or series found by `scan`; `read()` loads it."""
    kind: str  # "dicom-series" | "dicom-file" | "image-file"
    path: Path  # the file, or for a series the folder holding its files
    files: list[Path]
    headers: list[DicomHeader] = field(default_factory=list)
    series_uid: str = ""
    description: str = ""

    def read(self, progress=None, cancel=None, errors: list | None = None) -> Volume:
        """The pixels. `errors` collects files of a series that could not be read (shown blank)."""
        try:
            if self.kind != "image-file":
                from workstation.core.io import dicom  # pydicom only when DICOM is read
            if self.kind == "dicom-series":
                return dicom.read_series(self.headers, progress, cancel, errors)
            if self.kind == "dicom-file":
                return dicom.read_file(self.files[0], progress, cancel)
            return itk.read_file(self.files[0], progress, cancel)
        except (ImageReadError, ReadCancelled):
            raise
        except MemoryError:
            raise ImageReadError(self.path, "not enough memory to load this image") from None
        except Exception as exc:  # noqa: BLE001 - a reader's own bug or a library's surprise: still one line
            raise ImageReadError(self.path, f"cannot read: {type(exc).__name__}: {_one_line(exc)}") from None


@dataclass
class ScanResult:
    entries: list[Entry]
    errors: list[ImageReadError]
    skipped: list[Path]  # files that are not images (text, DICOM SR/RT objects, DICOMDIR, ...)


def scan(path, progress=None, cancel=None) -> ScanResult:
    path = Path(path)
    if not os.path.lexists(path):
        return ScanResult([], [ImageReadError(path, "no such file or folder")], [])
    if path.is_dir():
        return _scan_folder(path, progress, cancel)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return ScanResult([], [ImageReadError(path, exc.strerror or str(exc))], [])
    if size == 0:
        return ScanResult([], [ImageReadError(path, "empty file (0 bytes)")], [])
    if itk.itk_suffix(path):
        return ScanResult([Entry("image-file", path, [path], description=path.name)], [], [])
    from pydicom.errors import InvalidDicomError

    try:
        header = read_header(path)
    except InvalidDicomError:
        suffix = path.suffix.lower()
        reason = "not a DICOM file" if suffix in DICOM_SUFFIXES and suffix else f"not a {SUPPORTED} file"
        return ScanResult([], [ImageReadError(path, reason)], [])
    except OSError as exc:
        return ScanResult([], [ImageReadError(path, f"cannot open: {exc.strerror or exc}")], [])
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on damaged headers
        return ScanResult([], [ImageReadError(path, f"damaged DICOM header: {_one_line(exc)}")], [])
    if not header.is_image:
        return ScanResult([], [ImageReadError(path, f"DICOM without pixel data ({_sop_name(header)})")], [])
    return ScanResult([_dicom_file_entry(header)], [], [])


def scan_files(paths, progress=None, cancel=None) -> ScanResult:
    """Like `scan` on a folder, for an explicit list of files (e.g. the files of one project case):
    DICOM files among them that belong together are grouped into series."""
    files = [Path(p) for p in paths]
    missing = [ImageReadError(f, "no such file or folder") for f in files if not os.path.lexists(f)]
    result = _scan_list([f for f in files if os.path.lexists(f)], progress, cancel)
    result.errors[:0] = missing
    result.errors.extend(ImageReadError(f, f"not a {SUPPORTED} image") for f in result.skipped)
    result.skipped = []  # named explicitly: a non-image is an error, not noise in a folder
    return result


def _scan_folder(folder: Path, progress, cancel) -> ScanResult:
    problems: list[ImageReadError] = []
    files = _walk(folder, problems)
    result = _scan_list(files, progress, cancel)
    result.errors[:0] = problems
    return result


def _walk(folder: Path, problems: list[ImageReadError]) -> list[Path]:
    """Files under `folder` in sorted depth-first order, hidden names left out. Links to folders
    are followed once; a folder that cannot be listed, or a link back to a folder above it (a
    loop), is reported in `problems` instead of being passed over."""
    files: list[Path] = []
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Path, tuple]] = [(folder, ())]
    while stack:
        current, above = stack.pop()
        try:
            info = current.stat()
        except OSError as exc:
            problems.append(ImageReadError(current, f"cannot read folder: {exc.strerror or exc}"))
            continue
        key = (info.st_dev, info.st_ino)
        if key in above:
            problems.append(ImageReadError(current, "symlink loop: this link points back to a folder above it"))
            continue
        if key in seen:
            continue  # reached again through another link: its files are listed once
        seen.add(key)
        try:
            with os.scandir(current) as listing:
                names = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            problems.append(ImageReadError(current, f"cannot read folder: {exc.strerror or exc}"))
            continue
        subfolders = []
        for entry in names:
            if entry.name.startswith("."):
                continue
            try:
                is_folder = entry.is_dir()  # follows links; a dangling link is a file that fails later
            except OSError:
                is_folder = False
            if is_folder:
                subfolders.append(Path(entry.path))
            elif entry.name.upper() not in _SKIP_NAMES:
                files.append(Path(entry.path))
        stack.extend((sub, above + (key,)) for sub in reversed(subfolders))
    return files


def _scan_list(files: list[Path], progress, cancel) -> ScanResult:
    entries: list[Entry] = []
    errors: list[ImageReadError] = []
    skipped: list[Path] = []
    headers: list[DicomHeader] = []
    total = max(len(files), 1)
    for count, f in enumerate(files, 1):
        if count % 64 == 0:
            check_cancel(cancel)
            if progress:
                progress(count / total, f"scanning {count}/{total}")
        _classify(f, entries, errors, skipped, headers)
    check_cancel(cancel)
    for group in group_series(headers):
        if len(group) > 1 and all(h.position is not None and h.orientation is not None for h in group):
            entries.append(_series_entry(group))
        else:  # 2D images sharing a series (CR/DX views, US): each stands alone
            entries.extend(_dicom_file_entry(h) for h in group)
    entries.sort(key=lambda e: str(e.path))
    if progress:
        progress(1.0, f"found {len(entries)} image(s)")
    return ScanResult(entries, errors, skipped)


def _classify(f: Path, entries, errors, skipped, headers) -> None:
    try:
        size = f.stat().st_size
    except OSError as exc:
        errors.append(ImageReadError(f, exc.strerror or str(exc)))
        return
    suffix = f.suffix.lower()
    dicom_named = suffix in DICOM_SUFFIXES or suffix[1:].isdigit()  # UID-named files: "1.2.840.113619"
    if itk.itk_suffix(f):
        if size == 0:
            errors.append(ImageReadError(f, "empty file (0 bytes)"))
        else:
            entries.append(Entry("image-file", f, [f], description=f.name))
        return
    if size == 0:
        (errors.append(ImageReadError(f, "empty file (0 bytes)")) if suffix in (".dcm", ".dicom", ".ima")
         else skipped.append(f))
        return
    if not dicom_named:  # DICOM-named files are opened once, by read_header
        try:
            with open(f, "rb") as handle:
                head = handle.read(132)
        except OSError as exc:
            errors.append(ImageReadError(f, f"cannot open: {exc.strerror or exc}"))
            return
        if head[128:132] != b"DICM":
            skipped.append(f)
            return
    from pydicom.errors import InvalidDicomError

    try:
        header = read_header(f)
    except InvalidDicomError:
        if suffix and suffix in DICOM_SUFFIXES:
            errors.append(ImageReadError(f, "not a DICOM file"))
        else:
            skipped.append(f)
        return
    except OSError as exc:
        errors.append(ImageReadError(f, f"cannot open: {exc.strerror or exc}"))
        return
    except Exception as exc:  # noqa: BLE001
        errors.append(ImageReadError(f, f"damaged DICOM header: {_one_line(exc)}"))
        return
    if header.is_image:
        headers.append(header)
    elif not header.sop_class:  # DICM magic, then nothing a DICOM object needs: damaged
        errors.append(ImageReadError(f, "damaged DICOM header: no SOP Class UID and no image size"))
    elif "Image Storage" in _sop_name(header):  # an image object whose image part is missing
        errors.append(ImageReadError(f, f"DICOM without pixel data ({_sop_name(header)})"))
    else:  # SR, RT plans, waveforms, presentation states, DICOMDIR: not images, not errors
        skipped.append(f)


def _dicom_file_entry(h: DicomHeader) -> Entry:
    return Entry("dicom-file", h.path, [h.path], [h], h.series_uid, h.description)


def _series_entry(group: list[DicomHeader]) -> Entry:
    folder = Path(os.path.commonpath([str(h.path.parent) for h in group]))
    return Entry("dicom-series", folder, [h.path for h in group], group, group[0].series_uid, group[0].description)


def _sop_name(h: DicomHeader) -> str:
    from pydicom.uid import UID

    return UID(h.sop_class).name if h.sop_class else "unknown SOP class"


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]
