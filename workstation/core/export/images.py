"""Putting a case's images into the export: copies (de-identified when asked), or conversions to
NIfTI / PNG through the shared readers."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from workstation.core.export.deid import Deidentifier, burned_in_status
from workstation.core.export.deid.files import MetadataError, out_suffix, strip_metadata, without_detached_data
from workstation.core.export.deid.report import PIXELS_WARNING, REPORT_NAME, build_report
from workstation.core.io.dicom_headers import looks_like_dicom as is_dicom
from workstation.core.volume import Volume

from workstation.core.export.output import ExportError, OutputTree, missing_image, safe_name
from workstation.core.export.records import ExportCase

PLAIN_2D_SUFFIXES = (".png", ".jpg", ".jpeg")
DICOM_SUFFIXES = (".dcm", ".ima", ".dicom")


def case_files(case: ExportCase) -> list[Path]:
    """The case's files (a folder in `paths` stands for the files under it)."""
    files: list[Path] = []
    for p in case.paths:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        elif p.is_file():
            files.append(p)
        else:
            raise missing_image(case.case_id, p)
    if not files:
        raise ExportError(f"case {case.case_id!r}: no image files")
    return files


def _suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return path.suffix.lower() if path.suffix and len(path.suffix) <= 6 else ""


class ImageWriter:
    """Writes image files for one export; one Deidentifier for the whole export when de-identifying.
    Under de-identification every copied file gets a pseudonymous name, DICOM the PS3.15 profile,
    other formats their metadata removed; `finish()` writes the report."""

    def __init__(self, tree: OutputTree, deid: Deidentifier | None) -> None:
        self.tree, self.deid = tree, deid
        self.warnings: list[str] = []
        self.burned_in: list[str] = []
        self.images_written = 0
        self.report_name = REPORT_NAME if deid is not None else None
        self._non_dicom_removed: Counter = Counter()
        self._non_dicom_files: Counter = Counter()

    def copy_case(self, case: ExportCase, folder: str, patient_key: str) -> list[str]:
        """Copy every file of the case into `folder`; returns the export-relative paths."""
        out, used = [], set()
        files = case_files(case)
        if self.deid is not None:
            files = without_detached_data(files)  # the rewritten header (.mha, .nrrd) holds the voxels
        for i, src in enumerate(files, start=1):
            dicom = is_dicom(src) or src.suffix.lower() in DICOM_SUFFIXES
            if self.deid is not None:
                suffix = ".dcm" if dicom else out_suffix(_suffix(src))
                name = self.deid.file_pseudonym(f"{case.case_id}\0{src.name}") + suffix
            else:
                name = safe_name(src.name, fallback=f"{i:04d}")
            if name in used:
                name = f"{i:04d}_{name}"
            used.add(name)
            rel = f"{folder}/{name}"
            dest = self.tree.path(rel)
            if self.deid is None:
                shutil.copyfile(src, dest)
            elif dicom:
                self._deidentify_dicom(case, src, dest, rel, patient_key)
            else:
                self._strip(case, src, dest)
            self.images_written += 1
            out.append(rel)
        return out

    def _deidentify_dicom(self, case: ExportCase, src: Path, dest: Path, rel: str, patient_key: str) -> None:
        try:
            report = self.deid.deidentify_file(src, dest, patient_key=patient_key)
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 — pydicom raises many kinds on damaged files
            raise ExportError(f"case {case.case_id!r}: cannot de-identify {src.name} "
                              f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
        if report.burned_in:
            self.burned_in.append(rel)
            self.warnings.append(f"{rel}: {report.warnings[0]}")

    def _strip(self, case: ExportCase, src: Path, dest: Path) -> None:
        suffix = _suffix(src)
        try:
            removed = strip_metadata(src, dest, suffix)
        except MetadataError as exc:
            raise ExportError(f"case {case.case_id!r}: cannot de-identify {src.name}: {exc}") from None
        self._non_dicom_files[suffix or "(none)"] += 1
        self._non_dicom_removed.update({f"{suffix} {k}": v for k, v in removed.items()})

    def check_burned_in(self, case: ExportCase, rel: str) -> None:
        """For conversions (PNG, NIfTI): the headers go, but text in the pixels stays; warn as a
        DICOM copy would."""
        if self.deid is None:
            return
        self.images_written += 1
        for src in case_files(case):
            if not is_dicom(src):
                continue
            try:
                status = burned_in_status(pydicom.dcmread(src, stop_before_pixels=True))
            except Exception:  # noqa: BLE001 — an unreadable header was already reported by the reader
                continue
            if status:
                self.burned_in.append(rel)
                what = "declares burned-in annotation" if status == "yes" else \
                    "is of a kind that often has text burned into the pixels"
                self.warnings.append(f"{rel}: image {what}: pixels were not changed, check them by eye")
                return

    def finish(self) -> None:
        """Under de-identification: the one-line pixel warning and the report file."""
        if self.deid is None:
            return
        if self.images_written:
            self.warnings.append(PIXELS_WARNING.format(n=self.images_written))
        report = build_report(self.deid, self._non_dicom_removed, self._non_dicom_files, self.warnings)
        self.tree.path(REPORT_NAME).write_text(json.dumps(report, indent=1) + "\n")


def read_case_volume(case: ExportCase) -> Volume:
    """The case's image as a Volume (a multi-file DICOM series is picked out of its folder)."""
    from workstation.core.io import ImageReadError, read, read_volume

    files = case_files(case)
    try:
        if len(files) == 1:
            return read_volume(files[0])
        wanted = {f.resolve() for f in files}
        volumes = read(files[0].parent, errors=[])
        best = max(volumes, key=lambda v: len(wanted & {Path(s).resolve() for s in v.sources}), default=None)
        if best is None or not wanted & {Path(s).resolve() for s in best.sources}:
            raise ExportError(f"case {case.case_id!r}: its files could not be read as one image")
        return best
    except ImageReadError as exc:
        raise ExportError(f"case {case.case_id!r}: {exc}") from None


def to_sitk(volume: Volume, array: np.ndarray | None = None) -> sitk.Image:
    """A SimpleITK image with the volume's geometry (and its array, or the one given)."""
    data = volume.array if array is None else array
    image = sitk.GetImageFromArray(data, isVector=data.ndim == 4)
    image.SetSpacing(volume.spacing)
    image.SetOrigin(volume.origin)
    image.SetDirection(tuple(float(v) for v in volume.direction.ravel()))
    return image


def write_nifti(image: sitk.Image, dest: Path) -> None:
    sitk.WriteImage(image, str(dest), useCompression=True)  # NIfTI stores RAS; ITK converts from LPS


def write_png(volume: Volume, dest: Path, case_id: str) -> None:
    """A 2D image as an 8-bit PNG: 8-bit pictures keep their values; others are windowed with the
    image's default window (grey) or clipped (RGB)."""
    if volume.kind != "2d":
        raise ExportError(f"case {case_id!r} is 3D ({volume.size[2]} slices); an ImageFolder export "
                          f"needs 2D images (export 3D sets as monai or nifti)")
    plane = volume.array[0]
    if plane.dtype == np.uint8:
        pixels = plane  # already an 8-bit picture: keep its values
    elif volume.is_rgb:
        pixels = np.clip(plane, 0, 255).astype(np.uint8)
    else:
        center, width = volume.default_window()
        low = center - width / 2.0
        pixels = np.clip((plane.astype(float) - low) / max(width, 1e-9) * 255.0, 0, 255).round().astype(np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(pixels, isVector=pixels.ndim == 3), str(dest))
