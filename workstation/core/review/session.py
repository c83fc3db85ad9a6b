"""The review session: what a reader is doing in a project, without Qt (Slicer's Logic, napari's
ViewerModel). The GUI's docks and the CLI both call it; it is the one place that decides what an
edit means and performs it.

    session = ReviewSession(Project.open("study"), reader="alice")
    session.go_to("c0"); session.confirm()          # agrees with the model: audited "confirm"
    session.label("normal", case_id="c1")           # differs from the model: audited "correct"
    session.undo()

Every stored edit (labels, marks, candidate and box decisions, undo and redo) is announced once on
`session.events.changed` with a `Change` that carries the whole edit (case, reader, tag, old, new,
action, ...), so listeners need not read the database again. Errors the reader can act on raise a
`WorkstationError` with a one-line message: `ReviewError` (no case, nothing to confirm, blinded,
no reader) or the project's `ProjectError` (unknown label or case, a database problem).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from psygnal import Signal, SignalGroup

from workstation.core.errors import WorkstationError
from workstation.core.review import decisions, flags as flags_mod
from workstation.core.review.decisions import Decision
from workstation.core.review.worklist import Worklist
from workstation.core.vocab import Action, BoxState, CandidateState, LabelState, Tag, Task

__all__ = ["ReviewSession", "ReviewEvents", "Change", "Decision", "ReviewError", "NoReaderError"]


class ReviewError(WorkstationError):
    """A review step that cannot be done now (no case, nothing to confirm, blinded, ...)."""


class NoReaderError(ReviewError):
    """The session has no reader and none was given (the prompt was cancelled)."""


@dataclass(frozen=True)
class Change:
    """One stored edit. `candidate_id` is "" for a case label, a candidate id for a detection
    decision, "box:<n>" for a box. For undo/redo, `old`/`new` are the values before/after the undo."""
    case_id: str
    reader: str
    tag: str
    old: Any
    new: Any
    action: str
    candidate_id: str = ""
    shown: Any = None
    note: str | None = None

    def __post_init__(self) -> None:  # enums whatever the caller passed: equal to the stored strings
        object.__setattr__(self, "tag", Tag(self.tag))
        object.__setattr__(self, "action", Action(self.action))

    @property
    def kind(self) -> str:
        """"label", "candidate", "box", "segment" (a mask version) or "measurement"."""
        if not self.candidate_id:
            return "label"
        for prefix, kind in (("box:", "box"), ("seg:", "segment"), ("meas:", "measurement")):
            if self.candidate_id.startswith(prefix):
                return kind
        return "candidate"


class ReviewEvents(SignalGroup):
    changed = Signal(object)          # Change: an edit was stored (also undo / redo)
    current_changed = Signal(object)  # str | None: the current case
    reader_changed = Signal(object)   # str | None
    blinded_changed = Signal(bool)
    worklist_changed = Signal()       # order, filter or cases changed: session.case_ids() is new
    project_changed = Signal(object)  # Project | None
    message = Signal(str)             # a line for the status bar ("c0: abnormal (confirm, alice)")
    tree_changed = Signal(object)     # str | None: the taxonomy node whose children the digits name


@dataclass
class LabelItem:
    """One row of a batch (`label_many`): the same fields as a single `label` call."""
    case_id: str
    value: Any
    reader: str | None = None
    tag: str = Tag.FINAL
    note: str | None = None
    action: str | None = None
    where: str | None = None   # where the row came from ("labels.csv:12"), for error messages


class ReviewSession:
    """A reader's review of one project. Attributes meant to be read: `project`, `reader`, `blinded`,
    `current`, `thresholds`, `auto_advance`, `events`. Change them through the setters."""

    def __init__(self, project=None, reader: str | None = None, *, blinded: bool = False,
                 plugin_id: str | None = None, auto_advance: bool = True,
                 ask_reader: Callable[[], str | None] | None = None):
        self.events = ReviewEvents()
        self.project = None
        self.plugin_id = plugin_id
        self.auto_advance = auto_advance
        self.ask_reader = ask_reader   # called once when a decision needs a reader and there is none
        self.thresholds: dict[str, float] = {}
        self.low_confidence = flags_mod.LOW_CONFIDENCE
        self._reader = _clean(reader)
        self._blinded = bool(blinded)
        self._current: str | None = None
        self._tree = None  # (project, TreeCursor | None) of a project with a taxonomy
        self.worklist = Worklist(self)
        if project is not None:
            self.set_project(project, plugin_id)

    # ---- project, reader, blinded ----------------------------------------------------------------
    def set_project(self, project, plugin_id: str | None = None) -> None:
        """Review this project (None: none). No case is current until `go_to` or `move` (a view
        selects its first row; `move(1)` from no case goes to the first). Nothing is read yet."""
        self.project = project
        self.plugin_id = plugin_id
        self.thresholds = {}
        self.worklist.reset()
        self._set_current(None)
        self.events.project_changed.emit(project)
        self.events.worklist_changed.emit()

    @property
    def task(self) -> str | None:
        return self.project.task if self.project is not None else None

    @property
    def classes(self) -> list[str]:
        return self.project.classes if self.project is not None else []

    @property
    def reader(self) -> str | None:
        return self._reader

    def set_reader(self, name: str | None) -> None:
        name = _clean(name)
        if name != self._reader:
            self._reader = name
            self.worklist.refilter()  # "unlabelled" means by this reader
            self.events.reader_changed.emit(name)

    def require_reader(self, reader: str | None = None) -> str:
        """`reader` if given, else the session's; asks `ask_reader` once when there is none.
        Raises NoReaderError when there is still none."""
        if _clean(reader):
            return _clean(reader)
        if self._reader is None and self.ask_reader is not None:
            self.set_reader(self.ask_reader())
        if self._reader is None:
            raise NoReaderError("a label needs a reader name")
        return self._reader

    @property
    def blinded(self) -> bool:
        return self._blinded

    def set_blinded(self, on: bool) -> None:
        on = bool(on)
        if on != self._blinded:
            self._blinded = on
            self.events.blinded_changed.emit(on)

    # ---- the worklist and the current case -------------------------------------------------------
    @property
    def current(self) -> str | None:
        return self._current

    def case_ids(self) -> list[str]:
        """The worklist: the project's cases in the session's order, after its filter."""
        return self.worklist.case_ids()

    def go_to(self, case_id: str | None) -> None:
        """Make `case_id` the current case (it need not pass the filter: a view may open any case)."""
        if case_id is not None and self.project is not None and not self.worklist.has_case(case_id):
            raise ReviewError(f"no case {case_id!r} in this project")
        self._set_current(case_id)

    def move(self, delta: int = 1) -> str | None:
        """Step through the worklist; stays (and returns None) at either end."""
        target = self.worklist.step(self._current, delta)
        if target is not None:
            self._set_current(target)
        return target

    def set_order(self, by: str | Sequence[str] | None) -> None:
        """Order the worklist: "entropy", "margin" or "disagreement" (core/review/ordering.py), an
        explicit list of case ids (a view's own sort; cases not in it follow in project order), or
        None (project order)."""
        self.worklist.set_order(by)
        self.events.worklist_changed.emit()

    def set_filter(self, kind: str = "all", case_ids: Iterable[str] | None = None, search: str = "") -> None:
        """Filter the worklist: all, unlabelled (by this reader), disagreement, low_confidence,
        uncertain, label:<class>, predicted:<class>, cases (the given ids); `search` matches case ids."""
        self.worklist.set_filter(kind, case_ids, search)
        self.events.worklist_changed.emit()

    def refresh(self) -> None:
        """Re-read labels and predictions (after edits that did not go through this session)."""
        self.worklist.invalidate()
        self.events.worklist_changed.emit()

    def _set_current(self, case_id: str | None) -> None:
        if case_id != self._current:
            self._current = case_id
            self._tree_to(None)
            self.events.current_changed.emit(case_id)

    # ---- the taxonomy on the digit keys ----------------------------------------------------------
    @property
    def tree(self):
        """The project's core.taxonomy.TreeCursor (None without a taxonomy): the digit keys name
        `tree.choices()`; it goes back to the top on every new case."""
        if self._tree is None or self._tree[0] is not self.project:
            from workstation.core.taxonomy import TreeCursor

            taxonomy = getattr(self.project, "taxonomy", None)
            self._tree = (self.project, TreeCursor(taxonomy) if taxonomy is not None else None)
        return self._tree[1]

    def choices(self) -> list[str]:
        """What digit keys 1..n name now: the current tree node's children, else the classes."""
        return self.tree.choices() if self.tree is not None else self.classes

    def tree_down(self, index: int) -> bool:
        """Go down into the inner node on digit `index` without labelling; False when it is a leaf."""
        node = self.tree.choice(index) if self.tree is not None else None
        return node is not None and self._tree_to(node)

    def tree_up(self) -> bool:
        """Back to the parent node (False at the top)."""
        tree = self.tree
        return tree is not None and tree.node is not None and self._tree_to(tree.taxonomy.parent(tree.node))

    def _tree_to(self, node: str | None) -> bool:
        tree = self._tree[1] if self._tree is not None and self._tree[0] is self.project else None
        if tree is None or tree.node == node or (node is not None and not tree.down(node)):
            return False
        if node is None:
            tree.reset()
        self.events.tree_changed.emit(node)
        return True

    # ---- what the model says and what the reader sees --------------------------------------------
    def prediction(self, case_id: str):
        """The case's newest PredictionRecord (of `plugin_id`, else the most recent plugin) or None."""
        return self.worklist.prediction(case_id)

    def threshold(self, name: str) -> float:
        """The probability at which class `name` counts as present (multi-label); default 0.5."""
        return float(self.thresholds.get(name, 0.5))

    def suggestion(self, case_id: str) -> Any:
        """The model's label in the project's label form: the top class (binary, multiclass), the
        classes at or above their thresholds in class order (multi-label), None (no prediction,
        detection)."""
        return self.worklist.suggestion(case_id)

    def reader_label(self, case_id: str, reader: str | None = None, tag: str = Tag.FINAL) -> Any:
        """The reader's own label of the case under `tag` (None: not labelled)."""
        return self.worklist.reader_label(case_id, reader or self._reader, tag)

    def hidden(self, case_id: str, reader: str | None = None) -> bool:
        """Blinded and the reader (default: the session's) has not labelled the case yet: the
        model's output is not shown."""
        return self._blinded and self.reader_label(case_id, reader) is None

    def shown(self, case_id: str, reader: str | None = None) -> Any:
        """What the reader sees of the model for this case (stored with every decision):
        {"blinded": True} while hidden, else the prediction's `shown()` (None without one)."""
        return decisions.shown(self.prediction(case_id), self.hidden(case_id, reader))

    def flags(self, case_id: str) -> flags_mod.Flags:
        """The worklist flags of a case (disagree, low confidence, uncertain, note)."""
        return self.worklist.flags(case_id)

    def decide(self, case_id: str, value: Any, tag: str = Tag.FINAL, reader: str | None = None) -> Decision:
        """The one rule, without storing anything: the stored form of `value`, the action (adjudicate
        for tag "adjudicated"; confirm when it equals the model's suggestion, compared in the
        project's class order, or there is no suggestion; else correct) and what was shown."""
        return decisions.decide(self.project, value, tag, self.suggestion(case_id), self.shown(case_id, reader))

    # ---- labelling -----------------------------------------------------------------------------
    def label(self, value: Any, case_id: str | None = None, *, reader: str | None = None,
              tag: str = Tag.FINAL, note: str | None = None, action: str | None = None,
              advance: bool | None = None) -> Change:
        """Store `value` (a class; multi-label: a list or "a;b"; or uncertain / not_assessable) as the
        reader's label of the case (default: the current one). `action` overrides the decided action
        (a script that knows better, e.g. "import"). Moves on when `advance` (default auto_advance)."""
        case_id = self._case(case_id)
        change = self._store_label(case_id, value, reader, tag, note, action)
        if advance if advance is not None else self.auto_advance:
            self.move(1)
        return change

    def pick(self, index: int, case_id: str | None = None) -> Change | None:
        """A digit key: class `index` (1-based). Binary/multiclass: label it (and move on).
        Multi-label: toggle it in the reader's set (and stay). None when there is no such class.
        With a taxonomy: node `index` of `choices()`; an inner node is stored and the digits go
        down to its children (the reader may refine it, or move on), a leaf moves on."""
        if self.project is not None and self.tree is not None:
            node = self.tree.choice(index)
            if node is None:
                return None
            inner = not self.tree.taxonomy.is_leaf(node)
            change = self.label(node, case_id, advance=False if inner else None)
            if inner and change.case_id == self._current:
                self._tree_to(node)
            return change
        if self.project is None or not 1 <= index <= len(self.classes):
            return None
        name = self.classes[index - 1]
        if self.task == Task.MULTILABEL:
            return self.toggle(name, case_id)
        return self.label(name, case_id)

    def toggle(self, name: str, case_id: str | None = None) -> Change:
        """Multi-label: add or remove one class in the reader's set of the case (does not move)."""
        case_id = self._case(case_id)
        reader = self.require_reader()
        mine = self.reader_label(case_id, reader)
        chosen = set(mine) if isinstance(mine, list) else set()
        chosen ^= {name}
        return self.label(sorted(chosen), case_id, reader=reader, advance=False)

    def confirm(self, case_id: str | None = None) -> Change | None:
        """Enter: store the model's suggestion (audited "confirm") and move on. Multi-label with the
        reader's own set already stored: move on (None). Raises ReviewError while the model is
        hidden or when there is no suggestion."""
        case_id = self._case(case_id)
        if self.task == Task.MULTILABEL and self.reader_label(case_id) is not None:
            self.move(1)
            return None
        if self.hidden(case_id):
            raise ReviewError("blinded: label the case first (digits), then the model is shown")
        suggestion = self.suggestion(case_id)
        if suggestion is None:
            raise ReviewError("no model output to confirm for this case")
        return self.label(suggestion, case_id)

    def mark(self, state: str, case_id: str | None = None) -> Change:
        """U / X: the case is uncertain or not assessable (and move on)."""
        return self.label(_member(LabelState, state, "label state"), case_id)

    def clear(self, case_id: str | None = None, reader: str | None = None, tag: str = Tag.FINAL) -> Change:
        """Remove the reader's label of the case (audited "clear", undoable)."""
        case_id = self._case(case_id)
        reader = self.require_reader(reader)
        old = self.reader_label(case_id, reader, tag)
        self.project.clear_label(case_id, reader, tag=tag)
        return self._announce(Change(case_id, reader, tag, old, None, Action.CLEAR))

    def adjudicate(self, case_id: str, value: Any, note: str | None = None) -> Change:
        """Store the adjudicated label (tag "adjudicated", under the session's reader)."""
        return self._store_label(case_id, value, None, Tag.ADJUDICATED, note, None)

    def label_many(self, items: Iterable[LabelItem | dict], batch_size: int = 2000) -> int:
        """Store many labels, one transaction per `batch_size` rows, each decided and audited exactly
        as `label` would (items without a reader get the session's). Raises ReviewError naming the
        row on the first bad one; the batches before it stay stored. Returns the number stored;
        one `changed` event per label is emitted after each batch."""
        from workstation.core.review import batch

        return batch.label_many(self, items, batch_size)

    def _store_label(self, case_id, value, reader, tag, note, action) -> Change:
        reader = self.require_reader(reader)
        old = self.reader_label(case_id, reader, tag)
        decision = self.decide(case_id, value, tag, reader)
        action = Action(action) if action else decision.action
        stored = self.project.set_label(case_id, decision.value, reader=reader, tag=tag, action=action,
                                        shown=decision.shown, note=note)
        change = Change(case_id, reader, tag, old, stored, action, shown=decision.shown, note=note)
        return self._announce(change)

    # ---- undo ----------------------------------------------------------------------------------
    def can_undo(self) -> bool:
        return self.project is not None and self.project.can_undo()

    def can_redo(self) -> bool:
        return self.project is not None and self.project.can_redo()

    def undo(self) -> Change | None:
        """Undo the last edit (None: nothing to undo); the current case becomes the undone one."""
        return self._undo_redo(Action.UNDO)

    def redo(self) -> Change | None:
        return self._undo_redo(Action.REDO)

    def _undo_redo(self, action: Action) -> Change | None:
        if self.project is None:
            return None
        command = (self.project.undo if action == Action.UNDO else self.project.redo)()
        if command is None:
            self.events.message.emit(f"nothing to {action}")
            return None
        old, new = ((command.new_value, command.old_value) if action == Action.UNDO
                    else (command.old_value, command.new_value))
        change = Change(command.case_id, command.reader, command.tag, old, new, action,
                        candidate_id=command.candidate_id, note=command.note)
        self._announce(change, f"{action}: {command.describe()}")
        if self.worklist.has_case(command.case_id):
            self._set_current(command.case_id)
        return change

    # ---- detection candidates and boxes ----------------------------------------------------------
    def decide_candidate(self, case_id: str | None, candidate_id: str | None, state: str, *,
                         centre=None, diameter: float | None = None, note: str | None = None,
                         reader: str | None = None) -> Change:
        """A reader's decision on a detection candidate: confirmed, rejected, proposed (undecided
        again) or added (a new finding: no candidate_id, with centre in world mm and diameter).
        Audited "confirm" for confirmed/proposed, "correct" for rejected/added."""
        case_id = self._case(case_id)
        reader = self.require_reader(reader)
        state = _member(CandidateState, state, "candidate state")
        old = None
        if candidate_id:  # the stored decision as it is (undo hands back the same), not located in a run
            stored = [lab for lab in self.project.labels(case_id=case_id, reader=reader, tag=Tag.FINAL, candidates=True)
                      if lab.candidate_id == candidate_id]
            old = stored[-1].value if stored else None
        action = decisions.candidate_action(state)
        shown = self.shown(case_id, reader)
        cid = self.project.set_candidate_state(case_id, candidate_id, state, reader, centre=centre,
                                               diameter=diameter, note=note, action=action, shown=shown)
        new = {"state": str(state)}
        if centre is not None:
            new["centre"] = [float(v) for v in centre]
        if diameter is not None:
            new["diameter"] = float(diameter)
        return self._announce(Change(case_id, reader, Tag.FINAL, old, new, action, candidate_id=cid,
                                     shown=shown, note=note))

    def set_box(self, case_id: str | None, box_id: str | None, finding: str | None, x=None, y=None, w=None,
                h=None, *, source: str = "reader", score: float | None = None, note: str | None = None,
                reader: str | None = None) -> Change:
        """Store a reader's box (image pixels) of `finding` (a new one when box_id is None). Audited
        "confirm" when it accepts a model's box (source heatmap/detector), else "correct"."""
        case_id = self._case(case_id)
        reader = self.require_reader(reader)
        action = decisions.box_action("drawn", source)
        return self._box(case_id, box_id, reader, action, note,
                         dict(finding=finding, x=x, y=y, w=w, h=h, source=source, score=score))

    def delete_box(self, case_id: str | None, box_id: str, *, note: str | None = None,
                   reader: str | None = None) -> Change:
        """Delete one of the reader's boxes (audited "correct", undoable)."""
        case_id = self._case(case_id)
        reader = self.require_reader(reader)
        return self._box(case_id, box_id, reader, decisions.box_action("deleted", None), note, None)

    def _box(self, case_id, box_id, reader, action, note, fields) -> Change:
        before = {b.box_id: b for b in self.project.boxes(case_id, reader=reader, deleted=True)}
        shown = self.shown(case_id, reader)
        if fields is None:
            new_id = self.project.set_box(case_id, box_id, None, reader=reader, state=BoxState.DELETED, note=note,
                                          action=action, shown=shown)
        else:
            new_id = self.project.set_box(case_id, box_id, reader=reader, note=note, action=action, shown=shown,
                                          **fields)
        after = {b.box_id: b for b in self.project.boxes(case_id, reader=reader, deleted=True)}
        old = before.get(new_id)
        return self._announce(Change(case_id, reader, Tag.FINAL, _box_value(old), _box_value(after.get(new_id)),
                                     action, candidate_id=new_id, shown=shown, note=note))

    # ---- segmentation and measurements (core/segmentation/recording.py, core/measurements/recording.py)
    def save_segment(self, case_id: str | None, segment: str, mask=None, grid=None, *, written=None,
                     reader: str | None = None, source: str = "reader", action: str | None = None,
                     note: str | None = None) -> Change:
        """Store the reader's mask of `segment` as a new audited, undoable version; `written`: the
        value of a file already written by segmentation.store.write_mask_file (a view writes off
        the GUI thread). Audited "correct" ("import" for a model's mask)."""
        from workstation.core.segmentation import recording

        return self._announce(recording.save(self, self._case(case_id), segment, mask, grid, written=written,
                                             reader=reader, source=source, action=action, note=note))

    def measure(self, case_id: str | None, kind: str, points, grid=None, image=None, normal=None, *,
                label: str = "", note: str | None = None, reader: str | None = None) -> Change:
        """Measure (line, angle, ellipse, polygon, sphere; world LPS mm) and store it for the reader."""
        from workstation.core.measurements import recording

        return self._announce(recording.measure(self, self._case(case_id), kind, points, grid, image, normal,
                                                label=label, note=note, reader=reader))

    def delete_measurement(self, case_id: str | None, measurement_id: str, *, note: str | None = None,
                           reader: str | None = None) -> Change:
        from workstation.core.measurements import recording

        return self._announce(recording.delete(self, self._case(case_id), measurement_id, note=note, reader=reader))

    # ---- metrics -------------------------------------------------------------------------------
    def froc_inputs(self, reader: str | None = None):
        """(subject matches, summary) for FROC from the detector's candidates and the reader's
        decisions (default: this session's reader); see core/review/froc.py."""
        from workstation.core.review.froc import froc_inputs

        return froc_inputs(self.project, reader if reader is not None else self._reader, self.plugin_id)

    # ---- helpers -------------------------------------------------------------------------------
    def _case(self, case_id: str | None) -> str:
        if self.project is None:
            raise ReviewError("no project is open")
        case_id = case_id if case_id is not None else self._current
        if case_id is None:
            raise ReviewError("no case selected")
        return case_id

    def _announce(self, change: Change, text: str | None = None) -> Change:
        self.worklist.apply(change)
        self.events.changed.emit(change)
        self.events.message.emit(text or decisions.describe(change))
        return change


def _clean(name: str | None) -> str | None:
    name = name.strip() if isinstance(name, str) else None
    return name or None


def _member(enum, value, what: str):
    try:
        return enum(value)
    except ValueError:
        raise ReviewError(f"unknown {what} {value!r}; expected one of {', '.join(enum.values())}") from None


def _box_value(box) -> dict | None:
    if box is None:
        return None
    return {"finding": box.finding, "x": box.x, "y": box.y, "w": box.w, "h": box.h, "state": box.state,
            "source": box.source, "score": box.score}
