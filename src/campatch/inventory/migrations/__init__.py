"""Alembic environment and revisions of the inventory schema (run by ``store.open_store``)."""
