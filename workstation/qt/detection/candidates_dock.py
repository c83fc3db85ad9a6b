"""Candidate review for detection projects: the detector's candidates of the open case in a table
sorted by score, drawn in the slice views as a `SphereLayer` ("candidates") coloured by state, and
the reader's decisions stored in the project (audited, undoable).

Keys (qt/actions.py; only while a detection project is open): Y confirm the selected candidate,
N reject it (a mimic), Tab / Shift+Tab next / previous candidate, A add one at the crosshair with the
diameter of the spin box ("Add on click" adds at the next click in a view instead). Every decision
goes through the review session (audited, undone by its Ctrl+Z). The per-case count by MARS
region (lobar / deep / infratentorial) counts the reader's microbleeds: confirmed plus added.
"""
from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDockWidget, QDoubleSpinBox, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from workstation.core.errors import WorkstationError
from workstation.core.review.overlays import STATE_COLOURS, Sphere, SphereLayer
from workstation.core.review.session import NoReaderError
from workstation.core.vocab import ACCEPTED_STATES, CandidateState, Task
from workstation.qt.threads import Debounce, Subscriptions, call_later, run_in_background

log = logging.getLogger(__name__)
LAYER_NAME = "candidates"
COLUMNS = ("#", "score", "Ø mm", "state", "region", "centre (LPS mm)")
STATE_TEXT = {CandidateState.PROPOSED: "proposed", CandidateState.CONFIRMED: "microbleed",
              CandidateState.REJECTED: "mimic", CandidateState.ADDED: "added"}


def _state_text(row: dict) -> str:
    text = STATE_TEXT[row["state"]]
    return f"{text} (not in the latest run)" if row.get("earlier") else text


def _regions(case_id: str, points: dict[str, tuple], matrix) -> tuple[str, dict]:
    """MARS regions of candidate centres (off the GUI thread: the first call loads the MNI152 maps)."""
    try:
        from workstation.core.detection.regions import regions_of

        ids = list(points)
        return case_id, dict(zip(ids, regions_of([points[i] for i in ids], matrix)))
    except Exception as exc:  # noqa: BLE001 - regions are informative; never break review
        log.warning("regions unavailable: %s", exc)
        return case_id, {i: "?" for i in points}


