"""Mined report labels as a truth source: the evaluation table, `workstation metrics --truth report`,
the metrics panel's truth selector and the worklist's Report column, on real DICOM cases."""
import json
import shutil

import numpy as np
import pytest

from workstation.cli import main
from workstation.core.reports import importing as reports
from workstation.core.project import PredictionRecord, Project

CLASSES = ["Effusion", "Pneumothorax", "Cardiomegaly"]
TEXTS = {
    "c0": "Small right pleural effusion. No pneumothorax.",
    "c1": "Large left pneumothorax. The heart is enlarged, consistent with cardiomegaly.",
    "c2": "No effusion or pneumothorax.",
    "c3": "Possible effusion.",  # uncertain: not truth
    "c5": "Cardiomegaly. No pleural effusion.",
}  # c4 has no report
SCORES = {"c0": [0.9, 0.1, 0.2], "c1": [0.3, 0.8, 0.7], "c2": [0.2, 0.3, 0.1], "c3": [0.6, 0.1, 0.1],
          "c4": [0.5, 0.5, 0.5], "c5": [0.4, 0.2, 0.9]}


@pytest.fixture
def project_dir(tmp_path, labeler):
    from pydicom.data import get_testdata_file

    with Project.create(tmp_path / "proj", task="multilabel", classes=CLASSES, readers=["alice"]) as p:
        for i, name in enumerate(["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "CT_small.dcm", "MR_small.dcm",
                                  "JPEG2000.dcm"]):
            target = tmp_path / "images" / f"c{i}" / name
            target.parent.mkdir(parents=True)
            shutil.copy(get_testdata_file(name), target)
            p.add_case([str(target)], case_id=f"c{i}")
        csv_path = tmp_path / "reports.csv"
        csv_path.write_text("case_id,report\n" + "".join(f'{c},"{t}"\n' for c, t in TEXTS.items()))
        stored, problems = reports.import_reports(p, csv_path, scan_sr=False)
        assert (stored, problems) == (5, [])
        results, problems = reports.mine_labels(p, labeler)
        assert len(results) == 5 and problems == []
        p.add_predictions([PredictionRecord(c, dict(zip(CLASSES, s)), "cxr-model") for c, s in SCORES.items()])
        p.set_label("c0", ["Effusion"], reader="alice")
    return tmp_path / "proj"


def test_report_truth_and_evaluation_table(project_dir):
    with Project.open(project_dir) as p:
        assert p.label("c3", reader="report-labeler", tag="report").value == "uncertain"
        assert p.truth("report") == {"c0": ["Effusion"], "c1": ["Pneumothorax", "Cardiomegaly"], "c2": [],
                                     "c5": ["Cardiomegaly"]}
        table = p.evaluation_table(truth="report")
        assert table.case_ids == ["c0", "c1", "c2", "c5"] and table.truth == "report"
        assert table.y_true.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0], [0, 0, 1]]
        assert np.allclose(table.scores, [SCORES[c] for c in table.case_ids])
        assert p.evaluation_table(truth="final").case_ids == ["c0"]  # mined labels are not final labels


def test_cli_metrics_truth_report(project_dir, capsys):
    assert main(["metrics", str(project_dir), "--truth", "report", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["truth"], out["model"]) == ("report", "cxr-model")
    assert out["n"] == 4


@pytest.mark.gui
def test_metrics_panel_and_worklist(qtbot, project_dir):
    from workstation.qt.main_window import MainWindow
    from workstation.qt.review.worklist_model import REPORT

    window = MainWindow()
    window.session.set_reader("alice")
    window.open_project(str(project_dir))
    window.show()
    qtbot.waitExposed(window)
    try:
        panel, worklist = window.panels["metrics_panel"], window.panels["worklist"]
        model = worklist.model
        qtbot.waitUntil(lambda: panel.result is not None, timeout=5000)
        choices = [panel.truth_box.itemText(i) for i in range(panel.truth_box.count())]
        assert "report" in choices
        assert panel.result.evaluation.n == 1  # final labels: alice's c0 only
        panel.truth_box.setCurrentText("report")
        qtbot.waitUntil(lambda: panel.result.truth == "report" and panel.result.evaluation.n == 4, timeout=5000)
        shown = {model.case_at(r): model.data(model.index(r, REPORT)) for r in range(model.rowCount())}
        assert shown == {"c0": "Effusion", "c1": "Pneumothorax, Cardiomegaly", "c2": "(none)", "c3": "? uncertain",
                         "c4": "", "c5": "Cardiomegaly"}
        worklist.set_blinded(True)  # machine output, hidden until the reader has labelled the case
        shown = {model.case_at(r): model.data(model.index(r, REPORT)) for r in range(model.rowCount())}
        assert (shown["c0"], shown["c1"]) == ("Effusion", "")
        worklist.set_blinded(False)
    finally:
        opened, window.project = window.project, None
        window.session.set_project(None)
        window.project_changed.emit(None)
        qtbot.wait(200)
        window.close()
        window.deleteLater()
        qtbot.wait(50)
        if opened is not None:
            opened.close()
