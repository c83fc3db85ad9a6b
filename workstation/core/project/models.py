"""The tables of the project database, as SQLAlchemy Core tables (the ORM is never imported: a
scripted `workstation label` must start fast). The schema is created and changed only by the
alembic migrations in `migrations/versions`; these tables must match the latest one.

`CaseRow.__table__` etc. and `Base.metadata` keep the names the code and the migrations use."""
from __future__ import annotations

from sqlalchemy import (JSON, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint)

metadata = MetaData()


class Base:
    metadata = metadata


class CaseRow:
    __table__ = Table(
        "cases", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),  # insertion order
        Column("case_id", String(255), unique=True, nullable=False),
        Column("paths", JSON, nullable=False),
        Column("patient_id", String(255), index=True),
        Column("study_id", String(255), index=True),
        Column("metadata", JSON, nullable=False, default=dict),
        Column("added_at", String(40), nullable=False),
    )


class LabelRow:
    """The current label of one case (or one detection candidate) by one reader under one tag.
    `candidate_id` is "" for a case-level label (a NULL would escape the unique constraint)."""
    __table__ = Table(
        "labels", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("case_id", String(255), ForeignKey("cases.case_id", ondelete="CASCADE"), nullable=False),
        Column("candidate_id", String(255), nullable=False, default=""),
        Column("reader", String(255), nullable=False),
        Column("tag", String(64), nullable=False),
        Column("value", JSON, nullable=False),
        Column("note", Text),
        Column("updated_at", String(40), nullable=False),
        UniqueConstraint("case_id", "candidate_id", "reader", "tag", name="uq_label_target"),
        Index("ix_labels_tag_reader", "tag", "reader"),
    )


class AuditRow:
    """Append-only: database triggers refuse UPDATE and DELETE."""
    __table__ = Table(
        "audit", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", String(40), nullable=False),
        Column("case_id", String(255), nullable=False, index=True),
        Column("candidate_id", String(255), nullable=False, default=""),
        Column("reader", String(255), nullable=False),
        Column("tag", String(64), nullable=False),
        Column("action", String(32), nullable=False),
        Column("old_value", JSON),
        Column("new_value", JSON),
        Column("shown", JSON),
        Column("note", Text),
        Column("prev_hash", String(64)),  # the hash chain (migration 0003)
        Column("row_hash", String(64)),
    )


class PredictionRow:
    __table__ = Table(
        "predictions", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),  # later = newer
        Column("case_id", String(255), ForeignKey("cases.case_id", ondelete="CASCADE"), nullable=False),
        Column("plugin_id", String(255), nullable=False),
        Column("plugin_version", String(64), nullable=False, default=""),
        Column("weights_sha256", String(64), nullable=False, default=""),
        Column("device", String(64), nullable=False, default=""),
        Column("created_at", String(40), nullable=False),
        Column("probabilities", JSON, nullable=False),
        Column("candidates", JSON),
        Column("heatmap_path", Text),
        Column("top_score", Float),
        Column("scores", Text),  # "p1,p2,..." in project class order (migration 0002)
        Index("ix_predictions_case_plugin", "case_id", "plugin_id", "id"),
    )


class TaxonomyRow:
    """One version of the project's class hierarchy (migration 0004); the newest row is in force."""
    __table__ = Table(
        "taxonomy", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("tree", Text, nullable=False),
        Column("set_at", String(40), nullable=False),
    )
