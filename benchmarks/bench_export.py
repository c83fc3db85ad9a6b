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


def heavy_file(path: Path) -> Path:
    """CT_small with a value in every attribute of Table E.1-1 (a sequence item each, holding a
    name and a UID): the worst header the profile meets, about 700 elements."""
    from pydicom.dataelem import DataElement
    from pydicom.datadict import dictionary_VR
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from workstation.core.export.deid.table import table

    values = {"DA": "20200101", "DT": "20200101120000", "TM": "120000", "UI": "1.2.3.4", "DS": "1",
              "IS": "1", "AS": "040Y", "PN": "Doe^Jane", "UR": "http://x.example", "OB": b"ab", "UN": b"ab"}
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    for row in table().rows:
        if "x" in row.tag or "g" in row.tag or row.tag[1:5] in ("0000", "0002", "7FE0"):
            continue
        tag = int(row.tag[1:5] + row.tag[6:10], 16)
        vr = dictionary_VR(tag).split(" ")[0]
        if vr == "SQ":
            item = Dataset()
            item.PersonName, item.ReferencedSOPInstanceUID = "Doe^Jane", generate_uid()
            ds.add(DataElement(tag, vr, Sequence([item])))
        else:
            ds.add(DataElement(tag, vr, 1 if vr == "US" else values.get(vr, "MARKER")))
    ds.save_as(path)
    return path


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
        heavy = heavy_file(tmp / "heavy.dcm")
        t_hrw = timed(lambda: [pydicom.dcmread(heavy).save_as(dest / "h.dcm") for _ in range(20)])
        deid = Deidentifier()
        t_hde = timed(lambda: [deid.deidentify_file(heavy, dest / "h.dcm") for _ in range(20)])
        print(f"every E.1-1 attribute: {t_hde / 20 * 1000:8.1f} ms/file de-identified, {t_hrw / 20 * 1000:.1f} ms "
              f"read + write ({t_hde / t_hrw:.2f}x)")
        print(f"de-identified export:  {t_export * 1000:8.1f} ms  ({t_export / n * 1000:.2f} ms/file, "
              f"{t_export / t_copy:.1f}x plain copy; includes splits, table, datalist, sha256 manifest)")


if __name__ == "__main__":
    main()
