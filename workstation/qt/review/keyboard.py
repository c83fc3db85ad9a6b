"""Keyboard review: digits pick a class (multi-label: toggle), Enter confirms the model, U uncertain,
X not assessable, N/P or ↓/↑ move, Ctrl+Z / Ctrl+Shift+Z undo and redo, B blinded mode, F1 or ?
the shortcut overlay, Shift+R readers and adjudication (the keys: qt/actions.py). With a taxonomy
the digits name the children of the current tree node (an inner node is stored and opened, a leaf
is stored and the review moves on), Alt+digit opens a node without labelling, Backspace goes up.

Each key is one call of the review session, which decides the action (confirm / correct), records
what the model showed (or {"blinded": true}) and the reader (asked once), stores the label before
the current case moves on, and undoes. Nothing here decides anything.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from workstation.core.errors import WorkstationError
from workstation.core.review.decisions import label_text
from workstation.core.review.session import NoReaderError, ReviewError
from workstation.core.vocab import LabelState
from workstation.qt.actions import help_rows
from workstation.qt.threads import Subscriptions

log = logging.getLogger(__name__)

REVIEW_ACTIONS = ("class 1", "class 2", "class 3", "class 4", "class 5", "class 6", "class 7", "class 8",
                  "class 9", "confirm", "uncertain", "not assessable", "next", "previous", "undo", "redo",
                  "blinded", "readers", "help")
TREE_ACTIONS = tuple(f"tree down {d}" for d in range(1, 10)) + ("tree up",)


class ReviewController(QObject):
    """The review keys (qt/actions.py) on the session of `ctx`: every decision is the session's."""
    labelled = Signal(str)          # case_id, after the label is stored
    blinded_changed = Signal(bool)
    reader_changed = Signal(str)

    def __init__(self, ctx, worklist=None, advance: bool = True):
        super().__init__(ctx.host.widget)
        self.ctx = ctx
        self.session = ctx.session
        self.session.auto_advance = advance
        self.window = ctx.host.widget
        self.worklist = worklist
        self.help = HelpOverlay(self.window, lambda: help_rows(self.session.task, self.shown_actions()))
        self.adjudication: AdjudicationDialog | None = None
        self.actions: dict[str, QAction] = {}
        self._install_actions()
        subs = Subscriptions(self)
        subs.add(self.session.events.project_changed, self._project_changed)
        subs.add(self.session.events.blinded_changed, self.blinded_changed.emit)
        subs.add(self.session.events.reader_changed, lambda name: self.reader_changed.emit(name or ""))

    @property
    def project(self):
        return self.session.project

    def _install_actions(self) -> None:
        s = self.session
        slots = {f"class {d}": (lambda d=d: self.pick(d)) for d in range(1, 10)}
        slots.update({
            "confirm": self.confirm, "uncertain": lambda: self.mark(LabelState.UNCERTAIN),
            "not assessable": lambda: self.mark(LabelState.NOT_ASSESSABLE),
            "next": lambda: s.move(1), "previous": lambda: s.move(-1), "undo": self.undo, "redo": self.redo,
            "blinded": lambda: s.set_blinded(not s.blinded), "help": self.help.toggle,
            "readers": self.show_adjudication})
        slots.update({f"tree down {d}": (lambda d=d: self.tree_down(d)) for d in range(1, 10)})
        slots["tree up"] = self.tree_up
        for name in REVIEW_ACTIONS + TREE_ACTIONS:
            self.actions[name] = self.ctx.actions.add(name, slots[name])
        self._enable_tree()
        if self.worklist is not None:
            self.worklist.adjudicate.clicked.connect(self.show_adjudication)

    def shown_actions(self) -> tuple[str, ...]:
        return REVIEW_ACTIONS + (TREE_ACTIONS if self.session.tree is not None else ())

    def _enable_tree(self) -> None:
        """The tree keys only where there is a tree (Backspace stays free elsewhere)."""
        on = self.session.project is not None and self.session.tree is not None
        for name in TREE_ACTIONS:
            self.ctx.actions.set_enabled(name, on)

    def _project_changed(self, _project) -> None:
        self._enable_tree()
        if self.adjudication is not None:
            self.adjudication.close()
            self.adjudication = None

    # ---- reader --------------------------------------------------------------------------------
    def reader(self) -> str | None:
        """The session's reader; asked once (the session's ask_reader) when there is none."""
        try:
            return self.session.require_reader()
        except NoReaderError:
            return None

    # ---- labelling: the session decides and stores ---------------------------------------------
    def pick(self, digit: int) -> None:
        self._do(lambda: self.session.pick(digit))

    def tree_down(self, digit: int) -> None:
        self.session.tree_down(digit)

    def tree_up(self) -> None:
        self.session.tree_up()

    def confirm(self) -> None:
        self._do(self.session.confirm)

    def mark(self, state: str) -> None:
        self._do(lambda: self.session.mark(state))

    def undo(self) -> None:
        self._do(self.session.undo)

    def redo(self) -> None:
        self._do(self.session.redo)

    def set_blinded(self, on: bool) -> None:
        self.session.set_blinded(on)

    def _do(self, edit) -> None:
        if self.session.project is None:
            return
        try:
            change = edit()
        except NoReaderError:
            return  # the reader cancelled the name prompt
        except ReviewError as exc:  # nothing to confirm, blinded, no case: a hint, not a failure
            self.ctx.notify.info(str(exc))
            return
        except WorkstationError as exc:
            self.ctx.notify.error(exc)
            return
        if change is not None and change.kind == "label" and change.action not in ("undo", "redo"):
            self.labelled.emit(change.case_id)

    def show_adjudication(self) -> None:
        if self.project is None:
            return
        if self.adjudication is None:
            self.adjudication = AdjudicationDialog(self, self.window)
        self.adjudication.refresh()
        self.adjudication.show()
        self.adjudication.raise_()
        self.adjudication.activateWindow()


