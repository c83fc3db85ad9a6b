"""The stall watchdog: results the cluster finished but that never reached the client are sent again
under a fresh key (one row each, none twice); a cluster without workers stops the run with one line.
The runs are bounded by the engine's own stall_s, not by the test."""
from __future__ import annotations

import logging

import distributed
import pytest

from workstation.batch import BatchSpec, run_batch
from workstation.batch.engine import BatchError
from workstation.batch.results import read_table


class Lossy(distributed.as_completed):
    """as_completed that never hands over the first 3 results: the client-side loss that made runs
    wait for ever (the cluster holds the results; this client never hears of them)."""

    dropped: list[str] = []

    async def _track_future(self, future):
        if len(Lossy.dropped) < 3 and "-again" not in future.key and not future.key.startswith("batch-job-"):
            Lossy.dropped.append(future.key)
            return
        await super()._track_future(future)


def test_results_lost_on_the_way_are_sent_again_once(xrays, checkpoint, cluster, monkeypatch, tmp_path):
    Lossy.dropped = []
    monkeypatch.setattr(distributed, "as_completed", Lossy)
    out = tmp_path / "results"
    report = run_batch(BatchSpec(source=str(xrays), plugin_id="densenet2d", out=str(out), checkpoint=str(checkpoint),
                                 scheduler=cluster.scheduler_address, device="cpu", stall_s=1.0))
    assert len(Lossy.dropped) == 3
    assert (report.total, report.ok, report.failed, report.resent) == (16, 16, 0, 3)
    raw = read_table(out)
    assert raw.num_rows == 16 and len(set(raw["key"].to_pylist())) == 16
    assert {f"batch-{k}" for k in raw["key"].to_pylist()} >= set(Lossy.dropped)


def test_a_cluster_without_workers_stops_the_run_with_one_line(xrays, checkpoint, tmp_path):
    with distributed.LocalCluster(n_workers=0, scheduler_port=0, dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as empty:
        with pytest.raises(BatchError) as caught:
            run_batch(BatchSpec(source=str(xrays), plugin_id="densenet2d", out=str(tmp_path / "results"),
                                checkpoint=str(checkpoint), scheduler=empty.scheduler_address, device="cpu",
                                stall_s=0.2, no_workers_s=1.0))
    message = str(caught.value)
    assert "no worker for" in message and "16 input(s) not run" in message and "\n" not in message
    assert not (tmp_path / "results").exists()  # nothing ran, nothing written


def test_inside_a_callers_client_the_results_are_tracked_on_the_engines_own_loop(xrays, checkpoint, cluster, client,
                                                                                  monkeypatch, tmp_path):
    """The cause of the old hang: `as_completed` tracks futures on the *current* client's loop, which
    inside a caller's `with Client()` (here the `client` fixture) is not the engine's own."""
    on_own_loop: list[bool] = []

    class Recording(distributed.as_completed):
        async def _track_future(self, future):
            on_own_loop.append(self.loop is future.client.loop)
            await super()._track_future(future)

    monkeypatch.setattr(distributed, "as_completed", Recording)
    assert distributed.default_client() is client
    report = run_batch(BatchSpec(source=str(xrays), plugin_id="densenet2d", out=str(tmp_path / "results"),
                                 checkpoint=str(checkpoint), scheduler=cluster.scheduler_address, device="cpu"))
    assert report.ok == 16 and len(on_own_loop) == 16 and all(on_own_loop)
