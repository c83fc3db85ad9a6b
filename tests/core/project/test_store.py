"""The label store on SQLite and on PostgreSQL: cases, labels per reader, undo, audit, predictions."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from workstation.core.project import PredictionRecord, Project, ProjectError, UnknownCaseError


def _pred(case_id, p_abnormal, plugin="densenet2d", version="1.0"):
    return PredictionRecord(case_id, {"normal": 1 - p_abnormal, "abnormal": p_abnormal}, plugin, version,
                            weights_sha256="ab" * 32, device="cpu")


def test_create_open_and_cases(make_project, tmp_path):
    project = make_project()
    a = project.add_case(["/data/a.dcm"], patient_id="P1", study_id="S1", metadata={"age": 54})
    b = project.add_case(["/data/b.dcm", "/data/b2.dcm"])
    clash = project.add_case(["/other/a.dcm"])
    assert (a.case_id, b.case_id, clash.case_id) == ("a", "b", "a-2")
    with pytest.raises(ProjectError, match="already exists"):
        project.add_case(["/x.png"], case_id="a")
    project.close()

    again = Project.open(tmp_path / "proj")
    assert Project.is_project_dir(tmp_path / "proj") and not Project.is_project_dir(tmp_path)
    assert again.task == "binary" and again.classes == ["normal", "abnormal"]
    assert [c.case_id for c in again.cases()] == ["a", "b", "a-2"]
    case = again.case("a")
    assert case.paths == ["/data/a.dcm"] and case.patient_id == "P1" and case.metadata == {"age": 54}
    assert again.case("b").paths == ["/data/b.dcm", "/data/b2.dcm"]
    with pytest.raises(UnknownCaseError):
        again.case("nope")
    assert again.update_case_metadata("a", {"report": "no effusion"}).metadata == {"age": 54, "report": "no effusion"}
    with pytest.raises(UnknownCaseError):
        again.update_case_metadata("nope", {})
    again.close()


def test_labels_per_reader_and_values(make_project):
    project = make_project()
    project.add_cases([{"paths": [f"/d/{i}.png"]} for i in range(3)])
    changed = []
    project.events.label_changed.connect(changed.append)
    project.set_label("0", "abnormal", reader="alice")
    project.set_label("0", "normal", reader="bob", action="correct", note="calcified, benign")
    project.set_label("1", "not assessable", reader="alice")
    project.set_label("2", "uncertain", reader="alice")
    assert changed == ["0", "0", "1", "2"]
    by_reader = {lab.reader: lab.value for lab in project.labels(case_id="0")}
    assert by_reader == {"alice": "abnormal", "bob": "normal"}
    assert project.labels(case_id="0", reader="bob")[0].note == "calcified, benign"
    assert project.labels(case_id="1")[0].value == "not_assessable"
    with pytest.raises(ProjectError, match="unknown label"):
        project.set_label("0", "tumour", reader="alice")
    with pytest.raises(ProjectError, match="not a list"):
        project.set_label("0", ["normal"], reader="alice")
    with pytest.raises(UnknownCaseError):
        project.set_label("missing", "normal", reader="alice")
    with pytest.raises(ProjectError, match="reader"):
        project.set_label("0", "normal", reader="")
    assert len(project.audit()) == 4  # refused edits leave no trace


def test_multilabel_sets(make_project):
    project = make_project("multilabel", ["effusion", "nodule", "pneumothorax"])
    project.add_case(["/d/x.png"], case_id="x")
    stored = project.set_label("x", ["pneumothorax", "effusion"], reader="alice")
    assert stored == ["effusion", "pneumothorax"]  # kept in class order
    assert project.set_label("x", "nodule;effusion", reader="bob") == ["effusion", "nodule"]
    assert project.set_label("x", [], reader="carol") == []  # "no finding" is a label too


def test_undo_redo_are_audited(make_project):
    project = make_project()
    project.add_case(["/d/a.png"], case_id="a")
    project.add_predictions([_pred("a", 0.8)])
    project.set_label("a", "abnormal", reader="alice")
    project.set_label("a", "normal", reader="alice", action="correct")
    assert project.undo().new_value == "normal"
    assert project.label("a", "alice").value == "abnormal"
    project.undo()
    assert project.label("a", "alice") is None and not project.can_undo()
    assert project.undo() is None
    project.redo()
    assert project.label("a", "alice").value == "abnormal"
    project.set_label("a", "uncertain", reader="alice")  # a new edit clears the redo branch
    assert not project.can_redo()

    trail = [(e.action, e.old_value, e.new_value) for e in project.audit("a")]
    assert trail == [("confirm", None, "abnormal"), ("correct", "abnormal", "normal"),
                     ("undo", "normal", "abnormal"), ("undo", "abnormal", None),
                     ("redo", None, "abnormal"), ("confirm", "abnormal", "uncertain")]
    first = project.audit("a")[0]
    assert first.reader == "alice" and first.tag == "final"
    assert first.shown["plugin_id"] == "densenet2d" and first.shown["plugin_version"] == "1.0"
    assert first.shown["probabilities"]["abnormal"] == pytest.approx(0.8)


def test_audit_trail_is_append_only(make_project):
    project = make_project()
    project.add_case(["/d/a.png"], case_id="a")
    project.set_label("a", "normal", reader="alice")
    for statement in ("UPDATE audit SET new_value = '\"abnormal\"'", "DELETE FROM audit"):
        with pytest.raises(Exception, match="append-only"):
            with project.engine.begin() as conn:
                conn.execute(text(statement))
    assert [e.new_value for e in project.audit()] == ["normal"]


def test_predictions_latest_per_plugin(make_project):
    project = make_project()
    project.add_cases([{"paths": [f"/d/{n}.png"], "case_id": n} for n in "abc"])
    seen = []
    project.events.predictions_changed.connect(lambda: seen.append(1))
    project.add_predictions([_pred("a", 0.2), _pred("b", 0.9)])
    project.add_predictions([_pred("a", 0.7)])
    project.add_predictions([_pred("a", 0.1, plugin="other", version="2")])
    assert len(seen) == 3
    assert project.latest_predictions("densenet2d")["a"].probabilities["abnormal"] == pytest.approx(0.7)
    assert set(project.latest_predictions("densenet2d")) == {"a", "b"}
    assert project.latest_predictions()["a"].plugin_id == "other"
    assert project.prediction_plugins() == ["other", "densenet2d"]
    record = project.latest_predictions("densenet2d")["b"]
    assert (record.weights_sha256, record.device) == ("ab" * 32, "cpu")
    with pytest.raises(ProjectError, match="sum to"):
        project.add_predictions([PredictionRecord("a", {"normal": 0.5, "abnormal": 0.6}, "m")])
    with pytest.raises(ProjectError, match="not in"):
        project.add_predictions([PredictionRecord("a", {"normal": float("nan"), "abnormal": 0.5}, "m")])
    with pytest.raises(UnknownCaseError):
        project.add_predictions([_pred("zzz", 0.5)])


def test_evaluation_table_binary_truths(make_project):
    project = make_project()
    project.add_cases([{"paths": [f"/d/{n}.png"], "case_id": n} for n in "abcde"])
    project.add_predictions([_pred(n, p) for n, p in zip("abcd", (0.9, 0.2, 0.6, 0.4))])
    project.set_label("a", "abnormal", reader="alice")
    project.set_label("b", "normal", reader="alice")
    project.set_label("c", "uncertain", reader="alice")   # not truth
    project.set_label("d", "abnormal", reader="alice")
    project.set_label("d", "normal", reader="bob")
    project.set_label("d", "normal", reader="carol")
    project.set_label("e", "abnormal", reader="alice")    # no prediction: left out
    table = project.evaluation_table()
    assert table.case_ids == ["a", "b", "d"] and table.task == "binary"
    assert table.y_true.tolist() == [1, 0, 0]  # d: carol's is the newest final label
    np.testing.assert_allclose(table.scores[:, 1], [0.9, 0.2, 0.4])
    assert project.evaluation_table(truth="alice").y_true.tolist() == [1, 0, 1]
    assert project.evaluation_table(truth="consensus").case_ids == ["a", "b", "d"]
    assert project.evaluation_table(truth="consensus").y_true.tolist() == [1, 0, 0]

    project.set_label("d", "abnormal", reader="dave", tag="adjudicated", action="adjudicate")
    assert project.evaluation_table().y_true.tolist() == [1, 0, 1]
    assert project.evaluation_table(truth="consensus").y_true.tolist() == [1, 0, 1]
    assert project.evaluation_table(truth="alice").y_true.tolist() == [1, 0, 1]  # her own, unadjudicated
    assert len(project.evaluation_table(truth="nobody")) == 0


def test_evaluation_table_multiclass_and_multilabel(make_project):
    project = make_project("multiclass", ["cat", "dog", "fox"])
    project.add_cases([{"paths": ["/d/1.png"], "case_id": "1"}, {"paths": ["/d/2.png"], "case_id": "2"}])
    project.add_predictions([PredictionRecord("1", {"cat": 0.2, "dog": 0.7, "fox": 0.1}, "m"),
                             PredictionRecord("2", {"cat": 0.1, "dog": 0.1, "fox": 0.8}, "m")])
    project.set_label("1", "dog", reader="r")
    project.set_label("2", "cat", reader="r")
    table = project.evaluation_table()
    assert table.y_true.tolist() == [1, 0] and table.scores.shape == (2, 3)

    ml = make_project("multilabel", ["a", "b", "c"], name="ml")
    ml.add_case(["/d/1.png"], case_id="1")
    ml.add_predictions([PredictionRecord("1", {"a": 0.9, "b": 0.8, "c": 0.1}, "m")])
    ml.set_label("1", ["a", "c"], reader="r")
    table = ml.evaluation_table()
    assert table.y_true.tolist() == [[1, 0, 1]] and table.scores.shape == (1, 3)


def test_detection_candidates(make_project):
    project = make_project("detection", ["microbleed"])
    project.add_case(["/d/swi.nii.gz"], case_id="s1")
    cands = [{"id": "c1", "centre": [1.0, 2.0, 3.0], "diameter_mm": 4.0, "score": 0.9},
             {"id": "c2", "centre": [9.0, 8.0, 7.0], "diameter_mm": 3.0, "score": 0.4}]
    project.add_predictions([PredictionRecord("s1", {"microbleed": 0.9}, "microbleeds", "1", candidates=cands)])
    assert project.latest_predictions()["s1"].candidates[1]["id"] == "c2"
    project.set_candidate_state("s1", "c1", "confirmed", reader="alice")
    project.set_candidate_state("s1", "c2", "rejected", reader="alice")
    added = project.set_candidate_state("s1", None, "added", reader="alice", centre=(5, 5, 5), diameter=6)
    states = project.candidate_states("s1")
    assert states["c1"]["state"] == "confirmed" and states["c2"]["state"] == "rejected"
    assert states[added] == {"state": "added", "centre": [5.0, 5.0, 5.0], "diameter": 6.0, "reader": "alice",
                             "updated_at": states[added]["updated_at"]}
    project.undo()
    assert added not in project.candidate_states("s1")
    assert [e.candidate_id for e in project.audit("s1")] == ["c1", "c2", added, added]
    assert project.labels(case_id="s1") == []  # candidate decisions are not case labels
    project.set_label("s1", {"reviewed": True, "count": 2}, reader="alice")
    assert project.label("s1").value == {"reviewed": True, "count": 2}
    with pytest.raises(ProjectError, match="centre"):
        project.set_candidate_state("s1", None, "added", reader="alice")


def test_schema_matches_models_and_migration_head(make_project):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from workstation.core.project import store
    from workstation.core.project.migrations import HEAD
    from workstation.core.project.models import Base

    cfg = Config()
    cfg.set_main_option("script_location", str(store.MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD
    project = make_project()
    with project.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() == HEAD
        diffs = [d for d in compare_metadata(context, Base.metadata)
                 if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index"))]
    assert diffs == []


def test_bad_create_arguments(tmp_path):
    with pytest.raises(ProjectError, match="exactly two"):
        Project.create(tmp_path / "p", "binary", ["a", "b", "c"])
    with pytest.raises(ProjectError, match="unknown task"):
        Project.create(tmp_path / "p", "segmentation", ["a"])
    assert not Project.is_project_dir(tmp_path / "p")
    with pytest.raises(ProjectError, match="not a project"):
        Project.open(tmp_path)


def test_agreement_and_adjudication(make_project):
    from workstation.core.project.readers import adjudicate, agreement, disagreements

    project = make_project("multiclass", ["a", "b", "c"])
    # Cohen's published example (metrics issue): table [[0,4,1],[0,8,0],[0,1,5]] -> kappa 0.4842
    table = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
    pairs = [(r, c) for r in range(3) for c in range(3) for _ in range(table[r][c])]
    project.add_cases([{"paths": [f"/d/{i}.png"], "case_id": f"k{i}"} for i in range(len(pairs))])
    names = project.classes
    for i, (r, c) in enumerate(pairs):
        project.set_label(f"k{i}", names[r], reader="ann")
        project.set_label(f"k{i}", names[c], reader="ben")
    result = agreement(project)
    assert result.method == "cohen" and result.n_cases == 19
    assert result.kappa.kappa == pytest.approx(0.4842, abs=1e-4)
    assert "Cohen" in result.summary()

    found = disagreements(project)
    assert len(found) == 4 + 1 + 1
    first = found[0]
    assert set(first.labels) == {"ann", "ben"} and first.adjudicated is None
    adjudicate(project, first.case_id, "b", adjudicator="chief")
    again = {d.case_id: d for d in disagreements(project)}
    assert again[first.case_id].adjudicated == "b" and again[first.case_id].adjudicator == "chief"
    assert len(disagreements(project, include_resolved=False)) == 5
    assert project.truth("final")[first.case_id] == "b"
    assert project.audit(first.case_id)[-1].action == "adjudicate"

    project.set_label("k0", "a", reader="cat")
    project.set_label("k1", "b", reader="cat")
    three = agreement(project)
    assert three.method == "fleiss" and three.n_cases == 2 and len(three.pairwise) == 3


def test_truth_for_some_cases_and_snapshot(make_project):
    from workstation.core.project import snapshot

    project = make_project("multiclass", ['cat', 'dog', 'say "hi"'])  # a quote forces the JSON fallback
    project.add_cases([{"paths": [f"/d/{n}.png"], "case_id": n} for n in "abcd"])
    project.add_predictions([PredictionRecord("a", {"cat": 0.6, "dog": 0.3, 'say "hi"': 0.1}, "m1"),
                             PredictionRecord("b", {"cat": 0.2, "dog": 0.7, 'say "hi"': 0.1}, "m1"),
                             PredictionRecord("b", {"cat": 0.1, "dog": 0.1, 'say "hi"': 0.8}, "m2")])
    project.set_label("a", "cat", reader="r1")
    project.set_label("b", 'say "hi"', reader="r1", note="odd")
    project.set_label("c", "uncertain", reader="r1")
    assert project.truth("final", case_ids=["b", "c", "zzz"]) == {"b": 'say "hi"'}
    snap = snapshot.read(project)
    assert snap.case_ids == ["a", "b", "c", "d"]
    np.testing.assert_allclose(snap.probs[:2], [[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])  # b: m2 is newest
    assert np.isnan(snap.probs[2:]).all()
    assert {(r[0], r[3], r[4]) for r in snap.labels} == {("a", "cat", None), ("b", 'say "hi"', "odd"),
                                                         ("c", "uncertain", None)}
    np.testing.assert_allclose(snapshot.read(project, "m1").probs[1], [0.2, 0.7, 0.1])
    table = project.evaluation_table(plugin_id="m1")
    assert table.case_ids == ["a", "b"] and table.y_true.tolist() == [0, 2]
    project.add_case(["/d/e.png"], case_id="e")  # the cached prediction matrix notices new cases
    project.add_predictions([PredictionRecord("e", {"cat": 1.0, "dog": 0.0, 'say "hi"': 0.0}, "m1")])
    project.set_label("e", "dog", reader="r1")
    assert project.evaluation_table(plugin_id="m1").case_ids == ["a", "b", "e"]


def test_old_database_is_migrated_on_open(tmp_path, new_db_url):
    """A project made by the first schema version (0001) opens: migrated to HEAD, data intact,
    and predictions stored before `scores` existed are read from their JSON."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from workstation.core.project import config as config_mod
    from workstation.core.project import snapshot, store
    from workstation.core.project.migrations import HEAD

    directory = tmp_path / "old"
    directory.mkdir()
    cfg_file = config_mod.ProjectConfig(task="binary", classes=["no", "yes"], db_url=new_db_url())
    url = config_mod.database_url(directory, cfg_file)
    engine = create_engine(url)
    alembic_cfg = Config()
    alembic_cfg.set_main_option("script_location", str(store.MIGRATIONS_DIR))
    with engine.begin() as conn:
        alembic_cfg.attributes["connection"] = conn
        command.upgrade(alembic_cfg, "0001")
        conn.execute(text("INSERT INTO cases (case_id, paths, metadata, added_at) "
                          "VALUES ('a', '[\"/d/a.png\"]', '{}', 'then')"))
        conn.execute(text("INSERT INTO predictions (case_id, plugin_id, plugin_version, weights_sha256, device, "
                          "created_at, probabilities) VALUES ('a', 'm', '1', '', 'cpu', 'then', "
                          "'{\"yes\": 0.25, \"no\": 0.75}')"))
    engine.dispose()
    config_mod.save(directory, cfg_file)

    project = Project.open(directory)
    with project.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    np.testing.assert_allclose(snapshot.read(project).probs, [[0.75, 0.25]])
    project.add_case(["/d/b.png"], case_id="b")
    project.add_predictions([PredictionRecord("b", {"no": 0.4, "yes": 0.6}, "m")])
    np.testing.assert_allclose(snapshot.read(project).probs, [[0.75, 0.25], [0.4, 0.6]])
    project.set_label("a", "no", reader="r")
    assert project.evaluation_table().y_true.tolist() == [0]
    project.close()
