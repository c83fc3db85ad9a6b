"""Readers' candidate decisions stay with their focus when the detector runs again (issue 7): a
re-run's candidates take the ids of the earlier decided candidates they match, other candidates get
ids never used before in the case, and decisions whose focus is gone stay in the store."""
from __future__ import annotations

import pytest

from workstation.core.project import PredictionRecord, ProjectError
from workstation.core.project import candidate_ids, predictions

FOCI = {"A": ([0.0, 0.0, 0.0], 4.0), "B": ([20.0, 0.0, 0.0], 3.0), "C": ([0.0, 20.0, 0.0], 5.0),
        "D": ([0.0, 0.0, 20.0], 4.0), "E": ([40.0, 40.0, 40.0], 6.0)}


def _run(names, shift=(0.0, 0.0, 0.0), plugin="microbleeds"):
    """Candidates as the plugin host's sink gives them: numbered by position in the run."""
    out = []
    for n, name in enumerate(names):
        centre, diameter = FOCI[name]
        out.append({"id": f"{plugin}-{n}", "centre": [c + s for c, s in zip(centre, shift)],
                    "diameter_mm": diameter, "score": 0.9 - 0.1 * n, "label": name})
    return PredictionRecord("s1", {}, plugin, "1", candidates=out)


def _ids(record) -> dict[str, str]:
    return {c["label"]: c["id"] for c in record.candidates}


@pytest.fixture
def det(make_project):
    project = make_project("detection", ["microbleed"])
    project.add_case(["/d/swi.nii.gz"], case_id="s1")
    project.add_case(["/d/other.nii.gz"], case_id="s2")
    return project


def test_rerun_keeps_decisions_on_their_foci(det):
    det.add_predictions([_run("ABCD")])
    first = _ids(det.latest_predictions()["s1"])
    assert first == {"A": "microbleeds-0", "B": "microbleeds-1", "C": "microbleeds-2", "D": "microbleeds-3"}
    det.set_candidate_state("s1", first["A"], "confirmed", "alice")
    det.set_candidate_state("s1", first["D"], "rejected", "alice")
    added = det.set_candidate_state("s1", None, "added", "alice", centre=(5.0, 5.0, 5.0), diameter=3.0)

    # reordered, every centre moved by < 1 mm, E is new, D is not found again
    second = _run("BEAC", shift=(0.5, -0.4, 0.6))
    det.add_predictions([second])
    stored = det.latest_predictions()["s1"]
    ids = _ids(stored)
    assert ids == _ids(second)  # the caller's record holds the stored ids
    assert ids["A"] == first["A"]  # positionally it would have been microbleeds-2
    assert ids["B"] != first["B"] and ids["C"] != first["C"]  # undecided: nothing to keep
    earlier = set(first.values()) | {added}
    fresh = [ids[k] for k in "BCE"]
    assert len(set(fresh)) == 3 and not set(fresh) & earlier

    states = det.candidate_states("s1")
    assert states[first["A"]]["state"] == "confirmed"
    assert states[first["D"]]["state"] == "rejected" and states[added]["state"] == "added"
    assert not set(fresh) & set(states)  # B, C and the new E are proposed
    # the missing one's decision stays, with the focus the reader decided on
    assert first["D"] not in ids.values()
    assert states[first["D"]]["centre"] == FOCI["D"][0] and states[first["D"]]["diameter"] == 4.0
    assert states[first["A"]]["centre"] == FOCI["A"][0]  # where the reader saw it, not the re-run
    assert states[first["D"]]["run"]["created_at"] == det.audit("s1")[1].shown["created_at"]
    assert states[added]["centre"] == [5.0, 5.0, 5.0] and "run" not in states[added]
    listed = {lab.candidate_id: lab.value["state"] for lab in det.labels(case_id="s1", candidates=True)}
    assert listed == {first["A"]: "confirmed", first["D"]: "rejected", added: "added"}

    # a third run finds D again: its rejection is back on it; ids still never collide
    third = _run("DAE", shift=(-1.0, 0.8, 0.0))
    det.add_predictions([third])
    again = _ids(det.latest_predictions()["s1"])
    assert again["D"] == first["D"] and again["A"] == first["A"]
    assert again["E"] not in earlier | set(fresh)


