"""Options and resources several subcommands share."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from typing import Annotated

import typer

from campatch.audit.auditor import devices_from_inventory
from campatch.audit.interface import DeviceFacts
from campatch.discovery.targets import parse_targets
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


def video_devices(store: InventoryStore, targets: Sequence[str]) -> list[DeviceFacts]:
    """The inventory's video devices, only those at ``targets`` when any are given.

    Raises:
        UsageError: a target cannot be parsed.
    """
    devices = devices_from_inventory(store)
    if not targets:
        return devices
    wanted = {str(a) for a in parse_targets(targets)}
    return [d for d in devices if _normal(d.report.address) in wanted]


def _normal(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address
