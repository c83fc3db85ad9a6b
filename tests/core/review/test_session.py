"""The review session without Qt: a whole keyboard review, blinded mode, the multi-label rule in a
class order that is not alphabetical, the reader, events, the worklist, candidates and boxes."""
from __future__ import annotations

import pytest

from workstation.core.project import Project
from workstation.core.review.flags import Flags
from workstation.core.review.session import Change, NoReaderError, ReviewError, ReviewSession
from workstation.core.vocab import Action, CandidateState, Tag


def trail(project):
    return [(e.case_id, e.action, e.new_value) for e in project.audit()]


def test_a_whole_keyboard_review_through_the_session(binary_project):
    project = binary_project
    s = ReviewSession(project, reader="alice")
    changes = []
    s.events.changed.connect(changes.append)
    assert s.current is None and s.move(1) == "c0"          # the view selects its first row

    s.confirm()                    # Enter on c0: the model's abnormal (0.9)
    assert s.current == "c1"
    s.pick(1)                      # c1 normal, as the model said
    s.pick(2)                      # c2 abnormal, against the model (normal 0.7)
    s.mark("uncertain")            # c3
    assert s.current == "c4"
    s.move(-1)
    assert s.current == "c3"
    s.move(1)
    s.move(1)
    assert s.current == "c5"
    s.move(-1)
    s.mark("not_assessable")       # c4
    assert s.current == "c5"
    assert s.move(1) is None and s.current == "c5"        # the end of the worklist: stays

    undone = s.undo()              # c4
    assert s.current == "c4" and undone.action == Action.UNDO and undone.old == "not_assessable"
    assert undone.new is None and s.reader_label("c4") is None
    s.undo()                       # c3
    redone = s.redo()              # c3 again
    assert redone.action == "redo" and redone.new == "uncertain" and s.reader_label("c3") == "uncertain"

    assert {lab.case_id: lab.value for lab in project.labels(reader="alice")} == {
        "c0": "abnormal", "c1": "normal", "c2": "abnormal", "c3": "uncertain"}
    assert trail(project) == [("c0", "confirm", "abnormal"), ("c1", "confirm", "normal"),
                              ("c2", "correct", "abnormal"), ("c3", "correct", "uncertain"),
                              ("c4", "correct", "not_assessable"), ("c4", "undo", None), ("c3", "undo", None),
                              ("c3", "redo", "uncertain")]
    assert {e.reader for e in project.audit()} == {"alice"}
    first = project.audit("c0")[0]
    assert first.shown["plugin_id"] == "densenet2d" and first.shown["probabilities"]["abnormal"] == 0.9
    # each event carried the whole change, as the audit has it
    assert [(c.case_id, c.reader, c.tag, c.old, c.new, c.action) for c in changes[:3]] == [
        ("c0", "alice", "final", None, "abnormal", "confirm"), ("c1", "alice", "final", None, "normal", "confirm"),
        ("c2", "alice", "final", None, "abnormal", "correct")]
    assert changes[0].shown == first.shown
    assert project.verify().ok
    other = Project.open(project.directory)  # on disk: another process sees the labels
    assert {lab.case_id for lab in other.labels(reader="alice")} == {"c0", "c1", "c2", "c3"}
    other.close()


def test_blinded_mode_hides_the_model_until_labelled(binary_project):
    s = ReviewSession(binary_project, reader="alice", blinded=True)
    s.go_to("c0")
    assert s.hidden("c0") and s.shown("c0") == {"blinded": True}
    with pytest.raises(ReviewError, match="blinded"):
        s.confirm()
    assert binary_project.labels() == [] and s.current == "c0"
    change = s.pick(1)                                   # normal; the model said abnormal
    entry = binary_project.audit("c0")[0]
    assert entry.shown == {"blinded": True} == change.shown and entry.action == "correct"
    assert not s.hidden("c0") and s.shown("c0")["plugin_id"] == "densenet2d"
    s.set_blinded(False)
    assert s.shown("c1")["probabilities"]["abnormal"] == 0.2


CLASS_ORDER = ["Effusion", "Consolidation"]          # the model's set in ChestX-ray14's order
ALPHABETICAL = sorted(CLASS_ORDER)                   # how the old GUI listed the reader's set


def test_multilabel_agreeing_with_the_model_is_confirm_in_any_order(cxr14_project):
    project = cxr14_project
    assert ALPHABETICAL != CLASS_ORDER
    s = ReviewSession(project, reader="alice", auto_advance=False)
    assert s.suggestion("c0") == CLASS_ORDER

    s.go_to("c0")
    assert s.confirm().action == "confirm"                          # Enter
    s.go_to("c1")
    s.toggle("Consolidation")                                        # digits 9 then 3, the alphabetical order
    last = s.toggle("Effusion")
    assert last.new == CLASS_ORDER and last.action == "confirm"
    assert s.label(ALPHABETICAL, "c2").action == "confirm"           # a list in any order
    assert s.label("Consolidation;Effusion", "c3").action == "confirm"  # the CLI's text form
    assert [e.action for e in project.audit()] == ["confirm", "correct", "confirm", "confirm", "confirm"]
    assert all(e.new_value == CLASS_ORDER for e in project.audit() if e.action == "confirm")
    assert s.label(["Effusion"], "c3").action == "correct"           # a subset differs
    assert s.label([], "c3").action == "correct"                     # "no finding" differs too

    # Enter on a case the reader has labelled keeps their set and moves on
    s.auto_advance = True
    s.go_to("c1")
    assert s.confirm() is None and s.current == "c2"


