"""Alembic environment: always run on a connection handed over by the store (never from an ini)."""
from alembic import context

from workstation.core.project.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
