"""Initial schema: cases, labels, append-only audit trail, predictions.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
]
_PG_TRIGGERS = [
    """CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
       FOR EACH ROW EXECUTE FUNCTION audit_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(255), nullable=False, unique=True),
        sa.Column("paths", sa.JSON, nullable=False),
        sa.Column("patient_id", sa.String(255), index=True),
        sa.Column("study_id", sa.String(255), index=True),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("added_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(255), sa.ForeignKey("cases.case_id", ondelete="CASCADE"), nullable=False),
        sa.Column("candidate_id", sa.String(255), nullable=False),
        sa.Column("reader", sa.String(255), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("case_id", "candidate_id", "reader", "tag", name="uq_label_target"),
    )
    op.create_index("ix_labels_tag_reader", "labels", ["tag", "reader"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(255), nullable=False, index=True),
        sa.Column("candidate_id", sa.String(255), nullable=False),
        sa.Column("reader", sa.String(255), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("old_value", sa.JSON),
        sa.Column("new_value", sa.JSON),
        sa.Column("shown", sa.JSON),
        sa.Column("note", sa.Text),
    )
    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(255), sa.ForeignKey("cases.case_id", ondelete="CASCADE"), nullable=False),
        sa.Column("plugin_id", sa.String(255), nullable=False),
        sa.Column("plugin_version", sa.String(64), nullable=False),
        sa.Column("weights_sha256", sa.String(64), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("probabilities", sa.JSON, nullable=False),
        sa.Column("candidates", sa.JSON),
        sa.Column("heatmap_path", sa.Text),
        sa.Column("top_score", sa.Float),
    )
    op.create_index("ix_predictions_case_plugin", "predictions", ["case_id", "plugin_id", "id"])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_TRIGGERS, "postgresql": _PG_TRIGGERS}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_no_change ON audit")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    for table in ("predictions", "audit", "labels", "cases"):
        op.drop_table(table)
