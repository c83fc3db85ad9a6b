"""The one place that shows messages and errors in the GUI.

`Notifier.info(text)` puts a line in the status bar for a few seconds; `Notifier.error(what)` shows
the first line in the status bar and the whole text in a non-modal message box (one box, reused),
and logs it. An exception is shown as its one-line message: the traceback goes to the log at
debug level, never to the user. Both may be called from any thread (they run on the GUI thread).
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QStatusBar, QWidget

from workstation.qt.threads import in_gui, one_line

log = logging.getLogger("workstation")
INFO_MS = 5000


class Notifier(QObject):
    shown = Signal(str, bool)  # text, is it an error (after it is on screen)

    def __init__(self, status_bar: QStatusBar | None = None, parent: QWidget | None = None,
                 status_label: QLabel | None = None, title: str = "workstation") -> None:
        super().__init__(parent)
        self.status_bar = status_bar
        self.status_label = status_label  # where errors stay (the status bar's own messages time out)
        self.parent_widget = parent
        self.title = title
        self.message_box: QMessageBox | None = None
        self.last: tuple[str, bool] | None = None
        self._info = in_gui(self._show_info, self)
        self._error = in_gui(self._show_error, self)

    def info(self, text: str, ms: int = INFO_MS) -> None:
        log.info("%s", text)
        self._info(str(text), ms)

    def error(self, what: str | BaseException) -> None:
        if isinstance(what, BaseException):
            log.debug("shown to the user as an error", exc_info=what)
            text = one_line(what)
        else:
            text = str(what).strip() or "unknown error"
        log.warning("%s", text)
        self._error(text)

    def _show_info(self, text: str, ms: int) -> None:
        if self.status_bar is not None:
            self.status_bar.showMessage(text, ms)
        self.last = (text, False)
        self.shown.emit(text, False)

    def _show_error(self, text: str) -> None:
        first = text.splitlines()[0]
        if self.status_label is not None:
            self.status_label.setText(first)
        elif self.status_bar is not None:
            self.status_bar.showMessage(first)
        if self.parent_widget is not None:
            if self.message_box is None:
                self.message_box = QMessageBox(QMessageBox.Icon.Warning, self.title, "", parent=self.parent_widget)
                self.message_box.setWindowModality(Qt.WindowModality.NonModal)
            self.message_box.setText(text)
            self.message_box.show()
        self.last = (text, True)
        self.shown.emit(text, True)


__all__ = ["Notifier", "INFO_MS"]
