"""`workstation batch --pacs NODE [filters]` against a real Orthanc (DICOMweb and DIMSE): one row per
series the query finds, each retrieved by its task; rows equal the plugin run on the same files
read from disk; a rerun skips; --project makes the series cases in the project's PACS cache."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from workstation.batch import read_results
from workstation.cli import main

CALLING_AET = "WORKSTATION"  # a Node's default calling AE title


def _series(files) -> tuple[str, str]:
    ds = pydicom.dcmread(files[0], stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


@pytest.fixture(scope="module")
def archive():
    """Real pydicom-data files: two single-image series (CT, MR) and a 3D CT series of 4 files."""
    from pydicom.data import get_testdata_file

    root = Path(get_testdata_file("CT_small.dcm")).parent
    return {"ct": [root / "CT_small.dcm"], "mr": [root / "MR_small.dcm"],
            "ct3d": sorted((root / "dicomdirtests/98892001/CT5N").iterdir())}


@pytest.fixture(scope="module")
def orthanc(archive, tmp_path_factory):
    from workstation.core.pacs.orthanc_server import OrthancServer, available

    missing = available()
    if missing:
        pytest.fail(missing + " — packaging/setup.sh installs it")
    # no authentication: the session's Dask workers were started before a test could set a secret
    server = OrthancServer(tmp_path_factory.mktemp("orthanc"), modalities={"ws": (CALLING_AET, 1)}).start()
    for files in archive.values():
        for f in files:
            server.upload(f)
    yield server
    server.stop()


def _batch(source_args, checkpoint, cluster, out, *extra) -> list[str]:
    return ["batch", *source_args, "--plugin", "densenet2d", "--checkpoint", str(checkpoint), "--out", str(out),
            "--scheduler", cluster.scheduler_address, "--device", "cpu", "--json", *extra]


def test_every_series_of_a_dicomweb_query_is_one_row_equal_to_the_files(orthanc, archive, checkpoint, cluster,
                                                                        serial, tmp_path, capsys):
    out = tmp_path / "results"
    assert main(_batch(["--pacs", orthanc.dicomweb_url], checkpoint, cluster, out)) == 1  # the 3D series fails
    report = json.loads(capsys.readouterr().out)
    assert (report["total"], report["ok"]) == (3, 2)
    rows = {r["case_id"]: r for r in read_results(out).to_pylist()}
    expected = serial(checkpoint, [archive["ct"][0], archive["mr"][0]])
    for group in ("ct", "mr"):
        study, series = _series(archive[group])
        row = rows[series]
        assert row["status"] == "ok" and row["path"] == f"{orthanc.dicomweb_url}/studies/{study}/series/{series}"
        np.testing.assert_allclose(row["scores"], expected[str(archive[group][0])], rtol=1e-5, atol=1e-6)
        fetched = sorted((out / "_pacs" / "pacs_cache" / study / series).glob("*.dcm"))
        assert len(fetched) == 1 and fetched[0].read_bytes() != b""
    _, series3d = _series(archive["ct3d"])
    assert rows[series3d]["status"] == "failed" and "reads 2D images" in rows[series3d]["reason"]
    assert report["failed"] == [{"case_id": series3d, "reason": rows[series3d]["reason"]}]

    assert main(_batch(["--pacs", orthanc.dicomweb_url], checkpoint, cluster, out)) == 1
    again = json.loads(capsys.readouterr().out)
    assert (again["skipped"], again["ran"]) == (2, 1)  # only the failed series runs again
    assert read_results(out).num_rows == 3


def test_a_dimse_query_with_a_filter_into_a_project(orthanc, archive, checkpoint, cluster, serial, tmp_path, capsys):
    from workstation.core.project import Project

    directory = tmp_path / "project"
    Project.create(directory, task="binary", classes=["NORMAL", "PNEUMONIA"]).close()
    out = tmp_path / "results"
    code = main(_batch(["--pacs", orthanc.dimse_url, "--modality", "MR"], checkpoint, cluster, out,
                       "--project", str(directory)))
    assert code == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert (report["total"], report["ok"], report["stored_in_project"]) == (1, 1, 1)
    study, series = _series(archive["mr"])
    (row,) = read_results(out).to_pylist()
    assert row["path"] == f"dimse://{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}/studies/{study}/series/{series}"
    with Project.open(directory) as project:
        (case,) = project.cases()
        assert [Path(p).parent for p in case.paths] == [directory / "pacs_cache" / study / series]
        record = project.latest_predictions("densenet2d")[case.case_id]
    expected = serial(checkpoint, [archive["mr"][0]])[str(archive["mr"][0])]
    assert record.probabilities == pytest.approx(dict(zip(row["classes"], expected)), rel=1e-5)


def test_bad_pacs_arguments_are_one_line(checkpoint, tmp_path, capsys):
    from workstation.core.pacs.orthanc_server import free_port

    out = str(tmp_path / "o")
    nowhere = f"http://127.0.0.1:{free_port()}/dicom-web"
    for args in (["--pacs", nowhere], [str(tmp_path), "--pacs", nowhere], ["--modality", "MR"],
                 [str(tmp_path), "--modality", "MR"], ["--pacs", nowhere, "--date", "yesterday"]):
        assert main(["batch", *args, "--plugin", "densenet2d", "--out", out, "--workers", "1"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("workstation batch: ") and err.count("\n") == 1, err
    assert not Path(out).exists()
