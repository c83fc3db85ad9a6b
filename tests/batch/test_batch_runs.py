"""workstation batch on a Dask cluster of 2 worker processes: rows, skipping, failures, faults."""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from workstation.batch import BatchSpec, read_results, run_batch
from workstation.batch.results import read_table


def spec(source, out, checkpoint, cluster, **kw) -> BatchSpec:
    return BatchSpec(source=str(source), plugin_id="densenet2d", out=str(out), checkpoint=str(checkpoint),
                     scheduler=cluster.scheduler_address, device="cpu", **kw)


def test_folder_run_one_row_per_input_equal_to_serial_then_rerun_skips(xrays, checkpoint, cluster, serial, tmp_path):
    folder = tmp_path / "archive"
    shutil.copytree(xrays, folder)
    (folder / "NORMAL" / "damaged.jpeg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 10)
    out = tmp_path / "results"

    first = run_batch(spec(folder, out, checkpoint, cluster))
    table = read_results(out)
    rows = {r["case_id"]: r for r in table.to_pylist()}
    assert first.total == 17 and first.ran == 17 and table.num_rows == 17 and len(rows) == 17
    assert first.workers == 2
    broken = rows.pop("NORMAL/damaged.jpeg")
    assert broken["status"] == "failed" and broken["reason"].startswith("cannot read image")
    assert first.failures == [("NORMAL/damaged.jpeg", broken["reason"])]
    expected = serial(checkpoint, [p for p in sorted(folder.glob("*/*.jpeg")) if p.name != "damaged.jpeg"])
    assert sorted(r["path"] for r in rows.values()) == sorted(expected)
    for row in rows.values():
        assert row["status"] == "ok" and row["reason"] == ""
        np.testing.assert_allclose(row["scores"], expected[row["path"]], rtol=1e-5, atol=1e-6)
        assert row["classes"] == ["NORMAL", "PNEUMONIA"] and row["task"] == "binary"
        assert row["plugin_id"] == "densenet2d" and row["device"] == "cpu" and row["worker"].startswith("tcp://")
        assert len(row["weights_sha256"]) == 64 and len(row["content_hash"]) == 64
    assert len({r["worker"] for r in rows.values()}) == 2  # both workers took tasks

    second = run_batch(spec(folder, out, checkpoint, cluster))
    assert (second.skipped, second.ran, second.failed) == (16, 1, 1)  # only the failed file is retried
    assert read_results(out).num_rows == 17

    (folder / "NORMAL" / "damaged.jpeg").unlink()
    third = run_batch(spec(folder, out, checkpoint, cluster))
    assert (third.total, third.skipped, third.ran) == (16, 16, 0)


def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(crops, checkpoint, cluster, client, serial,
                                                                     tmp_path):
    # `client` is the current Dask client (a `with Client()` block) while the engine runs its own:
    # the engine once tracked its futures on this client's loop and then could wait for ever
    out = tmp_path / "results"
    killed = []
    pids = client.run(os.getpid)  # {worker address: pid}, as scheduler_info() names the workers
    assert set(pids) == set(client.scheduler_info(n_workers=-1)["workers"])

    def kill_one(done, total):
        # progress(0, n) comes right after the tasks were sent; the tiny tasks of a loaded model
        # finish fast, so the kill happens as soon as the scheduler has handed some to a worker
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            busy = {addr: [k for k in keys if not k.startswith("batch-job-")]
                    for addr, keys in client.processing().items()}
            busy = {addr: keys for addr, keys in busy.items() if keys}
            if busy:
                victim = max(busy, key=lambda addr: len(busy[addr]))
                os.kill(pids[victim], signal.SIGKILL)
                killed.append((victim, busy[victim]))
            else:
                time.sleep(0.01)

    # a result lost on the way is sent again after stall_s (the watchdog): the run always ends
    report = run_batch(spec(crops, out, checkpoint, cluster, stall_s=10), progress=kill_one)
    # several inputs per task (the automatic size: 200 inputs, 2 workers, batch size 16 -> 13), and
    # the killed worker had such a chunk in flight: Dask ran that chunk again on the other worker
    assert report.inputs_per_task == 13 and report.tasks == 16
    assert killed and any(key.endswith("-13") for key in killed[0][1])
    raw = read_table(out)
    assert report.total == 200 and report.ok == 200 and report.failed == 0
    assert raw.num_rows == 200 and len(set(raw["key"].to_pylist())) == 200
    assert set(raw["status"].to_pylist()) == {"ok"}
    expected = serial(checkpoint, sorted(crops.glob("*/*.png")))  # the same rows as a serial run
    assert sorted(raw["path"].to_pylist()) == sorted(expected)
    for path, scores in zip(raw["path"].to_pylist(), raw["scores"].to_pylist()):
        np.testing.assert_allclose(scores, expected[path], rtol=1e-5, atol=1e-6)
    client.wait_for_workers(2, timeout=120)  # the nanny restarts it for the next tests


def test_a_chunk_with_a_damaged_file_and_an_image_the_plugin_rejects_fails_only_those(xrays, checkpoint, cluster,
                                                                                       serial, tmp_path):
    """One task for all 18 inputs (predicted 16 + 2, the plugin's batch size): the damaged file fails
    reading, the 3D series fails the 2D plugin (the batch it was in is then predicted one by one),
    and every other input gets the serial loop's scores."""
    from workstation.core.io.samples import stacked_ct

    folder = tmp_path / "archive"
    shutil.copytree(xrays, folder)
    (folder / "NORMAL" / "damaged.jpeg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 10)
    stacked_ct(folder / "NORMAL" / "series", 3)
    out = tmp_path / "results"
    report = run_batch(spec(folder, out, checkpoint, cluster, inputs_per_task=18))
    assert (report.total, report.tasks, report.inputs_per_task, report.ok, report.failed) == (18, 1, 18, 16, 2)
    rows = {r["case_id"]: r for r in read_results(out).to_pylist()}
    assert len(rows) == 18 == read_table(out).num_rows
    damaged, series = rows.pop("NORMAL/damaged.jpeg"), rows.pop("NORMAL/series")
    assert damaged["status"] == "failed" and damaged["reason"].startswith("cannot read image")
    assert series["status"] == "failed" and series["reason"].startswith("plugin failed: PluginError")
    assert "reads 2D images" in series["reason"]
    expected = serial(checkpoint, [p for p in sorted(folder.glob("*/*.jpeg")) if p.name != "damaged.jpeg"])
    assert sorted(r["path"] for r in rows.values()) == sorted(expected)
    for row in rows.values():
        assert row["status"] == "ok" and row["task_s"] > 0
        np.testing.assert_allclose(row["scores"], expected[row["path"]], rtol=1e-5, atol=1e-6)


def test_the_automatic_inputs_per_task():
    from workstation.batch.engine import inputs_per_task

    assert inputs_per_task(200, 2, 16) == 13  # 16 tasks, 8 per worker
    assert inputs_per_task(200, 1, 16) == 16  # the plugin's batch size bounds it
    assert inputs_per_task(16, 2, 16) == 1 and inputs_per_task(1, 4, 16) == 1
    assert inputs_per_task(10_000, 2, 2) == 2  # a 3D plugin's batch size
    assert inputs_per_task(10_000, 0, 1) == 1


def test_a_chunk_key_names_exactly_its_inputs():
    """A rerun can send its tasks while the scheduler still holds a killed client's: equal keys
    must mean equal inputs, or Dask would hand over another chunk's rows."""
    from workstation.batch.engine import chunk_key

    a, b, c = ({"key": k * 64} for k in "abc")
    assert chunk_key([a]) == "batch-" + "a" * 64  # one input: the key its task always had
    assert chunk_key([a, b]) == chunk_key([dict(a), dict(b)]) and chunk_key([a, b]).endswith("-2")
    assert chunk_key([a, b]) != chunk_key([a, c]) and chunk_key([a, b, c]) != chunk_key([a, b])


_KILLED_AFTER_ONE_PART = """
import os, signal, sys
from workstation.batch import BatchSpec, run_batch
source, out, checkpoint, scheduler = sys.argv[1:]
spec = BatchSpec(source=source, plugin_id="densenet2d", out=out, checkpoint=checkpoint, scheduler=scheduler, device="cpu")
run_batch(spec, on_rows=lambda rows: os.kill(os.getpid(), signal.SIGKILL))
"""


def test_the_whole_batch_process_killed_then_rerun_completes_only_the_rest(crops, checkpoint, cluster, serial,
                                                                           tmp_path):
    out = tmp_path / "results"
    command = [sys.executable, "-m", "workstation.cli", "batch", str(crops), "--plugin", "densenet2d",
               "--checkpoint", str(checkpoint), "--out", str(out), "--scheduler", cluster.scheduler_address,
               "--device", "cpu"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    # the same run, its client killed (kill -9) by itself once its first part is written: watching
    # for the part from here missed the moment on a warm cluster (all 200 rows came in ~2 s); its
    # tasks are still on the cluster when the rerun sends its own
    killed = subprocess.run([sys.executable, "-c", _KILLED_AFTER_ONE_PART, str(crops), str(out), str(checkpoint),
                             cluster.scheduler_address], capture_output=True, text=True, env=env, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    before = read_table(out).num_rows
    assert 0 < before < 200, "the run must be killed part-way (one part written, not all)"

    rerun = subprocess.run(command + ["--json"], capture_output=True, text=True, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    import json

    report = json.loads(rerun.stdout)
    assert report["skipped"] == before and report["ran"] == 200 - before
    raw = read_table(out)
    assert raw.num_rows == 200 and len(set(raw["path"].to_pylist())) == 200
    assert "Dask dashboard: http" in rerun.stderr
    # the same rows as one uninterrupted run: every crop's scores equal the plain loop's
    expected = serial(checkpoint, sorted(crops.glob("*/*.png")))
    assert sorted(raw["path"].to_pylist()) == sorted(expected) and set(raw["status"].to_pylist()) == {"ok"}
    for path, scores in zip(raw["path"].to_pylist(), raw["scores"].to_pylist()):
        np.testing.assert_allclose(scores, expected[path], rtol=1e-5, atol=1e-6)


def test_project_stores_the_predictions(xrays, checkpoint, cluster, tmp_path):
    from workstation.core.project import Project

    project = Project.create(tmp_path / "project", task="binary", classes=["NORMAL", "PNEUMONIA"])
    first = sorted(xrays.glob("NORMAL/*.jpeg"))[0]
    project.add_case([str(first)], case_id="already-here")
    project.close()
    out = tmp_path / "results"
    report = run_batch(spec(xrays, out, checkpoint, cluster, project=str(tmp_path / "project")))
    assert report.stored == 16 and report.project_error is None
    project = Project.open(tmp_path / "project")
    try:
        latest = project.latest_predictions("densenet2d")
        assert len(project.case_ids()) == 16 and set(latest) == set(project.case_ids())
        assert "already-here" in latest  # an existing case gets its prediction, no second case
        rows = {r["path"]: r for r in read_results(out).to_pylist()}
        record = latest["already-here"]
        assert record.probabilities == pytest.approx(dict(zip(rows[str(first)]["classes"], rows[str(first)]["scores"])))
        assert record.weights_sha256 == rows[str(first)]["weights_sha256"]
    finally:
        project.close()


def test_csv_source_with_a_missing_file(xrays, checkpoint, cluster, tmp_path):
    files = sorted(xrays.glob("*/*.jpeg"))[:3]
    listing = tmp_path / "list.csv"
    listing.write_text("case_id,path\n" + "".join(f"c{n},{p}\n" for n, p in enumerate(files)) + "gone,nowhere.png\n")
    report = run_batch(spec(listing, tmp_path / "results", checkpoint, cluster))
    rows = {r["case_id"]: r for r in read_results(tmp_path / "results").to_pylist()}
    assert report.ok == 3 and set(rows) == {"c0", "c1", "c2", "gone"}
    assert rows["gone"]["status"] == "failed" and "no such file" in rows["gone"]["reason"]


def test_the_only_worker_killed_mid_run_its_restart_finishes_everything(xrays, checkpoint, tmp_path):
    """With one worker, its death takes every copy of the job (plugin, checkpoint, device) with it:
    as scattered data that failed every remaining input ("task lost"); as a task it is computed again."""
    import logging

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, scheduler_port=0, dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as one, Client(one.scheduler_address, set_as_default=False) as c:
        (pid,) = c.run(os.getpid).values()
        killed = []

        def kill_after_three(done, total):
            if done >= 3 and not killed:  # progress comes per task: 2 inputs each here
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        report = run_batch(spec(xrays, tmp_path / "results", checkpoint, one), progress=kill_after_three)
    assert killed and (report.ok, report.failed) == (16, 0)
    raw = read_table(tmp_path / "results")
    assert raw.num_rows == 16 and len(set(raw["key"].to_pylist())) == 16
    assert len({w.split(" pid ")[1] for w in raw["worker"].to_pylist()}) == 2  # before and after the restart


def test_a_chunk_whose_worker_dies_too_often_is_sent_again_as_one_task_per_input(xrays, checkpoint, tmp_path):
    """Dask gives up on a task after `allowed-failures` worker deaths (KilledWorker): an input that
    kills its worker would take its whole chunk down. The engine then sends each input of the
    chunk as a task of its own; here (allowed-failures 0, one kill) they all succeed, once each."""
    import dask
    from distributed import Client, LocalCluster

    killed = []
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, scheduler_port=0, dashboard_address=":0",
                          silence_logs=logging.CRITICAL) as two, \
                Client(two.scheduler_address, set_as_default=False) as c:
            pids = c.run(os.getpid)

            def kill_a_chunk(done, total):
                deadline = time.monotonic() + 120
                while not killed and time.monotonic() < deadline:  # a chunk runs once the job is in memory
                    busy = {addr: [k for k in keys if k.startswith("batch-") and k.endswith("-8")]
                            for addr, keys in c.processing().items()}
                    busy = {addr: keys for addr, keys in busy.items() if keys}
                    if busy:
                        victim = next(iter(busy))
                        os.kill(pids[victim], signal.SIGKILL)
                        killed.extend(busy[victim])  # its chunks: the one running and any queued there
                    else:
                        time.sleep(0.01)

            report = run_batch(spec(xrays, tmp_path / "results", checkpoint, two, inputs_per_task=8),
                               progress=kill_a_chunk)
    assert killed
    assert (report.total, report.ok, report.failed) == (16, 16, 0)
    assert report.tasks == 2 + 8 * len(killed)  # two chunks of 8, then each killed one as 8 tasks of one input
    raw = read_table(tmp_path / "results")
    assert raw.num_rows == 16 and len(set(raw["key"].to_pylist())) == 16
