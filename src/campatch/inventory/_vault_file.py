"""The vault file format: canonical JSON holding one AES-GCM record per credential.

    {"format": "campatch-vault", "version": 1,
     "key": {"source": "keyring" | "file", "id": "<16 hex: HMAC fingerprint of the key>"},
     "records": [{"scope": {"kind": "host", "value": "192.0.2.7"}, "username": "admin",
                  "added_at": "2025-03-01T08:00:00+00:00",
                  "nonce": "<base64, 12 bytes>", "ciphertext": "<base64, password + tag>"}]}

Keys are sorted, there is no whitespace, the text is ASCII and ends in one newline.
A file that is not in exactly this form is refused; every other byte is covered by a
record's authentication tag (its associated data is format, version, scope, username
and date).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from campatch.errors import CredentialStoreError, UsageError
from campatch.inventory._vault_keys import KeySource
from campatch.inventory.interface import CredentialScope, ScopeKind, VaultEntry
from campatch.model import Credential, Secret

FORMAT = "campatch-vault"
VERSION = 1
MAX_VAULT_BYTES = 16 * 1024 * 1024  # a vault of 10,000 credentials is about 3 MB
_NONCE_BYTES = 12
_TAG_BYTES = 16


@dataclass(frozen=True, slots=True)
class Sealed:
    """One record as stored: everything but the password in clear, all of it authenticated."""

    scope: CredentialScope
    username: str
    added_at: str  # ISO 8601 UTC, kept as text: it is part of the associated data
    nonce: bytes
    ciphertext: bytes  # AES-GCM output: encrypted password + 16-byte tag

    def aad(self) -> bytes:
        """The associated data this record was sealed with."""
        return associated_data(self.scope, self.username, self.added_at)

    def entry(self) -> VaultEntry:
        """The record as listed (no password)."""
        return VaultEntry(self.scope, self.username, datetime.fromisoformat(self.added_at))

    def to_json(self) -> dict[str, Any]:
        """The record's JSON object."""
        return {
            "scope": {"kind": self.scope.kind.value, "value": self.scope.value},
            "username": self.username,
            "added_at": self.added_at,
            "nonce": base64.b64encode(self.nonce).decode(),
            "ciphertext": base64.b64encode(self.ciphertext).decode(),
        }


def associated_data(scope: CredentialScope, username: str, added_at: str) -> bytes:
    """Associated data of a record: it binds the password to exactly this record."""
    fields = [FORMAT, VERSION, scope.kind.value, scope.value, username, added_at]
    return json.dumps(fields).encode()


@dataclass(frozen=True)
class VaultFile:
    """The whole vault: which key sealed it, and the records."""

    key_source: KeySource
    key_id: str
    records: tuple[Sealed, ...] = field(default=())

    def dump(self) -> bytes:
        """The file's bytes, in the one form :func:`parse` accepts."""
        return canonical(
            {
                "format": FORMAT,
                "version": VERSION,
                "key": {"source": self.key_source.value, "id": self.key_id},
                "records": [r.to_json() for r in self.records],
            }
        )


def canonical(data: object) -> bytes:
    """``data`` as canonical JSON (sorted keys, no whitespace, ASCII, one newline)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode() + b"\n"


def seal(key: bytes, scope: CredentialScope, credential: Credential) -> Sealed:
    """Encrypt one credential's password into a record dated now, with a fresh nonce."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    nonce = os.urandom(_NONCE_BYTES)
    plaintext = credential.password.reveal().encode("utf-8")
    associated = associated_data(scope, credential.username, now)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, associated)
    return Sealed(scope, credential.username, now, nonce, ciphertext)


def open_all(path: Path, vault: VaultFile, key: bytes) -> list[tuple[Sealed, Secret]]:
    """Open every record, or none: the first that fails authentication raises."""
    aes = AESGCM(key)
    opened = []
    for number, record in enumerate(vault.records, start=1):
        try:
            plaintext = aes.decrypt(record.nonce, record.ciphertext, record.aad())
        except InvalidTag as err:
            raise CredentialStoreError(
                f"credential vault {path}: record {number} ({record.scope.kind.value} "
                f"{record.scope.value}, user {record.username!r}) failed authentication: "
                "it was altered, or sealed with another key"
            ) from err
        opened.append((record, Secret(plaintext.decode("utf-8"))))
    return opened


def parse(raw: bytes, path: Path) -> VaultFile:
    """The vault file's structure, accepted only in the exact form campatch writes."""
    try:
        if len(raw) > MAX_VAULT_BYTES:
            raise ValueError(f"larger than {MAX_VAULT_BYTES} bytes")
        data = json.loads(raw.decode("utf-8"))
        if canonical(data) != raw:
            raise ValueError("not in the form campatch writes")
        return _vault_from_json(data)
    except (ValueError, TypeError, KeyError, UsageError) as err:
        raise CredentialStoreError(f"credential vault {path} is damaged: {_why(err)}") from err


def _why(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError | UnicodeDecodeError):
        return "not valid JSON"
    if isinstance(err, KeyError):
        return f"missing {err}"
    return str(err)


def _vault_from_json(data: Any) -> VaultFile:
    _expect_keys(data, {"format", "version", "key", "records"}, "vault")
    if data["format"] != FORMAT:
        raise ValueError(f"format {data['format']!r}, expected {FORMAT!r}")
    if type(data["version"]) is not int or data["version"] != VERSION:
        raise ValueError(f"version {data['version']!r}, this campatch reads version {VERSION}")
    _expect_keys(data["key"], {"source", "id"}, "key")
    records = data["records"]
    if not isinstance(records, list):
        raise TypeError("records is not a list")
    return VaultFile(
        KeySource(data["key"]["source"]),
        _text(data["key"]["id"], "key id"),
        tuple(_record_from_json(r) for r in records),
    )


def _record_from_json(data: Any) -> Sealed:
    _expect_keys(data, {"scope", "username", "added_at", "nonce", "ciphertext"}, "record")
    _expect_keys(data["scope"], {"kind", "value"}, "scope")
    value = _text(data["scope"]["value"], "scope")
    scope = CredentialScope(ScopeKind(data["scope"]["kind"]), value)
    if scope.value != value:
        raise ValueError(f"scope {value!r} is not in normal form")
    added_at = _text(data["added_at"], "added_at")
    datetime.fromisoformat(added_at)
    nonce, ciphertext = _bytes(data["nonce"]), _bytes(data["ciphertext"])
    if len(nonce) != _NONCE_BYTES or len(ciphertext) < _TAG_BYTES:
        raise ValueError("record nonce or ciphertext has the wrong length")
    return Sealed(scope, _text(data["username"], "username"), added_at, nonce, ciphertext)


def _expect_keys(data: Any, keys: set[str], what: str) -> None:
    if not isinstance(data, dict) or set(data) != keys:
        raise ValueError(f"{what} has unexpected fields")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} is not text")
    return value


def _bytes(value: Any) -> bytes:
    decoded = base64.b64decode(_text(value, "base64 field"), validate=True)
    if base64.b64encode(decoded).decode() != value:
        raise ValueError("base64 field is not canonical")
    return decoded


def atomic_write(path: Path, data: bytes) -> None:
    """Temp file (0600) in the same directory, fsync, ``os.replace``: all or nothing."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make a rename durable. Best effort: the new file is already in place."""
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
