"""Real sample images for the tests and the demo, found or prepared on this machine.

- DICOM files of many kinds from the `pydicom-data` package (`dicom_file(name)`; never downloads).
- The MNI152 2009 brain template and its tissue maps/masks from nilearn's offline loaders, saved
  once as .nii.gz (`mni152(kind)`).
- 16 labelled paediatric chest X-rays (8 NORMAL, 8 PNEUMONIA; Kermany 2018, CC BY 4.0) taken
  from the `pneumonia-model-package==0.3.0` wheel, which `pip download` fetches from PyPI once
  (`chest_xrays()`); they land in NORMAL/ and PNEUMONIA/ with a labels.csv.

Everything is cached under `<data dir>/samples` ($WORKSTATION_DATA_DIR when set). Functions raise
`SampleError` (a one-line reason) when a source is not installed or cannot be fetched.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from workstation.core import settings
from workstation.core.errors import WorkstationError

# Named pydicom-data files the tests and the demo use (any other name works with dicom_file()).
DICOM_SAMPLES = {
    "ct-small": "CT_small.dcm",            # CT 128x128, rescale -1024
    "ct-head": "693_UNCR.dcm",             # CT head 512x512 (CQ500, non-commercial)
    "ct-head-j2k": "693_J2KR.dcm",         # the same slice, JPEG 2000 lossless
    "ct-enhanced": "eCT_Supplemental.dcm", # enhanced CT, per-frame functional groups
    "mr-small": "MR_small.dcm",            # MR 64x64
    "mr-small-rle": "MR_small_RLE.dcm",    # the same, RLE
    "mr-multiframe": "emri_small.dcm",     # enhanced MR, 10 frames
    "cr-chest": "RG1_UNCR.dcm",            # CR, MONOCHROME1
    "cr-chest-j2k": "RG1_J2KR.dcm",        # the same, JPEG 2000 lossless
    "us-rgb": "US1_UNCR.dcm",              # ultrasound, RGB
    "us-palette": "OBXXXX1A.dcm",          # ultrasound, palette colour
    "mr-jpeg-ls": "MR_small_jpeg_ls_lossless.dcm",
    "sc-jpeg-baseline": "SC_rgb_dcmtk_+eb+cr.dcm",
}
MNI152_KINDS = ("t1", "brain_mask", "gm", "wm", "gm_mask", "wm_mask")
CHEST_XRAY_WHEEL = "pneumonia-model-package==0.3.0"
_CHEST_MEMBERS = "/datasets/pneumonia-data/val/"


class SampleError(WorkstationError):
    """A sample could not be found or prepared; str() is one line."""


def samples_dir() -> Path:
    return settings.data_dir() / "samples"


def dicom_file(name: str) -> Path:
    """A pydicom-data file by file name ('CT_small.dcm') or by a DICOM_SAMPLES key ('ct-small')."""
    name = DICOM_SAMPLES.get(name, name)
    try:
        from pydicom.data import get_testdata_file
    except ImportError:  # pragma: no cover - pydicom is a core dependency
        raise SampleError("pydicom is not installed") from None
    path = get_testdata_file(name, download=False)
    if path is None:
        raise SampleError(f"{name}: not found in pydicom's test files or pydicom-data "
                          f"(pip install 'workstation[samples]')")
    return Path(path)


def mni152(kind: str = "t1", resolution: int = 1, dest: Path | None = None) -> Path:
    """The MNI152 template ('t1') or a tissue map/mask as .nii.gz, written once and cached."""
    if kind not in MNI152_KINDS:
        raise SampleError(f"unknown MNI152 kind {kind!r}; choose from {', '.join(MNI152_KINDS)}")
    path = (dest or samples_dir() / "mni152") / f"mni152_{kind}_{resolution}mm.nii.gz"
    if path.exists():
        return path
    try:
        from nilearn import datasets
    except ImportError:
        raise SampleError("nilearn is not installed (pip install 'workstation[samples]')") from None
    loader = {"t1": datasets.load_mni152_template, "brain_mask": datasets.load_mni152_brain_mask,
              "gm": datasets.load_mni152_gm_template, "wm": datasets.load_mni152_wm_template,
              "gm_mask": datasets.load_mni152_gm_mask, "wm_mask": datasets.load_mni152_wm_mask}[kind]
    image = loader(resolution=resolution)  # offline: these ship with nilearn
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part.nii.gz")
    image.to_filename(partial)
    partial.replace(path)  # a killed run never leaves a half-written cache file
    return path


def chest_xrays(dest: Path | None = None, timeout_s: float = 600) -> Path:
    """Folder with NORMAL/*.jpeg, PNEUMONIA/*.jpeg (8 each) and labels.csv; fetched once."""
    dest = Path(dest) if dest else samples_dir() / "chest-xrays"
    if _chest_ready(dest):
        return dest
    with tempfile.TemporaryDirectory(prefix="workstation-samples-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-q", CHEST_XRAY_WHEEL, "-d", tmp]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise SampleError(f"pip download {CHEST_XRAY_WHEEL} took over {timeout_s:.0f} s") from None
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise SampleError(f"pip download {CHEST_XRAY_WHEEL} failed: {last}")
        staging = dest.with_name(dest.name + ".part")
        shutil.rmtree(staging, ignore_errors=True)
        rows = ["file,label"]
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [m for m in wheel.namelist() if _CHEST_MEMBERS in m and not m.endswith("/")]
            for member in sorted(members):
                name = Path(member).name
                label = "NORMAL" if name.upper().startswith("NORMAL") else "PNEUMONIA"
                target = staging / label / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with wheel.open(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                rows.append(f"{label}/{name},{label}")
        if len(rows) != 17:
            raise SampleError(f"{wheels[0].name}: expected 16 validation X-rays, found {len(rows) - 1}")
        (staging / "labels.csv").write_text("\n".join(rows) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        staging.replace(dest)
    return dest


def _chest_ready(dest: Path) -> bool:
    return (dest / "labels.csv").exists() and len(list(dest.glob("*/*.jpeg"))) == 16