class CandidatesPanel(QWidget):
    decided = Signal(str, str)   # candidate id, state (after the store has it)
    refreshed = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.project = None
        self.case_id: str | None = None
        self.rows: list[dict] = []      # {id, centre, diameter, score, state}
        self.regions: dict[str, str] = {}
        self._region_cache: dict[tuple, str] = {}
        self._region_pending: set[tuple] = set()
        self._arming = False
        self._centred: str | None = None  # the case whose first candidate the views were moved to
        self._refresh = Debounce(self, 30, self.refresh)
        self._build()
        self.actions = {name: ctx.actions.add(name, slot) for name, slot in (
            ("confirm candidate", lambda: self.decide(CandidateState.CONFIRMED)),
            ("reject candidate", lambda: self.decide(CandidateState.REJECTED)),
            ("next candidate", lambda: self.move(1)),
            ("previous candidate", lambda: self.move(-1)),
            ("add candidate", self.add_at_crosshair))}
        self._project_subs = Subscriptions(self)
        subs = Subscriptions(self)
        ev = self.session.events
        subs.add(ev.project_changed, self.set_project)
        subs.add(ev.current_changed, self._on_current)
        subs.add(ev.changed, self._on_change)
        subs.add(ev.reader_changed, self._refresh.trigger)
        if ctx.viewer is not None:
            ctx.viewer.state.volume_changed.connect(self._volume_shown)
        self.set_project(self.session.project)

    # ---- widgets -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.note = QLabel("no detection project open")
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.currentCellChanged.connect(lambda row, *_: self._row_chosen(row))
        self.counts = QLabel("")
        self.counts.setWordWrap(True)
        self.diameter = QDoubleSpinBox()
        self.diameter.setRange(1.0, 20.0)
        self.diameter.setSingleStep(0.5)
        self.diameter.setValue(4.0)
        self.diameter.setSuffix(" mm")
        self.diameter.setToolTip("diameter of a candidate added with A")
        self.click_add = QCheckBox("Add on click")
        self.click_add.setToolTip("the next left click in a slice view adds a microbleed there")
        buttons = QHBoxLayout()
        self.buttons = {}
        for name, text in (("confirm", "Y  confirm"), ("reject", "N  reject"), ("next", "Tab  next"),
                           ("add", "A  add")):
            button = QPushButton(text)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
            self.buttons[name] = button
        self.buttons["confirm"].clicked.connect(lambda: self.decide(CandidateState.CONFIRMED))
        self.buttons["reject"].clicked.connect(lambda: self.decide(CandidateState.REJECTED))
        self.buttons["next"].clicked.connect(lambda: self.move(1))
        self.buttons["add"].clicked.connect(self.add_at_crosshair)
        add_row = QHBoxLayout()
        add_row.addWidget(QLabel("Added Ø"))
        add_row.addWidget(self.diameter)
        add_row.addWidget(self.click_add)
        add_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addLayout(add_row)
        layout.addWidget(self.counts)
        if self.ctx.viewer is not None:
            for view in self.ctx.viewer.views.values():
                view.installEventFilter(self)

    # ---- project and case ----------------------------------------------------------------------
    def set_project(self, project) -> None:
        self._project_subs.clear()
        detection = project is not None and project.task == Task.DETECTION
        self.project = project if detection else None
        self.case_id = None
        self._centred = None
        self._region_cache.clear()
        self._region_pending.clear()
        if detection:  # a detector run, or decisions made outside this session
            self._project_subs.add(project.events.label_changed, self._label_changed)
            self._project_subs.add(project.events.predictions_changed, self._refresh.trigger)
            self.note.setText("open a case from the worklist")
            dock = self.parentWidget()
            if isinstance(dock, QDockWidget):
                dock.raise_()
        else:
            self.note.setText("candidate review works on detection projects")
        self.ctx.overlays.remove_named(LAYER_NAME)
        self.refresh()
        if detection and self.session.current is not None:
            self.set_case(self.session.current)

    def _on_current(self, case_id) -> None:
        if case_id is not None:
            self.set_case(case_id)

    def set_case(self, case_id: str) -> None:
        if self.project is None:
            return
        self.case_id = case_id
        self._centred = None
        self.refresh(keep=False)
        if self.rows:
            self.select(0)

    def _volume_shown(self, volume) -> None:
        """The case's image is on screen: move the views to the selected candidate (once a case)."""
        if volume is None or self.project is None or self.case_id is None or self._centred == self.case_id:
            return
        self._centred = self.case_id
        call_later(0, lambda: self._row_chosen(self.table.currentRow()), self)  # after the views are laid out

    def _on_change(self, change) -> None:
        if change.case_id == self.case_id and change.kind == "candidate":
            self._refresh.trigger()

    def _label_changed(self, case_id: str) -> None:
        if case_id == self.case_id:
            self._refresh.trigger()

    # ---- reading the store ---------------------------------------------------------------------
    def _load_rows(self) -> list[dict]:
        project, case_id = self.project, self.case_id
        record = project.latest_predictions().get(case_id)
        rows = []
        for n, c in enumerate((record.candidates or []) if record is not None else []):
            rows.append({"id": str(c.get("id", f"c{n}")), "centre": tuple(float(v) for v in c["centre"]),
                         "diameter": float(c.get("diameter_mm", 4.0)), "score": float(c.get("score", 0.0)),
                         "state": CandidateState.PROPOSED.value})
        by_id = {r["id"]: r for r in rows}
        for cid, decision in project.candidate_states(case_id, reader=self.session.reader).items():
            if cid in by_id:
                by_id[cid]["state"] = decision["state"]
            elif decision.get("centre") is not None:
                # the reader's own finding, or a decision on a focus the latest run did not find again
                added = "run" not in decision  # "run": the detector run its centre comes from
                rows.append({"id": cid, "centre": tuple(decision["centre"]),
                             "diameter": float(decision.get("diameter") or self.diameter.value()),
                             "score": None, "state": decision["state"], "added": added, "earlier": not added})
        rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0)))
        self._has_prediction = record is not None
        return rows

    def refresh(self, keep: bool = True) -> None:
        """Re-read the case's candidates and decisions; redraw the table, the layer and the counts."""
        selected = self.selected_id() if keep else None
        if self.project is None or self.case_id is None:
            self.rows = []
        else:
            try:
                self.rows = self._load_rows()
            except Exception as exc:  # noqa: BLE001 - a broken store must not take the window down
                self.rows = []
                self.note.setText(f"candidates unavailable: {exc}")
            else:
                self._say_case()
        self._fill_table()
        self._draw()
        self._request_regions()
        self._show_counts()
        if selected is not None:
            self.select_id(selected)
        self.refreshed.emit()

    def _say_case(self) -> None:
        n = sum(1 for r in self.rows if r["score"] is not None)
        if not self._has_prediction:
            note = (self.project.case(self.case_id).metadata or {}).get("note")
            self.note.setText(f"{self.case_id}: no detector run on this case" + (f" — {note}" if note else ""))
        else:
            pending = sum(1 for r in self.rows if r["state"] == "proposed")
            earlier = sum(1 for r in self.rows if r.get("earlier"))
            self.note.setText(f"{self.case_id}: {n} candidate(s) from the detector, {pending} to review"
                              + (f"; {earlier} decision(s) on foci not in the latest run" if earlier else ""))

    def _fill_table(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            colour = QColor.fromRgbF(*STATE_COLOURS[row["state"]])
            values = [str(r + 1), "—" if row["score"] is None else f"{row['score']:.3f}",
                      f"{row['diameter']:.1f}", _state_text(row), self.regions.get(row["id"], ""),
                      ", ".join(f"{v:.1f}" for v in row["centre"])]
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c == 3:
                    item.setForeground(QBrush(colour.darker(130)))
                    item.setBackground(QBrush(QColor(colour.red(), colour.green(), colour.blue(), 70)))
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)

    def _draw(self) -> None:
        overlays = self.ctx.overlays
        if self.project is None or self.case_id is None:
            overlays.remove_named(LAYER_NAME)
            return
        spheres = [Sphere(row["id"], row["centre"], max(row["diameter"] / 2.0, 0.5), row["state"],
                          label=f"{n + 1}") for n, row in enumerate(self.rows)]
        layer = overlays.find(LAYER_NAME)
        if isinstance(layer, SphereLayer):
            layer.set_spheres(spheres)
        else:
            overlays.put(SphereLayer(LAYER_NAME, spheres))

    # ---- regions -------------------------------------------------------------------------------
    def _case_matrix(self):
        from workstation.core.detection.regions import template_matrix

        case = self.project.case(self.case_id)
        return template_matrix(case.metadata, case.paths)

    def _request_regions(self) -> None:
        self.regions = {}
        if self.project is None or self.case_id is None or not self.rows:
            return
        missing = {}
        for row in self.rows:
            key = (self.case_id, row["id"], row["centre"])
            if key in self._region_cache:
                self.regions[row["id"]] = self._region_cache[key]
            elif key not in self._region_pending:
                missing[row["id"]] = row["centre"]
                self._region_pending.add(key)
        if missing:
            try:
                matrix = self._case_matrix()
            except Exception:  # noqa: BLE001
                matrix = None
            run_in_background(_regions, self.case_id, missing, matrix, on_result=self._regions_ready, owner=self,
                              name="cmb-regions")
        self._fill_regions()

    def _regions_ready(self, result: tuple[str, dict]) -> None:
        case_id, found = result
        centres = {row["id"]: row["centre"] for row in self.rows}
        for cid, region in found.items():
            if cid in centres:
                self._region_cache[(case_id, cid, centres[cid])] = region
        self._region_pending = {k for k in self._region_pending if k not in self._region_cache}
        if case_id == self.case_id:
            self.regions.update({k: v for k, v in found.items() if k in centres})
            self._fill_regions()
            self._show_counts()

    def _fill_regions(self) -> None:
        for r, row in enumerate(self.rows):
            item = self.table.item(r, 4)
            if item is not None:
                item.setText(self.regions.get(row["id"], "…"))

    def region_counts(self) -> dict[str, int]:
        """The reader's microbleeds of this case (confirmed + added) per MARS region."""
        from workstation.core.detection.regions import count_by_region

        return count_by_region(self.regions.get(r["id"], "") for r in self.rows
                               if r["state"] in ACCEPTED_STATES)

    def _show_counts(self) -> None:
        if self.project is None or self.case_id is None:
            self.counts.setText("")
            return
        counts = self.region_counts()
        decided = [r for r in self.rows if r["state"] in ACCEPTED_STATES]
        pending = sum(1 for r in self.rows if r["state"] == "proposed")
        waiting = sum(1 for r in decided if r["id"] not in self.regions)
        text = (f"<b>Microbleeds (MARS)</b>: lobar {counts['lobar']} · deep {counts['deep']} · "
                f"infratentorial {counts['infratentorial']} — total {len(decided)}")
        if waiting:
            text += f" (regions of {waiting} being computed)"
        text += f"<br>rejected as mimics {sum(1 for r in self.rows if r['state'] == 'rejected')}, to review {pending}"
        self.counts.setText(text)

    # ---- selection -----------------------------------------------------------------------------
    def selected_id(self) -> str | None:
        row = self.table.currentRow()
        return self.rows[row]["id"] if 0 <= row < len(self.rows) else None

    def select(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.table.setCurrentCell(row, 0)
            self._row_chosen(row)

    def select_id(self, candidate_id: str) -> None:
        for n, row in enumerate(self.rows):
            if row["id"] == candidate_id:
                self.table.blockSignals(True)
                self.table.setCurrentCell(n, 0)
                self.table.blockSignals(False)
                self._mark_selected(candidate_id)
                return

    def _mark_selected(self, candidate_id: str | None) -> None:
        layer = self.ctx.overlays.find(LAYER_NAME)
        if isinstance(layer, SphereLayer) and (candidate_id is None or candidate_id in layer):
            layer.selected = candidate_id

    def _row_chosen(self, row: int) -> None:
        if not 0 <= row < len(self.rows):
            return
        self._mark_selected(self.rows[row]["id"])
        if self.ctx.volume is not None:  # (no image yet: the views move there once it is shown)
            self.ctx.set_crosshair(np.asarray(self.rows[row]["centre"]), center=True)

    def move(self, delta: int) -> None:
        if not self.rows:
            return
        row = self.table.currentRow()
        self.select((row + delta) % len(self.rows) if row >= 0 else 0)

    # ---- decisions (through the session) ------------------------------------------------------
    def decide(self, state: str) -> str | None:
        """Confirm or reject the selected candidate; returns its id once stored."""
        row = self.table.currentRow()
        if self.project is None or not 0 <= row < len(self.rows):
            return None
        target = self.rows[row]
        if target.get("added") and state == CandidateState.CONFIRMED:
            state = CandidateState.ADDED  # a reader's own finding stays "added"
        return self._store(target["id"], state, target["centre"] if target.get("added") else None,
                           target["diameter"] if target.get("added") else None, advance=True)

    def add_at_crosshair(self) -> str | None:
        return self.add_at(self.ctx.crosshair()) if self.ctx.viewer is not None else None

    def add_at(self, point) -> str | None:
        if self.project is None or self.case_id is None or self.ctx.volume is None:
            return None
        cid = self._store(None, CandidateState.ADDED, [float(v) for v in point], float(self.diameter.value()),
                          advance=False)
        if cid is not None:
            self.select_id(cid)
        return cid

    def _store(self, candidate_id, state, centre, diameter, advance: bool) -> str | None:
        row = self.table.currentRow()
        try:
            change = self.session.decide_candidate(self.case_id, candidate_id, state, centre=centre,
                                                   diameter=diameter)
        except NoReaderError as exc:
            self.ctx.notify.info(str(exc))
            return None
        except WorkstationError as exc:
            self.ctx.notify.error(exc)
            return None
        cid = change.candidate_id
        self.refresh()
        self.decided.emit(cid, str(state))
        if advance:
            proposed = CandidateState.PROPOSED
            nxt = next((n for n in range(row + 1, len(self.rows)) if self.rows[n]["state"] == proposed), None)
            if nxt is None:
                nxt = next((n for n in range(len(self.rows)) if self.rows[n]["state"] == proposed), None)
            if nxt is not None:
                self.select(nxt)
        return cid

    # ---- add on click --------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if self.click_add.isChecked() and self.project is not None:
            if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton \
                    and not event.modifiers():
                self._arming = True
            elif kind == QEvent.Type.MouseButtonRelease and self._arming:
                self._arming = False
                self.click_add.setChecked(False)
                call_later(0, self.add_at_crosshair, self)  # after the view has moved the crosshair
        return False


def install(ctx) -> dict:
    """The candidate review dock (right), following the session."""
    panel = CandidatesPanel(ctx)
    dock = ctx.host.add_dock("Candidates", panel, Qt.DockWidgetArea.RightDockWidgetArea)
    return {"candidates_panel": panel, "candidates_dock": dock}


__all__ = ["install", "CandidatesPanel", "LAYER_NAME"]
