"""Where a reader stands in the tree while labelling by keyboard: the digit keys offer the children
of the current node (the top split at first); labelling an inner node goes down into it so that the
next digit refines the label; a key goes up (and down without labelling)."""
from __future__ import annotations

from workstation.core.taxonomy.tree import Taxonomy


class TreeCursor:
    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        self.node: str | None = None  # None: the top of the tree

    def choices(self) -> list[str]:
        """What the digit keys 1..n name now."""
        return self.taxonomy.children(self.node)

    def choice(self, index: int) -> str | None:
        """The node on digit `index` (1-based), None when there is none."""
        options = self.choices()
        return options[index - 1] if 1 <= index <= len(options) else None

    def down(self, node: str) -> bool:
        """Stand on `node` (one of the choices, or any inner node); False for a leaf (no children)."""
        if self.taxonomy.is_leaf(node):
            return False
        self.node = node
        return True

    def up(self) -> bool:
        """To the parent; False at the top already."""
        if self.node is None:
            return False
        self.node = self.taxonomy.parent(self.node)
        return True

    def reset(self) -> None:
        self.node = None

    def __repr__(self) -> str:
        return f"TreeCursor(at {self.node or 'top'}: {', '.join(self.choices())})"
