"""Text in the corners and on the edges of a slice view, laid out so that no two texts overlap.

Each corner text may come with shorter forms (e.g. "Sagittal  105/201 / x = 12.3 mm", then
"Sag 105/201 / 12.3 mm", then "105/201"); on a narrow pane the longest forms that fit are used,
an edge letter moves into the gap between the corner texts or below them, the window/level text
stacks under the slice text, and whatever still does not fit is hidden. Fixed font sizes:
vtkCornerAnnotation refits its font whenever a text changes, which costs more than the rest of a
slice change. Positions are numbered as vtkCornerAnnotation numbers them."""
from __future__ import annotations

from vtkmodules.vtkRenderingCore import vtkTextActor

LowerLeft, LowerRight, UpperLeft, UpperRight, LowerEdge, RightEdge, LeftEdge, UpperEdge = range(8)
MARGIN = 4   # pixels between a text and the view's edge or another text
GAP = 6      # pixels kept free between two texts
# which texts give way first when a pane is too small for all of them
PRIORITY = (LeftEdge, RightEdge, UpperEdge, LowerEdge, UpperLeft, UpperRight, LowerRight, LowerLeft)


class ViewText:
    LowerLeft, LowerRight, UpperLeft, UpperRight = LowerLeft, LowerRight, UpperLeft, UpperRight
    LowerEdge, RightEdge, LeftEdge, UpperEdge = LowerEdge, RightEdge, LeftEdge, UpperEdge
    _JUSTIFY = {LowerLeft: (0, 0), LowerRight: (2, 0), UpperLeft: (0, 2), UpperRight: (2, 2),
                LowerEdge: (1, 0), RightEdge: (2, 1), LeftEdge: (0, 1), UpperEdge: (1, 2)}

    def __init__(self, renderer, size: int = 13, colour=(0.9, 0.9, 0.6)) -> None:
        self.renderer = renderer
        self.actors: list[vtkTextActor] = []
        self._scratch: list[vtkTextActor] = []
        self.forms: list[list[str]] = [[""] for _ in range(8)]
        self.size = (0, 0)
        self.visible = True
        for position in range(8):
            horizontal, vertical = self._JUSTIFY[position]
            actor = vtkTextActor()
            actor.GetPositionCoordinate().SetCoordinateSystemToDisplay()
            prop = actor.GetTextProperty()
            prop.SetFontSize(size + (2 if position >= 4 else 0))  # edge letters a little larger
            prop.SetColor(*colour)
            prop.SetShadow(True)
            prop.SetJustification(horizontal)
            prop.SetVerticalJustification(vertical)
            actor.SetPickable(False)
            renderer.AddViewProp(actor)
            self.actors.append(actor)
            scratch = vtkTextActor()  # measures texts in this actor's font
            scratch.SetTextProperty(prop)
            scratch.GetPositionCoordinate().SetCoordinateSystemToDisplay()
            self._scratch.append(scratch)
        self._bb = [0.0] * 4
        self._extents: dict[tuple[int, str], tuple[float, float, float, float]] = {}

    # -- texts -------------------------------------------------------------------------------
    def SetText(self, position: int, text: str, *shorter: str) -> None:
        """Set a text, with shorter forms to fall back on when the pane is too small for it."""
        forms = [text, *(s for s in shorter if s != text)]
        if forms != self.forms[position]:
            self.forms[position] = forms
            self.layout()

    def GetText(self, position: int) -> str:
        """The text as given (its longest form), whichever form is on screen."""
        return self.forms[position][0]

    def shown(self, position: int) -> str:
        """What is on screen at `position` ('' when hidden)."""
        actor = self.actors[position]
        return (actor.GetInput() or "") if actor.GetVisibility() else ""

    def ClearAllTexts(self) -> None:
        self.forms = [[""] for _ in range(8)]
        self.layout()

    def SetVisibility(self, visible: bool) -> None:
        self.visible = bool(visible)
        self.layout()

    # -- geometry ----------------------------------------------------------------------------
    def resize(self, width: int, height: int) -> None:
        if (width, height) != self.size:
            self.size = (int(width), int(height))
            self.layout()

    def boxes(self) -> dict[int, tuple[float, float, float, float]]:
        """(x0, y0, x1, y1) in display pixels (origin bottom left) of every text on screen."""
        out = {}
        for position, actor in enumerate(self.actors):
            text = actor.GetInput()
            if actor.GetVisibility() and text:
                x, y = actor.GetPositionCoordinate().GetValue()[:2]
                x0, x1, y0, y1 = self._extent(position, text)
                out[position] = (x + x0, y + y0, x + x1, y + y1)
        return out

    def _extent(self, position: int, text: str) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1) of a text at `position` about its anchor, as VTK will draw it; measured
        once per text (FreeType's layout of every text at every slice step cost a third of it)."""
        key = (position, text)
        extent = self._extents.get(key)
        if extent is None:
            scratch = self._scratch[position]  # not the shown actor: a new input redraws its texture
            scratch.SetInput(text)
            scratch.GetBoundingBox(self.renderer, self._bb)
            extent = self._extents[key] = tuple(self._bb)
            if len(self._extents) > 4096:  # slice numbers and readouts: keep the cache bounded
                self._extents.clear()
        return extent

    def _measure(self, position: int, text: str) -> tuple[float, float]:
        if not text:
            return (0.0, 0.0)
        x0, x1, y0, y1 = self._extent(position, text)
        return (x1 - x0, y1 - y0)

    def layout(self) -> None:
        width, height = self.size
        actors = self.actors
        if not self.visible or width <= 0 or height <= 0:
            for position, actor in enumerate(actors):
                _set_input(actor, self.forms[position][0])
                actor.SetVisibility(False)
            return
        sizes = {p: self._measure(p, self.forms[p][0]) for p in range(8)}
        chosen = {p: self.forms[p][0] for p in range(8)}
        room = width - 2 * MARGIN

        def pick(position: int, limit: float) -> None:
            """The longest form of a corner text no wider than `limit` (else the shortest)."""
            for form in self.forms[position]:
                size = self._measure(position, form)
                chosen[position], sizes[position] = form, size
                if size[0] <= limit:
                    return

        places: dict[int, tuple[float, float]] = {}
        for left, right, top in ((UpperLeft, UpperRight, True), (LowerLeft, LowerRight, False)):
            y = height - MARGIN if top else MARGIN
            pick(right, room)
            pick(left, room - (sizes[right][0] + GAP if chosen[right] else 0))
            places[left] = (MARGIN, y)
            if not chosen[left] or not chosen[right] or sizes[left][0] + GAP + sizes[right][0] <= room:
                places[right] = (width - MARGIN, y)
            else:  # no room side by side: the right text goes under (or over) the left one
                pick(right, room)
                places[right] = (width - MARGIN, y - sizes[left][1] - GAP if top else y + sizes[left][1] + GAP)
        for edge, left, right, top in ((UpperEdge, UpperLeft, UpperRight, True),
                                       (LowerEdge, LowerLeft, LowerRight, False)):
            places[edge] = self._edge_place(edge, left, right, top, sizes, chosen, places)
        places[LeftEdge] = (MARGIN, height / 2)
        places[RightEdge] = (width - MARGIN, height / 2)

        for position, actor in enumerate(actors):
            _set_input(actor, chosen[position])  # an unchanged text keeps its texture
            x, y = places[position]
            coordinate = actor.GetPositionCoordinate()
            if tuple(coordinate.GetValue()[:2]) != (x, y):
                coordinate.SetValue(x, y)
            if actor.GetVisibility() != bool(chosen[position]):
                actor.SetVisibility(bool(chosen[position]))
        self._hide_collisions(width, height)

    def _edge_place(self, edge, left, right, top, sizes, chosen, places) -> tuple[float, float]:
        """Where the top (bottom) letter goes: centred if that is clear of the corner texts, else
        centred in the gap between them, else just below (above) the taller corner block."""
        width, height = self.size
        y = height - MARGIN if top else MARGIN
        w = sizes[edge][0]
        if not chosen[edge]:
            return (width / 2, y)
        lo = MARGIN + sizes[left][0] + GAP if chosen[left] else MARGIN
        hi = width - MARGIN - sizes[right][0] - GAP if chosen[right] else width - MARGIN
        if places[right][1] != y:  # the right text is stacked under the left one
            hi = width - MARGIN
        if lo <= width / 2 - w / 2 and width / 2 + w / 2 <= hi:
            return (width / 2, y)
        if hi - lo >= w:
            return ((lo + hi) / 2, y)
        depth = max((sizes[p][1] + abs(places[p][1] - y)) for p in (left, right) if chosen[p])
        return (width / 2, y - depth - GAP if top else y + depth + GAP)

    def _hide_collisions(self, width: float, height: float) -> None:
        """Whatever still overlaps another text or leaves the pane is hidden, least important first."""
        boxes = self.boxes()
        for position in reversed(PRIORITY):
            box = boxes.get(position)
            if box is None:
                continue
            outside = box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height
            if outside or any(_overlap(box, other) for p, other in boxes.items() if p != position):
                self.actors[position].SetVisibility(False)
                del boxes[position]


def _set_input(actor, text: str) -> None:
    if (actor.GetInput() or "") != text:
        actor.SetInput(text)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
