"""Export speed: de-identifying DICOM files (the whole of PS3.15 Table E.1-1) against a plain
pydicom read + write of the same files in the same run (goal: at most 3x), against a byte copy,
and a whole de-identified MONAI export (copies, table, datalist, report, sha256 manifest).

    nice .venv/bin/python benchmarks/bench_export.py [--files 200]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from workstation.core.export.deid import Deidentifier
from workstation.core.export import ExportCase, ExportOptions, export


def make_files(root: Path, n: int) -> list[Path]:
    """n real CT, MR and structured-report (nested sequences) files from pydicom-data, each with its
    own patient and UIDs."""
    paths = []
    for i in range(n):
        ds = pydicom.dcmread(get_testdata_file(("CT_small.dcm", "MR_small.dcm", "test-SR.dcm")[i % 3]))
        ds.PatientID, ds.PatientName = f"PID{i // 4:05d}", f"Patient^{i // 4}"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
        path = root / f"f{i:05d}.dcm"
        ds.save_as(path)
        paths.append(path)
    return paths


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "src"
        src.mkdir()
        files = make_files(src, args.files)
        mb = sum(f.stat().st_size for f in files) / 1e6
        dest = tmp / "dest"

        def plain_copy():
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir()
            for f in files:
                shutil.copyfile(f, dest / f.name)

        def read_write():
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir()
            for f in files:
                pydicom.dcmread(f).save_as(dest / f.name)

        def deidentify():
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir()
            deid = Deidentifier()
            for f in files:
                deid.deidentify_file(f, dest / f.name)

        cases = [ExportCase(f.stem, [f], patient_id=f"PID{i // 4:05d}", label="a" if i % 3 else "b")
                 for i, f in enumerate(files)]

        def full_export():
            export(cases, tmp / "out", ExportOptions("monai", "binary", ["a", "b"], deidentify=True, force=True))

        t_copy, t_rw, t_deid = timed(plain_copy), timed(read_write), timed(deidentify)
        t_export = timed(full_export)
        n = len(files)
        print(f"{n} files, {mb:.1f} MB")
        print(f"plain copy:            {t_copy * 1000:8.1f} ms  ({t_copy / n * 1000:.2f} ms/file)")
        print(f"pydicom read + write:  {t_rw * 1000:8.1f} ms  ({t_rw / n * 1000:.2f} ms/file)")
        print(f"de-identify:           {t_deid * 1000:8.1f} ms  ({t_deid / n * 1000:.2f} ms/file, "
              f"{t_deid / t_rw:.2f}x pydicom read + write (goal <= 3x), {t_deid / t_copy:.1f}x plain copy)")
        print(f"de-identified export:  {t_export * 1000:8.1f} ms  ({t_export / n * 1000:.2f} ms/file, "
              f"{t_export / t_copy:.1f}x plain copy; includes splits, table, datalist, sha256 manifest)")


if __name__ == "__main__":
    main()
