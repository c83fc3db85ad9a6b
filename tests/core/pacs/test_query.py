"""Echo and query against the real Orthanc, over DICOMweb (QIDO-RS) and DIMSE (C-FIND)."""
import json

import pytest

from workstation.cli import main

from .conftest import PASSWORD, USER, series_uids

BACKENDS = ["dicomweb", "dimse"]


def _query(capsys, *argv):
    capsys.readouterr()
    assert main(["pacs", "query", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("backend", BACKENDS)
def test_echo(backend, nodes, capsys):
    assert main(["pacs", "echo", nodes[backend]]) == 0
    out = capsys.readouterr().out
    assert ("DICOMweb answers" if backend == "dicomweb" else "C-ECHO to ORTHANC") in out


@pytest.mark.parametrize("backend", BACKENDS)
def test_query_filters(backend, nodes, samples, capsys):
    node = nodes[backend]
    everything = _query(capsys, node)
    assert len(everything) == 4  # CT_small, MR_small, and the studies of the two dicomdirtests series
    mr = _query(capsys, node, "--modality", "MR")
    assert [r["PatientID"] for r in mr] == ["4MR1"]
    assert [r["PatientID"] for r in _query(capsys, node, "--patient", "1CT1")] == ["1CT1"]
    assert {r["PatientID"] for r in _query(capsys, node, "--name", "CompressedSamples^*")} == {"1CT1", "4MR1"}
    in_2004 = _query(capsys, node, "--date", "20040101-20041231")
    assert {r["PatientID"] for r in in_2004} == {"1CT1", "4MR1"}
    study, series = series_uids(samples["ct5"])
    rows = _query(capsys, node, "--study", study, "--series", "--modality", "CT")  # not results pushed by other tests
    assert [r["SeriesInstanceUID"] for r in rows] == [series]
    assert rows[0]["NumberOfSeriesRelatedInstances"] == "5" and rows[0]["Modality"] == "CT"
    assert _query(capsys, node, "--study", "1.2.3.4.5") == []


def test_same_answer_over_both(nodes, capsys):
    web = _query(capsys, nodes["dicomweb"], "--series")
    dimse = _query(capsys, nodes["dimse"], "--series")
    key = lambda rows: sorted((r["StudyInstanceUID"], r["SeriesInstanceUID"], r["Modality"]) for r in rows)
    assert key(web) == key(dimse)
    assert len([r for r in web if r["Modality"] in ("CT", "MR")]) == 4  # SEG/SR of other tests aside


def test_wrong_password_is_one_line(nodes, capsys, monkeypatch):
    monkeypatch.setenv("WORKSTATION_PACS_SECRET_WEB", PASSWORD + "x")
    assert main(["pacs", "query", "web"]) == 2
    err = capsys.readouterr().err
    assert "refused our credentials (HTTP 401)" in err and err.count("\n") == 1


def test_bearer_token_is_sent_and_refused_as_one_line(orthanc, capsys, monkeypatch):
    """Orthanc 1.10 knows only basic auth: a bearer token reaches it (from the environment, never the
    settings file) and is refused, in one line."""
    from workstation.core import settings

    monkeypatch.setenv("WORKSTATION_PACS_SECRET_TOKEN_NODE", "tok-123-secret")
    assert main(["pacs", "node", "add", "token-node", "--dicomweb", orthanc.dicomweb_url, "--auth", "bearer",
                 "--replace"]) == 0
    capsys.readouterr()
    assert main(["pacs", "query", "token-node"]) == 2
    err = capsys.readouterr().err
    assert "refused our credentials (HTTP 401)" in err and err.count("\n") == 1
    assert "tok-123-secret" not in (settings.config_dir() / "settings.json").read_text()
    main(["pacs", "node", "remove", "token-node"])


def test_node_down_is_one_line(capsys):
    from workstation.core.pacs.orthanc_server import free_port

    port = free_port()
    for url in (f"http://127.0.0.1:{port}/dicom-web", f"dimse://NOBODY@127.0.0.1:{port}"):
        assert main(["pacs", "echo", url]) == 2
        err = capsys.readouterr().err
        assert "cannot reach" in err and err.count("\n") == 1


def test_bad_date_is_one_line(nodes, capsys):
    assert main(["pacs", "query", "web", "--date", "2020-01-01"]) == 2
    assert "YYYYMMDD" in capsys.readouterr().err


def test_demo_server_serves_until_stopped(tmp_path):
    """`pacs demo-server` as a user runs it: its nodes answer queries and fetches, SIGINT stops Orthanc."""
    import signal
    import subprocess
    import sys

    import requests

    run = subprocess.Popen([sys.executable, "-m", "workstation.cli", "pacs", "demo-server", "--dir", str(tmp_path / "o"),
                            "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        nodes = json.loads(run.stdout.readline())
        assert set(nodes) == {"demo-web", "demo-dimse", "demo-move"}
        for name in nodes:
            answer = subprocess.run([sys.executable, "-m", "workstation.cli", "pacs", "query", name, "--series",
                                     "--json"], capture_output=True, text=True)
            assert answer.returncode == 0, answer.stderr
            assert len(json.loads(answer.stdout)) == 4
        project = tmp_path / "p"
        assert main(["project", "init", str(project), "--task", "binary", "--classes", "a,b"]) == 0
        study = json.loads(answer.stdout)[0]["StudyInstanceUID"]
        assert main(["project", "add", str(project), "--from-pacs", "demo-move", "--study", study]) == 0
    finally:
        run.send_signal(signal.SIGINT)
        assert run.wait(60) == 0, run.stderr.read()
    with pytest.raises(requests.ConnectionError):
        requests.get(nodes["demo-web"]["url"], timeout=5)
