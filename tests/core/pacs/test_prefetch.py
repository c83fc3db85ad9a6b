"""Pending PACS cases (`project add --from-pacs … --defer`) and their retrieval: `pacs retrieve`, and
the prefetcher that retrieves the case being read and the next ones in the background, bounded,
cancellable (a retry resumes) and saying what it does, against the real Orthanc."""
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from workstation.cli import main
from workstation.core.io import read_volume
from workstation.core.pacs import Node, add_node, resolve_node
from workstation.core.pacs.cache import FetchPlan, cache_root
from workstation.core.pacs.deferred import add_deferred, pending
from workstation.core.pacs.prefetch import CANCELLED, FAILED, READY, RETRIEVING, Prefetcher
from workstation.core.project import Project

from .conftest import MOVE_PORT, OUR_AET, series_uids, stacked_ct, start_orthanc


def _project(tmp_path, name="proj"):
    directory = tmp_path / name
    assert main(["project", "init", str(directory), "--task", "binary", "--classes", "normal,abnormal"]) == 0
    return directory


def _defer(directory, node, files, capsys):
    study, series = series_uids(files)
    capsys.readouterr()
    assert main(["project", "add", str(directory), "--from-pacs", node, "--study", study, "--series", series,
                 "--defer", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pending"] == [series]
    return result["added"][0]


class Recorder:
    def __init__(self, prefetcher, on_event=None):
        self.events, self.on_event, self.lock = [], on_event, threading.Lock()
        prefetcher.events.changed.connect(self)

    def __call__(self, state):
        with self.lock:
            self.events.append(state)
        if self.on_event:
            self.on_event(state)

    def states(self, case_id):
        with self.lock:
            return [e.state for e in self.events if e.case_id == case_id]


@pytest.mark.parametrize("backend", ["dicomweb", "move"])
def test_deferred_cases_then_pacs_retrieve(backend, nodes, samples, tmp_path, capsys):
    directory = _project(tmp_path)
    ids = [_defer(directory, nodes[backend], samples[g], capsys) for g in ("ct5", "mr_small")]
    with Project.open(directory) as project:
        cases = [project.case(i) for i in ids]
        assert all(pending(directory, c) is not None for c in cases)
        assert cases[0].patient_id and cases[0].metadata["modality"] == "CT"
        assert cases[0].metadata["pacs"]["instances"] == len(samples["ct5"])
    capsys.readouterr()  # the same series again: a case already, not a second one
    study, series = series_uids(samples["ct5"])
    assert main(["project", "add", str(directory), "--from-pacs", nodes[backend], "--study", study, "--defer",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"added": [], "pending": [], "already_cases": [series]}

    assert main(["pacs", "retrieve", str(directory), "--json"]) == 0
    retrieved = json.loads(capsys.readouterr().out)
    assert [r["case_id"] for r in retrieved] == ids
    with Project.open(directory) as project:
        for case_id, group in zip(ids, ("ct5", "mr_small")):
            case = project.case(case_id)
            assert pending(directory, case) is None
            assert all(Path(p).is_file() for p in case.paths) and len(case.paths) == len(samples[group])
            fetched, direct = read_volume(case.paths), read_volume([str(p) for p in samples[group]])
            np.testing.assert_array_equal(fetched.array, direct.array)
            np.testing.assert_allclose(fetched.origin, direct.origin)
            np.testing.assert_allclose(fetched.spacing, direct.spacing)
    assert main(["pacs", "retrieve", str(directory), "--json"]) == 0  # nothing pending: nothing to do
    assert json.loads(capsys.readouterr().out) == []


def test_prefetch_is_bounded_and_in_order(nodes, samples, tmp_path, capsys):
    directory = _project(tmp_path)
    ids = [_defer(directory, "web", samples[g], capsys) for g in ("ct4", "ct5", "mr_small")]
    with Project.open(directory) as project:
        jobs = [pending(directory, project.case(i)) for i in ids]
    prefetcher = Prefetcher(directory, limit=2)
    try:
        seen = Recorder(prefetcher)
        prefetcher.want(jobs)  # three asked, two allowed: the current case and the next
        assert prefetcher.wait_idle(60)
        assert seen.states(ids[0])[-1] == READY and seen.states(ids[1])[-1] == READY
        assert RETRIEVING in seen.states(ids[0]) and seen.states(ids[2]) == []
        first_ready = next(n for n, e in enumerate(seen.events) if e.state == READY)
        assert seen.events[first_ready].case_id == ids[0]  # nearest first
        with Project.open(directory) as project:
            assert [pending(directory, project.case(i)) is None for i in ids] == [True, True, False]
    finally:
        prefetcher.close()


@pytest.fixture
def orthanc40(tmp_path):
    """An Orthanc of its own (the tests kill it) with a 40-slice series: long enough to stop half-way."""
    files = stacked_ct(tmp_path / "ct40", 40)
    server = start_orthanc(tmp_path / "orthanc", {"ct40": files})
    yield server, files
    server.stop()


def test_moving_on_stops_a_transfer_and_asking_again_resumes(nodes, orthanc40, tmp_path):
    server, files = orthanc40
    directory = _project(tmp_path)
    add_node(Node("move40", "dimse", aet=server.aet, host="127.0.0.1", port=server.dicom_port,
                  calling_aet=OUR_AET, retrieve="move", move_port=MOVE_PORT), replace=True)
    study, series = series_uids(files)
    with Project.open(directory) as project:
        (case,), _ = add_deferred(project, resolve_node("move40"), FetchPlan(study))
        job = pending(directory, case)
    prefetcher = Prefetcher(directory)

    def move_on(state):  # the reader goes elsewhere while the case is a quarter through
        if state.state == RETRIEVING and state.fraction >= 0.25:
            prefetcher.want([])

    seen = Recorder(prefetcher, move_on)
    try:
        prefetcher.want([job])
        assert prefetcher.wait_idle(60)
        assert seen.states(case.case_id)[-1] == CANCELLED
        staged = len(list((cache_root(directory) / ".staging" / series).glob("*.dcm")))
        assert 10 <= staged < 40 and pending(directory, case) is not None
        seen.on_event = None
        prefetcher.want([job])
        assert prefetcher.wait_idle(60)
        assert seen.states(case.case_id)[-1] == READY
    finally:
        prefetcher.close()
    assert pending(directory, case) is None
    np.testing.assert_array_equal(read_volume(case.paths).array, read_volume([str(p) for p in files]).array)


def test_server_killed_during_prefetch_is_one_line_and_nothing_looks_whole(orthanc40, tmp_path):
    server, files = orthanc40
    directory = _project(tmp_path)
    study, series = series_uids(files)
    with Project.open(directory) as project:  # a dimse:// URL (C-GET) stands for the node
        (case,), _ = add_deferred(project, resolve_node(server.dimse_url), FetchPlan(study))
    job = pending(directory, case)
    prefetcher = Prefetcher(directory)

    def kill(state):
        if state.state == RETRIEVING and state.fraction >= 0.1:
            server.kill()

    seen = Recorder(prefetcher, kill)
    try:
        prefetcher.want([job])
        assert prefetcher.wait_idle(60)
        last = [e for e in seen.events if e.case_id == case.case_id][-1]
        assert last.state == FAILED and "\n" not in last.text and series in last.text, last
        assert not (cache_root(directory) / study).exists() and pending(directory, case) is not None
    finally:
        prefetcher.close()
    server.start()  # back up: asking again resumes and completes
    prefetcher = Prefetcher(directory)
    try:
        prefetcher.want([job])
        assert prefetcher.wait_idle(60) and pending(directory, case) is None
    finally:
        prefetcher.close()
