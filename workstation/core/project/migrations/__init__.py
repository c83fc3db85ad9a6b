"""Alembic migrations of the project database, applied by `store.open_engine` on every open."""

# The newest revision in versions/. Opening a database already at HEAD skips importing alembic
# (a quarter of a second); a test checks this constant against alembic's own idea of the head.
HEAD = "0004"
