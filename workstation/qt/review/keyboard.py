"""Keyboard review: digits pick a class (multi-label: toggle), Enter confirms the model, U uncertain,
X not assessable, N/P or ↓/↑ move, Ctrl+Z / Ctrl+Shift+Z undo and redo, B blinded mode, F1 or ?
the shortcut overlay, R readers and adjudication.

Each key stores the label (committed before the worklist row changes) with the reader's name, the
action (confirm: agrees with the model's suggestion; correct: differs) and what the model showed
(or {"blinded": true}). The reader's name is asked once per session, the OS user proposed.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QInputDialog, QLabel, QMessageBox, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from workstation.core.project import NOT_ASSESSABLE, UNCERTAIN, ProjectError
from workstation.qt.review.worklist_model import label_text

log = logging.getLogger(__name__)
_session_reader: str | None = None

SHORTCUTS = [
    ("1 … 9", "label with class 1 … 9 (multi-label: toggle that class)"),
    ("Enter", "confirm the model's suggestion"),
    ("U", "uncertain"),
    ("X", "not assessable"),
    ("N  or  ↓", "next case"),
    ("P  or  ↑", "previous case"),
    ("Ctrl+Z", "undo the last label"),
    ("Ctrl+Shift+Z", "redo"),
    ("B", "blinded mode: hide the model until you have labelled"),
    ("R", "readers: agreement and adjudication"),
    ("F1  or  ?", "show / hide this help"),
]


def session_reader() -> str | None:
    return _session_reader


def set_session_reader(name: str | None) -> None:
    global _session_reader
    _session_reader = name.strip() if name else None


class ReviewController(QObject):
    labelled = Signal(str)          # case_id, after the label is stored
    blinded_changed = Signal(bool)
    reader_changed = Signal(str)

    def __init__(self, window, worklist, advance: bool = True):
        super().__init__(window)
        self.window = window
        self.worklist = worklist
        self.advance = advance
        self.project = None
        self.help = HelpOverlay(window)
        self.adjudication: AdjudicationDialog | None = None
        self.actions: dict[str, QAction] = {}
        self._install_actions()

    def _install_actions(self) -> None:
        def add(name, keys, slot):
            action = QAction(name, self.window)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.window.addAction(action)
            self.actions[name] = action

        for digit in range(1, 10):
            add(f"class {digit}", [str(digit)], lambda _=False, d=digit: self.pick(d))
        add("confirm", ["Return", "Enter"], self.confirm)
        add("uncertain", ["U"], lambda: self.mark(UNCERTAIN))
        add("not assessable", ["X"], lambda: self.mark(NOT_ASSESSABLE))
        add("next", ["N", "Down"], lambda: self.worklist.move(1))
        add("previous", ["P", "Up"], lambda: self.worklist.move(-1))
        add("undo", ["Ctrl+Z"], self.undo)
        add("redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self.redo)
        add("blinded", ["B"], lambda: self.set_blinded(not self.worklist.model.blinded))
        add("help", ["F1", "?", "Shift+?"], self.help.toggle)
        add("readers", ["R"], self.show_adjudication)
        self.worklist.adjudicate.clicked.connect(self.show_adjudication)
        self.worklist.blinded.toggled.connect(self.blinded_changed.emit)

    def set_project(self, project) -> None:
        self.project = project
        self.worklist.set_project(project, session_reader() or "")
        if self.adjudication is not None:
            self.adjudication.close()
            self.adjudication = None

    # ---- reader --------------------------------------------------------------------------------
    def reader(self) -> str | None:
        """The session's reader; asked once (the OS user or the saved name proposed)."""
        if session_reader() is None:
            from workstation.core import settings

            name, ok = QInputDialog.getText(self.window, "Reader", "Your name (recorded with every label):",
                                            text=settings.default_reader())
            if not ok or not name.strip():
                return None
            set_session_reader(name)
            try:
                settings.update(reader=session_reader())
            except OSError:
                pass
        name = session_reader()
        if self.worklist.model.reader != name:
            self.worklist.set_reader(name)
            self.reader_changed.emit(name)
        return name

    # ---- labelling -----------------------------------------------------------------------------
    def pick(self, digit: int) -> None:
        if self.project is None or digit > len(self.project.classes):
            return
        name = self.project.classes[digit - 1]
        case_id = self.worklist.current_case()
        if case_id is None:
            return
        if self.project.task == "multilabel":
            reader = self.reader()
            if reader is None:
                return
            mine = self.worklist.model.mine[self.worklist.model.row_of[case_id]]
            chosen = set(mine) if isinstance(mine, list) else set()
            chosen ^= {name}
            self._store(case_id, sorted(chosen), advance=False)
        else:
            self._store(case_id, name)

    def confirm(self) -> None:
        case_id = self.worklist.current_case()
        if case_id is None or self.project is None:
            return
        model = self.worklist.model
        if self.project.task == "multilabel" and model.mine[model.row_of[case_id]] is not None:
            self.worklist.move(1)  # the reader's own set stands; Enter moves on
            return
        if model.hidden(model.row_of[case_id]):
            self._say("blinded: label the case first (digits), then the model is shown")
            return
        suggestion = model.suggestion(case_id)
        if suggestion is None:
            self._say("no model output to confirm for this case")
            return
        self._store(case_id, suggestion)

    def mark(self, state: str) -> None:
        case_id = self.worklist.current_case()
        if case_id is not None:
            self._store(case_id, state)

    def _store(self, case_id: str, value, advance: bool | None = None) -> bool:
        if self.project is None:
            return False
        reader = self.reader()
        if reader is None:
            return False
        model = self.worklist.model
        suggestion = model.suggestion(case_id)
        action = "confirm" if suggestion is None or value == suggestion else "correct"
        shown = None
        if model.hidden(model.row_of[case_id]):
            shown = {"blinded": True}
        try:
            stored = self.project.set_label(case_id, value, reader=reader, action=action, shown=shown)
        except ProjectError as exc:
            self._say(str(exc), error=True)
            return False
        self.labelled.emit(case_id)
        self._say(f"{case_id}: {label_text(stored)} ({action}, {reader})")
        if advance if advance is not None else self.advance:
            self.worklist.move(1)
        return True

    def undo(self) -> None:
        self._undo_redo(self.project.undo if self.project else None, "undo")

    def redo(self) -> None:
        self._undo_redo(self.project.redo if self.project else None, "redo")

    def _undo_redo(self, fn, what: str) -> None:
        if fn is None:
            return
        try:
            command = fn()
        except ProjectError as exc:
            self._say(str(exc), error=True)
            return
        if command is None:
            self._say(f"nothing to {what}")
            return
        self.worklist.select_case(command.case_id)
        self._say(f"{what}: {command.describe()}")

    def set_blinded(self, on: bool) -> None:
        self.worklist.set_blinded(on)

    def _say(self, text: str, error: bool = False) -> None:
        bar = getattr(self.window, "statusBar", None)
        if callable(bar):
            bar().showMessage(text, 0 if error else 4000)
        (log.warning if error else log.info)(text)

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

    def __init__(self, window):
        super().__init__(window)
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
        top = max(20, (self.height() - line * (len(SHORTCUTS) + 2)) // 2)
        left = max(20, self.width() // 2 - 260)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(left, top, "Keyboard review — press any key to close")
        for n, (keys, what) in enumerate(SHORTCUTS, start=2):
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
        self.controller.worklist.refresh_agreement()

    def selected_case(self) -> str | None:
        row = self.table.currentRow()
        return self.rows[row].case_id if 0 <= row < len(self.rows) else None

    def decide(self, value) -> None:
        from workstation.core.project.readers import adjudicate

        case_id = self.selected_case()
        adjudicator = self.controller.reader()
        if case_id is None or adjudicator is None:
            return
        try:
            adjudicate(self.project, case_id, value, adjudicator)
        except ProjectError as exc:
            QMessageBox.warning(self, "Adjudication", str(exc))
            return
        row = self.table.currentRow()
        self.refresh()
        self.table.selectRow(min(row + 1, self.table.rowCount() - 1))

    def _open(self) -> None:
        case_id = self.selected_case()
        if case_id:
            self.controller.worklist.select_case(case_id)
