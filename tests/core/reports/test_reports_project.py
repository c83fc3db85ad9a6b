"""Reports in a review project: import from CSV and DICOM SR, mining labels, the CLI."""
import csv
import json
import shutil

import pydicom
import pytest
from pydicom.data import get_testdata_file

from workstation.cli import main
from workstation.core.reports import importing as reports
from workstation.core.project import Project, ProjectError

CLASSES = ["Cardiomegaly", "Effusion", "Pneumothorax", "No Finding"]
TEXTS = {
    "ct": "Findings: Small right pleural effusion. No pneumothorax. Heart size is normal.",
    "mr": "No acute cardiopulmonary process.",
    "rt": "Possible small left apical pneumothorax. Cannot exclude effusion.",
}


@pytest.fixture
def images(tmp_path):
    out = {}
    for name, source in (("ct", "CT_small.dcm"), ("mr", "MR_small.dcm"), ("rt", "rtplan.dcm")):
        folder = tmp_path / "images" / name
        folder.mkdir(parents=True)
        out[name] = shutil.copy(get_testdata_file(source), folder / f"{name}.dcm")
    return out


@pytest.fixture
def project(tmp_path, images):
    with Project.create(tmp_path / "proj", task="multilabel", classes=CLASSES) as p:
        for name, path in images.items():
            p.add_case([str(path)], case_id=name)
        yield p


def write_csv(path, rows, columns=("path", "report")):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns))
        w.writeheader()
        w.writerows(rows)
    return path


def test_import_reports_by_path_and_case_id(tmp_path, project, images):
    rows = [{"path": str(images["ct"]), "report": TEXTS["ct"]}, {"path": "nowhere.dcm", "report": "x"},
            {"path": str(images["mr"]), "report": "  "}]
    n, problems = reports.import_reports(project, write_csv(tmp_path / "r.csv", rows))
    assert n == 1 and len(problems) == 2 and "no case" in problems[0] and "empty report" in problems[1]
    assert reports.report_text(project.case("ct")) == TEXTS["ct"]
    assert project.case("ct").metadata[reports.SOURCE_KEY] == "csv:r.csv"
    n, _ = reports.import_reports(project, write_csv(tmp_path / "ids.csv", [{"case_id": "mr", "report": TEXTS["mr"]}],
                                                     ("case_id", "report")))
    assert n == 1 and reports.report_text(project.case("mr")) == TEXTS["mr"]
    assert reports.report_text(project.case("ct")) == TEXTS["ct"]  # untouched


def test_a_csv_without_the_columns_is_refused_in_one_line(tmp_path, project):
    with pytest.raises(ProjectError, match="needs a `report` column"):
        reports.import_reports(project, write_csv(tmp_path / "bad.csv", [{"path": "a", "label": "b"}], ("path", "label")))


