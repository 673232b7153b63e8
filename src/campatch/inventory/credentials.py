"""The credential vault: device passwords per host, range or vendor, encrypted at rest.

Where it lives, and why: its own file, ``config.data_dir()/vault.json`` (0600, in the
0700 data directory), not the inventory database. The vault then works without any
database (``campatch creds`` on a fresh machine), a PostgreSQL inventory shared by a
team never holds anyone's device passwords, and every save is one atomic
``os.replace``, so a failed save leaves the previous vault byte for byte intact.

How it is protected:

- each record's password is sealed on its own with AES-256-GCM and a fresh 96-bit
  nonce; the associated data binds the format version, scope, username and date, so
  a ciphertext copied to another scope or user fails to open;
- the file must be exactly what campatch writes (canonical JSON, canonical base64),
  so every changed byte is caught, either there or by a record's tag;
- every operation opens every record first: one damaged record fails the whole
  call with :class:`~campatch.errors.CredentialStoreError`, nothing partly decrypted;
- the key is in the OS keyring, else in a key file (see :mod:`._vault_keys`); the
  file records which, and a fingerprint of the key, so a wrong key is named as such.

Passwords exist in plaintext only inside :class:`~campatch.model.Secret`; nothing
here logs, prints or formats one.

What the key file does not protect against: anyone who can read the user's files
can read the key and the vault alike. Where that matters, use an OS keyring, or
``open_vault(allow_key_file=False)`` to refuse rather than fall back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from campatch.config import data_dir
from campatch.errors import CredentialStoreError, UsageError
from campatch.inventory._vault_file import (
    MAX_VAULT_BYTES,
    Sealed,
    VaultFile,
    atomic_write,
    open_all,
    parse,
    seal,
)
from campatch.inventory._vault_keys import VaultKeys, key_id
from campatch.inventory.interface import (
    CredentialScope,
    ScopeKind,
    VaultEntry,
    ip_of,
)
from campatch.model import Credential, Secret

__all__ = ["CredentialScope", "CredentialVault", "ScopeKind", "VaultEntry", "open_vault"]

logger = logging.getLogger(__name__)

_USERNAME_MAX = 256


class CredentialVault:
    """The credential store ``campatch creds`` and the scanner use.

    Create it with :func:`open_vault`. Every call reads the vault file afresh, so
    several processes may use one vault; changes are serialised by a lock file.
    """

    def __init__(self, path: Path, keys: VaultKeys) -> None:
        self._path = path
        self._keys = keys

    def __repr__(self) -> str:
        return f"CredentialVault({str(self._path)!r})"

    @property
    def path(self) -> Path:
        """The vault file."""
        return self._path

    def entries(self) -> list[VaultEntry]:
        """Every stored credential's scope and username (no passwords), host scopes first.

        Returns:
            The entries, ordered host, range, vendor, then by value and username.

        Raises:
            CredentialStoreError: the vault is damaged or its key is wrong or missing.
        """
        opened = self._open()
        entries = [sealed.entry() for sealed, _ in opened]
        order = list(ScopeKind)
        return sorted(entries, key=lambda e: (order.index(e.scope.kind), e.scope.value, e.username))

    def for_host(self, address: str, vendor: str | None = None) -> list[Credential]:
        """The credentials to try on one host, most specific first.

        Order: credentials for this host, then for the ranges that contain it
        (narrowest first), then for its vendor; within one scope, oldest first.

        Args:
            address: the host's IP address.
            vendor: the vendor the host was identified as, if known; a vendor scope
                matches when it is a word of this name (``"hikvision"`` matches
                ``"Hangzhou Hikvision Digital Technology"``).

        Returns:
            Matching credentials (empty if none, or if there is no vault yet).

        Raises:
            UsageError: ``address`` is not an IP address.
            CredentialStoreError: the vault is damaged or its key is wrong or missing.
        """
        return _matching(self._open(), address, vendor)

    def snapshot(self) -> VaultSnapshot:
        """The vault decrypted once, for a scan that asks for many hosts.

        Raises:
            CredentialStoreError: the vault is damaged or its key is wrong or missing.
        """
        return VaultSnapshot(self._open())

    def add(self, scope: CredentialScope | str, credential: Credential) -> bool:
        """Store a credential; one with the same scope and username is replaced.

        Args:
            scope: where the credential applies; text is read by
                :meth:`CredentialScope.parse` (``"192.0.2.7"``, ``"192.0.2.0/24"``,
                ``"hikvision"``).
            credential: username and password.

        Returns:
            True if an existing credential was replaced, False if it was added.

        Raises:
            UsageError: the scope is invalid, or the username is empty, too long or
                holds control characters.
            CredentialStoreError: the vault is damaged, its key is unavailable, or it
                cannot be saved (the previous vault is then unchanged).
        """
        scope = _as_scope(scope)
        _check_username(credential.username)
        with self._locked():
            vault, key = self._read_or_new()
            open_all(self._path, vault, key)
            kept = [
                r for r in vault.records if (r.scope, r.username) != (scope, credential.username)
            ]
            sealed = seal(key, scope, credential)
            self._write(VaultFile(vault.key_source, vault.key_id, (*kept, sealed)))
        replaced = len(kept) != len(vault.records)
        action = "replaced" if replaced else "added"
        logger.info("credential vault: %s a %s credential", action, scope.kind.value)
        return replaced

    def remove(self, scope: CredentialScope | str, username: str | None = None) -> int:
        """Delete the credentials of a scope (all of them, or one username's).

        Args:
            scope: the scope as it was added (text as for :meth:`add`).
            username: only this user's credential; None removes every one of the scope.

        Returns:
            How many were removed (0 if none matched; the vault is then not rewritten).

        Raises:
            UsageError: the scope is invalid.
            CredentialStoreError: the vault is damaged, its key is wrong, or it cannot
                be saved (the previous vault is then unchanged).
        """
        scope = _as_scope(scope)
        with self._locked():
            state = self._read()
            if state is None:
                return 0
            vault, key = state
            open_all(self._path, vault, key)
            kept = tuple(r for r in vault.records if not _selected(r, scope, username))
            removed = len(vault.records) - len(kept)
            if removed:
                self._write(VaultFile(vault.key_source, vault.key_id, kept))
        logger.info("credential vault: removed %d credential(s) for %s", removed, scope.kind.value)
        return removed

    def _open(self) -> list[tuple[Sealed, Secret]]:
        state = self._read()
        if state is None:
            return []
        return open_all(self._path, *state)

    def _read(self) -> tuple[VaultFile, bytes] | None:
        try:
            with self._path.open("rb") as f:
                raw = f.read(MAX_VAULT_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise CredentialStoreError(
                f"cannot read credential vault {self._path}: {err.strerror}"
            ) from err
        vault = parse(raw, self._path)
        key = self._keys.existing(vault.key_source)
        if key_id(key) != vault.key_id:
            raise CredentialStoreError(
                f"credential vault {self._path} was sealed with another key than the one in "
                f"the {vault.key_source.value} (key replaced or wrong key file)"
            )
        return vault, key

    def _read_or_new(self) -> tuple[VaultFile, bytes]:
        state = self._read()
        if state is not None:
            return state
        source, key = self._keys.new()
        return VaultFile(source, key_id(key)), key

    def _write(self, vault: VaultFile) -> None:
        try:
            atomic_write(self._path, vault.dump())
        except OSError as err:
            raise CredentialStoreError(
                f"cannot save credential vault {self._path}: {err.strerror or err}; "
                "the previous vault is unchanged"
            ) from err

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write across processes (advisory lock, POSIX)."""
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(
                self._path.with_name(self._path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600
            )
        except OSError as err:
            raise CredentialStoreError(
                f"cannot lock credential vault {self._path}: {err.strerror}"
            ) from err
        try:
            if sys.platform != "win32":
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


class VaultSnapshot:
    """The vault's credentials as they were when read: :meth:`for_host` without file I/O."""

    def __init__(self, records: list[tuple[Sealed, Secret]]) -> None:
        self._records = records

    def __repr__(self) -> str:
        return f"VaultSnapshot({len(self._records)} credentials)"

    def for_host(self, address: str, vendor: str | None = None) -> list[Credential]:
        """Same answer as :meth:`CredentialVault.for_host` at the time of the snapshot."""
        return _matching(self._records, address, vendor)


def _matching(
    records: list[tuple[Sealed, Secret]], address: str, vendor: str | None
) -> list[Credential]:
    try:
        ip = ip_of(address)
    except ValueError as err:
        raise UsageError(f"expected an IP address, got {address!r}") from err
    ranked = []
    for sealed, secret in records:
        rank = sealed.scope.rank(ip, vendor)
        if rank is not None:
            ranked.append((rank, Credential(sealed.username, secret)))
    ranked.sort(key=lambda item: item[0])  # stable: insertion order within a scope
    return [credential for _, credential in ranked]


def _selected(record: Sealed, scope: CredentialScope, username: str | None) -> bool:
    return record.scope == scope and (username is None or record.username == username)


def _as_scope(scope: CredentialScope | str) -> CredentialScope:
    return scope if isinstance(scope, CredentialScope) else CredentialScope.parse(scope)


def _check_username(username: str) -> None:
    if not username or len(username) > _USERNAME_MAX:
        raise UsageError(f"username must be 1 to {_USERNAME_MAX} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in username):
        raise UsageError("username must not contain control characters")


def open_vault(
    path: Path | None = None,
    *,
    key_file: Path | None = None,
    use_keyring: bool = True,
    allow_key_file: bool = True,
) -> CredentialVault:
    """The credential vault (opening reads nothing; the first call does).

    Args:
        path: the vault file; default ``config.data_dir()/vault.json``.
        key_file: the fallback key file; default ``vault.key`` beside the vault.
        use_keyring: keep a new vault's key in the OS keyring when one is usable.
        allow_key_file: when no OS keyring is usable, keep the key in ``key_file``;
            if False, creating a vault without a keyring is refused.

    Returns:
        The vault.
    """
    vault_path = path if path is not None else data_dir() / "vault.json"
    keys = VaultKeys(
        key_file if key_file is not None else vault_path.with_name("vault.key"),
        use_keyring=use_keyring,
        allow_key_file=allow_key_file,
    )
    return CredentialVault(vault_path, keys)