def catalogue(prepare: bool = True, download: bool = True) -> list[dict]:
    """Every sample: {"name", "kind", "path" (None when not ready), "source", "error"}. With
    `prepare`, the MNI152 files are written and, with `download`, the chest X-rays fetched."""
    out: list[dict] = []

    def add(name, kind, source, fn):
        try:
            path, error = str(fn()), None
        except SampleError as exc:
            path, error = None, str(exc)
        out.append({"name": name, "kind": kind, "path": path, "source": source, "error": error})

    for key, filename in DICOM_SAMPLES.items():
        add(key, "dicom", f"pydicom-data {filename}", lambda f=filename: dicom_file(f))
    for kind in MNI152_KINDS:
        path = samples_dir() / "mni152" / f"mni152_{kind}_1mm.nii.gz"
        add(f"mni152-{kind}", "nifti", "nilearn MNI152 2009 (offline loader)",
            (lambda k=kind: mni152(k)) if prepare else (lambda p=path: _existing(p)))
    chest = samples_dir() / "chest-xrays"
    add("chest-xrays", "folder", f"PyPI wheel {CHEST_XRAY_WHEEL} (Kermany 2018, CC BY 4.0)",
        (lambda: chest_xrays()) if prepare and download else (lambda: _existing(chest, _chest_ready(chest))))
    return out


def _existing(path: Path, ready: bool | None = None) -> Path:
    if ready if ready is not None else path.exists():
        return path
    raise SampleError("not prepared yet (run `workstation samples`)")


def stacked_ct(folder: Path, n: int) -> list[Path]:
    """pydicom-data's CT_small (real pixels) as one n-slice series: new study, series and frame UIDs,
    slices 1 mm apart, written as `folder/0000.dcm`..."""
    import pydicom
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    base = pydicom.dcmread(dicom_file("CT_small.dcm"))
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    paths = []
    for k in range(n):
        ds = base.copy()
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [float(v) for v in base.ImagePositionPatient[:2]] + [float(k)]
        ds.SliceLocation = float(k)
        paths.append(folder / f"{k:04d}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths
