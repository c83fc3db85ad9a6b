"""predictions.scores: the probabilities as comma-separated numbers in project class order, so a
100,000-case worklist reads them without parsing JSON (rows from before stay NULL and are read
from the JSON column instead).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("scores", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("scores")
