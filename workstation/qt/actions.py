"""Every keyboard shortcut of the application, declared once.

`SHORTCUTS` names each action with its keys, the line the help overlay shows, and the tasks it
works in. A key may mean different things in different tasks: N moves to the next case, except in
a detection project, where N rejects a candidate and the next case keeps ↓ (`keys_by_task`).
`ActionTable` makes the window-wide QActions from this table and re-applies keys and enabled
states whenever the session opens a project of another task; no dock sets or rewrites a key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from workstation.core.vocab import Task
from workstation.qt.threads import Subscriptions


@dataclass(frozen=True)
class Shortcut:
    keys: tuple[str, ...]
    text: str
    tasks: tuple[str, ...] | None = None          # None: whatever is open (also no project)
    keys_by_task: dict[str, tuple[str, ...]] = field(default_factory=dict)
    shown: str | None = None                      # how the help overlay writes the keys

    def keys_for(self, task: str | None) -> tuple[str, ...]:
        return self.keys_by_task.get(task, self.keys) if task is not None else self.keys

    def active_in(self, task: str | None) -> bool:
        return self.tasks is None or task in self.tasks


DETECTION = (Task.DETECTION.value,)

SHORTCUTS: dict[str, Shortcut] = {
    # the window
    "open files": Shortcut(("Ctrl+O",), "open image files"),
    "quit": Shortcut(("Ctrl+Q",), "quit"),
    "invert": Shortcut(("I",), "invert the grey scale"),
    "reset view": Shortcut(("R",), "reset the window and the views"),
    "layout 2d": Shortcut(("Ctrl+1",), "layout: one view"),
    "layout mpr": Shortcut(("Ctrl+2",), "layout: axial, sagittal and coronal"),
    "layout mpr3d": Shortcut(("Ctrl+3",), "layout: the three planes and 3D"),
    # keyboard review (qt/review)
    **{f"class {d}": Shortcut((str(d),), f"label with class {d} (multi-label: toggle it)") for d in range(1, 10)},
    "confirm": Shortcut(("Return", "Enter"), "confirm the model's suggestion", shown="Enter"),
    "uncertain": Shortcut(("U",), "uncertain"),
    "not assessable": Shortcut(("X",), "not assessable"),
    "next": Shortcut(("N", "Down"), "next case", keys_by_task={Task.DETECTION.value: ("Down",)}),
    "previous": Shortcut(("P", "Up"), "previous case"),
    "undo": Shortcut(("Ctrl+Z",), "undo the last decision"),
    "redo": Shortcut(("Ctrl+Shift+Z", "Ctrl+Y"), "redo"),
    "blinded": Shortcut(("B",), "blinded mode: hide the model until you have labelled"),
    "readers": Shortcut(("Shift+R",), "readers: agreement and adjudication"),
    "help": Shortcut(("F1", "?", "Shift+?"), "show / hide this help", shown="F1  or  ?"),
    # a taxonomy's tree on the digit keys (qt/review; switched on only for a project with a taxonomy)
    **{f"tree down {d}": Shortcut((f"Alt+{d}",), f"taxonomy: open node {d} without labelling") for d in range(1, 10)},
    "tree up": Shortcut(("Backspace",), "taxonomy: back up to the parent node"),
    # candidate review (qt/detection), detection projects only
    "confirm candidate": Shortcut(("Y",), "confirm the selected candidate (a microbleed)", DETECTION),
    "reject candidate": Shortcut(("N",), "reject the selected candidate (a mimic)", DETECTION),
    "next candidate": Shortcut(("Tab",), "next candidate", DETECTION),
    "previous candidate": Shortcut(("Shift+Tab", "Backtab"), "previous candidate", DETECTION, shown="Shift+Tab"),
    "add candidate": Shortcut(("A",), "add a microbleed at the crosshair", DETECTION),
}


# actions shown as one row of the help overlay
GROUPS = {"class ": ("1 … 9", "label with class 1 … 9 (multi-label: toggle it; taxonomy: node 1 … 9)"),
          "tree down ": ("Alt+1 … 9", "taxonomy: open node 1 … 9 without labelling")}


def keys(name: str, task: str | None = None) -> list[QKeySequence]:
    return [QKeySequence(k) for k in SHORTCUTS[name].keys_for(task)]


def help_rows(task: str | None = None, names=None) -> list[tuple[str, str]]:
    """(keys, what) for the help overlay: the shortcuts active in `task` (digits as one row)."""
    rows, seen_groups = [], set()
    for name, sc in SHORTCUTS.items():
        if (names is not None and name not in names) or not sc.active_in(task):
            continue
        group = next((g for g in GROUPS if name.startswith(g)), None)
        if group is not None:
            if group not in seen_groups:
                seen_groups.add(group)
                rows.append(GROUPS[group])
            continue
        shown = sc.shown or "  or  ".join(_pretty(k) for k in sc.keys_for(task))
        rows.append((shown, sc.text))
    return rows


def _pretty(key: str) -> str:
    return {"Down": "↓", "Up": "↑"}.get(key, key)


def conflicts(task: str | None) -> dict[str, list[str]]:
    """Key sequences bound to more than one action active in `task` (Qt then triggers none)."""
    seen: dict[str, list[str]] = {}
    for name, sc in SHORTCUTS.items():
        if sc.active_in(task):
            for k in sc.keys_for(task):
                seen.setdefault(QKeySequence(k).toString(), []).append(name)
    return {k: names for k, names in seen.items() if len(names) > 1}


class ActionTable(QObject):
    """The window's QActions for `SHORTCUTS`, kept in step with the task of the session's project."""

    def __init__(self, window, session) -> None:
        super().__init__(window)
        self.window = window
        self.session = session
        self.actions: dict[str, QAction] = {}
        self._enabled: dict[str, bool] = {}
        self._subs = Subscriptions(self)
        self._subs.add(session.events.project_changed, lambda _p: self.apply())

    @property
    def task(self) -> str | None:
        return self.session.task

    def add(self, name: str, slot: Callable, parent=None) -> QAction:
        """The window-wide action `name` of the table, triggering `slot`; made once (a second call
        connects another slot to the same action)."""
        if name not in SHORTCUTS:
            raise KeyError(f"{name!r} is not in the shortcut table (qt/actions.py)")
        action = self.actions.get(name)
        if action is None:
            action = QAction(name, parent or self.window)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.window.addAction(action)
            self.actions[name] = action
        action.triggered.connect(lambda _checked=False: slot())
        self._apply_one(name, action)
        return action

    def get(self, name: str) -> QAction | None:
        return self.actions.get(name)

    def set_enabled(self, name: str, on: bool) -> None:
        """A dock's own reason to switch an action off (the task may switch it off as well)."""
        self._enabled[name] = bool(on)
        if name in self.actions:
            self._apply_one(name, self.actions[name])

    def apply(self) -> None:
        for name, action in self.actions.items():
            self._apply_one(name, action)

    def _apply_one(self, name: str, action: QAction) -> None:
        sc, task = SHORTCUTS[name], self.task
        action.setShortcuts(keys(name, task))
        action.setEnabled(sc.active_in(task) and self._enabled.get(name, True))

    def help_rows(self) -> list[tuple[str, str]]:
        return help_rows(self.task)


__all__ = ["SHORTCUTS", "Shortcut", "ActionTable", "keys", "help_rows", "conflicts"]
