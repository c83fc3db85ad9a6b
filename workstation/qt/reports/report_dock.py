"""The report dock: the open case's radiology report beside the image, each finding the report
labeler found coloured by its value (present, negated, uncertain), and the labels mined from it.
It follows the review session's project and current case."""
from __future__ import annotations

import html
import json
import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from workstation.qt.threads import Subscriptions

log = logging.getLogger(__name__)

COLOURS = {1: "#f4a3a3", 0: "#a8ddb0", -1: "#f7d58a"}  # present, negated, uncertain
WORDS = {1: "present", 0: "negated", -1: "uncertain"}
NORMAL_WORDS = {1: "yes", 0: "no", -1: "uncertain"}  # for "No Finding", where "negated" would mislead


class ReportDock(QWidget):
    def __init__(self, session=None, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.project = None
        self.case_id: str | None = None
        self._labeler = None
        self._labeler_error: str | None = None
        self.source = QLabel()
        self.source.setObjectName("reportSource")
        self.text = QTextBrowser()
        self.text.setObjectName("reportText")
        self.text.setOpenLinks(False)
        self.findings = QLabel()
        self.findings.setObjectName("reportFindings")
        self.findings.setWordWrap(True)
        self.findings.setTextFormat(Qt.TextFormat.RichText)
        legend = QLabel(" ".join(f'<span style="background:{COLOURS[v]}">&nbsp;{WORDS[v]}&nbsp;</span>' for v in (1, 0, -1)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for widget in (self.source, self.text, self.findings, legend):
            layout.addWidget(widget)
        self.show_report(None)
        self._project_subs = Subscriptions(self)
        if session is not None:
            subs = Subscriptions(self)
            subs.add(session.events.project_changed, self.set_project)
            subs.add(session.events.current_changed, self._on_current)
            self.set_project(session.project)
            if session.current is not None:
                self.show_case(session.current)

    # ---- wiring ----------------------------------------------------------------------------------
    def set_project(self, project) -> None:
        self._project_subs.clear()
        self.project = project
        self.case_id = None
        if project is not None:
            self._project_subs.add(project.events.cases_changed, self._refresh)  # reports imported
        self.show_report(None)

    def _on_current(self, case_id) -> None:
        if case_id is None:
            self.case_id = None
            self.show_report(None)
        else:
            self.show_case(case_id)

    def _refresh(self) -> None:
        if self.case_id is not None:
            self.show_case(self.case_id)

    def show_case(self, case_id: str) -> None:
        from workstation.core.reports import importing as reports
        from workstation.core.project import ProjectError

        self.case_id = case_id
        if self.project is None:
            self.show_report(None)
            return
        try:
            case = self.project.case(case_id)
            stored = self.project.label(case_id, tag=reports.REPORT_TAG)
        except ProjectError as exc:
            self.show_report(None, f"cannot read case {case_id}: {exc}")
            return
        text = reports.report_text(case)
        source = case.metadata.get(reports.SOURCE_KEY) if text else None
        mined = f"stored label ({stored.reader}, tag report): {json.dumps(stored.value)}" if stored else None
        self.show_report(text, source, mined)

    # ---- display ---------------------------------------------------------------------------------
    def labeler(self):
        """The report labeler plugin, built on first use; None (with the reason logged) if unavailable."""
        if self._labeler is None and self._labeler_error is None:
            try:
                from workstation.plugin_host.labelers import load_labeler

                self._labeler, _ = load_labeler()
            except Exception as exc:  # noqa: BLE001 — the dock shows the text without highlights
                self._labeler_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("report labeler unavailable: %s", self._labeler_error)
        return self._labeler

    def show_report(self, text: str | None, source: str | None = None, mined: str | None = None) -> None:
        if not text:
            self.source.setText(source or "No report for this case.")
            self.text.setHtml("")
            self.findings.setText("")
            return
        self.source.setText(f"Report ({source})" if source else "Report")
        labeler = self.labeler()
        if labeler is None:
            self.text.setPlainText(text)
            self.findings.setText(f"(no labeler: {self._labeler_error})")
            return
        mentions = labeler.mentions(text)
        self.text.setHtml(highlighted_html(text, mentions))
        values = labeler.label(text)
        summary = " · ".join(
            f'<span style="background:{COLOURS[v]}">{html.escape(f)}: '
            f'{(NORMAL_WORDS if f == "No Finding" else WORDS)[v]}</span>' for f, v in values.items()) or "no finding mentioned"
        self.findings.setText(summary + (f"<br><small>{html.escape(mined)}</small>" if mined else ""))


def highlighted_html(text: str, mentions) -> str:
    parts, at = [], 0
    for m in sorted(mentions, key=lambda m: m.start):
        if m.start < at:
            continue
        parts.append(html.escape(text[at:m.start]))
        why = f" ({m.trigger})" if m.trigger else ""
        parts.append(f'<span style="background:{COLOURS[m.value]}" title="{WORDS[m.value]}{html.escape(why)}">'
                     f"{html.escape(text[m.start:m.end])}</span>")
        at = m.end
    parts.append(html.escape(text[at:]))
    return '<div style="white-space: pre-wrap">' + "".join(parts) + "</div>"


def install(ctx) -> dict:
    """The report dock (right), following the session's project and current case."""
    dock = ReportDock(ctx.session)
    ctx.host.add_dock("Report", dock)
    return {"report_dock": dock}
