"""`workstation export --deidentify` with the profile options, end to end through the CLI."""
from __future__ import annotations

import json

import pydicom

from workstation.cli import main


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _project(tmp_path, two_patients, capsys):
    proj = tmp_path / "proj"
    assert _run(capsys, "project", "init", proj, "--task", "binary", "--classes", "normal,abnormal")[0] == 0
    labels = tmp_path / "labels.csv"
    a, b = two_patients
    labels.write_text(f"path,label\n{a.files[0]},abnormal\n{a.files[2]},normal\n{b.files[0]},abnormal\n")
    code, _, err = _run(capsys, "project", "add", proj, tmp_path / "src", "--labels", labels, "--labels-tag", "final")
    assert code == 0, err
    return proj


def test_options_reach_every_file_and_the_report(tmp_path, two_patients, capsys):
    proj = _project(tmp_path, two_patients, capsys)
    out = tmp_path / "out"
    code, _, err = _run(capsys, "export", proj, out, "--format", "csv", "--deidentify", "--retain-dates", "modified",
                        "--retain-patient-characteristics", "--clean-descriptors")
    assert code == 0, err
    assert sum("not inspected for burned-in text" in line for line in err.splitlines()) == 1
    report = json.loads((out / "deidentification.json").read_text())
    assert report["options"] == ["retain_patient_characteristics", "retain_dates_modified", "clean_descriptors"]
    assert [c["code_value"] for c in report["method_codes"]] == ["113100", "113108", "113107", "113105"]
    rows = {(r["tag"], r["action"]) for r in report["attributes"]}
    assert ("(0010,0040)", "K") in rows and ("(0008,0020)", "C") in rows and ("(0010,0030)", "Z") in rows
    assert all(set(r) == {"tag", "name", "rule", "action", "source", "count"} for r in report["attributes"])
    secrets = {p.patient_id for p in two_patients} | {p.name for p in two_patients} | {p.birth_date for p in two_patients}
    text = (out / "deidentification.json").read_text()
    assert not [s for s in secrets if s in text]
    files = sorted(out.rglob("*.dcm"))
    assert len(files) == 4
    for path in files:
        ds = pydicom.dcmread(path)
        assert ds.PatientSex and ds.StudyDate and ds.PatientBirthDate == ""
        assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100", "113108", "113107", "113105"]
        assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["deidentification"]["report"] == "deidentification.json"
    assert "deidentification.json" in {f["path"] for f in manifest["files"]}


def test_basic_profile_by_default(tmp_path, two_patients, capsys):
    proj = _project(tmp_path, two_patients, capsys)
    out = tmp_path / "out"
    code, _, err = _run(capsys, "export", proj, out, "--format", "csv", "--deidentify")
    assert code == 0, err
    for path in out.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        assert "StudyDate" not in ds or ds.StudyDate == ""
        assert "PatientSex" not in ds or ds.PatientSex == ""
        assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100"]
        assert ds.LongitudinalTemporalInformationModified == "REMOVED"


def test_an_option_without_deidentify_is_one_line(tmp_path, two_patients, capsys):
    proj = _project(tmp_path, two_patients, capsys)
    for flag in (["--retain-uids"], ["--retain-dates", "full"]):
        code, _, err = _run(capsys, "export", proj, tmp_path / "o", "--format", "csv", *flag)
        assert code == 2 and err.count("\n") == 1 and "only makes sense with --deidentify" in err
    assert not (tmp_path / "o").exists()
