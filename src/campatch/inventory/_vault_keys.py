"""Where the credential vault's 32-byte key lives: the OS keyring, else a key file.

A new vault takes the OS keyring when a real backend is there (not keyring's
``fail`` or ``null`` backend, and it must answer without error); otherwise, when
allowed, the key file ``vault.key`` beside the vault, created 0600 in a 0700
directory. The vault file records which of the two it used, so an existing vault
never silently switches: if its key is in the keyring and the keyring is gone, that
is an error, not a new key.

The key file only protects against a copy of the vault on its own (a backup, a
synced folder). Anyone who can read the user's files can read both; the OS keyring
is the stronger home.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import stat
import tempfile
from enum import StrEnum
from pathlib import Path

import keyring
import keyring.backend
from keyring.backends import fail, null

from campatch.errors import CredentialStoreError

logger = logging.getLogger(__name__)

KEY_BYTES = 32
KEYRING_SERVICE = "campatch"
KEYRING_ACCOUNT = "vault-key"


class KeySource(StrEnum):
    """Where a vault's key is kept."""

    KEYRING = "keyring"
    FILE = "file"


def key_id(key: bytes) -> str:
    """A short fingerprint of ``key`` that tells keys apart without revealing them."""
    return hmac.new(key, b"campatch vault key id", hashlib.sha256).hexdigest()[:16]


def usable_keyring() -> keyring.backend.KeyringBackend | None:
    """The OS keyring backend, or None when only a fail/null backend is there."""
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring | null.Keyring) or backend.priority <= 0:
            return None
    except Exception as err:  # any backend can fail in its own way
        logger.warning("OS keyring unusable (%s)", type(err).__name__)
        return None
    return backend


class VaultKeys:
    """Finds or creates the key of one vault.

    Args:
        key_file: path of the fallback key file.
        use_keyring: try the OS keyring for a new vault.
        allow_key_file: fall back to the key file when the keyring is unusable.
    """

    def __init__(self, key_file: Path, *, use_keyring: bool, allow_key_file: bool) -> None:
        self.key_file = key_file
        self._use_keyring = use_keyring
        self._allow_key_file = allow_key_file

    def existing(self, source: KeySource) -> bytes:
        """The key of an existing vault, from where the vault says it is.

        Raises:
            CredentialStoreError: the key cannot be found or read.
        """
        if source is KeySource.KEYRING:
            return _read_keyring()
        return _read_key_file(self.key_file)

    def new(self) -> tuple[KeySource, bytes]:
        """A key for a new vault: the keyring's, else the key file's (reused if present).

        Raises:
            CredentialStoreError: no keyring and the key file is not allowed, or the
                key file cannot be written.
        """
        if self._use_keyring and (backend := usable_keyring()) is not None:
            try:
                return KeySource.KEYRING, _keyring_key(backend)
            except Exception as err:  # fall back to the file, as documented
                logger.warning("OS keyring failed (%s); using a key file", type(err).__name__)
        if not self._allow_key_file:
            raise CredentialStoreError(
                "no usable OS keyring and the vault key file is disabled: cannot create the vault"
            )
        if self.key_file.exists():
            return KeySource.FILE, _read_key_file(self.key_file)
        return KeySource.FILE, _create_key_file(self.key_file)


def _keyring_key(backend: keyring.backend.KeyringBackend) -> bytes:
    stored = backend.get_password(KEYRING_SERVICE, KEYRING_ACCOUNT)
    if stored is not None:
        return _decode_keyring_value(stored)
    key = os.urandom(KEY_BYTES)
    backend.set_password(KEYRING_SERVICE, KEYRING_ACCOUNT, base64.b64encode(key).decode())
    return key


def _read_keyring() -> bytes:
    backend = usable_keyring()
    if backend is None:
        raise CredentialStoreError(
            "the vault key is in the OS keyring, and no OS keyring is available now"
        )
    try:
        stored = backend.get_password(KEYRING_SERVICE, KEYRING_ACCOUNT)
    except Exception as err:
        raise CredentialStoreError(
            f"cannot read the vault key from the OS keyring ({type(err).__name__})"
        ) from err
    if stored is None:
        raise CredentialStoreError(
            f"the vault key is missing from the OS keyring "
            f"(service {KEYRING_SERVICE!r}, entry {KEYRING_ACCOUNT!r})"
        )
    return _decode_keyring_value(stored)


def _decode_keyring_value(stored: str) -> bytes:
    try:
        key = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError) as err:
        raise CredentialStoreError("the vault key in the OS keyring is damaged") from err
    if len(key) != KEY_BYTES:
        raise CredentialStoreError("the vault key in the OS keyring is damaged")
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            key = f.read(KEY_BYTES + 1)
    except FileNotFoundError as err:
        raise CredentialStoreError(f"vault key file {path} is missing") from err
    except OSError as err:
        raise CredentialStoreError(f"cannot read vault key file {path}: {err.strerror}") from err
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        raise CredentialStoreError(
            f"vault key file {path} is accessible by other users "
            f"(mode {stat.S_IMODE(mode):04o}), expected 0600"
        )
    if len(key) != KEY_BYTES:
        raise CredentialStoreError(
            f"vault key file {path} is damaged: {len(key)} bytes, expected {KEY_BYTES}"
        )
    return key


def _create_key_file(path: Path) -> bytes:
    """Write a new key atomically; if another process got there first, use its key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vault-key-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(key)
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)  # unlike os.replace, never overwrites a key that exists
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except FileExistsError:
        return _read_key_file(path)
    except OSError as err:
        raise CredentialStoreError(f"cannot create vault key file {path}: {err.strerror}") from err
    logger.info("created vault key file %s", path)
    return key
