"""Which slice views redraw while the brush is used: only the one under the mouse, once per dab.
The others are held (SliceView.hold_renders) from the moment the mouse enters a view with the
Paint or Erase tool until it leaves, and redraw once at each stroke's end, so they show every stroke
without costing a frame per dab (under Mesa's software rasteriser a frame is ~20 ms whatever it shows)."""
from __future__ import annotations


class HeldViews:
    def __init__(self) -> None:
        self._held: list = []
        self.active = None

    def hold_all_but(self, active, views) -> None:
        if self.active is active and self._held:
            return
        self.release()
        self.active = active
        for view in views:
            if view is not active and hasattr(view, "hold_renders"):
                view.hold_renders(True)
                self._held.append(view)

    def refresh(self) -> None:
        """Let the held views draw what changed once (a stroke ended), and go on holding them."""
        for view in self._held:
            view.hold_renders(False)  # queues one redraw if one was asked for meanwhile
            view.hold_renders(True)   # the queued redraw still runs

    def release(self) -> None:
        for view in self._held:
            view.hold_renders(False)
        self._held.clear()
        self.active = None
