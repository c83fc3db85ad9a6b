"""End to end: `workstation project init/add`, labels, then `workstation export`; and a detection
project's candidate decisions exported as points and masks."""
from __future__ import annotations

import csv
import json

import pydicom
import pytest
import SimpleITK as sitk

from workstation.cli import main
from workstation.core.export import verify_manifest
from workstation.core.export.from_project import export_project
from workstation.core.project import PredictionRecord, Project


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project_dir(tmp_path, two_patients, capsys):
    proj = tmp_path / "proj"
    assert _run(capsys, "project", "init", proj, "--task", "binary", "--classes", "normal,abnormal")[0] == 0
    a, b = two_patients
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label,reader\n"
                      f"{a.files[0]},abnormal,alice\n{a.files[2]},normal,alice\n{b.files[0]},abnormal,alice\n"
                      f"{a.files[0]},abnormal,bob\n{a.files[2]},abnormal,bob\n")
    preds = tmp_path / "preds.csv"
    preds.write_text("path,p_normal,p_abnormal\n"
                     f"{a.files[0]},0.1,0.9\n{a.files[2]},0.7,0.3\n{b.files[0]},0.4,0.6\n")
    code, out, err = _run(capsys, "project", "add", proj, tmp_path / "src", "--labels", labels,
                          "--labels-tag", "final", "--predictions", preds, "--plugin-id", "demo-model")
    assert code == 0, err
    assert "added 3 case(s), 5 label(s), 3 prediction(s)" in out
    return proj


def test_cli_export_deidentified_monai(project_dir, tmp_path, two_patients, capsys, dicom_tools):
    out = tmp_path / "export"
    code, stdout, err = _run(capsys, "export", project_dir, out, "--format", "monai", "--deidentify",
                             "--splits", "0.5,0.5,0", "--truth", "alice")
    assert code == 0, err
    assert "exported 3 case(s) of 2 patient(s)" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["label_source"] == "reader:alice" and manifest["project"]["name"] == "proj"
    assert manifest["class_balance"]["all"] == {"abnormal": 2, "normal": 1}
    assert verify_manifest(out) == []
    rows = list(csv.DictReader(open(out / "cases.csv")))
    assert {r["model"] for r in rows} == {"demo-model"} and all(r["p_abnormal"] for r in rows)
    splits = {}
    for r in rows:
        splits.setdefault(r["patient_id"], set()).add(r["split"])
    assert len(splits) == 2 and all(len(s) == 1 for s in splits.values())
    forbidden = {p.patient_id for p in two_patients} | {p.name for p in two_patients}
    for path in out.rglob("*.dcm"):
        assert not {f for f in forbidden for t in dicom_tools.all_text(path) if f in t}
        assert pydicom.dcmread(path).PatientIdentityRemoved == "YES"

    # again without --force: refused, nothing changed; with --force: replaced
    code, _, err = _run(capsys, "export", project_dir, out, "--format", "csv")
    assert code == 2 and "--force" in err and verify_manifest(out) == []
    code, _, err = _run(capsys, "export", project_dir, out, "--format", "csv", "--force", "--truth", "consensus")
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "csv" and manifest["label_source"] == "consensus"
    assert not (out / "datalist.json").exists() and verify_manifest(out) == []
    # consensus: alice and bob disagree on the MR of patient A, so it has no truth
    rows = list(csv.DictReader(open(out / "cases.csv")))
    assert sorted(r["has_truth"] for r in rows) == ["0", "1", "1"]


def test_cli_errors_are_one_line(project_dir, tmp_path, capsys):
    for argv, message in (((("--truth", "carol")), "no reader 'carol'"),
                          (("--splits", "0.9,0.9,0"), "sum to"),
                          (("--deid-key", tmp_path / "none"), "only makes sense")):
        code, _, err = _run(capsys, "export", project_dir, tmp_path / "o", "--format", "csv", *argv)
        assert code == 2 and message in err and err.count("\n") == 1
    code, _, err = _run(capsys, "export", tmp_path / "nothing", tmp_path / "o", "--format", "csv")
    assert code == 2 and "not a project folder" in err
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_deid_key_links_two_exports(project_dir, tmp_path, capsys):
    key = tmp_path / "key.bin"
    key.write_bytes(b"0123456789abcdef0123")
    for name in ("one", "two"):
        code, _, err = _run(capsys, "export", project_dir, tmp_path / name, "--format", "csv",
                            "--deidentify", "--deid-key", key)
        assert code == 0, err
    one, two = (list(csv.DictReader(open(tmp_path / n / "cases.csv"))) for n in ("one", "two"))
    assert [r["patient_id"] for r in one] == [r["patient_id"] for r in two]
    assert json.loads((tmp_path / "one/manifest.json").read_text())["deidentification"]["secret"] == "supplied key"


