"""`project add --from-pacs` over WADO-RS, C-GET and C-MOVE: cases equal to the same files read from disk;
an unknown study or a server killed mid-transfer leaves the project unchanged, and a retry resumes."""
import json

import numpy as np
import pytest

from workstation.cli import main
from workstation.core.io import read_volume
from workstation.core.pacs import resolve_node
from workstation.core.pacs.cache import FetchPlan, cache_root
from workstation.core.pacs.errors import PacsError
from workstation.core.pacs.to_project import add_from_pacs
from workstation.core.project import Project

from .conftest import MOVE_PORT, OUR_AET, PASSWORD, series_uids, stacked_ct, start_orthanc


def _project(tmp_path, name="proj"):
    directory = tmp_path / name
    assert main(["project", "init", str(directory), "--task", "binary", "--classes", "normal,abnormal"]) == 0
    return directory


def _cases(directory):
    with Project.open(directory) as project:
        return project.cases()


@pytest.mark.parametrize("backend", ["dicomweb", "dimse", "move"])
def test_fetch_series_equals_the_files(backend, nodes, samples, tmp_path, capsys):
    directory = _project(tmp_path)
    for group in ("ct5", "mr_small"):
        study, series = series_uids(samples[group])
        capsys.readouterr()
        assert main(["project", "add", str(directory), "--from-pacs", nodes[backend], "--study", study,
                     "--series", series, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert len(result["added"]) == 1 and result["series"][0]["instances"] == len(samples[group])
    cases = _cases(directory)
    assert len(cases) == 2
    for case, group in zip(cases, ("ct5", "mr_small")):
        assert case.metadata["pacs"]["node"] == nodes[backend]
        assert all(str(cache_root(directory)) in str(p) for p in case.paths)
        fetched, direct = read_volume(case.paths), read_volume([str(p) for p in samples[group]])
        assert fetched.array.shape == direct.array.shape
        np.testing.assert_array_equal(fetched.array, direct.array)
        np.testing.assert_allclose(fetched.spacing, direct.spacing)
        np.testing.assert_allclose(fetched.origin, direct.origin)
        np.testing.assert_allclose(fetched.direction, direct.direction)
    capsys.readouterr()  # the same series again: from the cache, no second case
    study, series = series_uids(samples["ct5"])
    assert main(["project", "add", str(directory), "--from-pacs", nodes[backend], "--study", study, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["added"] == [] and again["series"][0]["from_cache"]


@pytest.mark.parametrize("backend", ["dicomweb", "dimse", "move"])
def test_unknown_study_or_series_is_one_line(backend, nodes, samples, tmp_path, capsys):
    directory = _project(tmp_path)
    study, _ = series_uids(samples["ct4"])
    for extra in (["--study", "1.2.3.999"], ["--study", study, "--series", "1.2.3.999"], ["--study", "../etc"],
                  ["--study", "1.2.3.999", "--defer"], ["--study", study, "--series", "1.2.3.999", "--defer"]):
        capsys.readouterr()
        assert main(["project", "add", str(directory), "--from-pacs", nodes[backend], *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("workstation project: ") and err.count("\n") == 1, err
    assert _cases(directory) == []


@pytest.mark.parametrize("backend", ["dicomweb", "dimse", "move"])
def test_server_killed_mid_transfer_then_retry_resumes(backend, tmp_path, monkeypatch):
    files = stacked_ct(tmp_path / "ct40", 40)
    server = start_orthanc(tmp_path / "orthanc", {"ct40": files})
    try:
        monkeypatch.setenv("WORKSTATION_PACS_SECRET_KILLED", PASSWORD)
        from workstation.core.pacs import Node
        node = (Node("killed", "dicomweb", url=server.dicomweb_url, auth="basic", username="alice", timeout_s=5)
                if backend == "dicomweb" else
                Node("killed", "dimse", aet=server.aet, host="127.0.0.1", port=server.dicom_port,
                     calling_aet=OUR_AET, timeout_s=5, retrieve="move" if backend == "move" else "get",
                     move_port=MOVE_PORT))
        directory = _project(tmp_path)
        study, series = series_uids(files)
        seen = []

        def kill_after_two(fraction, text):
            seen.append(fraction)
            if len(seen) == 2:
                server.kill()

        with Project.open(directory) as project:
            with pytest.raises(PacsError) as caught:
                add_from_pacs(project, node, FetchPlan(study, [series]), progress=kill_after_two)
        message = str(caught.value)
        assert "\n" not in message and ("cannot reach" in message or "cut off" in message), message
        assert _cases(directory) == []
        assert not (cache_root(directory) / study).exists()  # nothing in the cache that looks whole
        staged = list((cache_root(directory) / ".staging" / series).glob("*.dcm"))
        assert 2 <= len(staged) < 40  # those written before the kill (and those already in flight)
        server.start()
        with Project.open(directory) as project:
            added, _, fetched = add_from_pacs(project, node, FetchPlan(study, [series]))
        assert len(added) == 1 and fetched[0].reused == len(staged) and fetched[0].instances == 40
        assert not (cache_root(directory) / ".staging" / series).exists()
        np.testing.assert_array_equal(read_volume(_cases(directory)[0].paths).array,
                                      read_volume([str(p) for p in files]).array)
    finally:
        server.stop()


def test_move_to_an_aet_the_pacs_does_not_know_is_one_line(orthanc, samples, tmp_path, capsys):
    """C-MOVE is really what runs: Orthanc refuses to move to a destination it has no address for."""
    directory = _project(tmp_path)
    study, series = series_uids(samples["ct4"])
    url = f"{orthanc.dimse_url}?move={MOVE_PORT}"
    assert main(["pacs", "node", "add", "stranger", "--dimse", url[len("dimse://"):].split("?")[0],
                 "--calling-aet", "STRANGER", "--move-port", str(MOVE_PORT)]) == 0
    for node in ("stranger", url):  # a saved node, and a URL calling as WORKSTATION: neither is known
        capsys.readouterr()
        assert main(["project", "add", str(directory), "--from-pacs", node, "--study", study]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "C-MOVE failed (status 0x" in err, err
        assert "know AE title" in err
    assert _cases(directory) == [] and not (cache_root(directory) / study).exists()
    main(["pacs", "node", "remove", "stranger"])


def test_move_port_taken_is_one_line(nodes, orthanc, samples, tmp_path, capsys):
    import socket

    directory = _project(tmp_path)
    study, _ = series_uids(samples["ct4"])
    assert main(["pacs", "node", "add", "move-2s", "--dimse", f"{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}",
                 "--calling-aet", OUR_AET, "--move-port", str(MOVE_PORT), "--timeout", "1", "--replace"]) == 0
    with socket.create_server(("", MOVE_PORT)):  # another program listens on our C-MOVE port, and stays
        capsys.readouterr()
        assert main(["project", "add", str(directory), "--from-pacs", "move-2s", "--study", study]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on port {MOVE_PORT}" in err, err
    assert _cases(directory) == []
    main(["pacs", "node", "remove", "move-2s"])


def test_move_waits_for_a_port_another_process_holds_for_a_while(nodes, samples, tmp_path, monkeypatch):
    """Two processes moving to one port (batch workers) take turns instead of failing: the port is
    held (as by another process) while our SCP tries it first, then freed; the fetch completes."""
    import socket

    from pynetdicom import AE

    directory = _project(tmp_path)
    study, series = series_uids(samples["ct5"])
    holder = socket.create_server(("", MOVE_PORT))
    tries = []
    start_server = AE.start_server

    def counting(self, *args, **kwargs):
        tries.append(1)
        if len(tries) == 2:
            holder.close()
        return start_server(self, *args, **kwargs)

    monkeypatch.setattr(AE, "start_server", counting)
    try:
        with Project.open(directory) as project:
            (case,), _, _ = add_from_pacs(project, resolve_node("move"), FetchPlan(study, [series]))
    finally:
        holder.close()
    assert len(tries) == 2  # refused once (held), then bound
    assert len(case.paths) == len(samples["ct5"])


def test_cancel_leaves_project_unchanged(nodes, samples, tmp_path):
    directory = _project(tmp_path)
    study, series = series_uids(samples["ct4"])
    with Project.open(directory) as project:
        with pytest.raises(PacsError, match="cancelled"):
            add_from_pacs(project, resolve_node("web"), FetchPlan(study, [series]), cancel=lambda: True)
    assert _cases(directory) == []
    assert not (cache_root(directory) / study).exists()


@pytest.mark.parametrize("backend", ["dicomweb", "dimse"])
def test_broken_instance_on_the_server_is_one_line(backend, tmp_path, samples, capsys):
    """The stored file of one instance is cut in half behind Orthanc's back; it serves it as is."""
    import requests

    files = samples["ct4"]
    server = start_orthanc(tmp_path / "orthanc", {"ct4": files})
    try:
        uploaded = requests.get(server.url + "/instances", auth=server.auth, timeout=10).json()
        info = requests.get(f"{server.url}/instances/{uploaded[1]}/attachments/dicom/info", auth=server.auth,
                            timeout=10).json()
        (stored,) = (server.folder / "storage").rglob(info["Uuid"])
        stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])
        directory = _project(tmp_path)
        study, series = series_uids(files)
        url = server.dimse_url if backend == "dimse" else server.dicomweb_url
        if backend == "dicomweb":
            from workstation.core.pacs import Node, add_node
            add_node(Node("broken", "dicomweb", url=url, auth="basic", username="alice"), replace=True)
            url = "broken"
        import os
        os.environ["WORKSTATION_PACS_SECRET_BROKEN"] = PASSWORD
        capsys.readouterr()
        assert main(["project", "add", str(directory), "--from-pacs", url, "--study", study]) == 2
        err = capsys.readouterr().err
        assert err.startswith("workstation project: ") and err.count("\n") == 1, err
        assert _cases(directory) == [] and not (cache_root(directory) / study).exists()
    finally:
        server.stop()


def test_short_pixel_data_is_refused(samples):
    """pydicom reads a file cut short in its pixel data without complaint; the cache does not."""
    import pydicom

    from workstation.core.pacs.cache import pixel_problem

    for group in ("ct_small", "mr_small"):
        ds = pydicom.dcmread(samples[group][0])
        assert pixel_problem(ds) is None
        ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
        assert "pixel data" in pixel_problem(ds)
