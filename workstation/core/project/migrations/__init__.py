"""Alembic migrations of the project database, applied by `store.open_engine` on every open."""
