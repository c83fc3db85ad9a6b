"""LiveMetrics and `workstation metrics` on a real project database."""
import json

import numpy as np
import pytest
from sklearn import metrics as skm

from workstation.cli import main
from workstation.core.metrics.live import LiveMetrics
from workstation.core.project import PredictionRecord, Project


def sync(delay, fn):
    """Run the debounced computation only when the test flushes."""


def test_live_metrics_follow_label_changes(small_project):
    project, y, s = small_project
    live = LiveMetrics(project, scheduler=sync)
    seen = []
    live.computed.connect(seen.append)
    first = live.recompute()
    assert first.evaluation.n == 30 and first.plugin_id == "model-a" and seen == [first]
    assert first.evaluation.auc.auc == pytest.approx(skm.roc_auc_score(y[:30], s[:30]))
    before = first.evaluation.at(0.5).matrix
    # confirm a label on an unlabelled case: one more case in the matrix
    project.set_label("c035", "abnormal", reader="alice")
    after = live.flush()
    assert after.evaluation.n == 31
    row = 1
    col = int(s[35] >= 0.5)
    assert after.evaluation.at(0.5).matrix[row][col] == before[row][col] + 1
    # correct an existing label: a case moves between rows
    flipped = "normal" if y[0] else "abnormal"
    project.set_label("c000", flipped, reader="alice", action="correct")
    moved = live.flush()
    yy = np.r_[y[:30], True]
    yy[0] = not y[0]
    ss = np.r_[s[:30], s[35]]
    assert moved.evaluation.auc.auc == pytest.approx(skm.roc_auc_score(yy, ss))
    assert moved.evaluation.at(0.5).matrix == skm.confusion_matrix(yy, ss >= 0.5).tolist()
    assert live.flush() is None  # nothing pending
    project.undo()
    assert live.flush().evaluation.at(0.5).matrix == after.evaluation.at(0.5).matrix
    live.close()


def test_events_are_coalesced_into_one_recompute(small_project):
    project, _, _ = small_project
    calls = []
    live = LiveMetrics(project, scheduler=lambda delay, fn: calls.append(fn))
    live.recompute()
    for i in range(30, 36):
        project.set_label(f"c{i:03d}", "normal", reader="bob")
    assert len(calls) == 1  # one timer for six events
    result = calls[0]()
    assert result.evaluation.n == 36
    assert calls[0]() is None  # a second timer firing finds nothing left to do


def test_truth_and_model_selection(small_project):
    project, _, s = small_project
    live = LiveMetrics(project, scheduler=sync)
    project.set_label("c000", "abnormal", reader="bob")
    assert live.truth_choices() == ["final", "consensus", "alice", "bob", "carol"]
    live.set_truth("bob")
    assert live.flush().evaluation.n == 1
    project.add_predictions([PredictionRecord(f"c{i:03d}", {"normal": 0.5, "abnormal": 0.5}, "flat-model")
                             for i in range(40)])
    live.set_truth("alice")
    live.set_model("flat-model")
    r = live.flush()
    assert r.plugin_id == "flat-model" and r.evaluation.auc.auc == 0.5
    assert set(live.models()) == {"model-a", "flat-model"}


def test_nothing_to_evaluate_is_explained(tmp_path):
    with Project.create(tmp_path / "empty", "binary", ["no", "yes"]) as project:
        project.add_case(["/a.dcm"], case_id="a")
        r = LiveMetrics(project, scheduler=sync).recompute()
        assert r.evaluation is None and "no model" in r.reason


def test_incremental_updates_equal_a_full_recompute(small_project):
    """Label changes read back only the changed cases (Project.truth(case_ids=...)); the patched
    table must equal a full reload."""
    project, y, s = small_project
    live = LiveMetrics(project, scheduler=sync)
    live.recompute()
    edits = [("c031", "abnormal", "alice"), ("c002", "normal", "alice"), ("c002", "abnormal", "bob"),
             ("c039", "normal", "carol"), ("c005", None, "alice")]
    for case_id, value, reader in edits:
        if value is None:
            project.clear_label(case_id, reader=reader)
        else:
            project.set_label(case_id, value, reader=reader)
        inc = live.flush()
        assert inc.changed_cases == {case_id}  # the incremental path was taken
        full = LiveMetrics(project, scheduler=sync).recompute()
        order = np.argsort(inc.table.case_ids)
        assert sorted(inc.table.case_ids) == sorted(full.table.case_ids)
        np.testing.assert_array_equal(inc.table.y_true[order], full.table.y_true[np.argsort(full.table.case_ids)])
        assert inc.evaluation.auc.auc == pytest.approx(full.evaluation.auc.auc)
        assert inc.evaluation.at(0.4).matrix == full.evaluation.at(0.4).matrix
        assert inc.evaluation.auc.se == pytest.approx(full.evaluation.auc.se)
        np.testing.assert_array_equal(inc.evaluation.roc.tpr, full.evaluation.roc.tpr)
        np.testing.assert_array_equal(inc.evaluation.roc.thresholds, full.evaluation.roc.thresholds)


