"""The project's taxonomy in its database (table `taxonomy`, migration 0004): each tree set is a
new row, the newest one is in force. Checks that a tree fits the project before it is stored."""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from sqlalchemy import insert, select

from workstation.core.project.config import ProjectError
from workstation.core.project.models import TaxonomyRow
from workstation.core.project.records import now
from workstation.core.taxonomy.tree import Taxonomy, TaxonomyError
from workstation.core.vocab import Task

T = TaxonomyRow.__table__


def coerce(tree: Taxonomy | Mapping | str, task: str, classes: Iterable[str] = ()) -> tuple[Taxonomy, list[str]]:
    """(validated Taxonomy, classes) for a multi-class project: its leaves must be exactly `classes`
    (none given: the leaves in tree order)."""
    try:
        taxonomy = tree if isinstance(tree, Taxonomy) else Taxonomy.from_json(tree)
        if task != Task.MULTICLASS:
            raise TaxonomyError(f"a taxonomy needs a multiclass project, not {task}")
        classes = list(classes) or list(taxonomy.leaves)
        taxonomy.check_classes(classes, what="the project's classes")
    except TaxonomyError as exc:
        raise ProjectError(str(exc) if "taxonomy" in str(exc) else f"taxonomy: {exc}") from None
    return taxonomy, classes


def check_labels(taxonomy: Taxonomy, labels: Iterable[tuple[str, Any]]) -> None:
    """Every stored class label (case_id, value) must name a node of the new tree."""
    for case_id, value in labels:
        if isinstance(value, str) and value not in taxonomy and value not in ("uncertain", "not_assessable"):
            raise ProjectError(f"taxonomy: case {case_id!r} is labelled {value!r}, which names no node of the tree")


def read(conn) -> Taxonomy | None:
    text = conn.execute(select(T.c.tree).order_by(T.c.id.desc()).limit(1)).scalar()
    return None if text is None else Taxonomy.from_json(text)


def write(conn, taxonomy: Taxonomy) -> int:
    """Inside the caller's transaction; returns the new version number."""
    result = conn.execute(insert(T), dict(tree=json.dumps(taxonomy.to_json()), set_at=now()))
    return int(result.inserted_primary_key[0])


def version(conn) -> int:
    return int(conn.execute(select(T.c.id).order_by(T.c.id.desc()).limit(1)).scalar() or 0)
