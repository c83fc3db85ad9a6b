"""Localisation boxes in the project store (SQLite and PostgreSQL): drawn, deleted, undone and redone,
each step in the audit trail; kept apart from detection-candidate decisions; bad boxes refused."""
from __future__ import annotations

import pytest

from workstation.core.boxes.localisation import Box
from workstation.core.project import Project, ProjectError
from workstation.core.project.boxes import box_file

CLASSES = ["Effusion", "Pneumothorax", "Nodule"]


@pytest.fixture
def project(make_project):
    p = make_project(task="multilabel", classes=CLASSES)
    p.add_case(["a.png"], case_id="a")
    p.add_case(["b.png"], case_id="b")
    return p


def _geometry(box):
    return (box.finding, box.x, box.y, box.w, box.h, box.reader, box.source, box.state)


def test_draw_delete_undo_redo_with_audit(project):
    events = []
    project.events.label_changed.connect(events.append)
    first = project.set_box("a", None, "Effusion", 10, 20, 30.5, 40, "alice")
    second = project.set_box("a", None, "Nodule", 100, 120, 8, 9, "alice")
    assert (first, second) == ("box:1", "box:2")
    assert [_geometry(b) for b in project.boxes("a")] == [
        ("Effusion", 10.0, 20.0, 30.5, 40.0, "alice", "reader", "drawn"),
        ("Nodule", 100.0, 120.0, 8.0, 9.0, "alice", "reader", "drawn")]
    assert project.boxes("a")[0].to_box() == Box(10, 20, 30.5, 40, finding="Effusion")
    assert events == ["a", "a"]

    project.delete_box("a", first, "alice")
    assert [b.box_id for b in project.boxes("a")] == ["box:2"]
    deleted = [b for b in project.boxes("a", deleted=True) if b.box_id == "box:1"][0]
    assert _geometry(deleted) == ("Effusion", 10.0, 20.0, 30.5, 40.0, "alice", "reader", "deleted")

    assert project.undo().candidate_id == "box:1"          # the deletion
    assert [b.box_id for b in project.boxes("a")] == ["box:1", "box:2"]
    assert project.undo().candidate_id == "box:2"          # the second drawing: its row goes
    assert [b.box_id for b in project.boxes("a", deleted=True)] == ["box:1"]
    project.redo()
    assert [b.box_id for b in project.boxes("a")] == ["box:1", "box:2"]

    audit = [(e.candidate_id, e.action, e.reader, (e.new_value or {}).get("state"), (e.old_value or {}).get("state"))
             for e in project.audit("a")]
    assert audit == [("box:1", "correct", "alice", "drawn", None), ("box:2", "correct", "alice", "drawn", None),
                     ("box:1", "correct", "alice", "deleted", "drawn"), ("box:1", "undo", "alice", "drawn", "deleted"),
                     ("box:2", "undo", "alice", None, "drawn"), ("box:2", "redo", "alice", "drawn", None)]
    assert project.audit("a")[0].new_value["x"] == 10.0


def test_sources_readers_and_reopening(project, tmp_path):
    project.set_box("a", None, "Effusion", 1, 2, 3, 4, "alice")
    heat = project.set_box("a", None, "Pneumothorax", 5, 6, 7, 8, "bob", source="heatmap", score=0.87)
    assert heat == "box:2"  # ids are unique in a case across readers
    assert project.audit("a")[-1].action == "confirm"  # a reader accepting the model's box
    assert [b.reader for b in project.boxes("a", reader="bob")] == ["bob"]
    assert project.boxes("a", reader="bob")[0].score == pytest.approx(0.87)
    assert project.boxes("b") == []
    assert "bob" in project.readers()
    directory = project.directory
    if project.config.db_url is None:  # SQLite: the file alone holds them
        project.close()
        with Project.open(directory) as again:
            assert [(b.box_id, b.source) for b in again.boxes("a")] == [("box:1", "reader"), ("box:2", "heatmap")]
            assert box_file(again, source="heatmap") == {"images": [{"image_id": "a", "boxes": [
                {"finding": "Pneumothorax", "x": 5.0, "y": 6.0, "w": 7.0, "h": 8.0, "score": 0.87}]}]}


def test_boxes_stay_out_of_labels_and_candidates(make_project):
    p = make_project(task="detection", classes=["Nodule"])
    p.add_case(["c.png"], case_id="c")
    p.set_candidate_state("c", "n-1", "confirmed", "alice")
    p.set_box("c", None, "Nodule", 1, 1, 5, 5, "alice")
    assert list(p.candidate_states("c")) == ["n-1"]
    assert [lab.candidate_id for lab in p.labels(candidates=True)] == ["n-1"]
    assert p.labels() == []
    with pytest.raises(ProjectError, match="names a box"):
        p.set_candidate_state("c", "box:1", "rejected", "alice")


@pytest.mark.parametrize("kwargs, message", [
    (dict(finding="Cardiomegaly"), "unknown finding"),
    (dict(w=0), "positive width"),
    (dict(h=-3), "positive width"),
    (dict(x=float("nan")), "finite"),
    (dict(x="left"), "numbers"),
    (dict(reader=""), "reader name"),
    (dict(state="moved"), "unknown box state"),
    (dict(source="guess"), "unknown box source"),
])
def test_bad_boxes_are_refused_and_nothing_is_stored(project, kwargs, message):
    args = dict(finding="Effusion", x=1, y=2, w=3, h=4, reader="alice")
    args.update(kwargs)
    with pytest.raises(ProjectError, match=message):
        project.set_box("a", None, **args)
    assert project.boxes("a", deleted=True) == [] and project.audit("a") == []


def test_only_own_boxes_change(project):
    box = project.set_box("a", None, "Effusion", 1, 2, 3, 4, "alice")
    with pytest.raises(ProjectError, match="has no box"):
        project.delete_box("a", box, "bob")
    with pytest.raises(ProjectError, match="needs its box_id"):
        project.set_box("a", None, "Effusion", 1, 2, 3, 4, "alice", state="deleted")
    with pytest.raises(ProjectError, match="not a box id"):
        project.set_box("a", "n-1", "Effusion", 1, 2, 3, 4, "alice")
    with pytest.raises(ProjectError, match="no case"):
        project.set_box("zzz", None, "Effusion", 1, 2, 3, 4, "alice")
    moved = project.set_box("a", box, "Effusion", 11, 12, 3, 4, "alice")  # a reader moves their own box
    assert moved == box and (project.boxes("a")[0].x, project.boxes("a")[0].y) == (11.0, 12.0)
    assert [b.state for b in project.boxes("a", deleted=True)] == ["drawn"]
