"""The journal's head witness file, ``<database>.journal-head`` beside a SQLite file.

A deleted *tail* leaves a valid but shorter hash chain, so the head (seq and hash) is
also kept outside the database: ``{"hash":"<hex>","seq":<n>}`` (canonical JSON, one
newline), written only forward, all or nothing (fixed temp name, fsync, rename) under
an advisory lock on ``<witness>.lock``. A missing or damaged witness is never repaired
here: it is left as evidence for :meth:`campatch.inventory.journal.SqlJournal.verify`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from campatch.errors import InventoryError
from campatch.inventory.journal_record import canonical_json


def read_witness(path: Path | None) -> tuple[int, str] | None:
    """(seq, hash) of the witness file, None when there is none.

    Raises:
        ValueError: the file is damaged.
        InventoryError: it cannot be read.
    """
    if path is None:
        return None
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise InventoryError(f"cannot read journal witness {path}: {err}") from err
    try:
        data = json.loads(raw)
        return int(data["seq"]), str(data["hash"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"witness file {path} is damaged ({err})") from err


def advance_witness(path: Path, seq: int, hash_: str, *, create: bool) -> None:
    """Move the witness at ``path`` forward to (seq, hash_); with ``create``, only write
    one that does not exist yet, without it only one that does.

    Raises:
        InventoryError: it cannot be written.
    """
    try:
        with _locked(path.with_name(path.name + ".lock")):
            exists = path.exists()
            if exists == create:  # never recreate a deleted witness, never reset one
                return
            try:
                current = read_witness(path)
            except ValueError:
                return  # damaged: left as evidence for verify()
            if current is not None and current[0] >= seq:
                return  # another process already wrote a later head
            _replace(path, canonical_json({"seq": seq, "hash": hash_}) + b"\n")
    except OSError as err:
        raise InventoryError(f"cannot write journal witness {path}: {err.strerror or err}") from err


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (POSIX; created 0600)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` all or nothing: fixed temp name (the caller holds the lock), fsync,
    rename, fsync the directory. A killed writer leaves at most that one temp file."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sys.platform != "win32":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