class HelpOverlay(QWidget):
    """A translucent sheet over the window listing the shortcuts; any key or click hides it."""

    def __init__(self, window, rows):
        super().__init__(window)
        self.rows = rows  # () -> [(keys, what)]
        self.hide()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        window.installEventFilter(self)

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
            return
        self.setGeometry(self.parentWidget().rect())
        self.show()
        self.raise_()
        self.setFocus()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.parentWidget().rect())
        return False

    def keyPressEvent(self, event) -> None:
        self.hide()

    def mousePressEvent(self, event) -> None:
        self.hide()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 200))
        font = painter.font()
        font.setPointSize(max(font.pointSize(), 11))
        painter.setFont(font)
        line = painter.fontMetrics().height() + 8
        rows = self.rows()
        top = max(20, (self.height() - line * (len(rows) + 2)) // 2)
        left = max(20, self.width() // 2 - 260)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(left, top, "Keyboard review — press any key to close")
        for n, (keys, what) in enumerate(rows, start=2):
            painter.setPen(QColor(255, 210, 90))
            painter.drawText(left, top + n * line, keys)
            painter.setPen(QColor(235, 235, 235))
            painter.drawText(left + 150, top + n * line, what)
        painter.end()


class AdjudicationDialog(QDialog):
    """Cases where readers disagree, each reader's label, and the adjudicated label (stored as tag
    "adjudicated" under the adjudicator's name). Digits or the class buttons decide the selected case."""

    def __init__(self, controller: ReviewController, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.project = controller.project
        self.setWindowTitle("Readers: agreement and adjudication")
        self.resize(620, 420)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.itemDoubleClicked.connect(lambda _item: self._open())
        buttons = QHBoxLayout()
        for n, name in enumerate(self.project.classes, start=1):
            button = QPushButton(f"{n}  {name}")
            button.clicked.connect(lambda _=False, v=name: self.decide(v))
            buttons.addWidget(button)
            if n <= 9:  # an action, not keyPressEvent: the table would eat digits for its type-ahead search
                action = QAction(name, self)
                action.setShortcut(QKeySequence(str(n)))
                action.triggered.connect(lambda _=False, v=name: self.decide(v))
                self.addAction(action)
        open_button = QPushButton("Open case")
        open_button.clicked.connect(self._open)
        buttons.addStretch(1)
        buttons.addWidget(open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.rows: list = []

    def refresh(self) -> None:
        from workstation.core.project.readers import agreement, disagreements

        self.rows = disagreements(self.project)
        readers = sorted({r for d in self.rows for r in d.labels})
        try:
            text = agreement(self.project).summary()
        except Exception as exc:  # noqa: BLE001 — shown, not fatal
            text = f"agreement unavailable: {exc}"
        open_n = sum(1 for d in self.rows if d.adjudicated is None)
        self.summary.setText(f"{text}\n{len(self.rows)} case(s) with disagreement, {open_n} not yet adjudicated.")
        self.table.setColumnCount(len(readers) + 2)
        self.table.setHorizontalHeaderLabels(["Case"] + readers + ["Adjudicated"])
        self.table.setRowCount(len(self.rows))
        for r, d in enumerate(self.rows):
            values = [d.case_id] + [label_text(d.labels.get(name)) for name in readers]
            values.append(f"{label_text(d.adjudicated)} ({d.adjudicator})" if d.adjudicator else "")
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))

    def selected_case(self) -> str | None:
        row = self.table.currentRow()
        return self.rows[row].case_id if 0 <= row < len(self.rows) else None

    def decide(self, value) -> None:
        case_id = self.selected_case()
        if case_id is None or self.controller.reader() is None:
            return
        try:
            self.controller.session.adjudicate(case_id, value)  # under the session's reader
        except WorkstationError as exc:
            self.controller.ctx.notify.error(exc)
            return
        row = self.table.currentRow()
        self.refresh()
        self.table.selectRow(min(row + 1, self.table.rowCount() - 1))

    def _open(self) -> None:
        case_id = self.selected_case()
        if case_id:
            self.controller.session.go_to(case_id)
