"""The session's worklist: the project's cases in the session's order and filter, and what the
session knows of each (latest prediction, labels) without asking the database per case.

Nothing is read until something needs the whole list: a scripted single label asks the database
for that one case only. Rows stay where they are when a label changes (a labelled case does not
vanish from "unlabelled" under the reader's hands); the filter applies again when it is set again.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from workstation.core.review import flags as flags_mod
from workstation.core.vocab import Tag

FILTERS = ("all", "unlabelled", "disagreement", "low_confidence", "uncertain", "cases")  # + label:/predicted:


@dataclass
class _Data:
    ids: list[str]
    row_of: dict[str, int]
    probs: Any                                       # n x K in class order, NaN where not predicted
    labels: dict[str, dict[tuple[str, str], tuple]] = field(default_factory=dict)  # case -> (reader, tag) -> (value, note, at)
    records: dict[str, Any] = field(default_factory=dict)  # PredictionRecords read so far (None: none)
    all_records: bool = False
    snapshot: Any = None                             # the core.project.snapshot.Snapshot it was made from


class Worklist:
    def __init__(self, session):
        self.session = session
        self.reset()

    def reset(self) -> None:
        self._data: _Data | None = None
        self._order: Sequence[str] | str | None = None
        self._filter: tuple[str, frozenset | None, str] = ("all", None, "")
        self._view: list[str] | None = None
        self._position: dict[str, int] | None = None

    def refilter(self) -> None:
        """Apply the order and filter again on the next `case_ids()` (what was read stays)."""
        self._view = None
        self._position = None

    def invalidate(self) -> None:
        """Forget what was read (labels or predictions changed behind the session's back)."""
        self._data = None
        self._view = None
        self._position = None

    # ---- reading -------------------------------------------------------------------------------
    @property
    def project(self):
        return self.session.project

    def loaded(self) -> bool:
        return self._data is not None

    def data(self) -> _Data:
        """One bulk read (the worklist's snapshot: the probability matrix is shared with the GUI's
        table through the project's cache); prediction records are read per case when needed."""
        if self._data is None:
            from workstation.core.project import snapshot

            snap = snapshot.read(self.project, self.session.plugin_id)
            labels: dict[str, dict] = {}
            get = labels.get
            collecting = gc.isenabled()
            gc.disable()  # 100,000 small dicts: the cyclic collector would walk the heap again and again
            try:
                for case_id, reader, tag, value, note, updated_at in snap.labels:
                    rows = get(case_id)
                    if rows is None:
                        rows = labels[case_id] = {}
                    rows[(reader, tag)] = (value, note, updated_at)
            finally:
                if collecting:
                    gc.enable()
            self._data = _Data(snap.case_ids, snap.row_of, snap.probs, labels, snapshot=snap)
        return self._data

    def snapshot(self):
        """The bulk read behind the worklist (case ids, probability matrix, label rows): a view that
        needs the same arrays can take them from here instead of reading them again."""
        return self.data().snapshot

    def preload_predictions(self) -> None:
        """Every case's prediction record at once (a batch decides thousands of cases)."""
        data = self.data()
        if not data.all_records:
            data.records = self.project.latest_predictions(self.session.plugin_id)
            data.all_records = True

    def has_case(self, case_id: str) -> bool:
        if self.project is None:
            return False
        if self._data is not None:
            return case_id in self._data.row_of
        from workstation.core.project import UnknownCaseError

        try:
            self.project.case(case_id)
        except UnknownCaseError:
            return False
        return True

    def prediction(self, case_id: str):
        if self.project is None:
            return None
        data = self._data
        if data is not None and (case_id in data.records or data.all_records):
            return data.records.get(case_id)
        from workstation.core.project import predictions

        found = predictions.latest(self.project.engine, self.session.plugin_id, case_id=case_id)
        record = found[0] if found else None
        if data is not None:
            data.records[case_id] = record
        return record

    def suggestion(self, case_id: str) -> Any:
        from workstation.core.review import decisions

        session = self.session
        data = self._data
        if data is not None and case_id in data.row_of:
            return decisions.suggestion_from_row(data.probs[data.row_of[case_id]], session.task, session.classes,
                                                 session.threshold)
        return decisions.suggestion(self.prediction(case_id), session.task, session.classes, session.threshold)

    def top_probability(self, case_id: str) -> float | None:
        data = self.data()
        i = data.row_of.get(case_id)
        given = [float(p) for p in data.probs[i] if p == p] if i is not None else []
        return max(given) if given else None

    def reader_label(self, case_id: str, reader: str | None, tag: str = Tag.FINAL) -> Any:
        if reader is None or self.project is None:
            return None
        if self._data is not None and tag in (Tag.FINAL, Tag.ADJUDICATED):
            found = self._data.labels.get(case_id, {}).get((reader, tag))
            return found[0] if found else None
        label = self.project.label(case_id, reader=reader, tag=tag)
        return label.value if label is not None else None

    def shown_label(self, case_id: str) -> Any:
        """The label a view shows for the case: the reader's own, else the adjudicated one, else
        the newest final label of anyone."""
        found = self.data().labels.get(case_id, {})
        me = self.session.reader
        best, value = None, None
        for (reader, tag), (v, _note, at) in found.items():
            key = (tag == Tag.FINAL and reader == me, tag == Tag.ADJUDICATED, at)
            if best is None or key > best:
                best, value = key, v
        return value

    def shown_reader(self, case_id: str) -> str:
        """Who gave `shown_label`: the reader, with " (adjudicated)" for an adjudicated label."""
        found = self.data().labels.get(case_id, {})
        me = self.session.reader
        best, who = None, ""
        for (reader, tag), (_v, _note, at) in found.items():
            key = (tag == Tag.FINAL and reader == me, tag == Tag.ADJUDICATED, at)
            if best is None or key > best:
                best, who = key, reader + (" (adjudicated)" if tag == Tag.ADJUDICATED else "")
        return who

    @property
    def filter(self) -> tuple[str, frozenset | None, str]:
        """(kind, case ids or None, search) as last set."""
        return self._filter

    def flags(self, case_id: str) -> flags_mod.Flags:
        session = self.session
        top = self.top_probability(case_id)
        has_note = any(note for (_v, note, _at) in self.data().labels.get(case_id, {}).values())
        return flags_mod.case_flags(session.task, session.suggestion(case_id), self.shown_label(case_id), top,
                                    has_note, session.low_confidence)

    def apply(self, change) -> None:
        """Keep what was read in step with an edit made through the session."""
        if self._data is None or change.candidate_id or change.tag not in (Tag.FINAL, Tag.ADJUDICATED):
            return
        from workstation.core.project.records import now

        rows = self._data.labels.setdefault(change.case_id, {})
        key = (change.reader, change.tag)
        if change.new is None:
            rows.pop(key, None)
        else:
            rows[key] = (change.new, change.note if change.action not in ("undo", "redo") else rows.get(key, (0, None))[1],
                         now())

    # ---- order and filter ----------------------------------------------------------------------
    def set_order(self, by) -> None:
        if isinstance(by, str):
            from workstation.core.review.ordering import ORDERINGS

            if by not in ORDERINGS:
                raise ValueError(f"unknown ordering {by!r}; choose one of {', '.join(ORDERINGS)}")
        self._order = by if by is None or isinstance(by, str) else list(by)
        self._view = None
        self._position = None

    def set_filter(self, kind: str, case_ids: Iterable[str] | None, search: str) -> None:
        if kind not in FILTERS and not kind.startswith(("label:", "predicted:")):
            raise ValueError(f"unknown worklist filter {kind!r}")
        self._filter = (kind, frozenset(case_ids) if case_ids is not None else None, search or "")
        self._view = None
        self._position = None

    def case_ids(self) -> list[str]:
        if self._view is None:
            ordered = self._ordered()
            kind, wanted, search = self._filter
            needle = search.lower()
            if kind == "all" and not needle:
                self._view = ordered
            else:
                self._view = [c for c in ordered if self._keeps(kind, wanted, c) and needle in c.lower()]
            self._position = None  # made on the first step
        return list(self._view)

    def first(self) -> str | None:
        ids = self.case_ids()
        return ids[0] if ids else None

    def step(self, current: str | None, delta: int) -> str | None:
        ids = self.case_ids()
        if not ids:
            return None
        if self._position is None:
            self._position = {c: i for i, c in enumerate(self._view)}
        if current is None or current not in self._position:
            return ids[0] if delta >= 0 else ids[-1]
        target = self._position[current] + delta
        return ids[target] if 0 <= target < len(ids) else None

    def _ordered(self) -> list[str]:
        data = self.data()
        by = self._order
        if by is None:
            return list(data.ids)
        if isinstance(by, str):
            from workstation.core.review.ordering import order_project

            truth = self.session.reader or Tag.FINAL
            return order_project(self.project, by, truth=truth, plugin_id=self.session.plugin_id)
        known = [c for c in dict.fromkeys(by) if c in data.row_of]
        listed = set(known)
        return known + [c for c in data.ids if c not in listed]

    def _keeps(self, kind: str, wanted: frozenset | None, case_id: str) -> bool:
        session = self.session
        if kind == "all":
            return True
        if kind == "cases":
            return case_id in (wanted or ())
        if kind == "unlabelled":
            return self.reader_label(case_id, session.reader) is None
        if kind == "uncertain":
            return self.shown_label(case_id) in flags_mod.STATES
        if kind == "disagreement":
            return bool(self.flags(case_id) & flags_mod.Flags.DISAGREE)
        if kind == "low_confidence":
            return bool(self.flags(case_id) & flags_mod.Flags.LOW_CONFIDENCE)
        name = kind.split(":", 1)[1]
        if kind.startswith("label:"):
            value = self.shown_label(case_id)
            return value == name or (isinstance(value, list) and name in value)
        suggestion = session.suggestion(case_id)  # predicted:<class>
        return suggestion == name or (isinstance(suggestion, list) and name in suggestion)


__all__ = ["Worklist", "FILTERS"]
