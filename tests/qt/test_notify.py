"""The one place that shows messages (qt/notify.py): a line in the status bar, errors also in one
non-modal box, an exception as its one-line message (never a traceback), from any thread."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QLabel, QMainWindow

from workstation.core.project import ProjectError
from workstation.qt.notify import Notifier

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    win = QMainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_info_is_a_status_line(qtbot, window):
    notify = Notifier(window.statusBar(), window)
    notify.info("c0: abnormal (confirm, alice)")
    assert window.statusBar().currentMessage() == "c0: abnormal (confirm, alice)"
    assert notify.message_box is None


def test_an_error_is_one_line_in_a_non_modal_box(qtbot, window):
    label = QLabel()
    notify = Notifier(window.statusBar(), window, status_label=label)
    try:
        raise ProjectError("no case 'ghost'\n  in project study")
    except ProjectError as exc:
        notify.error(exc)
    box = notify.message_box
    assert box.isVisible() and not box.isModal()
    assert box.text() == "no case 'ghost' in project study" and "Traceback" not in box.text()
    assert label.text() == "no case 'ghost' in project study"
    notify.error("first line\nsecond line")
    assert notify.message_box is box and box.text() == "first line\nsecond line" and label.text() == "first line"


def test_messages_from_a_worker_thread_arrive_on_the_gui_thread(qtbot, window):
    notify = Notifier(window.statusBar(), window)
    shown = []
    notify.shown.connect(lambda text, error: shown.append((text, error, threading.current_thread().name)))
    worker = threading.Thread(target=lambda: notify.error(RuntimeError("disk full")))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(shown))
    assert shown == [("disk full", True, threading.main_thread().name)]
    assert window.statusBar().currentMessage() == "disk full"
