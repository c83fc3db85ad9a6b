"""Undo/redo: every edit of labels is a Command on one stack. Undo and redo are themselves edits
(they are written to the audit trail with action "undo"/"redo"), never a rewrite of history."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class SetLabelCommand:
    case_id: str
    reader: str
    tag: str
    candidate_id: str
    old_value: Any
    new_value: Any
    note: str | None
    old_note: str | None = None

    def describe(self) -> str:
        target = f"{self.case_id}/{self.candidate_id}" if self.candidate_id else self.case_id
        return f"{target}: {self.old_value!r} -> {self.new_value!r} ({self.reader}, {self.tag})"


class UndoStack:
    def __init__(self, limit: int = 1000):
        self._done: list[SetLabelCommand] = []
        self._undone: list[SetLabelCommand] = []
        self._limit = limit

    def push(self, command: SetLabelCommand) -> None:
        self._done.append(command)
        del self._done[:-self._limit]
        self._undone.clear()

    def can_undo(self) -> bool:
        return bool(self._done)

    def can_redo(self) -> bool:
        return bool(self._undone)

    def undo(self, apply: Callable[[SetLabelCommand], None]) -> SetLabelCommand | None:
        if not self._done:
            return None
        command = self._done[-1]
        apply(command)  # only popped once the database write succeeded
        self._undone.append(self._done.pop())
        return command

    def redo(self, apply: Callable[[SetLabelCommand], None]) -> SetLabelCommand | None:
        if not self._undone:
            return None
        command = self._undone[-1]
        apply(command)
        self._done.append(self._undone.pop())
        return command
