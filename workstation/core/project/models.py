"""SQLAlchemy models of the project database. The schema is created and changed only by the
alembic migrations in `migrations/versions`; these classes must match the latest one."""
from __future__ import annotations

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CaseRow(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # insertion order
    case_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    paths: Mapped[list] = mapped_column(JSON, nullable=False)
    patient_id: Mapped[str | None] = mapped_column(String(255), index=True)
    study_id: Mapped[str | None] = mapped_column(String(255), index=True)
    meta: Mapped[dict] = mapped_column("metadata", JSON, nullable=False, default=dict)
    added_at: Mapped[str] = mapped_column(String(40), nullable=False)


class LabelRow(Base):
    """The current label of one case (or one detection candidate) by one reader under one tag.
    `candidate_id` is "" for a case-level label (a NULL would escape the unique constraint)."""
    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id", ondelete="CASCADE"), nullable=False)
    candidate_id: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    reader: Mapped[str] = mapped_column(String(255), nullable=False)
    tag: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[object] = mapped_column(JSON, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[str] = mapped_column(String(40), nullable=False)
    __table_args__ = (
        UniqueConstraint("case_id", "candidate_id", "reader", "tag", name="uq_label_target"),
        Index("ix_labels_tag_reader", "tag", "reader"),
    )


class AuditRow(Base):
    """Append-only: database triggers refuse UPDATE and DELETE."""
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(40), nullable=False)
    case_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    candidate_id: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    reader: Mapped[str] = mapped_column(String(255), nullable=False)
    tag: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    old_value: Mapped[object | None] = mapped_column(JSON)
    new_value: Mapped[object | None] = mapped_column(JSON)
    shown: Mapped[object | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str | None] = mapped_column(String(64))  # the hash chain (migration 0003)
    row_hash: Mapped[str | None] = mapped_column(String(64))


class PredictionRow(Base):
    __tablename__ = "predictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # later = newer
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id", ondelete="CASCADE"), nullable=False)
    plugin_id: Mapped[str] = mapped_column(String(255), nullable=False)
    plugin_version: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    weights_sha256: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    device: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[str] = mapped_column(String(40), nullable=False)
    probabilities: Mapped[dict] = mapped_column(JSON, nullable=False)
    candidates: Mapped[list | None] = mapped_column(JSON)
    heatmap_path: Mapped[str | None] = mapped_column(Text)
    top_score: Mapped[float | None] = mapped_column(Float)
    scores: Mapped[str | None] = mapped_column(Text)  # "p1,p2,..." in project class order (migration 0002)
    __table_args__ = (Index("ix_predictions_case_plugin", "case_id", "plugin_id", "id"),)
