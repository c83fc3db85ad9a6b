"""The one way to the GUI thread (qt/threads.py): psygnal events and background jobs from other
threads reach widgets on the GUI thread, timers are made and started there, and nothing reaches a
widget that is gone."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from psygnal import Signal
from PySide6.QtCore import QObject, QThread
from PySide6.QtWidgets import QApplication

from workstation.qt import threads

pytestmark = pytest.mark.gui


class Emitter:
    fired = Signal(object)


def _in_thread(fn) -> None:
    worker = threading.Thread(target=fn, name="test-worker")
    worker.start()
    worker.join()


def test_a_psygnal_event_from_a_worker_runs_its_slot_on_the_gui_thread(qtbot):
    owner = QObject()
    seen = []
    emitter = Emitter()
    threads.connect_in_gui(emitter.fired, lambda value: seen.append((value, threading.current_thread().name)), owner)
    _in_thread(lambda: emitter.fired.emit(7))
    assert seen == []  # queued: it runs when the GUI thread's loop turns, not on the worker
    qtbot.waitUntil(lambda: seen == [(7, threading.main_thread().name)])
    emitter.fired.emit(8)  # from the GUI thread itself: at once
    assert seen[-1] == (8, threading.main_thread().name)


def test_a_deleted_owner_gets_nothing_and_is_disconnected(qtbot):
    owner = QObject()
    seen = []
    emitter = Emitter()
    threads.connect_in_gui(emitter.fired, seen.append, owner)
    assert len(emitter.fired) == 1
    owner.deleteLater()
    qtbot.waitUntil(lambda: len(emitter.fired) == 0)  # destroyed: the connection went with it
    _in_thread(lambda: emitter.fired.emit(1))
    qtbot.wait(50)
    assert seen == []


def test_debounce_timer_lives_and_starts_on_the_gui_thread(qtbot):
    owner = QObject()
    ran = []
    debounce = threads.Debounce(owner, 20, lambda: ran.append(threading.current_thread().name))
    assert debounce.timer.thread() is QApplication.instance().thread()
    for _ in range(5):  # a burst from a worker: one run
        _in_thread(debounce.trigger)
    qtbot.waitUntil(lambda: ran == [threading.main_thread().name])
    qtbot.wait(60)
    assert ran == [threading.main_thread().name]


def test_background_job_hands_back_result_and_one_line_error(qtbot):
    owner = QObject()
    results, errors = [], []

    def fails():
        raise ValueError("bad value\nsecond line\n  with a traceback-like tail")

    job = threads.run_in_background(lambda: threading.current_thread().name, owner=owner,
                                    on_result=lambda name: results.append((name, QThread.currentThread())))
    qtbot.waitUntil(lambda: bool(results))
    assert results[0][0] != threading.main_thread().name and results[0][1] is QApplication.instance().thread()
    assert not job.is_alive()
    threads.run_in_background(fails, owner=owner, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors))
    assert errors == ["bad value second line with a traceback-like tail"]


def test_a_project_event_from_a_worker_updates_the_worklist(qtbot, bare_context, tmp_path, qtlog):
    """predictions stored from another thread (as a plugin run's sink might): the worklist model's
    debounce timer is started on the GUI thread and the new prediction shows."""
    from workstation.core.project import PredictionRecord, Project
    from workstation.qt.review import worklist
    from workstation.qt.review.worklist_model import PRED, PROB

    host, ctx = bare_context
    project = Project.create(tmp_path / "p", "binary", ["normal", "abnormal"])
    try:
        project.add_cases([dict(paths=[f"/missing/{i}.dcm"], case_id=f"c{i}") for i in range(3)])
        panels = worklist.install(ctx)
        ctx.session.set_project(project)
        model = panels["worklist"].model
        assert model.rowCount() == 3 and model.data(model.index(0, PRED)) == ""
        reloads = []
        model.modelReset.connect(lambda: reloads.append(threading.current_thread().name))
        _in_thread(lambda: project.add_predictions([PredictionRecord("c0", {"normal": 0.2, "abnormal": 0.8}, "m")]))
        qtbot.waitUntil(lambda: model.data(model.index(model.view_row("c0"), PRED)) == "abnormal", timeout=5000)
        assert model.data(model.index(model.view_row("c0"), PROB)) == "0.800"
        assert reloads and set(reloads) == {threading.main_thread().name}
        assert model._reload.timer.thread() is QApplication.instance().thread()
        assert not [r for r in qtlog.records if "another thread" in r.message]
        assert np.isnan(model.probs[model.row_of["c1"]]).all()
    finally:
        ctx.session.set_project(None)
        project.close()
