"""Segmentation saves and measurements go through the review session, from the CLI as from the
viewer: announced as one Change each, audited with reader, time and the version before, undone and
redone by the session's undo to the exact mask."""
from __future__ import annotations

from pathlib import Path

import pytest

from workstation.cli import main
from workstation.core.project.config import ProjectError
from workstation.core.review.session import ReviewSession
from workstation.core.segmentation import store
from workstation.core.segmentation.editor import SegmentationEditor, mask_sha256
from workstation.core.segmentation.grid import Grid


@pytest.fixture
def session(seg_project):
    s = ReviewSession(seg_project, reader="ann")
    s.go_to("s0")
    return s


def _mask_now(project, reader="ann", segment="lesion"):
    found = [v for v in store.latest_versions(project, "s0", reader) if v.segment == segment]
    return store.load_mask(project, found[0])[0] if found else None


def test_saves_are_changes_audited_and_undone_to_the_exact_mask(session, seg_project):
    volume = store.case_volume(seg_project, "s0")
    grid = Grid.of(volume)
    editor = SegmentationEditor(grid, volume.array)
    seen = []
    session.events.changed.connect(seen.append)
    editor.dab("lesion", (0.0, -20.0, 10.0), 6.0)
    first_hash = editor.sha256("lesion")
    first = session.save_segment(None, "lesion", editor.mask("lesion"), grid)
    editor.dab("lesion", (9.0, -20.0, 10.0), 6.0)
    second = session.save_segment(None, "lesion", editor.mask("lesion"), grid)
    assert [c.kind for c in seen] == ["segment", "segment"]
    assert first.old is None and second.old == first.new and second.action == "correct"
    assert second.new["mask_sha256"] == editor.sha256("lesion") != first_hash
    entries = [e for e in seg_project.audit("s0") if e.candidate_id == "seg:lesion"]
    assert [(e.reader, e.action) for e in entries] == [("ann", "correct"), ("ann", "correct")]
    assert entries[1].old_value == first.new and entries[1].at  # who, when, what before

    undone = session.undo()
    assert undone.kind == "segment" and undone.new == first.new and undone.old == second.new
    assert mask_sha256(_mask_now(seg_project)) == first_hash
    assert session.undo().new is None and _mask_now(seg_project) is None  # before the first save: no mask
    session.redo()
    session.redo()
    assert mask_sha256(_mask_now(seg_project)) == editor.sha256("lesion")
    assert [e.action for e in seg_project.audit("s0") if e.candidate_id == "seg:lesion"][-4:] == \
        ["undo", "undo", "redo", "redo"]


def test_cli_annotate_records_as_the_session_does(seg_project, capsys):
    import json

    directory = str(seg_project.directory)
    argv = ["annotate", directory, "s0", "--reader", "bob", "--segment", "lesion", "--json"]
    assert main(argv + ["--sphere", "0,-20,10,5"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["previous_sha256"] is None
    assert main(argv + ["--sphere", "8,-20,10,5"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["previous_sha256"] == first["sha256"]
    entries = [e for e in seg_project.audit("s0") if e.candidate_id == "seg:lesion" and e.reader == "bob"]
    assert [e.old_value["sha256"] if e.old_value else None for e in entries] == [None, first["sha256"]]


def test_a_failed_write_is_one_line_records_nothing_and_leaves_no_file(session, seg_project):
    volume = store.case_volume(seg_project, "s0")
    grid = Grid.of(volume)
    editor = SegmentationEditor(grid, volume.array)
    editor.dab("lesion", (0.0, -20.0, 10.0), 6.0)
    blocker = Path(seg_project.directory) / "segmentation" / "s0"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the case's folder should be")
    seen = []
    session.events.changed.connect(seen.append)
    with pytest.raises(ProjectError) as err:
        session.save_segment(None, "lesion", editor.mask("lesion"), grid)
    line = str(err.value)
    assert "\n" not in line and "not saved" in line and "segmentation/s0" in line
    assert seen == [] and store.latest_versions(seg_project, "s0") == []
    assert not list(blocker.parent.rglob("*.nii.gz"))


def test_measurements_through_the_session_are_changes_and_undone(session, seg_project):
    from workstation.core.measurements import store as mstore

    seen = []
    session.events.changed.connect(seen.append)
    change = session.measure(None, "line", [[0, 0, 0], [3, 4, 0]])
    assert change.kind == "measurement" and change.new["result"]["length_mm"] == pytest.approx(5.0)
    gone = session.delete_measurement(None, change.candidate_id)
    assert gone.old["state"] == "drawn" and gone.new["state"] == "deleted"
    assert mstore.measurements(seg_project, "s0") == []
    session.undo()
    assert [m.measurement_id for m in mstore.measurements(seg_project, "s0")] == [change.candidate_id]
    assert [c.kind for c in seen] == ["measurement"] * 3


def test_a_file_cut_short_by_a_full_disk_is_refused(session, seg_project, monkeypatch):
    """ITK's gzip writer does not report a full disk (checked on a 200 KB tmpfs): the file is left
    short, and must not be recorded as a version."""
    import SimpleITK as sitk

    volume = store.case_volume(seg_project, "s0")
    grid = Grid.of(volume)
    editor = SegmentationEditor(grid, volume.array)
    editor.dab("lesion", (0.0, -20.0, 10.0), 6.0)
    write = sitk.WriteImage

    def full_disk(image, path, *args, **kwargs):
        write(image, path, *args, **kwargs)
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])

    monkeypatch.setattr(sitk, "WriteImage", full_disk)
    with pytest.raises(ProjectError, match="cut short"):
        session.save_segment(None, "lesion", editor.mask("lesion"), grid)
    assert store.latest_versions(seg_project, "s0") == []
    assert not list((Path(seg_project.directory) / "segmentation").rglob("*.nii.gz"))
    monkeypatch.setattr(sitk, "WriteImage", write)
    change = session.save_segment(None, "lesion", editor.mask("lesion"), grid)  # whole: recorded
    assert mask_sha256(_mask_now(seg_project)) == change.new["mask_sha256"] == editor.sha256("lesion")
