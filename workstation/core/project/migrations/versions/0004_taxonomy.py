"""taxonomy: the project's class hierarchy (core/taxonomy), one row per version of the tree; the
newest row is the tree in force. A project without a taxonomy has no rows.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "taxonomy",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # the version
        sa.Column("tree", sa.Text, nullable=False),  # JSON text: key order is the node order
        sa.Column("set_at", sa.String(40), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        # application roles granted before this table existed (server_roles.py) read and append it
        roles = op.get_bind().execute(sa.text(
            "SELECT DISTINCT grantee FROM information_schema.role_table_grants "
            "WHERE table_name = 'labels' AND privilege_type = 'INSERT' AND grantee <> current_user")).scalars()
        for role in roles:
            op.execute(f'GRANT SELECT, INSERT ON taxonomy TO "{role}"')


def downgrade() -> None:
    op.drop_table("taxonomy")
