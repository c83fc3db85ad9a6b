"""What a dock is given when it is built, and all it may use of the application.

A dock reads and changes the review through `session` (a core `ReviewSession`: the project, the
reader, the current case, blinded mode, the worklist, every decision) and follows it by
subscribing to `session.events`; it draws through `overlays` and `viewer`, says things through
`notify`, makes its keyboard shortcuts through `actions` and asks the window only what `host`
offers (a dock area, a menu, a parent for dialogs). Docks never look each other up, so the order in
which they are built does not matter: each starts from the session's state when it is built.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from workstation.core.review.overlays import OverlayList
from workstation.core.review.session import ReviewSession
from workstation.qt.actions import ActionTable
from workstation.qt.notify import Notifier


class DockHost:
    """The part of the main window a dock may use: dock areas, menus, a parent for dialogs."""

    def __init__(self, window: QMainWindow) -> None:
        self._window = window

    @property
    def widget(self) -> QWidget:
        return self._window

    def add_dock(self, title: str, widget: QWidget, area=Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        if hasattr(self._window, "add_dock"):
            return self._window.add_dock(title, widget, area)
        dock = QDockWidget(title, self._window)
        dock.setObjectName(f"dock-{title}")
        dock.setWidget(widget)
        self._window.addDockWidget(area, dock)
        return dock

    def hold_cases(self, hold) -> None:
        """`hold(case_id)` gives a line for the status bar while that case's images cannot be read
        yet (a PACS case being retrieved), else None; the holder calls `open_case` once they can."""
        holds = getattr(self._window, "case_holds", None)
        if holds is not None:
            holds.append(hold)

    def open_case(self, case_id: str) -> None:
        """Show the case's images again (after a holder has them)."""
        opener = getattr(self._window, "open_case", None)
        if opener is not None:
            opener(case_id)

    def menu(self, title: str) -> QMenu:
        """The menu bar's menu of that title ("File"), made when the window has none."""
        bar = self._window.menuBar()
        for action in bar.actions():
            if action.menu() is not None and action.text().replace("&", "") == title:
                return action.menu()
        return bar.addMenu(f"&{title}")


@dataclass
class DockContext:
    session: ReviewSession
    overlays: OverlayList
    viewer: Any            # workstation.qt.viewer.viewer_widget.Viewer (or None in a viewer-less host)
    notify: Notifier
    actions: ActionTable
    host: DockHost

    # what docks ask most, said once
    @property
    def project(self):
        return self.session.project

    @property
    def volume(self):
        return self.viewer.volume if self.viewer is not None else None

    def crosshair(self):
        return self.viewer.state.crosshair.copy()

    def set_crosshair(self, xyz, center: bool = False) -> None:
        """Move the crosshair (world LPS mm) and the slices to it; `center` also pans the views."""
        self.viewer.state.set_crosshair(xyz)
        if center:
            self.viewer.center_on(self.viewer.state.crosshair)


def ask_reader(parent: QWidget | None) -> str | None:
    """The session's `ask_reader`: the reader's name, asked once (the saved name or the OS user
    proposed) and saved for the next session; None when cancelled."""
    from PySide6.QtWidgets import QInputDialog

    from workstation.core import settings

    name, ok = QInputDialog.getText(parent, "Reader", "Your name (recorded with every label):",
                                    text=settings.default_reader())
    name = name.strip() if ok and name else ""
    if not name:
        return None
    try:
        settings.update(reader=name)
    except OSError:
        pass  # an unwritable settings file only means the name is asked again next time
    return name


def make_context(window: QMainWindow, session: ReviewSession, overlays: OverlayList, viewer,
                 notify: Notifier | None = None) -> DockContext:
    """A context for docks in `window` (its status bar shows the notifications)."""
    notify = notify or Notifier(window.statusBar(), window)
    session.events.message.connect(notify.info)  # the session's line for every edit, in the status bar
    return DockContext(session, overlays, viewer, notify, ActionTable(window, session), DockHost(window))


__all__ = ["DockContext", "DockHost", "make_context", "ask_reader"]
