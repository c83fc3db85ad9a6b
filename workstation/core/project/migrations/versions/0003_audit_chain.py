"""audit.prev_hash / audit.row_hash: the audit trail becomes a hash chain (audit_chain.py); rows
written before are chained in id order by this migration.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from workstation.core.project.audit_chain import FIELDS, row_hash

    op.add_column("audit", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("audit", sa.Column("row_hash", sa.String(64), nullable=True))
    bind = op.get_bind()
    audit = sa.table("audit", sa.column("id"), sa.column("prev_hash"), sa.column("row_hash"),
                     *[sa.column(f, sa.JSON if f in ("old_value", "new_value", "shown") else sa.String)
                       for f in FIELDS])
    rows = bind.execute(sa.select(audit).order_by(audit.c.id)).all()
    if not rows:
        return
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_no_update")
    else:
        op.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_change")
    prev = ""
    for row in rows:
        m = row._mapping
        digest = row_hash(prev, {f: m[f] for f in FIELDS})
        bind.execute(sa.update(audit).where(audit.c.id == m["id"]).values(prev_hash=prev, row_hash=digest))
        prev = digest
    if sqlite:
        op.execute("""CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                      BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""")
    else:
        op.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_change")


def downgrade() -> None:
    op.drop_column("audit", "row_hash")
    op.drop_column("audit", "prev_hash")
