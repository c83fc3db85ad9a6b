"""The project and label commands, on real DICOM files, against SQLite and PostgreSQL."""
from __future__ import annotations

import json
import shutil

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from workstation.cli import main


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def images(tmp_path):
    """A 3-slice CT series (one case), a CR chest and an MR image (a case each), and a text file."""
    root = tmp_path / "images"
    series = root / "ct_head"
    series.mkdir(parents=True)
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ct.SeriesInstanceUID = generate_uid()
    for n in range(3):
        ct.SOPInstanceUID = generate_uid()
        ct.InstanceNumber = n + 1
        ct.ImagePositionPatient = [0.0, 0.0, 5.0 * n]
        ct.save_as(series / f"slice{n}.dcm")
    shutil.copy(get_testdata_file("RG1_UNCR.dcm"), root / "chest.dcm")
    shutil.copy(get_testdata_file("MR_small.dcm"), root / "knee.dcm")
    (root / "notes.bin").write_bytes(b"not an image")
    return root


def test_init_add_label_status_cases_audit(tmp_path, images, new_db_url, capsys):
    proj = tmp_path / "proj"
    db = new_db_url()
    code, out, err = _run(capsys, "project", "init", proj, "--task", "binary", "--classes", "normal,abnormal",
                          *(["--db", db] if db else []), "--json")
    assert code == 0, err
    assert json.loads(out)["task"] == "binary"

    (tmp_path / "labels.csv").write_text(f"path,label\n{images / 'ct_head'},abnormal\n"
                                         f"{images / 'chest.dcm'},normal\n")
    (tmp_path / "preds.csv").write_text("case_id,p_normal,p_abnormal\nct_head,0.2,0.8\nchest,0.6,0.4\n"
                                        "knee,0.9,0.1\nghost,0.5,0.5\n")
    code, out, err = _run(capsys, "project", "add", proj, images, "--labels", tmp_path / "labels.csv",
                          "--predictions", tmp_path / "preds.csv", "--json")
    assert code == 0, err
    added = json.loads(out)
    assert sorted(added["added"]) == ["chest", "ct_head", "knee"]
    assert added["labels"] == 2 and added["predictions"] == 3
    assert any("notes.bin" in s for s in added["skipped"]) and any("ghost" in s for s in added["skipped"])

    code, out, err = _run(capsys, "label", proj, "knee", "abnormal", "--reader", "alice", "--json")
    assert code == 0, err
    assert json.loads(out) == {"case_id": "knee", "reader": "alice", "tag": "final", "value": "abnormal",
                               "action": "correct"}  # the model said normal (0.9)
    code, out, err = _run(capsys, "label", proj, "ct_head", "not assessable", "--reader", "bob")
    assert code == 0, err
    code, out, err = _run(capsys, "label", proj, "ct_head", "tumour", "--reader", "bob")
    assert code == 2 and "unknown label 'tumour'" in err
    code, out, err = _run(capsys, "label", proj, "nope", "normal", "--reader", "bob")
    assert code == 2 and "no case 'nope'" in err

    code, out, err = _run(capsys, "project", "status", proj, "--json")
    status = json.loads(out)
    assert (status["cases"], status["labelled"], status["unlabelled"]) == (3, 2, 1)
    assert status["per_reader"] == {"alice": 1, "bob": 1} and status["not_assessable"] == 1
    assert status["per_class"] == {"normal": 0, "abnormal": 1} and status["original_labels"] == 2

    code, out, err = _run(capsys, "project", "cases", proj, "--json")
    cases = {c["case_id"]: c for c in json.loads(out)}
    ct_case = cases["ct_head"]
    assert len(ct_case["paths"]) == 3 and ct_case["paths"][0].endswith("slice0.dcm")
    assert ct_case["metadata"]["modality"] == "CT" and ct_case["patient_id"]
    assert ct_case["labels"]["import"]["original"]["value"] == "abnormal"
    assert ct_case["labels"]["bob"]["final"]["value"] == "not_assessable"
    assert ct_case["predictions"]["csv:preds.csv"]["probabilities"] == {"normal": 0.2, "abnormal": 0.8}

    code, out, err = _run(capsys, "project", "audit", proj, "--case", "knee", "--json")
    (entry,) = json.loads(out)
    assert (entry["reader"], entry["action"], entry["old_value"], entry["new_value"]) == \
        ("alice", "correct", None, "abnormal")
    assert entry["shown"]["probabilities"]["normal"] == 0.9
    code, out, err = _run(capsys, "project", "audit", proj, "--json")
    assert len(json.loads(out)) == 4  # 2 imported + 2 reader labels


def test_multilabel_csv_and_errors(tmp_path, images, capsys):
    proj = tmp_path / "ml"
    assert _run(capsys, "project", "init", proj, "--task", "multilabel", "--classes", "a,b,c")[0] == 0
    (tmp_path / "labels.csv").write_text("path,label\nimages/chest.dcm,c;a\nimages/knee.dcm,\n")
    code, out, err = _run(capsys, "project", "add", proj, images / "chest.dcm", images / "knee.dcm",
                          "--labels", tmp_path / "labels.csv", "--json")
    assert code == 0, err
    code, out, _ = _run(capsys, "project", "cases", proj, "--json")
    values = {c["case_id"]: c["labels"]["import"]["original"]["value"] for c in json.loads(out)}
    assert values == {"chest": ["a", "c"], "knee": []}

    code, _, err = _run(capsys, "project", "init", proj, "--task", "binary", "--classes", "x,y")
    assert code == 2 and "already a project" in err
    code, _, err = _run(capsys, "project", "status", tmp_path / "nowhere")
    assert code == 2 and "not a project folder" in err
    (proj / "project.db").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (proj / f"project.db{suffix}").unlink(missing_ok=True)
    code, _, err = _run(capsys, "project", "status", proj, "--json")
    assert code == 2 and "corrupt" in err and err.count("\n") == 1
