"""Reading speed of workstation.core.io against the obvious baselines, in one run:

1. a 512x512x300 CT series (written from a real 512x512 CT head slice of pydicom-data, 693_UNCR.dcm)
   through `workstation.core.io.read_volume` vs SimpleITK (GDCM series file names + ReadImage);
2. a 256x256x160 .nii.gz (the nilearn MNI152 T1 padded/cropped to that size; int16 and float32)
   through workstation vs `SimpleITK.ReadImage`;
3. listing the series of a 2,000-file DICOM folder with `workstation.core.io.scan` vs a plain
   `pydicom.dcmread(stop_before_pixels=True)` loop over the same files;
4. a 40-slice JPEG 2000 CT series (the real 693_J2KR.dcm slice, re-positioned) vs a plain
   `pydicom.dcmread(...).pixel_array` loop: the per-file checks (decoder output captured, codestream
   ends, geometry) are what this measures;
5. a 1955x1841 PNG and JPEG (the real CR film RG1_UNCR.dcm) vs `SimpleITK.ReadImage`.

Goals: read ratio <= 1.1 (compressed series and pictures: <= 1.2, the checks' cost included),
listing ratio <= 2. Each timing is the best of --repeats runs (warm file cache). Temporary data lives
under /tmp and is deleted at the end. To compare two versions of the readers, run this file with
PYTHONPATH pointing at the other checkout (it only uses the public API).

With `--compare-with DIR` (a checkout of another version, e.g. `git worktree add /tmp/old HEAD~3`)
the same reads also run in child processes under both versions, timed in CPU seconds (robust on a
shared, loaded machine), and the table gives this version / that version per task.

    python benchmarks/bench_io.py [--repeats 3] [--slices 300] [--files 2000] [--compare-with DIR]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from workstation.core.io import read_volume, scan


def best_of(repeats: int, fn):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def write_ct_series(folder: Path, slices: int) -> None:
    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm", download=False))
    assert (ds.Rows, ds.Columns) == (512, 512)
    ds.SeriesInstanceUID = generate_uid()
    x, y, z0 = (float(v) for v in ds.ImagePositionPatient)
    names = [f"IM{k:05d}.dcm" for k in range(slices)]
    random.Random(0).shuffle(names)  # directory order unrelated to anatomy, as in real exports
    folder.mkdir(parents=True)
    for k in range(slices):
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImagePositionPatient = [x, y, z0 + 0.625 * k]
        ds.InstanceNumber = k + 1
        ds.save_as(folder / names[k])


def write_nifti(path: Path, dtype) -> None:
    from nilearn.datasets import load_mni152_template

    mni = load_mni152_template(resolution=1)  # 197 x 233 x 189, 1 mm
    data = np.asarray(mni.dataobj, dtype=np.float32)
    out = np.zeros((256, 256, 160), dtype=np.float32)
    out[29:29 + 197, 11:11 + 233, :] = data[:, :, 15:175]
    out *= 1000.0 / max(float(out.max()), 1.0)
    img = sitk.GetImageFromArray(out.transpose(2, 1, 0).astype(dtype))
    img.SetSpacing((1.0, 1.0, 1.0))
    img.SetOrigin((-128.0, -128.0, -72.0))
    sitk.WriteImage(img, str(path), useCompression=True)


def write_listing_folder(folder: Path, files: int) -> None:
    """`files` small real DICOMs in 20 series (CT_small and MR_small copies) across 4 subfolders."""
    sources = [pydicom.dcmread(get_testdata_file(n, download=False)) for n in ("CT_small.dcm", "MR_small.dcm")]
    per_series = files // 20
    for s in range(20):
        ds = sources[s % 2]
        ds.SeriesInstanceUID = generate_uid()
        sub = folder / f"study{s % 4}" / f"series{s:02d}"
        sub.mkdir(parents=True)
        for k in range(per_series):
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.ImagePositionPatient = [0.0, 0.0, 2.0 * k]
            ds.save_as(sub / f"{k:04d}")


def write_j2k_series(folder: Path, slices: int) -> None:
    ds = pydicom.dcmread(get_testdata_file("693_J2KR.dcm", download=False))
    ds.SeriesInstanceUID = generate_uid()
    x, y, z0 = (float(v) for v in ds.ImagePositionPatient)
    folder.mkdir(parents=True)
    for k in range(slices):
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImagePositionPatient = [x, y, z0 + 5.0 * k]
        ds.InstanceNumber = k + 1
        ds.save_as(folder / f"IM{k:04d}.dcm")


def plain_pixels(folder: Path):
    return [pydicom.dcmread(p).pixel_array for p in sorted(folder.iterdir())]


def write_pictures(folder: Path) -> None:
    from PIL import Image

    pixels = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm", download=False)).pixel_array
    grey = (pixels / pixels.max() * 255).astype(np.uint8)
    Image.fromarray(grey).save(folder / "cr.png")
    Image.fromarray(grey).save(folder / "cr.jpg", quality=90)


_CHILD = """
import json, sys, time
from workstation.core.io import read_volume, scan
repeats, tasks = int(sys.argv[1]), json.loads(sys.argv[2])
out = {}
for name, path in tasks.items():
    call = (lambda p=path: scan(p)) if name.startswith("list") else (lambda p=path: read_volume(p))
    call()  # warm: imports, file cache
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    out[name] = best
print(json.dumps(out))
"""


def cpu_times(checkout: Path | None, repeats: int, tasks: dict) -> dict:
    """CPU seconds of each read in a child process importing workstation from `checkout`
    (None: this one)."""
    import json
    import subprocess
    import sys

    env = dict(os.environ)
    root = checkout or Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(repeats), json.dumps({k: str(v) for k, v in tasks.items()})],
                          capture_output=True, text=True, env=env, cwd="/", check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def plain_listing(folder: Path):
    """The baseline: walk the folder and read every header with pydicom, grouping by series UID."""
    series: dict[str, list[str]] = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            series.setdefault(ds.SeriesInstanceUID, []).append(path)
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--compare-with", type=Path, default=None, metavar="DIR",
                        help="another checkout: time the same reads under it (CPU seconds)")
    args = parser.parse_args()
    sitk.ProcessObject_SetGlobalWarningDisplay(False)
    tmp = Path(tempfile.mkdtemp(prefix="bench_io-", dir="/tmp"))
    rows = []
    try:
        t0 = time.perf_counter()
        write_ct_series(tmp / "ct", args.slices)
        for dtype in (np.int16, np.float32):
            write_nifti(tmp / f"brain_{np.dtype(dtype).name}.nii.gz", dtype)
        write_listing_folder(tmp / "listing", args.files)
        write_j2k_series(tmp / "j2k", 40)
        write_pictures(tmp)
        print(f"test data written to {tmp} in {time.perf_counter() - t0:.1f} s")

        ours, vol = best_of(args.repeats, lambda: read_volume(tmp / "ct"))

        def sitk_series():
            names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(tmp / "ct"))
            return sitk.ReadImage(names)

        base, img = best_of(args.repeats, sitk_series)
        assert vol.size == img.GetSize() and np.array_equal(vol.array, sitk.GetArrayViewFromImage(img))
        rows.append((f"CT series {vol.size[0]}x{vol.size[1]}x{vol.size[2]} int16", ours, "SimpleITK series ReadImage", base, 1.1))

        for dtype in ("int16", "float32"):
            path = tmp / f"brain_{dtype}.nii.gz"
            ours, vol = best_of(args.repeats, lambda: read_volume(path))
            base, img = best_of(args.repeats, lambda: sitk.ReadImage(str(path)))
            assert vol.size == img.GetSize() and np.array_equal(vol.array, sitk.GetArrayViewFromImage(img))
            rows.append((f"NIfTI .nii.gz 256x256x160 {dtype}", ours, "SimpleITK.ReadImage", base, 1.1))

        ours, found = best_of(args.repeats, lambda: scan(tmp / "listing"))
        base, plain = best_of(args.repeats, lambda: plain_listing(tmp / "listing"))
        assert len(found.entries) == len(plain) == 20 and not found.errors
        rows.append((f"list series of {args.files} DICOM files", ours, "pydicom dcmread(stop_before_pixels) loop", base, 2.0))

        ours, vol = best_of(args.repeats, lambda: read_volume(tmp / "j2k"))
        base, plain = best_of(args.repeats, lambda: plain_pixels(tmp / "j2k"))
        assert vol.size[2] == len(plain) == 40
        rows.append(("JPEG 2000 CT series 512x512x40", ours, "pydicom dcmread + pixel_array loop", base, 1.2))

        for name in ("cr.png", "cr.jpg"):
            path = tmp / name
            ours, vol = best_of(args.repeats, lambda: read_volume(path))
            base, img = best_of(args.repeats, lambda: sitk.ReadImage(str(path)))
            assert vol.size[:2] == img.GetSize()
            rows.append((f"{name[3:].upper()} 1841x1955 grey", ours, "SimpleITK.ReadImage", base, 1.2))
        if args.compare_with:
            tasks = {"CT series 300 slices": tmp / "ct", "NIfTI int16": tmp / "brain_int16.nii.gz",
                     "NIfTI float32": tmp / "brain_float32.nii.gz", "list 2000 files": tmp / "listing",
                     "JPEG 2000 series 40 slices": tmp / "j2k", "PNG": tmp / "cr.png", "JPEG": tmp / "cr.jpg"}
            mine = cpu_times(None, args.repeats, tasks)
            other = cpu_times(args.compare_with.resolve(), args.repeats, tasks)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{'task':44s} {'workstation':>12s} {'baseline':>10s} {'ratio':>6s} {'goal':>6s}  baseline")
    for task, ours, name, base, goal in rows:
        ratio = ours / base
        verdict = "ok" if ratio <= goal else "MISSED"
        print(f"{task:44s} {ours:11.3f}s {base:9.3f}s {ratio:6.2f} {'<=' + str(goal):>6s}  {name} [{verdict}]")
    if args.compare_with:
        print(f"\n{'task (CPU seconds, best of ' + str(args.repeats) + ')':44s} {'this':>9s} {'other':>9s} {'ratio':>6s}"
              f"  other = {args.compare_with}")
        for task in mine:
            print(f"{task:44s} {mine[task]:8.3f}s {other[task]:8.3f}s {mine[task] / other[task]:6.2f}")


if __name__ == "__main__":
    main()