def test_metrics_command(capsys, small_project):
    project, y, s = small_project
    project.set_label("c001", "abnormal" if y[1] else "normal", reader="bob")
    assert main(["metrics", str(project.directory), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["model"] == "model-a" and r["truth"] == "final" and r["n"] == 30 and r["n_cases"] == 40
    assert r["auc"] == pytest.approx(skm.roc_auc_score(y[:30], s[:30]))
    assert r["confusion_matrix"] == skm.confusion_matrix(y[:30], s[:30] >= 0.5).tolist()
    agreement = r["reader_agreement"]
    assert agreement["readers"] == ["alice", "bob"] and agreement["method"] == "cohen" and agreement["n"] == 1
    assert main(["metrics", str(project.directory), "--truth", "bob", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 1
    assert main(["metrics", str(project.directory), "--model", "nope"]) == 2
    assert "no predictions from model 'nope'" in capsys.readouterr().err
    assert main(["metrics", str(project.directory)]) == 0
    assert "AUC" in capsys.readouterr().out


def test_metrics_command_reader_agreement(capsys, small_project):
    from workstation.core.metrics.agreement import cohen_kappa

    project, y, _ = small_project
    rng = np.random.default_rng(3)
    bob = ["abnormal" if (v ^ (rng.random() < 0.25)) else "normal" for v in y[:30]]
    for i, value in enumerate(bob):
        project.set_label(f"c{i:03d}", value, reader="bob")
    assert main(["metrics", str(project.directory), "--json"]) == 0
    agreement = json.loads(capsys.readouterr().out)["reader_agreement"]
    alice = ["abnormal" if v else "normal" for v in y[:30]]
    assert agreement["n"] == 30
    assert agreement["kappa"] == pytest.approx(cohen_kappa(alice, bob).kappa)
    assert agreement["kappa_ci"][0] < agreement["kappa"] < agreement["kappa_ci"][1]


@pytest.mark.parametrize("task,classes,edits", [
    ("multiclass", ["a", "b", "c"], [("m01", "c"), ("m15", "a"), ("m02", None), ("m16", "b")]),
    ("multilabel", ["x", "y"], [("m01", ["x", "y"]), ("m15", []), ("m02", None), ("m16", ["y"])]),
])
def test_incremental_updates_for_multiclass_and_multilabel(tmp_path, task, classes, edits):
    rng = np.random.default_rng(6)
    project = Project.create(tmp_path / task, task, classes)
    project.add_cases([dict(paths=[f"/d/{i}.dcm"], case_id=f"m{i:02d}") for i in range(20)])
    p = rng.dirichlet(np.ones(len(classes)), 20)
    project.add_predictions([PredictionRecord(f"m{i:02d}", dict(zip(classes, p[i])), "model") for i in range(20)])
    for i in range(12):
        value = classes[i % len(classes)] if task == "multiclass" else [c for c in classes if rng.random() < 0.5]
        project.set_label(f"m{i:02d}", value, reader="r1")
    live = LiveMetrics(project, scheduler=sync)
    live.recompute()
    for case_id, value in edits:
        if value is None:
            project.clear_label(case_id, reader="r1")
        else:
            project.set_label(case_id, value, reader="r1")
        inc = live.flush()
        assert inc.changed_cases == {case_id}
        full = LiveMetrics(project, scheduler=sync).recompute()
        a, b = np.argsort(inc.table.case_ids), np.argsort(full.table.case_ids)
        assert [inc.table.case_ids[i] for i in a] == [full.table.case_ids[i] for i in b]
        np.testing.assert_array_equal(inc.table.y_true[a], full.table.y_true[b])
        np.testing.assert_allclose(inc.table.scores[a], full.table.scores[b])
    project.close()
