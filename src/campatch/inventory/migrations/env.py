"""Alembic environment for the inventory, driven by ``store.open_store``.

There is no ``alembic.ini``: the store passes an open connection in
``config.attributes["connection"]`` and runs the upgrade inside its transaction.
Batch mode is on so that later revisions can alter SQLite tables (SQLite has no
``ALTER COLUMN``; Alembic copies the table instead).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from campatch.inventory.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("the inventory migrations run online only, from open_store()")
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("open_store() must pass a connection in config.attributes")
    _run(connection)


_main()
