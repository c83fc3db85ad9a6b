"""`workstation phantom`, `detect` (through the plugin host's worker) and `evaluate-detections`."""
import json

import numpy as np
import pytest

from workstation.cli import main


def test_phantom_command_writes_volumes_and_truth(tmp_path, capsys):
    assert main(["phantom", str(tmp_path / "ph"), "--n", "1", "--seed", "9", "--resolution", "1mm", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["volumes"] == 1
    names = sorted(p.name for p in (tmp_path / "ph").iterdir())
    assert names == ["phantom_s9_000.json", "phantom_s9_000.nii.gz", "phantom_s9_000_labels.nii.gz", "truth.json"]
    assert main(["phantom", str(tmp_path / "x"), "--n", "0"]) == 2


@pytest.fixture(scope="module")
def detections(phantom_files, tmp_path_factory):
    folder, _ = phantom_files
    out = tmp_path_factory.mktemp("det") / "pred.json"
    code = main(["detect", str(folder / "case_a.nii.gz"), "--plugin", "microbleeds", "--device", "cpu",
                 "--out", str(out)])
    return code, out


def test_detect_reports_candidates_in_world_mm(detections, phantom_1mm):
    code, out = detections
    assert code == 0
    data = json.loads(out.read_text())
    assert data["schema"] == "workstation.detections/1" and data["plugin"]["id"] == "microbleeds"
    assert len(data["plugin"]["weights_sha256"]) == 64
    [vol] = data["volumes"]
    assert vol["id"] == "case_a" and vol["error"] is None
    cand = max(vol["candidates"], key=lambda c: c["score"])
    assert set(cand) >= {"centre", "diameter_mm", "score"} and len(cand["centre"]) == 3
    best = min(phantom_1mm.truth["lesions"],
               key=lambda les: sum((a - b) ** 2 for a, b in zip(les["centre"], cand["centre"])))
    assert sum((a - b) ** 2 for a, b in zip(best["centre"], cand["centre"])) ** 0.5 <= max(best["diameter_mm"] / 2, 2)


def test_evaluate_detections_reports_froc_and_cpm(detections, phantom_files, capsys):
    _, pred = detections
    _, truth = phantom_files
    capsys.readouterr()
    assert main(["evaluate-detections", str(pred), str(truth), "--json", "--bootstrap", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("sensitivity", "precision", "f1", "fp_per_subject", "cpm", "froc"):
        assert key in report
    assert report["n_lesions"] == 6 and report["sensitivity"] >= 0.8
    assert report["froc"] and report["froc"][-1]["sensitivity"] >= report["sensitivity"]


def test_detect_and_evaluate_refuse_bad_input(tmp_path, detections, phantom_files, capsys):
    _, pred = detections
    _, truth = phantom_files
    assert main(["detect", str(tmp_path / "absent.nii.gz")]) == 2
    junk = tmp_path / "junk.nii.gz"
    junk.write_bytes(b"not an image")
    out = tmp_path / "junk.json"
    assert main(["detect", str(junk), "--out", str(out)]) == 1
    assert json.loads(out.read_text())["volumes"][0]["error"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"subjects": [{"id": "nobody", "lesions": []}]}))
    capsys.readouterr()
    assert main(["evaluate-detections", str(pred), str(other)]) == 2
    assert "no detections: nobody" in capsys.readouterr().err
    assert main(["evaluate-detections", str(truth), str(truth)]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["evaluate-detections", str(pred), str(bad)]) == 2


def test_gallery_shows_misses_and_false_positives(phantom_files, tmp_path, capsys):
    """A prediction that misses two bleeds and adds a false positive: the gallery has a montage of
    each kind, three orthogonal views per finding."""
    from PIL import Image

    folder, truth = phantom_files
    lesions = json.loads(truth.read_text())["subjects"][0]["lesions"]
    cands = [{"centre": les["centre"], "diameter_mm": les["diameter_mm"], "score": 0.9} for les in lesions[2:]]
    cands.append({"centre": [0.0, 0.0, 0.0], "diameter_mm": 3.0, "score": 0.7})
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"schema": "workstation.detections/1", "volumes": [
        {"id": "case_a", "path": str(folder / "case_a.nii.gz"), "candidates": cands, "error": None}]}))
    out = tmp_path / "gallery"
    assert main(["evaluate-detections", str(pred), str(truth), "--bootstrap", "0", "--gallery", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["false_positives_01.png", "missed_01.png"]
    missed = Image.open(out / "missed_01.png")
    fps = Image.open(out / "false_positives_01.png")
    assert missed.height == 2 * fps.height and missed.width == fps.width > 3 * 41 * 4  # 2 rows vs 1, 3 views
    assert len(np.unique(np.asarray(missed.convert("L")))) > 50  # image content, not a blank canvas