def test_multilabel_suggestion_follows_the_class_thresholds(cxr14_project):
    s = ReviewSession(cxr14_project, reader="alice")
    s.thresholds["Consolidation"] = 0.85                              # the model's 0.8 is below it
    assert s.suggestion("c0") == ["Effusion"]
    assert s.label(["Effusion"], "c0", advance=False).action == "confirm"


def test_the_reader_is_asked_once_and_a_cancel_stores_nothing(binary_project):
    asked = []
    s = ReviewSession(binary_project, ask_reader=lambda: asked.append(1) or None)
    s.go_to("c0")
    with pytest.raises(NoReaderError):
        s.pick(1)
    assert binary_project.labels() == []
    s.ask_reader = lambda: asked.append(2) or "  zoe "
    s.pick(1)
    s.pick(1)
    assert asked == [1, 2] and s.reader == "zoe"
    assert {lab.reader for lab in binary_project.labels()} == {"zoe"}
    assert s.label("abnormal", "c5", reader="bob", advance=False).reader == "bob"


def test_bad_input_is_one_line(binary_project):
    s = ReviewSession(binary_project, reader="alice")
    with pytest.raises(ReviewError, match="no case selected"):
        s.confirm()
    with pytest.raises(ReviewError, match="no case 'nope'"):
        s.go_to("nope")
    from workstation.core.errors import WorkstationError

    with pytest.raises(WorkstationError, match="unknown label 'pneumonia'") as info:
        s.label("pneumonia", "c0")
    assert "\n" not in str(info.value)
    with pytest.raises(ReviewError, match="unknown label state"):
        s.mark("maybe", "c0")
    assert binary_project.labels() == [] and s.pick(7, "c0") is None


def test_worklist_filters_flags_and_orders(binary_project):
    from workstation.core.review.ordering import order_project

    s = ReviewSession(binary_project, reader="alice", auto_advance=False)
    assert s.case_ids() == [f"c{i}" for i in range(6)]
    assert s.flags("c3") == Flags.LOW_CONFIDENCE                      # top 0.55 < 0.65
    s.label("normal", "c0")                                            # against the model's abnormal 0.9
    s.label("abnormal", "c1", note="look again")
    s.mark("uncertain", "c2")
    assert s.flags("c0") == Flags.DISAGREE and s.flags("c1") == Flags.DISAGREE | Flags.NOTE
    assert s.flags("c2").names() == ["uncertain"]

    s.set_filter("unlabelled")
    assert s.case_ids() == ["c3", "c4", "c5"]
    s.label("abnormal", "c4")
    assert s.case_ids() == ["c3", "c4", "c5"]                         # rows stay until the filter is set again
    s.set_filter("unlabelled")
    assert s.case_ids() == ["c3", "c5"]
    s.set_filter("disagreement")
    assert s.case_ids() == ["c0", "c1"]
    s.set_filter("low_confidence")
    assert s.case_ids() == ["c3"]
    s.set_filter("predicted:abnormal")
    assert s.case_ids() == ["c0", "c3", "c4"]
    s.set_filter("label:abnormal", search="c")
    assert s.case_ids() == ["c1", "c4"]
    s.set_filter("cases", case_ids={"c5", "c2"})
    assert s.case_ids() == ["c2", "c5"]

    s.set_filter("all")
    s.set_order("entropy")
    assert s.case_ids() == order_project(binary_project, "entropy")
    s.set_order(["c5", "c4"])
    assert s.case_ids() == ["c5", "c4", "c0", "c1", "c2", "c3"]
    s.go_to("c5")
    assert s.move(1) == "c4"
    with pytest.raises(ValueError, match="unknown worklist filter"):
        s.set_filter("bogus")


