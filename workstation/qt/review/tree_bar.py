"""Where the reader stands in the project's taxonomy while reviewing by keyboard: a breadcrumb from
the top to the session's tree node, what each digit key names there (▸ marks an inner node: its
digit stores it and opens it), the reader's label of the case, and the keys to go down and up.

A view of the session (`session.tree`, `session.choices()`, `events.tree_changed`); hidden in a
project without a taxonomy.
"""
from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from workstation.core.review.decisions import label_text
from workstation.qt.threads import Subscriptions

TOP = "all"


class TreeBar(QFrame):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.crumbs = QLabel()
        self.crumbs.setObjectName("tree-breadcrumb")
        self.legend = QLabel()
        self.legend.setObjectName("tree-legend")
        self.legend.setWordWrap(True)
        self.hint = QLabel("Alt+digit: open without labelling · Backspace: up")
        self.hint.setStyleSheet("color: gray")
        self.mine = QLabel()
        self.mine.setObjectName("tree-your-label")
        for label in (self.crumbs, self.mine, self.hint):
            label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(1)
        for w in (self.crumbs, self.legend, self.mine, self.hint):
            layout.addWidget(w)
        subs = Subscriptions(self)
        ev = session.events
        for signal in (ev.project_changed, ev.tree_changed, ev.current_changed, ev.changed, ev.reader_changed):
            subs.add(signal, lambda *_: self.refresh())
        self.refresh()

    def path(self) -> list[str]:
        """The nodes from the top to the session's tree node ([] at the top)."""
        tree = self.session.tree if self.session.project is not None else None
        if tree is None or tree.node is None:
            return []
        return tree.taxonomy.path(tree.node)

    def refresh(self) -> None:
        tree = self.session.tree if self.session.project is not None else None
        self.setVisible(tree is not None)
        if tree is None:
            return
        crumbs = " ▸ ".join([TOP] + self.path())
        case_id = self.session.current
        mine = self.session.reader_label(case_id) if case_id is not None else None
        self.crumbs.setText(f"Tree: <b>{escape(crumbs)}</b>")
        self.mine.setText(f"your label: <b>{escape(label_text(mine))}</b>" if mine is not None else "")
        self.mine.setVisible(mine is not None)
        items = []
        for d, node in enumerate(self.session.choices()[:9], start=1):
            inner = "" if tree.taxonomy.is_leaf(node) else " ▸"
            items.append(f"<b>{d}</b>&nbsp;{escape(node)}{inner}")
        self.legend.setText("&nbsp;&nbsp; ".join(items))


__all__ = ["TreeBar"]
