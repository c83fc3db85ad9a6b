"""Mined report labels against a reader's final labels, worked out by hand."""
import json

import pytest

from workstation.cli import main
from workstation.core.reports import importing as reports
from workstation.core.project import Project
from workstation.core.metrics.report_agreement import compare_with_readers

TEXTS = {
    "c1": "Small right effusion. No pneumothorax.",
    "c2": "No effusion or pneumothorax.",
    "c3": "Large left pneumothorax.",
    "c4": "Possible effusion.",
    "c5": "Moderate bilateral effusions and a small pneumothorax.",
}
ALICE = {"c1": ["Effusion"], "c2": ["Effusion"], "c3": ["Pneumothorax"], "c4": ["Effusion"], "c5": ["Effusion"], "c6": []}


@pytest.fixture
def project_dir(tmp_path, labeler):
    with Project.create(tmp_path / "proj", task="multilabel", classes=["Effusion", "Pneumothorax"]) as p:
        for i in range(1, 7):
            p.add_case([str(tmp_path / f"c{i}.png")], case_id=f"c{i}")
        for case_id, text in TEXTS.items():
            reports.set_report(p, case_id, text, "test")
        for case_id, value in ALICE.items():
            p.set_label(case_id, value, reader="alice")
    return tmp_path / "proj"


def test_kappa_sensitivity_and_specificity_per_class(project_dir, labeler):
    with Project.open(project_dir) as p:
        reports.mine_labels(p, labeler)
        (row,) = compare_with_readers(p)
    assert (row["reader"], row["cases"], row["left_out"]) == ("alice", 4, 1)  # c4 is uncertain, c6 has no report
    eff, ptx = row["classes"]["Effusion"], row["classes"]["Pneumothorax"]
    # Effusion: mined T F F T vs alice T T F T -> po .75, pe .5*.25 + .5*.75 = .5, kappa .5
    assert (eff["tp"], eff["fp"], eff["tn"], eff["fn"]) == (2, 0, 1, 1)
    assert (eff["agreement"], eff["kappa"], eff["sensitivity"], eff["specificity"]) == (0.75, 0.5, 0.6667, 1.0)
    assert (ptx["tp"], ptx["fp"], ptx["tn"], ptx["fn"]) == (1, 1, 2, 0)
    assert (ptx["kappa"], ptx["sensitivity"], ptx["specificity"]) == (0.5, 1.0, 0.6667)


def test_cli_agreement(project_dir, capsys):
    assert main(["mine-labels", str(project_dir), "--agreement", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["cases"]) == 5 and out["agreement"][0]["classes"]["Effusion"]["kappa"] == 0.5
    assert main(["mine-labels", str(project_dir), "--agreement"]) == 0
    assert "report labels vs alice: 4 case(s)" in capsys.readouterr().out


def test_binary_project(tmp_path, labeler):
    with Project.create(tmp_path / "b", task="binary", classes=["NORMAL", "PNEUMONIA"]) as p:
        texts = {"a": "Right lower lobe pneumonia.", "b": "No pneumonia.", "c": "Lungs are clear.", "d": "Pneumonia."}
        truth = {"a": "PNEUMONIA", "b": "NORMAL", "c": "PNEUMONIA", "d": "PNEUMONIA"}
        for case_id, text in texts.items():
            p.add_case([str(tmp_path / f"{case_id}.png")], case_id=case_id)
            reports.set_report(p, case_id, text, "test")
            p.set_label(case_id, truth[case_id], reader="bob")
        reports.mine_labels(p, labeler)
        assert {lab.case_id: lab.value for lab in p.labels(tag="report")} == {
            "a": "PNEUMONIA", "b": "NORMAL", "c": "NORMAL", "d": "PNEUMONIA"}
        (row,) = compare_with_readers(p)
    assert row["overall"]["agreement"] == 0.75 and (row["overall"]["sensitivity"], row["overall"]["specificity"]) == (0.6667, 1.0)
