"""Options and resources several subcommands share."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from campatch.inventory.interface import InventoryStore
from campatch.inventory.store import open_store

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="CAMPATCH_DB",
        help="Inventory database URL (default: SQLite in campatch's data directory; "
        "e.g. postgresql+psycopg://user@host/campatch).",
        show_default=False,
    ),
]


def inventory(db: str | None) -> InventoryStore:
    """Open the inventory (raises InventoryError with one readable line)."""
    return open_store(db or os.environ.get("CAMPATCH_DB") or None)
