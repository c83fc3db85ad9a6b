"""The study browser against a real Orthanc: query, tick a series, add it to the open project, then
send the case's results back."""
import pytest
from PySide6.QtCore import Qt

from workstation.core.project import Project
from workstation.core.project.records import PredictionRecord
from workstation.core.review.session import ReviewSession

pytestmark = pytest.mark.gui


def browser(orthanc, qtbot, tmp_path, modality=""):
    """A new project, its session, and the dock pointed at the Orthanc."""
    from workstation.qt.pacs.study_browser import StudyBrowserDock

    project = Project.create(tmp_path / "p", "binary", ["normal", "abnormal"])
    session = ReviewSession(project, reader="dr-q")
    dock = StudyBrowserDock(session)
    qtbot.addWidget(dock)
    dock.node.setEditText(orthanc.dicomweb_url)
    dock.modality.setText(modality)
    return project, session, dock


def test_query_add_and_send(orthanc, qtbot, tmp_path):
    project, session, dock = browser(orthanc, qtbot, tmp_path, "CT")
    qtbot.mouseClick(dock.query_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.tree.topLevelItemCount() == 1, timeout=20000)
    study = dock.tree.topLevelItem(0)
    assert study.childCount() == 1 and study.child(0).text(4) == "4"
    study.child(0).setCheckState(0, Qt.CheckState.Checked)
    qtbot.waitUntil(dock.add_button.isEnabled, timeout=5000)
    qtbot.mouseClick(dock.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(project.cases()) == 1, timeout=20000)
    assert dock.progress.value() == 1000 and not dock.cancel_button.isEnabled()
    case = project.cases()[0]
    assert len(case.paths) == 4 and case.metadata["pacs"]["series_uid"] == study.child(0).data(0, Qt.ItemDataRole.UserRole)

    project.add_predictions([PredictionRecord(case.case_id, {"normal": 0.3, "abnormal": 0.7}, "m", "1")])
    project.set_label(case.case_id, "abnormal", reader="dr-q")
    session.go_to(case.case_id)
    before = len(orthanc_series(orthanc))
    qtbot.waitUntil(dock.send_button.isEnabled, timeout=5000)
    qtbot.mouseClick(dock.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.last_message.startswith("sent"), timeout=20000)
    assert dock.last_message.startswith("sent 1 ")  # a classification case: its SR (no mask, no SEG)
    assert len(orthanc_series(orthanc)) == before + 1
    project.close()


def test_cancel_leaves_the_project_unchanged(orthanc, qtbot, tmp_path):
    project, _, dock = browser(orthanc, qtbot, tmp_path, "CT")
    dock.query()
    qtbot.waitUntil(lambda: dock.tree.topLevelItemCount() == 1, timeout=20000)
    dock.tree.topLevelItem(0).setCheckState(0, Qt.CheckState.Checked)  # the study: all its series
    assert len(dock.checked()) == dock.tree.topLevelItem(0).childCount() == 1
    qtbot.waitUntil(dock.add_button.isEnabled, timeout=5000)
    dock.add_checked()
    dock.cancel()  # before the first instance is written
    qtbot.waitUntil(lambda: not dock.busy, timeout=20000)
    assert "cancelled" in dock.last_message and project.cases() == []
    project.close()


def test_bad_node_says_one_line(qtbot, tmp_path):
    from workstation.qt.pacs.study_browser import StudyBrowserDock

    dock = StudyBrowserDock(None)
    qtbot.addWidget(dock)
    dock.node.setEditText("nowhere")
    dock.query()
    assert "no node 'nowhere'" in dock.last_message and "\n" not in dock.last_message


def orthanc_series(server):
    import requests
    return requests.get(server.url + "/series", timeout=10).json()


def test_install_adds_the_dock_and_the_send_action(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from workstation.core.review.overlays import OverlayList
    from workstation.qt.context import make_context
    from workstation.qt.pacs.study_browser import install

    window = QMainWindow()
    qtbot.addWidget(window)
    panels = install(make_context(window, ReviewSession(), OverlayList(), None))
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File")
    assert panels["send_results_action"] in file_menu.actions()
    assert panels["study_browser"].window() is window
    panels["send_results_action"].trigger()  # no project, no case: one line, nothing sent
    assert panels["study_browser"].last_message == "open a case to send its results"


def test_retrieve_when_read_adds_pending_cases_that_come_when_read(orthanc, qtbot, tmp_path):
    from workstation.core.pacs.deferred import pending

    project, session, dock = browser(orthanc, qtbot, tmp_path)
    dock.query()
    qtbot.waitUntil(lambda: dock.tree.topLevelItemCount() == 2, timeout=20000)
    for i in range(2):  # the images (and the SR another test may have sent)
        study = dock.tree.topLevelItem(i)
        for j in range(study.childCount()):
            if study.child(j).text(3) != "SR":
                study.child(j).setCheckState(0, Qt.CheckState.Checked)
    assert len(dock.checked()) == 2
    dock.defer.setChecked(True)
    qtbot.waitUntil(dock.add_button.isEnabled, timeout=5000)
    dock.add_checked()
    qtbot.waitUntil(lambda: len(project.cases()) == 2, timeout=20000)
    assert dock.last_message.startswith("added 2 pending case(s)")
    first, second = project.cases()
    assert pending(project.directory, first) and pending(project.directory, second)  # nothing retrieved yet
    session.go_to(first.case_id)  # read it: it comes, and the next one with it
    qtbot.waitUntil(lambda: "prefetched 2 case(s)" in dock.prefetch.status.text(), timeout=20000)
    assert not pending(project.directory, project.case(first.case_id))
    assert not pending(project.directory, project.case(second.case_id))
    dock.prefetch.close_prefetcher()
    project.close()
