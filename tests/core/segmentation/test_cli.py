"""`workstation annotate`, `workstation measure` and the segmentation section of `metrics --json`,
checked against analytic values for spheres of known overlap on the MNI152 grid (1 mm)."""
from __future__ import annotations

import json
import math

import pytest

from workstation.cli import main


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_annotate_measure_and_metrics(seg_project, capsys):
    d = seg_project.directory
    r = 8.0
    code, out, _ = _run(capsys, "annotate", d, "s0", "--reader", "ann", "--segment", "lesion",
                        "--sphere", "0,-20,10,8", "--json")
    assert code == 0
    ann = json.loads(out)
    assert abs(ann["volume_mm3"] - 4 / 3 * math.pi * r ** 3) / (4 / 3 * math.pi * r ** 3) < 0.05
    assert _run(capsys, "annotate", d, "s0", "--reader", "bob", "--segment", "lesion", "--sphere", "4,-20,10,8")[0] == 0
    code, out, _ = _run(capsys, "metrics", d, "--json")
    assert code == 0
    (row,) = json.loads(out)["segmentation"]
    gap = 4.0
    overlap = math.pi * (4 * r + gap) * (2 * r - gap) ** 2 / 12
    assert row["dice"] == pytest.approx(overlap / (4 / 3 * math.pi * r ** 3), abs=0.02)
    assert row["hd95_mm"] == pytest.approx(gap, abs=1.0)
    # a saved file that went missing spoils its pair only, with the reason
    from pathlib import Path

    from workstation.core.segmentation import store

    bob = next(v for v in store.latest_versions(seg_project, "s0") if v.reader == "bob")
    moved = Path(d) / (bob.file + ".away")
    (Path(d) / bob.file).rename(moved)
    code, out, _ = _run(capsys, "metrics", d, "--json")
    assert code == 0 and "cannot read the saved mask" in json.loads(out)["segmentation"][0]["error"]
    moved.rename(Path(d) / bob.file)
    # erase it all again: a new audited version with no voxels
    code, out, _ = _run(capsys, "annotate", d, "s0", "--reader", "ann", "--segment", "lesion",
                        "--sphere", "0,-20,10,9", "--erase", "--json")
    assert json.loads(out)["voxels"] == 0
    code, out, _ = _run(capsys, "measure", d, "s0", "--reader", "ann", "--line", "-3,-4,-12,0,0,0", "--json")
    assert code == 0 and json.loads(out)["result"]["length_mm"] == pytest.approx(13.0)
    code, out, _ = _run(capsys, "measure", d, "s0", "--reader", "ann", "--sphere-roi", "0,-20,10,5", "--json")
    m = json.loads(out)
    assert m["kind"] == "sphere" and m["result"]["voxels"] > 0 and m["result"]["min"] <= m["result"]["mean"]
    actions = [(e.candidate_id, e.reader) for e in seg_project.audit("s0")]
    assert actions.count(("seg:lesion", "ann")) == 2 and ("meas:2", "ann") in actions


@pytest.mark.parametrize("argv, message", [
    (["--sphere", "1,2,x,4"], "needs 4 numbers"),
    (["--sphere", "1,2,3,-4"], "positive radius"),
    (["--mask", "/nonexistent.nii.gz"], "not a readable mask"),
    (["--from-candidates"], "no detector candidates"),
])
def test_bad_input_is_one_line(seg_project, capsys, argv, message):
    code, out, err = _run(capsys, "annotate", seg_project.directory, "s0", "--reader", "ann", "--segment", "x", *argv)
    assert code == 2 and message in err and "Traceback" not in err and err.count("\n") == 1


def test_candidates_become_an_editable_segment(seg_project, capsys):
    from workstation.core.project import PredictionRecord
    from workstation.core.segmentation import store

    cands = [{"id": "k1", "centre": [10.0, -20.0, 5.0], "diameter_mm": 6.0, "score": 0.9},
             {"id": "k2", "centre": [-30.0, 0.0, 20.0], "diameter_mm": 4.0, "score": 0.2}]
    seg_project.add_predictions([PredictionRecord("s0", {"microbleed": 0.9}, "cmb-detector", "1.0", candidates=cands)])
    code, out, err = _run(capsys, "annotate", seg_project.directory, "s0", "--reader", "ann", "--segment", "cmb",
                          "--from-candidates", "--min-score", "0.5", "--json")
    assert code == 0, err
    readers = {v.reader: v for v in store.latest_versions(seg_project, "s0")}
    assert set(readers) == {"ann", "model:cmb-detector"}
    assert readers["ann"].mask_sha256 == readers["model:cmb-detector"].mask_sha256
    assert readers["ann"].volume_mm3 == pytest.approx(4 / 3 * math.pi * 27, rel=0.15)
    # the reader's copy is editable on its own; the model's stays as it was
    assert _run(capsys, "annotate", seg_project.directory, "s0", "--reader", "ann", "--segment", "cmb",
                "--sphere", "-30,0,20,2")[0] == 0  # a leading minus is a value
    again = {v.reader: v for v in store.latest_versions(seg_project, "s0")}
    assert again["ann"].voxels > readers["ann"].voxels
    assert again["model:cmb-detector"].sha256 == readers["model:cmb-detector"].sha256
