"""Retrieving a 300-slice CT series from a local Orthanc over DICOMweb into a project's cache
(`core.pacs.cache.fetch_series`: one WADO-RS request per instance, staging, read-back check, move),
against a plain dicomweb-client loop over the same instances writing each file (goal <= 1.2x), one
multipart `retrieve_series` request, and reading the same files from disk with pydicom.

    nice .venv/bin/python benchmarks/bench_pacs.py [--slices 300] [--repeats 3]

The series is CT_small's real pixels (pydicom-data) stacked into `--slices` slices with new UIDs
and positions; Orthanc (Debian packages orthanc, orthanc-dicomweb) runs on free local ports.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from dicomweb_client.api import DICOMwebClient

    from workstation.core.io.samples import stacked_ct
    from workstation.core.pacs.cache import fetch_series
    from workstation.core.pacs.nodes import parse_url
    from workstation.core.pacs.orthanc_server import OrthancServer

    tmp = Path(tempfile.mkdtemp(prefix="bench-pacs-"))
    files = stacked_ct(tmp / "files", args.slices)
    ds0 = pydicom.dcmread(files[0], stop_before_pixels=True)
    study, series = str(ds0.StudyInstanceUID), str(ds0.SeriesInstanceUID)
    times: dict[str, list[float]] = {"ours": [], "plain_loop": [], "one_multipart": [], "disk_read": []}
    with OrthancServer(tmp / "orthanc") as server:
        for f in files:
            server.upload(f)
        node = parse_url(server.dicomweb_url, "bench")
        for r in range(args.repeats):
            t = time.perf_counter()
            fetched = fetch_series(node, study, series, tmp / f"proj{r}")
            times["ours"].append(time.perf_counter() - t)
            assert fetched.instances == args.slices

            client = DICOMwebClient(server.dicomweb_url)
            out = tmp / f"plain{r}"
            out.mkdir()
            t = time.perf_counter()
            sops = [pydicom.Dataset.from_json(d).SOPInstanceUID
                    for d in client.search_for_instances(study, series, fields=["SOPInstanceUID"])]
            for sop in sops:
                client.retrieve_instance(study, series, sop).save_as(out / f"{sop}.dcm", enforce_file_format=True)
            times["plain_loop"].append(time.perf_counter() - t)

            t = time.perf_counter()
            whole = client.retrieve_series(study, series)
            times["one_multipart"].append(time.perf_counter() - t)
            assert len(whole) == args.slices

            t = time.perf_counter()
            for f in files:
                pydicom.dcmread(f).pixel_array
            times["disk_read"].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    report = {"slices": args.slices, "repeats": args.repeats, "median_s": {k: round(v, 3) for k, v in med.items()},
              "ours_vs_plain_loop": round(med["ours"] / med["plain_loop"], 2),
              "ours_vs_one_multipart": round(med["ours"] / med["one_multipart"], 2),
              "ours_vs_disk_read": round(med["ours"] / med["disk_read"], 2), "goal_vs_plain_loop": 1.2}
    print(json.dumps(report, indent=2))
    return 0 if report["ours_vs_plain_loop"] <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
