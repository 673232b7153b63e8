"""The inventory: devices, scan history and changes (SQLite or PostgreSQL), and the
credential vault.

    with open_store(settings.database_url) as store:
        result = store.record_scan(result, scope_addresses)

    vault = open_vault()
    vault.add(CredentialScope.parse("192.0.2.0/24"), Credential("admin", Secret("...")))
    vault.for_host("192.0.2.7", vendor="Hikvision")
"""

from __future__ import annotations

from campatch.inventory.credentials import (
    CredentialScope,
    CredentialVault,
    ScopeKind,
    VaultEntry,
    open_vault,
)
from campatch.inventory.interface import (
    CredentialStore,
    DeviceRow,
    HostSnapshot,
    InventoryStore,
    ScanRow,
)
from campatch.inventory.store import SqlInventoryStore, default_url, open_store

__all__ = [
    "CredentialScope",
    "CredentialStore",
    "CredentialVault",
    "DeviceRow",
    "HostSnapshot",
    "InventoryStore",
    "ScanRow",
    "ScopeKind",
    "SqlInventoryStore",
    "VaultEntry",
    "default_url",
    "open_store",
    "open_vault",
]
