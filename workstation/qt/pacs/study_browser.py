"""The study browser: query a PACS node (a saved node or a URL), tick series, add them to the open
project (fetched in the background into its cache); and "Send results" for the current case (its
SEG and SR to the node). Network work runs on a background thread; the project is only changed on
the GUI thread, once every ticked series has arrived whole."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLineEdit, QProgressBar,
                               QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from workstation.qt.pacs.prefetch_panel import PrefetchPanel

from workstation.qt.threads import Subscriptions, in_gui, one_line, run_in_background

COLUMNS = ["Patient", "Name", "Date", "Modality", "Instances", "Description"]


class StudyBrowserDock(QWidget):
    def __init__(self, session=None, notify=None, parent=None) -> None:
        super().__init__(parent)
        self.session, self.notify = session, notify
        self.busy = False
        self.last_message = ""
        self.node = QComboBox()
        self.node.setEditable(True)
        self.node.setObjectName("pacsNode")
        self.node.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.node.setMinimumContentsLength(16)  # a long URL must not widen the dock
        self.patient, self.name_filter, self.modality = QLineEdit(), QLineEdit(), QLineEdit()
        self.date = QLineEdit()
        self.date.setPlaceholderText("YYYYMMDD-YYYYMMDD")
        self.query_button = QPushButton("Query")
        self.add_button = QPushButton("Add to project")
        self.send_button = QPushButton("Send results")
        self.cancel_button = QPushButton("Cancel")
        self.defer = QCheckBox("Retrieve when read")
        self.defer.setToolTip("add the ticked series as cases at once; their images are retrieved when a case "
                              "is read, and the next cases of the worklist are prefetched")
        self.prefetch = PrefetchPanel(session, notify)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self._cancelled = False
        self._show_progress = in_gui(self._on_progress, self)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        form = QFormLayout()
        for label, widget in (("Node", self.node), ("Patient ID", self.patient), ("Name", self.name_filter),
                              ("Modality", self.modality), ("Date", self.date)):
            form.addRow(label, widget)
        find_row, add_row = QHBoxLayout(), QHBoxLayout()  # two rows: the dock is narrow
        for row, widgets in ((find_row, (self.query_button, self.cancel_button)),
                             (add_row, (self.add_button, self.send_button))):
            for b in widgets:
                row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addLayout(find_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.tree, 1)
        layout.addLayout(add_row)
        layout.addWidget(self.defer)
        layout.addWidget(self.prefetch)
        self.query_button.clicked.connect(self.query)
        self.add_button.clicked.connect(self.add_checked)
        self.send_button.clicked.connect(self.send_results)
        self.cancel_button.clicked.connect(self.cancel)
        self.reload_nodes()
        if session is not None:
            Subscriptions(self).add(session.events.project_changed, lambda *_: self._update_buttons())
        self._update_buttons()

    # ---- state ----------------------------------------------------------------------------------
    def reload_nodes(self) -> None:
        from workstation.core.pacs import list_nodes

        current = self.node.currentText()
        self.node.clear()
        self.node.addItems([n.name for n in list_nodes()])
        if current:
            self.node.setEditText(current)

    def _update_buttons(self) -> None:
        has_project = self.session is not None and self.session.project is not None
        busy = self.busy
        self.query_button.setEnabled(not busy)
        self.add_button.setEnabled(has_project and not busy)
        self.send_button.setEnabled(has_project and not busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy and self.progress.value() > 0)

    def cancel(self) -> None:
        """Stop a fetch after the instance in hand; what arrived waits in staging for the next try."""
        self._cancelled = True

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(1000 * fraction))
        self.progress.setFormat(text)
        self.progress.setVisible(True)

    def _say(self, text: str, error: bool = False) -> None:
        self.last_message = text
        if self.notify is not None:
            self.notify.error(text) if error else self.notify.info(text)

    def _start(self, fn, on_result, *args) -> None:
        def failed(line: str) -> None:
            self.busy = False
            self._say(line, error=True)
            self._update_buttons()

        def done(value) -> None:
            self.busy = False
            try:
                on_result(value)
            except Exception as exc:  # noqa: BLE001 - one line in the status bar, never a traceback
                self._say(one_line(exc), error=True)
            self._update_buttons()

        self.busy = True
        self.job = run_in_background(fn, *args, on_result=done, on_error=failed, owner=self, name="pacs")
        self._update_buttons()

    # ---- query ----------------------------------------------------------------------------------
    def query(self) -> None:
        from workstation.core.pacs import PacsError, QueryFilter, resolve_node
        from workstation.core.pacs.client import query

        try:
            node = resolve_node(self.node.currentText().strip())
            filters = QueryFilter(patient_id=self.patient.text().strip(), name=self.name_filter.text().strip(),
                                  modality=self.modality.text().strip().upper(), date=self.date.text().strip())
        except PacsError as exc:
            self._say(str(exc), error=True)
            return
        self._node = node
        self._start(lambda: query(node, filters, series=True), self.show_rows)

    def show_rows(self, rows) -> None:
        self.tree.clear()
        studies: dict[str, QTreeWidgetItem] = {}
        for r in rows:
            study = studies.get(r["StudyInstanceUID"])
            if study is None:
                study = QTreeWidgetItem([r["PatientID"], r["PatientName"], r["StudyDate"], r["ModalitiesInStudy"],
                                         r["NumberOfStudyRelatedInstances"], r["StudyDescription"]])
                study.setData(0, Qt.ItemDataRole.UserRole, r["StudyInstanceUID"])
                study.setFlags(study.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsAutoTristate)
                study.setCheckState(0, Qt.CheckState.Unchecked)  # ticking a study ticks all its series
                studies[r["StudyInstanceUID"]] = study
                self.tree.addTopLevelItem(study)
            item = QTreeWidgetItem(["", "", "", r["Modality"], r["NumberOfSeriesRelatedInstances"],
                                    r["SeriesDescription"] or r["SeriesInstanceUID"]])
            item.setData(0, Qt.ItemDataRole.UserRole, r["SeriesInstanceUID"])
            item.setCheckState(0, Qt.CheckState.Unchecked)
            study.addChild(item)
        self.tree.expandAll()
        self._say(f"{len(rows)} series in {len(studies)} study(ies)")

    def checked(self) -> list[tuple[str, str]]:
        picked = []
        for i in range(self.tree.topLevelItemCount()):
            study = self.tree.topLevelItem(i)
            for j in range(study.childCount()):
                item = study.child(j)
                if item.checkState(0) == Qt.CheckState.Checked:
                    picked.append((study.data(0, Qt.ItemDataRole.UserRole), item.data(0, Qt.ItemDataRole.UserRole)))
        return picked

    # ---- add and send ---------------------------------------------------------------------------
    def add_checked(self) -> None:
        from workstation.core.pacs.cache import FetchPlan, fetch

        picked, project = self.checked(), self.session.project if self.session else None
        if not picked or project is None:
            self._say("tick the series to add, with a project open", error=True)
            return
        node, directory = self._node, project.directory
        plans: dict[str, list[str]] = {}
        for study, series in picked:
            plans.setdefault(study, []).append(series)

        self._cancelled = False
        self.progress.setValue(0)
        if self.defer.isChecked():
            from workstation.core.pacs.deferred import deferred_items

            self._start(lambda: [i for study, series in plans.items()
                                 for i in deferred_items(node, FetchPlan(study, series), directory)],
                        self._add_pending)
            return

        def fetch_all():  # network only; the project is changed on the GUI thread below
            return [(study, f) for study, series in plans.items()
                    for f in fetch(node, FetchPlan(study, series), directory, self._show_progress,
                                   lambda: self._cancelled)]

        self._start(fetch_all, self._add_fetched)

    def _add_fetched(self, fetched) -> None:
        from workstation.core.pacs.to_project import add_fetched

        added, skipped = add_fetched(self.session.project, self._node.name, fetched)
        self._say(f"added {len(added)} case(s) from {self._node.name}" + (f"; skipped {skipped[0]}" if skipped else ""))

    def _add_pending(self, items) -> None:
        from workstation.core.pacs.deferred import add_new

        added, already = add_new(self.session.project, items)
        self._say(f"added {len(added)} pending case(s) from {self._node.name}; their images come as they are read"
                  + (f" ({len(already)} series were cases already)" if already else ""))
        self.prefetch.plan()

    def send_results(self) -> None:
        from workstation.core.export import ExportError
        from workstation.core.export.results.writer import case_results
        from workstation.core.pacs import PacsError, connect, resolve_node

        case_id = self.session.current if self.session else None
        if case_id is None:
            self._say("open a case to send its results", error=True)
            return
        try:
            node = resolve_node(self.node.currentText().strip())
            datasets = case_results(self.session.project, case_id)
        except (PacsError, ExportError) as exc:
            self._say(str(exc), error=True)
            return

        def send():
            remote = connect(node)
            try:
                return remote.store(datasets)
            finally:
                remote.close()

        self._start(send, lambda n: self._say(f"sent {n} result object(s) of {case_id} to {node.name}"))


def install(ctx) -> dict:
    """The study browser (left), adding to the session's project."""
    dock = StudyBrowserDock(ctx.session, ctx.notify)
    dock.prefetch.open_case = ctx.host.open_case
    ctx.host.hold_cases(dock.prefetch.hold)  # a pending case is shown once it has arrived
    ctx.host.add_dock("PACS", dock, Qt.DockWidgetArea.LeftDockWidgetArea)
    action = ctx.host.menu("File").addAction("Send results to PACS")
    action.setToolTip("the current case's SEG and SR, to the node chosen in the PACS dock")
    action.triggered.connect(dock.send_results)
    return {"study_browser": dock, "send_results_action": action}
