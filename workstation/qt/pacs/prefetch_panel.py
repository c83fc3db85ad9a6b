"""Prefetch of pending PACS cases (added with "retrieve when read"): while the reader reads a case, it
and the next ones of the session's worklist (its order and filter) are retrieved in the background,
at most `ahead` beyond the current one, one series at a time; moving on re-plans, Cancel stops (what
arrived is kept for a resume). The panel shows what is retrieved, and the window waits for a current
case that is still on its way (DockHost.hold_cases), then shows it."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget

from workstation.core.pacs.prefetch import CANCELLED, FAILED, READY, RETRIEVING, Prefetcher
from workstation.qt.threads import Subscriptions, connect_in_gui


class PrefetchPanel(QWidget):
    def __init__(self, session, notify=None, open_case=None, ahead: int = 3, parent=None) -> None:
        super().__init__(parent)
        self.session, self.notify, self.open_case = session, notify, open_case
        self.prefetcher: Prefetcher | None = None
        held: list[Prefetcher] = []  # for closing it when the panel goes (self is gone by then)
        self._held = held
        self.destroyed.connect(lambda *_: [p.close(wait=False) for p in held])
        self.states: dict[str, object] = {}     # case id -> its last PrefetchState
        self.enabled = QCheckBox("Prefetch next")
        self.enabled.setChecked(True)
        self.ahead = QSpinBox()
        self.ahead.setRange(0, 20)
        self.ahead.setValue(ahead)
        self.ahead.setSuffix(" cases")
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip("stop retrieving; what arrived is kept, and the next case resumes it")
        self.status = QLabel("no pending PACS cases")
        self.status.setObjectName("prefetchStatus")
        self.status.setWordWrap(True)  # a failure's line is long; it must not widen the dock
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        row = QHBoxLayout()
        for w in (self.enabled, self.ahead, self.cancel_button):
            row.addWidget(w)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        self.enabled.toggled.connect(lambda on: self.plan() if on else self.stop())
        self.ahead.valueChanged.connect(lambda _n: self.plan())
        self.cancel_button.clicked.connect(self.stop)
        if session is not None:
            subs = Subscriptions(self)
            subs.add(session.events.project_changed, self._on_project)
            subs.add(session.events.current_changed, self._on_current)
            subs.add(session.events.worklist_changed, self.plan)
            self._on_project(session.project)

    # ---- what the window asks -------------------------------------------------------------------
    def hold(self, case_id: str) -> str | None:
        """A line while the case is a pending PACS case (it is then retrieved first), else None."""
        from workstation.core.pacs.deferred import pending

        project = self.session.project if self.session else None
        if project is None:
            return None
        try:
            job = pending(project.directory, project.case(case_id))
        except Exception:  # noqa: BLE001 - an unknown case is the window's to report
            return None
        if job is None:
            return None
        self.plan()
        state = self.states.get(case_id)
        if state is not None and state.state == FAILED:
            return f"{case_id}: not retrieved ({state.text})"
        return f"{case_id}: retrieving its images from {job.node}…"

    # ---- planning -------------------------------------------------------------------------------
    def _on_project(self, project) -> None:
        self.close_prefetcher()
        self.states.clear()
        if project is not None:
            self.prefetcher = Prefetcher(project.directory, limit=self.ahead.maximum() + 1)
            self._held.append(self.prefetcher)
            connect_in_gui(self.prefetcher.events.changed, self._on_state, self)
        self.plan()

    def upcoming(self) -> list:
        """The pending cases among the current one and the next `ahead` of the worklist, nearest first."""
        from workstation.core.pacs.deferred import pending

        project = self.session.project if self.session else None
        if project is None or self.session.current is None:
            return []
        ids = self.session.case_ids()
        start = ids.index(self.session.current) if self.session.current in ids else 0
        window = ids[start: start + 1 + (self.ahead.value() if self.enabled.isChecked() else 0)]
        jobs = []
        for case_id in window:
            try:
                job = pending(project.directory, project.case(case_id))
            except Exception:  # noqa: BLE001 - a case removed meanwhile: nothing to fetch
                job = None
            if job is not None and not (case_id != self.session.current and self._failed(case_id)):
                jobs.append(job)
        return jobs

    def _on_current(self, _case_id) -> None:
        """The reader moved: cases that failed are tried again (the node may be back)."""
        self.states = {k: v for k, v in self.states.items() if v.state != FAILED}
        self.plan()

    def _failed(self, case_id: str) -> bool:
        state = self.states.get(case_id)
        return state is not None and state.state == FAILED

    def plan(self) -> None:
        if self.prefetcher is None:
            return
        jobs = self.upcoming()
        self.prefetcher.want(jobs)
        if not jobs and not self.prefetcher.busy:
            self.progress.setVisible(False)
            self.status.setText(self._summary())

    def stop(self) -> None:
        if self.prefetcher is not None:
            self.prefetcher.cancel()

    # ---- what the prefetcher says ---------------------------------------------------------------
    def _on_state(self, state) -> None:
        self.states[state.case_id] = state
        if state.state == RETRIEVING:
            self.progress.setVisible(True)
            self.progress.setValue(int(1000 * state.fraction))
            self.status.setText(f"retrieving {state.case_id}" + (f", {state.queued} more queued" if state.queued else ""))
            return
        if state.state == READY and state.case_id == self.session.current and self.open_case is not None:
            self.open_case(state.case_id)  # the window was waiting for it
        if state.state == FAILED and state.case_id == self.session.current and self.notify is not None:
            self.notify.error(state.text)
        if state.state in (READY, FAILED, CANCELLED) and not (self.prefetcher and self.prefetcher.busy):
            self.progress.setVisible(False)
            self.status.setText(self._summary())

    def _summary(self) -> str:
        ready = sum(1 for s in self.states.values() if s.state == READY)
        failed = [s for s in self.states.values() if s.state == FAILED]
        text = f"prefetched {ready} case(s)" if ready else "nothing being retrieved"
        if failed:
            text += f"; {len(failed)} failed ({failed[-1].text})"
        return text

    def close_prefetcher(self) -> None:
        if self.prefetcher is not None:
            self.prefetcher.close(wait=False)
            self._held.remove(self.prefetcher)
            self.prefetcher = None