def test_detection_project_decisions_become_points_and_masks(tmp_path, ct_series):
    from workstation.core.io import read_volume

    volume = read_volume(ct_series[0].parent)
    project = Project.create(tmp_path / "det", task="detection", classes=["microbleed"])
    project.add_case(ct_series, case_id="brain-1", patient_id="P1")
    project.add_case(ct_series, case_id="brain-2", patient_id="P2")
    hit, miss = volume.index_to_world([40, 40, 3]), volume.index_to_world([90, 90, 5])
    project.add_predictions([PredictionRecord("brain-1", {}, "detector", candidates=[
        {"id": "c1", "centre": list(hit), "diameter_mm": 6.0, "score": 0.9},
        {"id": "c2", "centre": list(miss), "diameter_mm": 4.0, "score": 0.4}])])
    project.set_candidate_state("brain-1", "c1", "confirmed", reader="alice")
    project.set_candidate_state("brain-1", "c2", "rejected", reader="alice")
    added = volume.index_to_world([100, 30, 6])
    added_id = project.set_candidate_state("brain-1", None, "added", reader="alice", centre=added, diameter=3.0)
    out = tmp_path / "out"
    result = export_project(project, out, "nifti", splits=(0.5, 0.5, 0.0))
    project.close()
    assert result.manifest["counts"]["cases"] == 1  # brain-2: nobody decided anything yet
    points = json.loads((out / "points/brain-1.json").read_text())["points"]
    assert {p["source"] for p in points} == {"c1", added_id}
    assert {p["radius_mm"] for p in points} == {3.0, 1.5}
    mask = sitk.ReadImage(str(out / "labels/brain-1.nii.gz"))
    at = lambda xyz: mask.GetPixel(mask.TransformPhysicalPointToIndex(tuple(float(v) for v in xyz)))
    assert at(hit) == 1 and at(added) == 1 and at(miss) == 0
    assert verify_manifest(out) == []


def test_project_splits_match_the_export(project_dir, tmp_path):
    from workstation.core.export.from_project import project_splits

    with Project.open(project_dir) as project:
        splits = project_splits(project, truth="alice", splits=(0.5, 0.5, 0.0), seed=4)
        export_project(project, tmp_path / "out", "csv", truth="alice", splits=(0.5, 0.5, 0.0), seed=4)
    rows = list(csv.DictReader(open(tmp_path / "out" / "cases.csv")))
    assert {r["case_id"]: r["split"] for r in rows} == splits and len(splits) == 3


def test_measurements_travel_with_the_export_set_and_deidentified_without_their_time(tmp_path):
    """Readers' drawn measurements land in OUT/measurements.csv under the export's case ids; the
    de-identified set drops the time they were drawn, keeps the values; `export verify` covers it."""
    import csv as _csv

    from pydicom.data import get_testdata_file

    from workstation.cli import main
    from workstation.core.measurements import store
    from workstation.core.project import Project

    image = tmp_path / "ct.dcm"
    image.write_bytes(open(get_testdata_file("CT_small.dcm"), "rb").read())
    project = Project.create(tmp_path / "p", "binary", ["normal", "abnormal"])
    project.add_case([str(image)], case_id="c0", patient_id="PAT-0042")
    project.set_label("c0", "abnormal", reader="ann")
    store.add(project, "c0", "ann", "line", [(0, 0, -75.7), (30, 40, -75.7)], label="diam")
    project.close()

    plain, deid = tmp_path / "plain", tmp_path / "deid"
    assert main(["export", str(tmp_path / "p"), str(plain), "--format", "csv"]) == 0
    assert main(["export", str(tmp_path / "p"), str(deid), "--format", "csv", "--deidentify"]) == 0
    (row,) = list(_csv.DictReader(open(plain / "measurements.csv")))
    assert row["case_id"] == "c0" and row["reader"] == "ann" and float(row["length_mm"]) == pytest.approx(50.0)
    assert row["updated_at"]
    (anon,) = list(_csv.DictReader(open(deid / "measurements.csv")))
    (case,) = list(_csv.DictReader(open(deid / "cases.csv")))
    assert anon["case_id"] == case["case_id"] != "c0"
    assert "updated_at" not in anon and float(anon["length_mm"]) == pytest.approx(50.0)
    assert "PAT-0042" not in (deid / "measurements.csv").read_text()
    for out in (plain, deid):
        assert main(["export", "verify", str(out)]) == 0
    (deid / "measurements.csv").write_text((deid / "measurements.csv").read_text().replace("50.0", "51.0"))
    assert main(["export", "verify", str(deid)]) != 0
