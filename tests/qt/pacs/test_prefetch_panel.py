"""Prefetch of pending PACS cases against a real Orthanc: the panel follows the reader through the
worklist (the current case and the next `ahead`, no more), and the main window waits for a current
case still on its way, then shows its images."""
import numpy as np
import pydicom
import pytest

from workstation.core.pacs import resolve_node
from workstation.core.pacs.cache import FetchPlan
from workstation.core.pacs.deferred import add_deferred, pending
from workstation.core.pacs.prefetch import FAILED
from workstation.core.project import Project
from workstation.core.review.session import ReviewSession

from .conftest import orthanc_with, pydicom_files

pytestmark = pytest.mark.gui
SERIES = ("dicomdirtests/77654033/CT2", "MR_small.dcm", "dicomdirtests/98892001/CT5N", "CT_small.dcm")


@pytest.fixture(scope="module")
def orthanc4(tmp_path_factory):
    server = orthanc_with(tmp_path_factory.mktemp("orthanc-prefetch"), pydicom_files(*SERIES))
    yield server
    server.stop()


def pending_project(server, directory, series=SERIES) -> Project:
    project = Project.create(directory, "binary", ["normal", "abnormal"])
    node = resolve_node(server.dicomweb_url)
    for name in series:
        study = str(pydicom.dcmread(pydicom_files(name)[0], stop_before_pixels=True).StudyInstanceUID)
        series = str(pydicom.dcmread(pydicom_files(name)[0], stop_before_pixels=True).SeriesInstanceUID)
        add_deferred(project, node, FetchPlan(study, [series]))
    return project


def test_prefetch_follows_the_reader(orthanc4, qtbot, tmp_path):
    from workstation.qt.pacs.prefetch_panel import PrefetchPanel

    project = pending_project(orthanc4, tmp_path / "p")
    session = ReviewSession(project, reader="dr-p")
    opened = []
    panel = PrefetchPanel(session, open_case=opened.append, ahead=1)
    qtbot.addWidget(panel)
    ids = session.case_ids()

    def waiting(case_id):
        return pending(project.directory, project.case(case_id)) is not None

    assert [waiting(i) for i in ids] == [True] * 4
    session.go_to(ids[0])
    assert panel.hold(ids[0]).startswith(f"{ids[0]}: retrieving its images")  # what the window shows meanwhile
    qtbot.waitUntil(lambda: "prefetched 2 case(s)" in panel.status.text(), timeout=30000)
    assert [waiting(i) for i in ids] == [False, False, True, True]  # the current case and one ahead
    assert opened == [ids[0]]  # the window was told when the case it waits for had come
    assert panel.hold(ids[0]) is None and not panel.prefetcher.busy

    session.go_to(ids[1])
    qtbot.waitUntil(lambda: "prefetched 3 case(s)" in panel.status.text(), timeout=30000)
    assert waiting(ids[3]) and opened == [ids[0]]  # ids[1] was here already: nothing to reopen
    panel.enabled.setChecked(False)  # off: only the case being read is retrieved
    session.go_to(ids[2])
    qtbot.wait(200)
    assert not panel.prefetcher.busy and waiting(ids[3])
    panel.close_prefetcher()
    project.close()


def test_window_waits_for_a_pending_case_then_shows_it(qtbot, tmp_path):
    """The node is down when the case is opened: the window shows no image (not the last case's) and
    says why; once the node is back, opening the case again retrieves it and shows it."""
    from workstation.core.io import read_volume
    from workstation.qt.main_window import MainWindow

    server = orthanc_with(tmp_path / "orthanc", pydicom_files(*SERIES[:2]))
    try:
        pending_project(server, tmp_path / "p", SERIES[:2]).close()
        server.stop()
        window = MainWindow()
        window.session.set_reader("dr-w")
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        (hold,) = window.case_holds  # the PACS dock's; what it answers, for the test to see
        said = []
        window.case_holds[0] = lambda case_id: said.append(hold(case_id)) or said[-1]
        window.open_project(str(tmp_path / "p"))
        first = window.session.case_ids()[0]
        panel = window.panels["study_browser"].prefetch
        qtbot.waitUntil(lambda: getattr(panel.states.get(first), "state", "") == FAILED
                        and "failed" in panel.status.text(), timeout=30000)
        assert said[0].startswith(f"{first}: ") and window.volume is None
        assert "cannot reach" in panel.states[first].text and "\n" not in panel.states[first].text

        server.start()
        window.open_case(first)  # the reader comes back to it
        qtbot.waitUntil(lambda: window.current_case == first, timeout=30000)
        assert said[-2].startswith(f"{first}: retrieving its images") and said[-1] is None  # held, then shown
        direct = read_volume([str(p) for p in pydicom_files(SERIES[0])])
        np.testing.assert_array_equal(window.volume.array, direct.array)
        second = window.session.case_ids()[1]  # it failed while the node was down; moving there retries it
        window.session.go_to(second)
        qtbot.waitUntil(lambda: window.current_case == second, timeout=30000)
        assert pending(tmp_path / "p", window.project.case(second)) is None
        window.session.set_project(None)  # the docks let go of the project, then the window goes
        window.project.close()
        window.close()
        window.deleteLater()
    finally:
        server.stop()
