"""The report dock in the real main window: it follows the open project and case and colours the
findings of the report."""
import csv
import shutil

import pytest
from pydicom.data import get_testdata_file

pytestmark = pytest.mark.gui

REPORT = "Findings: Small right pleural effusion. No pneumothorax. Possible left basal atelectasis."


@pytest.fixture
def project_dir(tmp_path):
    from workstation.core.reports import importing as reports
    from workstation.core.project import Project

    image = shutil.copy(get_testdata_file("RG1_UNCR.dcm"), tmp_path / "chest.dcm")
    other = shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "ct.dcm")
    with Project.create(tmp_path / "proj", task="multilabel", classes=["Effusion", "Pneumothorax"]) as p:
        p.add_case([str(image)], case_id="chest")
        p.add_case([str(other)], case_id="ct")
        with open(tmp_path / "reports.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerows([["case_id", "report"], ["chest", REPORT]])
        reports.import_reports(p, tmp_path / "reports.csv")
    return tmp_path / "proj"


@pytest.fixture
def window(qtbot, project_dir):
    from workstation.qt.main_window import MainWindow

    win = MainWindow()
    win.show()
    qtbot.waitExposed(win)
    yield win
    project, win.project = win.project, None
    win.session.set_project(None)
    win.project_changed.emit(None)
    win.close()
    win.deleteLater()
    qtbot.wait(50)
    if project is not None:
        project.close()


def test_report_follows_the_open_case(qtbot, window, project_dir):
    dock = window.panels["report_dock"]
    window.open_project(str(project_dir))
    with qtbot.waitSignal(window.case_opened, timeout=20000, check_params_cb=lambda case_id: case_id == "chest"):
        window.open_case("chest")
    assert "pleural effusion" in dock.text.toPlainText()
    assert "csv:reports.csv" in dock.source.text()
    html = dock.text.toHtml().lower()
    assert "#f4a3a3" in html and "#a8ddb0" in html and "#f7d58a" in html  # present, negated, uncertain
    summary = dock.findings.text()
    assert "Atelectasis: uncertain" in summary and "Effusion: present" in summary and "Pneumothorax: negated" in summary
    assert "No Finding: no" in summary
    with qtbot.waitSignal(window.case_opened, timeout=20000, check_params_cb=lambda case_id: case_id == "ct"):
        window.open_case("ct")
    assert dock.text.toPlainText() == "" and "No report" in dock.source.text()
    window.session.set_project(None)
    assert dock.project is None


def test_highlighting_escapes_the_text():
    from plugins.report_labeler.labeler import create
    from workstation.qt.reports.report_dock import highlighted_html

    text = "<b>No effusion</b> & possible edema"
    out = highlighted_html(text, create().mentions(text))
    assert "&lt;b&gt;" in out and "&amp;" in out and out.count("<span") == 2