def test_report_text_from_a_dicom_sr_in_the_case_folder(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ct.save_as(folder / "image.dcm")
    sr = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    sr.StudyInstanceUID = ct.StudyInstanceUID
    sr.save_as(folder / "report.dcm")
    assert "A mass of 3 cm was detected." in reports.sr_text(folder / "report.dcm")
    with Project.create(tmp_path / "p", task="multilabel", classes=["Mass", "Nodule"]) as p:
        p.add_case([str(folder / "image.dcm")], case_id="ct", study_id=str(ct.StudyInstanceUID))
        p.add_case([str(tmp_path / "elsewhere.png")], case_id="other", study_id="1.2.3")
        n, problems = reports.import_reports(p)
        assert n == 1 and problems == []
        assert p.case("ct").metadata[reports.SOURCE_KEY] == "dicom-sr:report.dcm"
        assert "Mass" in reports.report_text(p.case("ct")) or "mass" in reports.report_text(p.case("ct"))
        assert reports.report_text(p.case("other")) is None


def test_sr_text_refuses_an_image():
    with pytest.raises(ValueError, match="not a DICOM SR"):
        reports.sr_text(get_testdata_file("CT_small.dcm"))


@pytest.mark.parametrize("findings, task, classes, finding, expected", [
    ({"Effusion": 1, "Pneumothorax": 0, "No Finding": 0}, "multilabel", CLASSES, None, ["Effusion"]),
    ({"Pneumothorax": 0, "No Finding": 1}, "multilabel", CLASSES, None, ["No Finding"]),
    ({"Effusion": 0, "No Finding": 1}, "multilabel", ["Effusion", "Mass"], None, []),
    ({"Effusion": -1, "No Finding": -1}, "multilabel", ["Effusion", "Mass"], None, "uncertain"),
    ({"Hernia": 1, "No Finding": 0}, "multilabel", ["Effusion", "Mass"], None, None),  # nothing about these classes
    ({"Pneumonia": 1, "No Finding": 0}, "binary", ["NORMAL", "PNEUMONIA"], None, "PNEUMONIA"),
    ({"Pneumonia": 0, "No Finding": 1}, "binary", ["NORMAL", "PNEUMONIA"], None, "NORMAL"),
    ({"Pneumonia": -1, "No Finding": -1}, "binary", ["NORMAL", "PNEUMONIA"], None, "uncertain"),
    ({"No Finding": 1}, "binary", ["NORMAL", "PNEUMONIA"], None, "NORMAL"),
    ({"Effusion": 1, "No Finding": 0}, "binary", ["NORMAL", "PNEUMONIA"], None, None),
    ({"Effusion": 1, "No Finding": 0}, "binary", ["no", "yes"], "Effusion", "yes"),
    ({"Pleural_Thickening": 1, "No Finding": 0}, "multiclass", ["normal", "pleural thickening", "mass"], None,
     "pleural thickening"),
    ({"No Finding": 1, "Mass": 0}, "multiclass", ["normal", "pleural thickening", "mass"], None, "normal"),
])
def test_project_value(findings, task, classes, finding, expected):
    known = ("Pneumonia", "Effusion", "No Finding")
    assert reports.project_value(findings, task, classes, finding, known) == expected


def test_project_value_refuses_what_it_cannot_map():
    with pytest.raises(ProjectError, match="--finding"):
        reports.project_value({"Effusion": 1}, "binary", ["neg", "pos"], None, ("Effusion",))
    with pytest.raises(ProjectError, match="detection"):
        reports.project_value({"Effusion": 1}, "detection", ["lesion"])


def test_mine_labels_stores_report_labels_and_audits_them(tmp_path, project, images, labeler):
    rows = [{"path": str(images[k]), "report": t} for k, t in TEXTS.items()]
    reports.import_reports(project, write_csv(tmp_path / "r.csv", rows))
    results, problems = reports.mine_labels(project, labeler, plugin_id="report-labeler-cxr14", plugin_version="1.0.0")
    assert problems == []
    by_case = {r["case_id"]: r for r in results}
    assert by_case["ct"]["findings"] == {"Cardiomegaly": 0, "Effusion": 1, "Pneumothorax": 0, "No Finding": 0}
    assert by_case["mr"]["findings"] == {"No Finding": 1}
    assert by_case["rt"]["findings"] == {"Effusion": -1, "Pneumothorax": -1, "No Finding": -1}
    assert by_case["ct"]["path"] == str(images["ct"])
    stored = {lab.case_id: lab.value for lab in project.labels(tag="report")}
    assert stored == {"ct": ["Effusion"], "mr": ["No Finding"], "rt": "uncertain"}
    assert {lab.reader for lab in project.labels(tag="report")} == {"report-labeler"}
    audit = [a for a in project.audit("ct") if a.tag == "report"]
    assert len(audit) == 1 and audit[0].shown["plugin_id"] == "report-labeler-cxr14"
    assert audit[0].shown["findings"]["Effusion"] == 1
    reports.mine_labels(project, labeler)  # again: nothing changed, nothing new in the audit trail
    assert len([a for a in project.audit("ct") if a.tag == "report"]) == 1
    assert project.labels(tag="final") == []  # reader labels untouched


def test_cli_mine_labels_json(tmp_path, project, images, capsys):
    csv_path = write_csv(tmp_path / "r.csv", [{"path": str(images[k]), "report": t} for k, t in TEXTS.items()])
    directory = str(project.directory)
    project.close()
    assert main(["mine-labels", directory, "--reports", str(csv_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["case_id"] for r in out] == ["ct", "mr", "rt"]
    assert set(out[0]) == {"case_id", "path", "findings"} and out[0]["findings"]["Effusion"] == 1
    with Project.open(directory) as p:
        assert {lab.case_id for lab in p.labels(tag="report")} == {"ct", "mr", "rt"}


def test_cli_mine_labels_errors_are_one_line(tmp_path, capsys):
    assert main(["mine-labels", str(tmp_path / "no-project")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("workstation mine-labels:") and "\n" not in err
    assert main(["mine-labels", str(tmp_path), "--plugin", "nonexistent"]) == 2
    assert "nonexistent" in capsys.readouterr().err


def test_cli_project_add_reports(tmp_path, images, capsys):
    directory = str(tmp_path / "proj")
    assert main(["project", "init", directory, "--task", "multilabel", "--classes", "Effusion,Pneumothorax"]) == 0
    imaged = ("ct", "mr")  # rtplan.dcm holds no image: `project add` skips it
    csv_path = write_csv(tmp_path / "r.csv", [{"path": str(images[k]), "report": TEXTS[k]} for k in imaged])
    capsys.readouterr()
    assert main(["project", "add", directory, *(str(images[k]) for k in imaged), "--reports", str(csv_path),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reports"] == 2
    with Project.open(directory) as p:
        assert {c.case_id: c.metadata.get("report") for c in p.cases()} == {k: TEXTS[k] for k in imaged}
