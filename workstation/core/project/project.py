"""The Project facade: one folder, one database; cases, labels per reader, undo, audit, predictions.

Every label edit is committed (and, on SQLite, synced to disk) before `set_label` returns and
before `events.label_changed` fires, so a view never shows a label that a crash could lose.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Iterable

from psygnal import Signal, SignalGroup
from sqlalchemy import Text, cast, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from workstation.core.project import config as config_mod
from workstation.core.project import boxes as boxes_mod
from workstation.core.project import audit_chain, candidate_ids
from workstation.core.project import predictions, store
from workstation.core.project.config import ProjectConfig, ProjectError
from workstation.core.project.models import AuditRow, CaseRow, LabelRow
from workstation.core.project.records import (ACTIONS, CANDIDATE_STATES, TAGS, AuditEntry, Case, EvaluationTable, Label, PredictionRecord, now)
from workstation.core.project.undo import SetLabelCommand, UndoStack
from workstation.core.project.values import normalize
from workstation.core.vocab import Tag, Task

C, L, A = CaseRow.__table__, LabelRow.__table__, AuditRow.__table__


class UnknownCaseError(ProjectError, LookupError):
    pass


class ProjectEvents(SignalGroup):
    label_changed = Signal(str)
    predictions_changed = Signal()
    cases_changed = Signal()


class Project:
    def __init__(self, directory: Path, cfg: ProjectConfig, engine):
        self.directory = Path(directory)
        self.config = cfg
        self._engine = engine
        self._url = config_mod.database_url(self.directory, cfg)
        self._undo = UndoStack()
        self._lock = threading.RLock()
        self._pred_cache: dict[str | None, tuple[int, dict[str, PredictionRecord]]] = {}
        self._matrix_cache: dict[str | None, tuple[tuple, object]] = {}
        self._taxonomy: tuple | None = None  # (Taxonomy | None,) once read
        self.events = ProjectEvents()

    # ---- opening -------------------------------------------------------------------------------
    @classmethod
    def create(cls, directory, task: str, classes: Iterable[str] = (), db_url: str | None = None,
               readers: Iterable[str] = (), app_role: str | None = None, taxonomy=None) -> "Project":
        """A new project. With a PostgreSQL `db_url` naming the owner role, `app_role` is granted
        what the app needs and no more, and the project file names it (server_roles.py). A password
        in `db_url` is used now and never written down. `taxonomy` (a core.taxonomy.Taxonomy or its
        nested-object form) makes a multiclass project whose classes are its leaves (`classes`
        may then be empty: the leaves in tree order)."""
        from workstation.core.project import server_roles

        directory = Path(directory)
        if cls.is_project_dir(directory):
            raise ProjectError(f"{directory}: already a project (open it instead)")
        saved_url, _ = server_roles.split_password(db_url)
        classes = [c.strip() for c in classes]
        if taxonomy is not None:
            from workstation.core.project import taxonomy_store

            taxonomy, classes = taxonomy_store.coerce(taxonomy, task, classes)
        cfg = ProjectConfig(task=task, classes=classes, readers=list(readers), db_url=db_url)
        cfg.validate()
        if app_role and not db_url:
            raise ProjectError("--app-role needs a PostgreSQL --db URL")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"{directory}: cannot create the project folder ({exc.strerror})") from None
        engine = store.open_engine(config_mod.database_url(directory, cfg), create=True)
        if app_role:
            try:
                with store.translated_errors(saved_url):
                    server_roles.grant_app_role(engine, app_role)
            finally:
                engine.dispose()
            saved_url = server_roles.with_user(saved_url, app_role)
            cfg.db_url = saved_url
            engine = store.open_engine(config_mod.database_url(directory, cfg))
        if taxonomy is not None:
            with store.translated_errors(saved_url or ""), store.write(engine) as conn, conn.begin():
                taxonomy_store.write(conn, taxonomy)
        cfg.db_url = saved_url
        config_mod.save(directory, cfg)  # last: a failed database leaves no half-made project
        project = cls(directory, cfg, engine)
        project._taxonomy = (taxonomy,)
        return project

    @classmethod
    def open(cls, directory) -> "Project":
        directory = Path(directory)
        cfg = config_mod.load(directory)
        return cls(directory, cfg, store.open_engine(config_mod.database_url(directory, cfg)))

    @staticmethod
    def is_project_dir(path) -> bool:
        return (Path(path) / config_mod.CONFIG_NAME).is_file()

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def task(self) -> str:
        return self.config.task

    @property
    def classes(self) -> list[str]:
        return list(self.config.classes)

    @property
    def taxonomy(self):
        """The project's class hierarchy (core.taxonomy.Taxonomy), None for a flat list of classes."""
        if self._taxonomy is None and self.task != Task.MULTICLASS:
            self._taxonomy = (None,)  # only a multi-class project has one: no query, no import
        if self._taxonomy is None:
            from workstation.core.project import taxonomy_store

            with store.translated_errors(self._url), self._engine.connect() as conn:
                self._taxonomy = (taxonomy_store.read(conn),)
        return self._taxonomy[0]

    @property
    def label_nodes(self) -> list[str]:
        """The taxonomy's inner nodes: names a label may take besides the classes."""
        return list(self.taxonomy.inner_nodes) if self.taxonomy is not None else []

    def set_taxonomy(self, tree) -> int:
        """Put a new version of the class hierarchy in force (its leaves must be the classes, every
        stored label must name one of its nodes); returns its version number."""
        from workstation.core.project import taxonomy_store

        taxonomy, _ = taxonomy_store.coerce(tree, self.task, self.classes)
        with self._lock, store.translated_errors(self._url), store.write(self._engine) as conn, conn.begin():
            taxonomy_store.check_labels(taxonomy, conn.execute(
                select(L.c.case_id, L.c.value).where(L.c.candidate_id == "")).all())
            version = taxonomy_store.write(conn, taxonomy)
        self._taxonomy = (taxonomy,)
        return version

    @property
    def engine(self):
        return self._engine

    @property
    def db_url(self) -> str:
        return store._redact(self._url)

    def readers(self) -> list[str]:
        """Configured readers plus everyone who has labelled, in first-seen order."""
        with store.translated_errors(self._url), self._engine.connect() as conn:
            seen = [r for (r,) in conn.execute(select(L.c.reader).where(L.c.tag == Tag.FINAL).distinct())]
        return list(dict.fromkeys(self.config.readers + sorted(seen)))

    def add_reader(self, name: str) -> None:
        if name and name not in self.config.readers:
            self.config.readers.append(name)
            config_mod.save(self.directory, self.config)

    # ---- cases ---------------------------------------------------------------------------------
    def add_case(self, paths, case_id: str | None = None, patient_id: str | None = None,
                 study_id: str | None = None, metadata: dict | None = None) -> Case:
        return self.add_cases([dict(paths=paths, case_id=case_id, patient_id=patient_id,
                                    study_id=study_id, metadata=metadata)])[0]

    def add_cases(self, items: Iterable[dict]) -> list[Case]:
        """Add many cases in one transaction (dicts with the keywords of add_case). A missing case_id
        is made from `name` or the first path's file name, with -2, -3... where it is taken."""
        cases: list[Case] = []
        with self._lock, store.translated_errors(self._url), store.write(self._engine) as conn, conn.begin():
            taken = set()
            for item in items:
                paths = item["paths"]
                paths = [str(paths)] if isinstance(paths, (str, Path)) else [str(p) for p in paths]
                if not paths:
                    raise ProjectError("a case needs at least one image path")
                wanted = item.get("case_id")
                if wanted:
                    if wanted in taken or self._case_exists(conn, wanted):
                        raise ProjectError(f"case {wanted!r} already exists in this project")
                    case_id = wanted
                else:
                    case_id = self._free_id(conn, _id_from_path(item.get("name") or paths[0]), taken)
                taken.add(case_id)
                cases.append(Case(case_id, paths, item.get("patient_id"), item.get("study_id"),
                                  dict(item.get("metadata") or {})))
            stamp = now()
            if cases:
                conn.execute(insert(C), [dict(case_id=c.case_id, paths=c.paths, patient_id=c.patient_id,
                                              study_id=c.study_id, metadata=c.metadata, added_at=stamp)
                                         for c in cases])
        if cases:
            self.events.cases_changed.emit()
        return cases

    @staticmethod
    def _case_exists(conn, case_id: str) -> bool:
        return conn.execute(select(C.c.id).where(C.c.case_id == case_id)).first() is not None

    def _free_id(self, conn, base: str, taken: set) -> str:
        candidate, n = base, 1
        while candidate in taken or self._case_exists(conn, candidate):
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def cases(self) -> list[Case]:
        query = select(C.c.case_id, C.c.paths, C.c.patient_id, C.c.study_id, C.c.metadata).order_by(C.c.id)
        with store.translated_errors(self._url), self._engine.connect() as conn:
            return [Case(*row) for row in conn.execute(query)]

    def case_ids(self) -> list[str]:
        with store.translated_errors(self._url), self._engine.connect() as conn:
            return list(conn.execute(select(C.c.case_id).order_by(C.c.id)).scalars())

    def case(self, case_id: str) -> Case:
        query = select(C.c.case_id, C.c.paths, C.c.patient_id, C.c.study_id, C.c.metadata)
        with store.translated_errors(self._url), self._engine.connect() as conn:
            row = conn.execute(query.where(C.c.case_id == case_id)).first()
        if row is None:
            raise UnknownCaseError(f"no case {case_id!r} in this project")
        return Case(*row)

    def update_case_metadata(self, case_id: str, changes: dict[str, Any]) -> Case:
        """Merge `changes` into a case's metadata (one transaction) and announce cases_changed."""
        with self._lock, store.translated_errors(self._url), store.write(self._engine) as conn, conn.begin():
            row = conn.execute(select(C.c.metadata).where(C.c.case_id == case_id).with_for_update()).first()
            if row is None:
                raise UnknownCaseError(f"no case {case_id!r} in this project")
            meta = dict(row[0] or {})
            meta.update(changes)
            conn.execute(update(C).where(C.c.case_id == case_id).values(metadata=meta))
        self.events.cases_changed.emit()
        return self.case(case_id)

    def __len__(self) -> int:
        with store.translated_errors(self._url), self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(C)).scalar()

    # ---- labels --------------------------------------------------------------------------------
    def set_label(self, case_id: str, value, reader: str, tag: str = "final", action: str = "confirm",
                  shown: Any = None, note: str | None = None, undoable: bool = True) -> Any:
        """Store `value` as `reader`'s `tag` label of the case; returns the stored (normalised) value.
        `shown` is the model output the reader saw (None: the case's latest prediction, if any)."""
        value = normalize(value, self.task, self.classes, self.label_nodes)
        self._check_tag_reader(tag, reader)
        if action not in ACTIONS or action in ("undo", "redo"):
            raise ProjectError(f"unknown action {action!r}; expected confirm, correct, import or adjudicate")
        if shown is None:
            shown = self._shown_for(case_id)
        return self._edit(case_id, "", reader, tag, value, note, action, shown, undoable)

    def clear_label(self, case_id: str, reader: str, tag: str = "final", note: str | None = None) -> None:
        self._check_tag_reader(tag, reader)
        self._edit(case_id, "", reader, tag, None, note, "clear", None, True)

    @staticmethod
    def _check_tag_reader(tag: str, reader: str) -> None:
        if tag not in TAGS:
            raise ProjectError(f"unknown tag {tag!r}; expected one of {TAGS}")
        if not reader or not reader.strip():
            raise ProjectError("a label needs a reader name")

    def _shown_for(self, case_id: str):
        found = predictions.latest(self._engine, case_id=case_id)
        return found[0].shown() if found else None

    def _edit(self, case_id, candidate_id, reader, tag, value, note, action, shown, undoable):
        with self._lock:
            old, old_note = self._write(case_id, candidate_id, reader, tag, value, note, action, shown)
            if undoable:
                self._undo.push(SetLabelCommand(case_id, reader, tag, candidate_id, old, value, note, old_note))
        self.events.label_changed.emit(case_id)
        return value

    def _write(self, case_id, candidate_id, reader, tag, value, note, action, shown):
        """One transaction: lock the label row, write the new value, append the audit entry."""
        for attempt in range(5):
            try:
                with store.translated_errors(self._url), store.write(self._engine) as conn, conn.begin():
                    return self._write_in(conn, case_id, candidate_id, reader, tag, value, note, action, shown)
            except ProjectError as exc:
                # Two first labels of one target at once: the loser retries and becomes an update.
                if isinstance(exc.__cause__, IntegrityError) and attempt < 4:
                    continue
                raise
        raise AssertionError("unreachable")

    def _write_in(self, conn, case_id, candidate_id, reader, tag, value, note, action, shown):
        """Inside the caller's transaction. Returns (old value, old note)."""
        target = ((L.c.case_id == case_id) & (L.c.candidate_id == candidate_id)
                  & (L.c.reader == reader) & (L.c.tag == tag))
        if not self._case_exists(conn, case_id):
            raise UnknownCaseError(f"no case {case_id!r} in this project")
        row = conn.execute(select(L.c.id, L.c.value, L.c.note).where(target).with_for_update()).first()
        old, old_note = (row.value, row.note) if row else (None, None)
        stamp = now()
        if value is None:
            if row is not None:
                conn.execute(delete(L).where(L.c.id == row.id))
        elif row is None:
            conn.execute(insert(L), dict(case_id=case_id, candidate_id=candidate_id, reader=reader,
                                         tag=tag, value=value, note=note, updated_at=stamp))
        else:
            conn.execute(update(L).where(L.c.id == row.id).values(value=value, note=note, updated_at=stamp))
        audit_chain.append(conn, [dict(at=stamp, case_id=case_id, candidate_id=candidate_id, reader=reader, tag=tag,
                                       action=action, old_value=old, new_value=value, shown=shown, note=note)])
        return old, old_note

    def set_labels(self, items: Iterable[dict], undoable: bool = False) -> list[Any]:
        """Store many case labels in one transaction (all or none), each audited as `set_label`
        would: dicts with its keywords (case_id, value, reader, tag, action, shown, note; shown None
        is stored as None). Returns the old value of each."""
        rows, nodes = [], self.label_nodes
        for item in items:
            tag, reader, action = item.get("tag", "final"), item.get("reader"), item.get("action", "confirm")
            self._check_tag_reader(tag, reader)
            if action not in ACTIONS or action in ("undo", "redo"):
                raise ProjectError(f"unknown action {action!r}; expected confirm, correct, import or adjudicate")
            rows.append((item["case_id"], normalize(item["value"], self.task, self.classes, nodes), reader, tag,
                         item.get("note"), action, item.get("shown")))
        from workstation.core.project import bulk_labels

        with self._lock:
            for attempt in range(5):
                try:
                    with store.translated_errors(self._url), store.write(self._engine) as conn, conn.begin():
                        olds, audit_rows, missing = bulk_labels.write(conn, rows)
                        if missing:
                            raise UnknownCaseError(f"no case {sorted(missing)[0]!r} in this project"
                                                   + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
                        audit_chain.append(conn, audit_rows)
                    break
                except ProjectError as exc:
                    # a first label of one target written by someone else meanwhile: read again
                    if isinstance(exc.__cause__, IntegrityError) and attempt < 4:
                        continue
                    raise
            if undoable:
                for (case_id, value, reader, tag, note, _action, _shown), (old, old_note) in zip(rows, olds):
                    self._undo.push(SetLabelCommand(case_id, reader, tag, "", old, value, note, old_note))
        for case_id in dict.fromkeys(r[0] for r in rows):
            self.events.label_changed.emit(case_id)
        return [old for old, _note in olds]

    def labels(self, case_id: str | None = None, reader: str | None = None, tag: str | None = None,
               candidates: bool = False, boxes: bool = False) -> list[Label]:
        """Case-level labels; with `candidates`, decisions on detection candidates; with `boxes`,
        localisation boxes (see boxes.py)."""
        query = select(L.c.case_id, L.c.reader, L.c.tag, cast(L.c.value, Text), L.c.note, L.c.updated_at,
                       L.c.candidate_id)
        is_box = L.c.candidate_id.startswith(boxes_mod.BOX_PREFIX)
        if boxes:
            query = query.where(is_box)
        elif candidates:  # segmentation versions ("seg:") and measurements ("meas:") are not candidates
            query = query.where(L.c.candidate_id != "", ~is_box, ~L.c.candidate_id.startswith("seg:"),
                                ~L.c.candidate_id.startswith("meas:"))
        else:
            query = query.where(L.c.candidate_id == "")
        for column, wanted in ((L.c.case_id, case_id), (L.c.reader, reader), (L.c.tag, tag)):
            if wanted is not None:
                query = query.where(column == wanted)
        with store.translated_errors(self._url), self._engine.connect() as conn:
            rows = conn.execute(query.order_by(L.c.id)).all()
        values = store.decode_json([r[3] for r in rows])
        return [Label(r[0], r[1], r[2], v, r[4], r[5], r[6]) for r, v in zip(rows, values)]

    def label(self, case_id: str, reader: str | None = None, tag: str = "final") -> Label | None:
        """The newest label of a case under `tag` (by `reader` when given)."""
        found = self.labels(case_id=case_id, reader=reader, tag=tag)
        return max(found, key=lambda lab: lab.updated_at) if found else None

    # ---- undo ----------------------------------------------------------------------------------
    def can_undo(self) -> bool:
        return self._undo.can_undo()

    def can_redo(self) -> bool:
        return self._undo.can_redo()

    def undo(self) -> SetLabelCommand | None:
        with self._lock:
            cmd = self._undo.undo(lambda c: self._write(c.case_id, c.candidate_id, c.reader, c.tag,
                                                        c.old_value, c.old_note, "undo", None))
        if cmd:
            self.events.label_changed.emit(cmd.case_id)
        return cmd

    def redo(self) -> SetLabelCommand | None:
        with self._lock:
            cmd = self._undo.redo(lambda c: self._write(c.case_id, c.candidate_id, c.reader, c.tag,
                                                        c.new_value, c.note, "redo", None))
        if cmd:
            self.events.label_changed.emit(cmd.case_id)
        return cmd

    def audit(self, case_id: str | None = None) -> list[AuditEntry]:
        query = select(A).order_by(A.c.id)
        if case_id is not None:
            query = query.where(A.c.case_id == case_id)
        with store.translated_errors(self._url), self._engine.connect() as conn:
            return [AuditEntry(**row._mapping) for row in conn.execute(query)]

    def verify(self, expect_head: str | None = None) -> audit_chain.Verification:
        """Check the audit's hash chain, that every label equals the audit's last word for it, and
        that the append-only triggers are in place."""
        with store.translated_errors(self._url), self._engine.connect() as conn:
            return audit_chain.verify(conn, expect_head)

    # ---- detection candidates -------------------------------------------------------------------
    def set_candidate_state(self, case_id: str, candidate_id: str | None, state: str, reader: str,
                            centre=None, diameter: float | None = None, note: str | None = None,
                            action: str | None = None, shown: Any = None) -> str:
        """Record a reader's decision on a detection candidate (an audited, undoable label).
        state "added" with no candidate_id makes a new id; it needs centre (world mm) and diameter."""
        if state not in CANDIDATE_STATES:
            raise ProjectError(f"unknown candidate state {state!r}; expected one of {CANDIDATE_STATES}")
        if not reader:
            raise ProjectError("a decision needs a reader name")
        if state == "added" and (centre is None or diameter is None):
            raise ProjectError("an added candidate needs a centre (world mm) and a diameter")
        if candidate_id and boxes_mod.is_box_id(candidate_id):
            raise ProjectError(f"{candidate_id!r} names a box, not a detection candidate")
        if not candidate_id:
            if state != "added":
                raise ProjectError("a candidate decision needs a candidate_id")
            taken = {lab.candidate_id for lab in self.labels(case_id=case_id, candidates=True)}
            n = len(taken) + 1
            while f"added-{n}" in taken:
                n += 1
            candidate_id = f"added-{n}"
        value: dict[str, Any] = {"state": state}
        if centre is not None:
            value["centre"] = [float(v) for v in centre]
        if diameter is not None:
            value["diameter"] = float(diameter)
        if action is None:  # the review session passes its decision; this default is the same rule
            from workstation.core.review.decisions import candidate_action
            action = candidate_action(state)
        self._edit(case_id, str(candidate_id), reader, "final", value, note, action,
                   self._shown_for(case_id) if shown is None else shown, True)
        return str(candidate_id)

    def candidate_states(self, case_id: str, reader: str | None = None) -> dict[str, dict[str, Any]]:
        """{candidate_id: {state, centre, diameter, reader, updated_at, run?}}; newest decision wins.
        A decision on a detector candidate carries that candidate's centre and diameter as the reader
        saw it, and run = {plugin_id, created_at} of that run (see candidate_ids.py), also when the
        latest run no longer has it; centre is absent only where no stored run has the id."""
        out: dict[str, dict[str, Any]] = {}
        for lab in self.labels(case_id=case_id, reader=reader, tag="final", candidates=True):
            if lab.candidate_id not in out or lab.updated_at >= out[lab.candidate_id]["updated_at"]:
                out[lab.candidate_id] = dict(lab.value, reader=lab.reader, updated_at=lab.updated_at)
        if any(s.get("centre") is None for s in out.values()):
            with store.translated_errors(self._url), self._engine.connect() as conn:
                history = candidate_ids.load(conn, [case_id], decisions=False)[case_id]
            candidate_ids.locate_decisions(out, history)
        return out

    # ---- localisation boxes --------------------------------------------------------------------
    def set_box(self, case_id: str, box_id: str | None, finding: str | None, x=None, y=None, w=None, h=None,
                reader: str = "", state: str = "drawn", source: str = "reader", score: float | None = None,
                note: str | None = None, action: str | None = None, shown: Any = None) -> str:
        """Store a reader's box (x, y, w, h in image pixels) of `finding` as an audited, undoable label;
        returns its id ("box:<n>"; a new one when box_id is None). state "deleted" needs the box_id
        of the reader's own box and keeps its geometry when finding and x, y, w, h are None."""
        if not reader or not reader.strip():
            raise ProjectError("a box needs a reader name")
        if box_id and not boxes_mod.is_box_id(box_id):
            raise ProjectError(f"{box_id!r} is not a box id (box ids start with {boxes_mod.BOX_PREFIX!r})")
        if state == "deleted" and not box_id:
            raise ProjectError("deleting a box needs its box_id")
        if box_id:  # a reader changes only their own boxes
            mine = {b.box_id: b for b in self.boxes(case_id, reader=reader, deleted=True)}
            if box_id not in mine:
                raise ProjectError(f"{reader!r} has no box {box_id!r} on case {case_id!r}")
        if state == "deleted":
            old = mine[box_id]
            finding = old.finding if finding is None else finding
            x, y, w, h = (old.x, old.y, old.w, old.h) if x is None else (x, y, w, h)
            source, score = old.source, old.score if score is None else score
        value = boxes_mod.box_value(finding, x, y, w, h, state, source, score, self.classes)
        if not box_id:
            box_id = boxes_mod.new_box_id({lab.candidate_id for lab in self.labels(case_id=case_id, boxes=True)})
        if action is None:  # the review session passes its decision; this default is the same rule
            from workstation.core.review.decisions import box_action
            action = box_action(state, source)
        self._edit(case_id, box_id, reader, "final", value, note, action,
                   self._shown_for(case_id) if shown is None else shown, True)
        return box_id

    def delete_box(self, case_id: str, box_id: str, reader: str, note: str | None = None) -> str:
        return self.set_box(case_id, box_id, None, reader=reader, state="deleted", note=note)

    def boxes(self, case_id: str | None = None, reader: str | None = None,
              deleted: bool = False) -> list["boxes_mod.StoredBox"]:
        """The boxes of a case (or of all cases), oldest first; deleted ones only when asked."""
        found = [boxes_mod.from_label(lab) for lab in self.labels(case_id=case_id, reader=reader, tag="final",
                                                                  boxes=True)]
        found.sort(key=lambda b: (b.case_id, boxes_mod.box_number(b.box_id)))
        return [b for b in found if deleted or b.state != "deleted"]

    # ---- predictions ---------------------------------------------------------------------------
    def add_predictions(self, records: Iterable[PredictionRecord]) -> int:
        """Store model outputs. Detection candidates get ids that keep readers' decisions with their
        focus across re-runs (candidate_ids.py); `record.candidates` is replaced by the stored list."""
        records = list(records)
        for record in records:
            predictions.check(record, self.task, self.classes)
            candidate_ids.check(record.candidates or [], record.case_id)
        with self._lock, store.translated_errors(self._url), store.write(self._engine) as conn, conn.begin():
            missing = {r.case_id for r in records} - set(
                conn.execute(select(C.c.case_id).where(C.c.case_id.in_({r.case_id for r in records}))).scalars())
            if missing:
                raise UnknownCaseError(f"predictions for cases not in the project: {sorted(missing)[:5]}")
            detected = sorted({r.case_id for r in records if r.candidates})
            if detected:  # FOR UPDATE: two runs stored at once on PostgreSQL cannot hand out one new id twice
                conn.execute(select(C.c.id).where(C.c.case_id.in_(detected)).with_for_update()).all()
                history = candidate_ids.load(conn, detected)
                for record in records:
                    if record.candidates:
                        record.candidates = candidate_ids.assign(record.candidates, record.plugin_id,
                                                                 history[record.case_id])
            n = predictions.insert_records(conn, records, self.classes)
        if n:
            self.events.predictions_changed.emit()
        return n

    def latest_predictions(self, plugin_id: str | None = None) -> dict[str, PredictionRecord]:
        with store.translated_errors(self._url):
            stamp = predictions.max_id(self._engine)
            cached = self._pred_cache.get(plugin_id)
            if cached and cached[0] == stamp:
                return dict(cached[1])
            result = {r.case_id: r for r in predictions.latest(self._engine, plugin_id)}
        self._pred_cache[plugin_id] = (stamp, result)
        return dict(result)

    def prediction_history(self, case_id: str) -> list[PredictionRecord]:
        """The newest prediction of each plugin for one case."""
        with store.translated_errors(self._url):
            return predictions.latest(self._engine, case_id=case_id, per_plugin=True)

    def prediction_plugins(self) -> list[str]:
        with store.translated_errors(self._url):
            return predictions.plugins(self._engine)

    def _prediction_matrix(self, conn, plugin_id: str | None):
        """Cached while no case or prediction is added (checked with two MAX(id) reads)."""
        from workstation.core.project import snapshot

        stamp = tuple(conn.exec_driver_sql(
            "SELECT (SELECT MAX(id) FROM predictions), (SELECT MAX(id) FROM cases)").one())
        cached = self._matrix_cache.get(plugin_id)
        if cached and cached[0] == stamp:
            return cached[1]
        matrix = snapshot.prediction_matrix(self, conn, plugin_id)
        self._matrix_cache[plugin_id] = (stamp, matrix)
        return matrix

    # ---- evaluation ----------------------------------------------------------------------------
    def truth(self, truth: str = "final", case_ids: Iterable[str] | None = None,
              nodes: bool = False) -> dict[str, Any]:
        """{case_id: truth label} for every case with one (or only for `case_ids`); see evaluation.py
        for what "final", "consensus", "original", "report" and a reader's name mean. Labels at an
        inner node of the taxonomy are truth only with `nodes` (they name no class)."""
        with store.translated_errors(self._url):
            from workstation.core.project import evaluation  # numpy: not for a scripted label

            return evaluation.truth_values(self._engine, truth, self.task, self.classes, case_ids,
                                           self.label_nodes if nodes else ())

    def evaluation_table(self, truth: str = "final", plugin_id: str | None = None, level: str | int | None = None,
                         positive: str | None = None) -> EvaluationTable:
        """Truth and scores for the metrics engine. Without plugin_id, the most recently used plugin.
        With `level` (a taxonomy level: 1, 2, ..., "leaf"), labels and predictions are read at that
        level (its nodes are the classes; a two-node level is binary, `positive` its positive node)
        and cases labelled at a coarser node are left out and listed in `excluded`."""
        if level is not None and self.taxonomy is None:
            raise ProjectError("this project has no taxonomy: metrics at a level need one "
                               "(workstation project init ... --taxonomy TREE.json)")
        if plugin_id is None:
            used = self.prediction_plugins()
            plugin_id = used[0] if used else None
        if self.task == Task.DETECTION:
            raise ProjectError("detection projects are scored per candidate (FROC), not with an evaluation table")
        with store.translated_errors(self._url), self._engine.connect() as conn:
            matrix = self._prediction_matrix(conn, plugin_id) if plugin_id else None
        from workstation.core.project import evaluation

        if level is not None:
            return evaluation.build_level_table(matrix, self.truth(truth, nodes=True), self.taxonomy, self.classes,
                                                level, positive, truth, plugin_id)
        return evaluation.build_table(matrix, self.truth(truth), self.task, self.classes, truth, plugin_id)


def _id_from_path(path: str) -> str:
    name = Path(path.rstrip("/\\")).name
    for suffix in (".nii.gz", ".nii", ".dcm", ".png", ".jpg", ".jpeg", ".nrrd", ".mha", ".mhd", ".tif", ".tiff"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "case"