def test_candidate_decisions_through_the_session(detection_project):
    project = detection_project
    s = ReviewSession(project, reader="alice")
    ids = [c["id"] for c in project.latest_predictions()["s0"].candidates]
    changes = []
    s.events.changed.connect(changes.append)
    s.go_to("s0")

    confirmed = s.decide_candidate(None, ids[0], "confirmed")
    assert (confirmed.kind, confirmed.candidate_id, confirmed.action, confirmed.old) == ("candidate", ids[0],
                                                                                        "confirm", None)
    assert confirmed.new == {"state": "confirmed"}
    rejected = s.decide_candidate("s0", ids[1], CandidateState.REJECTED)
    assert rejected.action == "correct"
    added = s.decide_candidate("s0", None, "added", centre=(1.0, 2.0, 3.0), diameter=5.0)
    assert added.action == "correct" and added.candidate_id.startswith("added-")
    again = s.decide_candidate("s0", ids[1], "confirmed")
    assert again.old == {"state": "rejected"} and again.new == {"state": "confirmed"}
    undone = s.undo()
    assert undone.kind == "candidate" and undone.candidate_id == ids[1] and undone.new == {"state": "rejected"}
    states = project.candidate_states("s0", reader="alice")
    assert {k: v["state"] for k, v in states.items()} == {ids[0]: "confirmed", ids[1]: "rejected",
                                                          added.candidate_id: "added"}
    audit = [(e.candidate_id, e.action) for e in project.audit("s0")]
    assert audit == [(ids[0], "confirm"), (ids[1], "correct"), (added.candidate_id, "correct"), (ids[1], "confirm"),
                     (ids[1], "undo")]
    assert project.audit("s0")[0].shown["plugin_id"] == "cmb-detector"
    with pytest.raises(ReviewError, match="unknown candidate state"):
        s.decide_candidate("s0", ids[2], "maybe")

    matches, summary = s.froc_inputs()
    assert [m.subject_id for m in matches] == ["s0"] and matches[0].n_lesions == 2   # confirmed + added
    assert summary == {"pending": 1, "cases_with_predictions": 3}


def test_box_decisions_through_the_session(binary_project):
    s = ReviewSession(binary_project, reader="alice")
    from_model = s.set_box("c0", None, "abnormal", 10, 20, 30, 40, source="heatmap", score=0.8)
    assert from_model.kind == "box" and from_model.action == "confirm" and from_model.old is None
    assert from_model.new["x"] == 10 and from_model.new["source"] == "heatmap"
    own = s.set_box("c0", None, "abnormal", 1, 2, 3, 4)
    assert own.action == "correct" and own.candidate_id != from_model.candidate_id
    deleted = s.delete_box("c0", own.candidate_id)
    assert deleted.action == "correct" and deleted.old["state"] == "drawn" and deleted.new["state"] == "deleted"
    assert [b.box_id for b in binary_project.boxes("c0")] == [from_model.candidate_id]
    assert [e.action for e in binary_project.audit("c0")] == ["confirm", "correct", "correct"]


def test_adjudication_and_change_vocabulary(binary_project):
    s = ReviewSession(binary_project, reader="alice", auto_advance=False)
    s.label("normal", "c0")
    s.set_reader("bob")
    s.label("abnormal", "c0")
    s.set_reader("carol")
    change = s.adjudicate("c0", "abnormal")
    assert isinstance(change, Change) and change.tag is Tag.ADJUDICATED and change.action is Action.ADJUDICATE
    assert change.tag == "adjudicated" and binary_project.label("c0", tag="adjudicated").reader == "carol"


def test_label_many_chains_repeated_cases_within_a_batch(cxr14_project):
    """A case labelled before and twice in one batch: three audit rows, each old value the one before."""
    s = ReviewSession(cxr14_project, reader="alice", auto_advance=False)
    s.label("Mass", "c0")
    n = s.label_many([{"case_id": "c0", "value": "Effusion;Consolidation"}, {"case_id": "c1", "value": []},
                      {"case_id": "c0", "value": "uncertain", "note": "second look"},
                      {"case_id": "c0", "value": "Mass", "reader": "bob"}], batch_size=10)
    assert n == 4
    entries = [(e.case_id, e.reader, e.old_value, e.new_value, e.action, e.note) for e in cxr14_project.audit()]
    assert entries == [("c0", "alice", None, ["Mass"], "correct", None),
                       ("c0", "alice", ["Mass"], ["Effusion", "Consolidation"], "confirm", None),
                       ("c1", "alice", None, [], "correct", None),
                       ("c0", "alice", ["Effusion", "Consolidation"], "uncertain", "correct", "second look"),
                       ("c0", "bob", None, ["Mass"], "correct", None)]
    assert cxr14_project.label("c0", reader="alice").value == "uncertain"
    assert cxr14_project.label("c0", reader="alice").note == "second look"
    assert cxr14_project.verify().ok
    assert s.reader_label("c0") == "uncertain"  # the session's cached labels follow the batch


def test_a_session_keeps_its_model_and_reader_changes_refilter(binary_project):
    from workstation.core.project import PredictionRecord

    binary_project.add_predictions([PredictionRecord("c0", {"normal": 0.6, "abnormal": 0.4}, "other-model")])
    assert ReviewSession(binary_project).suggestion("c0") == "normal"          # the newest prediction
    s = ReviewSession(binary_project, reader="alice", plugin_id="densenet2d", auto_advance=False)
    assert s.plugin_id == "densenet2d" and s.suggestion("c0") == "abnormal"
    assert s.label("abnormal", "c0").action == "confirm"
    s.set_filter("unlabelled")
    assert "c0" not in s.case_ids()
    s.set_reader("bob")
    assert "c0" in s.case_ids()
