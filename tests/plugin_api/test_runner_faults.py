"""The runner under misbehaving plugins: each fault is reported, nothing of it is stored, and the
same runner then serves the next job."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import fault_plugins as fp  # noqa: E402  (the fault_path fixture puts it on sys.path)
from workstation.plugin_host import JobSpec


pytestmark = pytest.mark.usefixtures("fault_path")


def _good_job(make_case, n=3):
    return JobSpec(fp.manifest("good"), [make_case(f"ok{i}", value=50 * i) for i in range(n)])


def _assert_serves_next(runner, make_case, collect):
    report = runner.run(_good_job(make_case), collect)
    assert report.ok, report
    assert collect.case_ids == ["ok0", "ok1", "ok2"]
    probs = [o.prediction.probabilities.values for o in collect.outcomes]
    assert np.allclose([p[1] for p in probs], [0, 50 / 255, 100 / 255])
    first = collect.outcomes[0]
    assert (first.plugin_id, first.plugin_version, first.weights_sha256, first.device) == \
        ("fault-good", "0.0.1", "f" * 64, "cpu")
    assert first.created_at.endswith("+00:00")


@pytest.mark.parametrize("behaviour, expected", [
    ("raises", "deliberate failure in predict"),
    ("nan", "NaN"),
    ("wrongshape", "shape (3,)"),
    ("badheatmap", "heat map has shape (1, 3, 3)"),
])
def test_bad_output_reported_not_stored(runner, make_case, collect, behaviour, expected):
    report = runner.run(JobSpec(fp.manifest(behaviour), [make_case("a"), make_case("b")]), collect)
    assert collect.outcomes == []
    assert report.stored == 0
    assert [f.case_id for f in report.failures] == ["a", "b"]
    assert all(expected in f.reason for f in report.failures), report.failures
    _assert_serves_next(runner, make_case, collect)


def test_multiclass_not_summing_to_one(runner, make_case, collect):
    spec = JobSpec(fp.manifest("notsumming", task="multiclass", classes=("a", "b", "c")), [make_case("a")])
    report = runner.run(spec, collect)
    assert collect.outcomes == [] and "sum to 1.5000, not 1" in report.failures[0].reason
    _assert_serves_next(runner, make_case, collect)


def test_hang_past_timeout_is_killed(runner, make_case, collect):
    spec = JobSpec(fp.manifest("sleeps", batch_size=1), [make_case("a"), make_case("b")])
    notices = []
    report = runner.run(spec, collect, notice=notices.append)
    assert collect.outcomes == []
    assert "did not answer within 3 s" in report.error
    assert [f.case_id for f in report.failures] == ["a", "b"]
    assert "not run" in report.failures[1].reason
    assert notices and "did not answer" in notices[0]
    _assert_serves_next(runner, make_case, collect)


def test_worker_crash_is_survived(runner, make_case, collect):
    report = runner.run(JobSpec(fp.manifest("crashes"), [make_case("a")]), collect)
    assert "worker process died (exit code 3)" in report.error
    _assert_serves_next(runner, make_case, collect)


def test_load_failure_and_non_plugin(runner, make_case, collect):
    report = runner.run(JobSpec(fp.manifest("failstoload"), [make_case("a")]), collect)
    assert "weights file missing" in report.error and report.failures[0].case_id == "a"
    report = runner.run(JobSpec(fp.manifest("notaplugin"), [make_case("a")]), collect)
    assert "without load() and predict()" in report.error
    _assert_serves_next(runner, make_case, collect)


def test_one_bad_image_fails_alone_in_a_batch(runner, make_case, collect):
    cases = [make_case("x1", 10), make_case("bad", 13), make_case("x2", 20)]
    report = runner.run(JobSpec(fp.manifest("poison", batch_size=3), cases), collect)
    assert collect.case_ids == ["x1", "x2"]
    assert [(f.case_id, "cannot handle this image" in f.reason) for f in report.failures] == [("bad", True)]


def test_unreadable_path_fails_alone(runner, make_case, collect, tmp_path):
    from workstation.plugin_host import CaseInput

    missing = CaseInput("missing", path=str(tmp_path / "nope.dcm"))
    report = runner.run(JobSpec(fp.manifest("good"), [make_case("a"), missing]), collect)
    assert collect.case_ids == ["a"]
    assert report.failures[0].case_id == "missing" and "cannot read image" in report.failures[0].reason


def test_cancel_stops_the_job(runner, make_case, collect):
    cancel = threading.Event()
    spec = JobSpec(fp.manifest("waitsforcancel", batch_size=1), [make_case(f"c{i}") for i in range(3)])
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    report = runner.run(spec, collect, cancel=cancel)
    assert report.cancelled and report.error is None and collect.outcomes == []
    assert [f.reason for f in report.failures] == ["cancelled"] * 3
    _assert_serves_next(runner, make_case, collect)


def test_submit_runs_jobs_in_order_off_the_calling_thread(runner, make_case, collect):
    threads = []
    sink = lambda outcomes: (threads.append(threading.current_thread().name), collect(outcomes))  # noqa: E731
    progress = []
    first = runner.submit(_good_job(make_case, 2), sink, progress=lambda d, t: progress.append((d, t)))
    second = runner.submit(JobSpec(fp.manifest("raises"), [make_case("r")]), sink)
    assert first.result(timeout=120).stored == 2
    assert second.result(timeout=120).failures[0].case_id == "r"
    assert all(name.startswith("inference") for name in threads)
    assert progress[0] == (0.0, 2) and progress[-1] == (2.0, 2)


def test_sink_failure_is_reported(runner, make_case):
    def broken_sink(outcomes):
        raise OSError("disk full")

    report = runner.run(_good_job(make_case, 2), broken_sink)
    assert report.stored == 0 and all("disk full" in f.reason for f in report.failures)


def test_worker_is_reused_until_the_job_changes(runner, make_case, collect):
    runner.run(_good_job(make_case, 1), collect)
    first = runner._worker.process.pid
    runner.run(_good_job(make_case, 1), collect)
    assert runner._worker.process.pid == first  # same plugin, same options: the loaded worker serves it
    report = runner.run(JobSpec(fp.manifest("good"), [make_case("x")], options={"heatmap": True}), collect)
    assert report.load_s > 0 and runner._worker.process.pid == first  # reloaded in the same process


def test_hang_in_load_is_killed(fault_path, make_case, collect):
    from workstation.plugin_host import InferenceRunner

    with InferenceRunner(timeout_s=2, load_timeout_s=2) as runner:
        report = runner.run(JobSpec(fp.manifest("slowload"), [make_case("a")]), collect)
        assert "could not load fault-slowload" in report.error and "within 2 s" in report.error
        assert runner._worker is None
        _assert_serves_next(runner, make_case, collect)
