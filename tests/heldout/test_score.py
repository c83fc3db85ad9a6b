"""score.py on hand-made detections: the operating point, the size and region split, and agreement
with `workstation evaluate-detections` on CPM."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.heldout.score import score_variant  # noqa: E402


def _truth():
    def les(i, centre, d, region):
        return {"id": f"b{i}", "type": "microbleed", "region": region, "centre": centre, "diameter_mm": d}
    return {"schema": "workstation.detection-truth/1", "seed": 1, "subjects": [
        {"id": "a", "lesions": [les(0, [0, 0, 0], 3.0, "lobar"), les(1, [30, 0, 0], 8.0, "deep")]},
        {"id": "b", "lesions": [les(2, [0, 40, 0], 5.0, "infratentorial"), les(3, [0, -40, 0], 2.5, "lobar")]}]}


def _cand(centre, score):
    return {"centre": centre, "diameter_mm": 3.0, "score": score}


def test_operating_point_and_strata():
    pred = {"volumes": [
        {"id": "a", "candidates": [_cand([0.5, 0, 0], 0.9), _cand([33.5, 0, 0], 0.8),  # within 4 mm of an 8 mm bleed
                                   _cand([0, 0, 2.5], 0.95),  # 2.5 mm from a 3 mm bleed: > max(1.5, 2): a FP
                                   _cand([80, 0, 0], 0.3)]},
        {"id": "b", "candidates": [_cand([0, 41, 0], 0.7), _cand([0, -40, 0], 0.2), _cand([90, 0, 0], 0.6)]}]}
    r = score_variant(_truth(), pred, bootstrap=50)
    # threshold 0.6 keeps FPs 0.95 and 0.6 (1 per subject) and finds b0, b1, b2; b3 (score 0.2) would cost 2 FP
    assert r["threshold"] == pytest.approx(0.6)
    assert r["fp_per_subject"] == pytest.approx(1.0)
    assert r["sensitivity_at_1fp"] == pytest.approx(0.75)
    assert r["sensitivity_any_score"] == pytest.approx(1.0)
    assert r["by_size"]["2-4"] == {"n": 2, "sensitivity": 0.5}
    assert r["by_size"]["6-10"] == {"n": 1, "sensitivity": 1.0}
    assert r["by_region"]["lobar"] == {"n": 2, "sensitivity": 0.5}
    assert r["by_region"]["infratentorial"]["sensitivity"] == 1.0
    lo, hi = r["ci"]["sensitivity_at_1fp"]
    assert 0 <= lo <= hi <= 1


def test_cpm_agrees_with_evaluate_detections(tmp_path):
    pred = {"schema": "workstation.detections/1", "volumes": [
        {"id": "a", "candidates": [_cand([0, 0, 1], 0.4), _cand([50, 0, 0], 0.9)]},
        {"id": "b", "candidates": [_cand([0, 40, 1], 0.8), _cand([0, 9, 9], 0.5)]}]}
    (tmp_path / "pred.json").write_text(json.dumps(pred))
    (tmp_path / "truth.json").write_text(json.dumps(_truth()))
    exe = Path(sys.executable).with_name("workstation")
    out = subprocess.run([str(exe), "evaluate-detections", str(tmp_path / "pred.json"), str(tmp_path / "truth.json"),
                          "--json", "--bootstrap", "0", "--at-fp", "1"], capture_output=True, text=True, check=True)
    theirs = json.loads(out.stdout)
    ours = score_variant(_truth(), pred, bootstrap=0)
    assert ours["cpm"] == pytest.approx(theirs["cpm"])
    assert ours["sensitivity_at_1fp"] == pytest.approx(theirs["sensitivity_at_fp"][0]["sensitivity"])