def test_matching_is_one_to_one_and_nearest_first(det):
    det.add_predictions([PredictionRecord("s1", {}, "microbleeds", candidates=[
        {"id": "microbleeds-0", "centre": [0.0, 0.0, 0.0], "diameter_mm": 10.0, "score": 0.9},
        {"id": "microbleeds-1", "centre": [3.0, 0.0, 0.0], "diameter_mm": 2.0, "score": 0.8}])])
    det.set_candidate_state("s1", "microbleeds-0", "confirmed", "alice")
    det.set_candidate_state("s1", "microbleeds-1", "rejected", "bob")
    # one new candidate near both: it goes to the nearer focus (1.5 mm from microbleeds-1, within its
    # 2 mm floor); the other new one is 4.5 mm from microbleeds-0, inside its 5 mm radius
    det.add_predictions([PredictionRecord("s1", {}, "microbleeds", candidates=[
        {"id": "microbleeds-0", "centre": [4.5, 0.0, 0.0], "diameter_mm": 3.0, "score": 0.5},
        {"id": "microbleeds-1", "centre": [-4.5, 0.0, 0.0], "diameter_mm": 3.0, "score": 0.4},
        {"id": "microbleeds-2", "centre": [0.0, 9.0, 0.0], "diameter_mm": 3.0, "score": 0.3}])])
    ids = [c["id"] for c in det.latest_predictions()["s1"].candidates]
    assert ids[0] == "microbleeds-1" and ids[1] == "microbleeds-0"
    assert ids[2] not in ("microbleeds-0", "microbleeds-1")  # 9 mm away: not the same focus


def test_other_cases_and_first_runs_are_untouched(det):
    det.add_predictions([_run("AB")])
    det.set_candidate_state("s1", "microbleeds-0", "confirmed", "alice")
    other = PredictionRecord("s2", {}, "microbleeds", candidates=[
        {"id": "microbleeds-0", "centre": [0.0, 0.0, 0.0], "diameter_mm": 4.0, "score": 0.7}])
    det.add_predictions([other])  # same place, other case: a first run keeps its own ids
    assert det.latest_predictions()["s2"].candidates[0]["id"] == "microbleeds-0"
    assert det.candidate_states("s2") == {}


def test_an_undone_decision_still_reserves_its_id(det):
    det.add_predictions([_run("A")])
    det.set_candidate_state("s1", "microbleeds-0", "confirmed", "alice")
    det.undo()  # the label row is gone, the audit entry stays
    det.add_predictions([_run("C")])
    assert _ids(det.latest_predictions()["s1"])["C"] != "microbleeds-0"


def test_a_positional_rerun_from_before_is_repaired_by_the_next_run(det):
    """Decisions mis-attached by an older re-run (ids by position) return to the focus the reader
    saw: the audit names the run shown at decision time."""
    det.add_predictions([_run("AB")])
    det.set_candidate_state("s1", "microbleeds-0", "confirmed", "alice")  # A
    with det.engine.begin() as conn:  # what the old code stored: B now numbered 0
        predictions.insert_records(conn, [_run("BA")], det.classes)
    det.add_predictions([_run("CBA", shift=(0.3, 0.3, 0.3))])
    ids = _ids(det.latest_predictions()["s1"])
    assert ids["A"] == "microbleeds-0" and ids["B"] != "microbleeds-0"
    assert det.candidate_states("s1")["microbleeds-0"]["centre"] == FOCI["A"][0]


def test_candidates_without_a_centre_are_refused_with_a_reason(det):
    with pytest.raises(ProjectError, match="candidate 2 needs a centre"):
        det.add_predictions([PredictionRecord("s1", {}, "m", candidates=[
            {"id": "a", "centre": [1, 2, 3], "score": 0.5}, {"id": "b", "centre": [1, 2], "score": 0.5}])])
    assert det.latest_predictions() == {}


def test_assign_gives_missing_and_duplicate_ids_fresh_ones():
    history = candidate_ids.CaseHistory(used={"det-0", "det-7", "added-1"})
    out = candidate_ids.assign([{"centre": [0, 0, 0]}, {"id": "x", "centre": [1, 1, 1]},
                                {"id": "x", "centre": [2, 2, 2]}, {"id": "det-7", "centre": [3, 3, 3]}],
                               "det", history)
    assert [c["id"] for c in out] == ["det-8", "x", "det-9", "det-10"]
    assert {"det-8", "x", "det-9", "det-10"} <= history.used


def test_the_plugin_hosts_sink_stores_rerun_ids(det):
    """End to end through the ProjectSink, as `workstation infer` and the model dock store runs."""
    from workstation.plugin_api.results import Candidate, Prediction
    from workstation.plugin_host.jobs import PredictionOutcome
    from workstation.plugin_host.project_sink import ProjectSink

    def outcome(names, shift, stamp):
        cands = [Candidate(tuple(c + s for c, s in zip(FOCI[n][0], shift)), FOCI[n][1], 0.9, label=n)
                 for n in names]
        return PredictionOutcome("s1", Prediction(candidates=cands), "microbleeds", "1.0", "0" * 64, "cpu",
                                 f"2026-01-0{stamp}T00:00:00+00:00")

    sink = ProjectSink(det)
    sink([outcome("AB", (0, 0, 0), 1)])
    det.set_candidate_state("s1", "microbleeds-1", "confirmed", "alice")  # B
    sink([outcome("EB", (0.7, 0.0, -0.7), 2)])
    ids = _ids(det.latest_predictions()["s1"])
    assert ids["B"] == "microbleeds-1" and ids["E"] not in ("microbleeds-0", "microbleeds-1")
    assert det.candidate_states("s1")["microbleeds-1"]["state"] == "confirmed"
