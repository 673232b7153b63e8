"""The tamper-evident journal (SAFETY S-03): append-only, hash-chained, in the inventory.

    with open_store(url) as store:
        journal = store.journal(actor=actor_for("creds add"))
        journal.append("credential-add", "added", device="192.0.2.7", detail={"username": "admin"})
        check = journal.verify()  # JournalCheck(ok=True, ...)

Each record's ``hash`` is ``sha256(prev_hash || canonical JSON of (seq, at, actor, action,
device, result, detail))``; the first record chains to 64 zeros. Appends are serialized
across processes (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``pg_advisory_xact_lock``), so
sequence numbers are gapless. :meth:`SqlJournal.verify` walks the chain: a deleted,
edited, swapped or re-hashed record breaks it. A deleted *tail* leaves a valid but
shorter chain, so the head (seq and hash) is also kept as a witness: in the
``journal_head`` row, and for a SQLite file also in ``<database>.journal-head`` beside
it, written (atomically, after the commit) only forward.

What it does not promise: the chain has no secret key. Someone who can write the
database *and* the witness file can rewrite the whole journal consistently, and on
PostgreSQL (no witness file) someone who deletes the tail and updates ``journal_head``
goes unnoticed. Copy the journal (``campatch journal show --format json``) somewhere
they cannot write when that matters.

Secrets never go in: :meth:`SqlJournal.append` refuses detail keys naming a password,
secret or token.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from campatch.errors import InventoryError
from campatch.inventory._codec import clean
from campatch.inventory.jobs import SessionOpener, utc_now
from campatch.inventory.tables import JournalHeadTable, JournalTable
from campatch.model import Secret
from campatch.patch.jobs import JournalEntry

#: prev_hash of the first record
GENESIS = "0" * 64
#: pg_advisory_xact_lock key serializing appends ("jrnl")
PG_JOURNAL_LOCK = 0x6A726E6C
#: detail keys containing one of these are refused (secrets never go in the journal)
SECRET_WORDS = ("password", "passwd", "secret", "token")
#: canonical JSON of one record's detail, at most (bytes)
MAX_DETAIL_BYTES = 16 * 1024
_HEAD_ROW = 1
_BATCH = 1000


def os_user() -> str:
    """The OS user running campatch (the uid when it has no name)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown user"


def actor_for(command: str = "") -> str:
    """``campatch <command>@<OS user>``: the actor callers pass; the OS user alone without
    a command."""
    user = os_user()
    return f"campatch {command}@{user}" if command else user


@dataclass(frozen=True, slots=True)
class JournalCheck:
    """What :meth:`SqlJournal.verify` found.

    Args:
        ok: the chain is whole and reaches the witnessed head.
        records: records read.
        bad_seq: the first record found wrong (or missing), None when ok or not one record.
        reason: why not ok, one line ("" when ok).
        head_seq, head_hash: the last record of the chain (0 and GENESIS when empty).
    """

    ok: bool
    records: int
    bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS


def record_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    device: str,
    result: str,
    detail: Mapping[str, Any],
) -> str:
    """The chained hash of one record (hex SHA-256)."""
    fields = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "device": device,
        "result": result,
        "detail": detail,
    }
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(fields)).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes that are hashed."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def safe_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """``detail`` as storable JSON values.

    Raises:
        ValueError: a key names a password, secret or token, a value is a
            :class:`~campatch.model.Secret` or not a JSON value, or it is too large.
    """
    clean_detail = _json_value(dict(detail or {}), "detail")
    if len(canonical_json(clean_detail)) > MAX_DETAIL_BYTES:
        raise ValueError(f"journal detail is larger than {MAX_DETAIL_BYTES} bytes")
    assert isinstance(clean_detail, dict)  # noqa: S101 - a mapping stays a mapping
    return clean_detail


def _json_value(value: Any, where: str) -> Any:
    if isinstance(value, Secret):
        raise ValueError(f"journal refuses a secret in {where}")
    if isinstance(value, Mapping):
        return {_key(k, where): _json_value(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v, where) for v in value]
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"journal refuses a non-finite number in {where}")
    if value is None or isinstance(value, bool | int | float):
        return value
    raise ValueError(f"journal refuses {type(value).__name__} in {where}: not a JSON value")


def _key(key: Any, where: str) -> str:
    if not isinstance(key, str):
        raise ValueError(f"journal refuses a non-text key in {where}")
    if any(word in key.casefold() for word in SECRET_WORDS):
        raise ValueError(f"journal refuses {where}.{key}: secrets never go in the journal")
    return clean(key)


class SqlJournal:
    """:class:`~campatch.patch.jobs.Journal` in the inventory database.

    Get it from :meth:`campatch.inventory.store.SqlInventoryStore.journal`.

    Args:
        session: the store's transaction opener.
        witness: the head witness file (SQLite files); None keeps only ``journal_head``.
        actor: who acts when :meth:`append` is given no actor; "" = the OS user.
        clock: the time written on records.
    """

    def __init__(
        self,
        session: SessionOpener,
        witness: Path | None = None,
        actor: str = "",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._session = session
        self.witness = witness
        self.actor = actor
        self._clock = clock

    def append(
        self,
        action: str,
        result: str,
        *,
        device: str = "",
        detail: Mapping[str, Any] | None = None,
        actor: str = "",
    ) -> JournalEntry:
        """Append one record (chained to the last), durably.

        Raises:
            ValueError: ``detail`` holds a secret or a value that is not JSON.
            InventoryError: the store failed; nothing was appended.
        """
        self.prepare()
        with self._session(f"append {action} to the journal", write=True) as session:
            entry = self.append_in(
                session, action, result, device=device, detail=detail, actor=actor
            )
        self.committed(entry)
        return entry

    def prepare(self) -> None:
        """Create the witness file (seq 0) before the first record is committed.

        It is never created for a journal that already has records: a missing witness
        then stays visible to :meth:`verify`.
        """
        if self.witness is None or self.witness.exists():
            return
        with self._session("read the journal head") as session:
            empty = session.scalar(select(func.count()).select_from(JournalTable)) == 0
        if empty:
            self._advance_witness(0, GENESIS, create=True)

    def append_in(
        self,
        session: Session,
        action: str,
        result: str,
        *,
        device: str = "",
        detail: Mapping[str, Any] | None = None,
        actor: str = "",
    ) -> JournalEntry:
        """Append inside the caller's write transaction (call :meth:`prepare` before it
        and :meth:`committed` after the commit).

        Raises:
            ValueError: as :meth:`append`.
        """
        values = safe_detail(detail)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_JOURNAL_LOCK})
        last = select(JournalTable.seq, JournalTable.hash).order_by(JournalTable.seq.desc())
        previous = session.execute(last.limit(1)).first()
        seq, prev_hash = (previous.seq + 1, previous.hash) if previous else (1, GENESIS)
        entry = _entry(
            seq, self._clock(), actor or self.actor or os_user(), action, device, result, values,
            prev_hash,
        )  # fmt: skip
        session.add(_row(entry))
        head = session.get(JournalHeadTable, _HEAD_ROW)
        if head is None:
            session.add(JournalHeadTable(id=_HEAD_ROW, seq=entry.seq, hash=entry.hash))
        else:
            head.seq, head.hash = entry.seq, entry.hash
        return entry

    def committed(self, entry: JournalEntry) -> None:
        """Move the witness file forward to ``entry`` (after its commit).

        Raises:
            InventoryError: the witness cannot be written (the record itself is stored).
        """
        if self.witness is None:
            return
        try:
            self._advance_witness(entry.seq, entry.hash, create=False)
        except InventoryError as err:
            raise InventoryError(f"journal record {entry.seq} is stored, but {err}") from err

    def entries(self, limit: int | None = 50, *, device: str | None = None) -> list[JournalEntry]:
        """The last ``limit`` records (all when None), oldest first; only ``device``'s
        when given."""
        stmt = select(JournalTable).order_by(JournalTable.seq.desc())
        if device is not None:
            stmt = stmt.where(JournalTable.device == device)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._session("read the journal") as session:
            rows = [_from_row(r) for r in session.scalars(stmt)]
        return rows[::-1]

    def verify(self) -> JournalCheck:
        """Walk the whole chain and compare its head with the witnesses.

        Returns:
            ``ok`` or the first bad record and why (deleted, edited, reordered, re-hashed,
            tail removed).

        Raises:
            InventoryError: the store cannot be read.
        """
        try:
            witness = self._read_witness()
        except ValueError as err:
            return JournalCheck(False, 0, None, str(err))
        with self._session("verify the journal") as session:
            head_row = session.get(JournalHeadTable, _HEAD_ROW)
            table_head = None if head_row is None else (head_row.seq, head_row.hash)
            walk = _ChainWalk({w[0] for w in (witness, table_head) if w is not None})
            _walk(session, walk)
        if walk.failure is not None:
            return walk.failure
        return walk.against(table_head, "journal_head row") or (
            walk.against_file(witness, self.witness) or walk.success()
        )

    # --- the witness file ---------------------------------------------------------------

    def _read_witness(self) -> tuple[int, str] | None:
        """(seq, hash) of the witness file, None when there is none.

        Raises:
            ValueError: the file is damaged.
            InventoryError: it cannot be read.
        """
        if self.witness is None:
            return None
        try:
            raw = self.witness.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise InventoryError(f"cannot read journal witness {self.witness}: {err}") from err
        try:
            data = json.loads(raw)
            return int(data["seq"]), str(data["hash"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"witness file {self.witness} is damaged ({err})") from err

    def _advance_witness(self, seq: int, hash_: str, *, create: bool) -> None:
        assert self.witness is not None  # noqa: S101 - callers check
        try:
            with _locked(self.witness.with_name(self.witness.name + ".lock")):
                exists = self.witness.exists()
                if exists == create:  # never recreate a deleted witness, never reset one
                    return
                try:
                    current = self._read_witness()
                except ValueError:
                    return  # damaged: left as evidence for verify()
                if current is not None and current[0] >= seq:
                    return  # another process already wrote a later head
                _replace(self.witness, canonical_json({"seq": seq, "hash": hash_}) + b"\n")
        except OSError as err:
            raise InventoryError(
                f"cannot write journal witness {self.witness}: {err.strerror or err}"
            ) from err


def _walk(session: Session, walk: _ChainWalk) -> None:
    """Feed every record to ``walk`` in seq order; one by one past a record that no
    longer decodes (an edited date, say), to name it."""
    rows = session.scalars(select(JournalTable).order_by(JournalTable.seq))
    try:
        for row in rows.yield_per(_BATCH):
            if not walk.step(row):
                return
        return
    except (ValueError, TypeError):
        pass
    later = select(JournalTable.seq).where(JournalTable.seq > walk.seq).order_by(JournalTable.seq)
    for seq in session.scalars(later).all():
        try:
            row = session.scalars(select(JournalTable).where(JournalTable.seq == seq)).one()
        except (ValueError, TypeError) as err:
            walk.unreadable(seq, err)
            return
        if not walk.step(row):
            return


class _ChainWalk:
    """Checks records one by one; remembers the hashes at the witnessed seqs."""

    def __init__(self, wanted: set[int]) -> None:
        self.records = 0
        self.seq, self.hash = 0, GENESIS
        self.failure: JournalCheck | None = None
        self._wanted = wanted
        self.seen: dict[int, str] = {0: GENESIS}

    def step(self, row: JournalTable) -> bool:
        if row.seq != self.seq + 1:
            return self._missing(row.seq)
        if row.prev_hash != self.hash:
            why = "prev_hash does not match the record before (records removed or moved)"
            return self._fail(row.seq, why)
        if row.hash != _recomputed(row):
            return self._fail(row.seq, "content does not match its hash (edited)")
        self.records, self.seq, self.hash = self.records + 1, row.seq, row.hash
        if row.seq in self._wanted:
            self.seen[row.seq] = row.hash
        return True

    def unreadable(self, seq: int, err: Exception) -> None:
        if seq != self.seq + 1:
            self._missing(seq)
        else:
            self._fail(seq, f"record {seq} cannot be read (edited): {err}")

    def _missing(self, found: int) -> bool:
        expected = self.seq + 1
        return self._fail(expected, f"record {expected} is missing (next is {found})")

    def _fail(self, seq: int, why: str) -> bool:
        self.failure = JournalCheck(False, self.records, seq, why, self.seq, self.hash)
        return False

    def against(self, head: tuple[int, str] | None, name: str) -> JournalCheck | None:
        if head is None:
            if self.seq == 0:
                return None
            return self._bad(None, f"{name} is missing while the journal has records")
        seq, hash_ = head
        if seq > self.seq:
            why = f"records {self.seq + 1}..{seq} are missing (the {name} names seq {seq})"
            return self._bad(self.seq + 1, why)
        if self.seen.get(seq) != hash_:
            return self._bad(seq, f"record {seq} differs from the {name} (history rewritten)")
        return None

    def against_file(self, head: tuple[int, str] | None, path: Path | None) -> JournalCheck | None:
        if path is None or (head is None and self.seq == 0):
            return None
        return self.against(head, f"witness file {path}")

    def _bad(self, seq: int | None, why: str) -> JournalCheck:
        return JournalCheck(False, self.records, seq, why, self.seq, self.hash)

    def success(self) -> JournalCheck:
        return JournalCheck(True, self.records, None, "", self.seq, self.hash)


def _entry(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    device: str,
    result: str,
    detail: dict[str, Any],
    prev_hash: str,
) -> JournalEntry:
    at = at.astimezone(UTC)
    actor, action, device, result = (clean(v) for v in (actor, action, device, result))
    digest = record_hash(prev_hash, seq, at, actor, action, device, result, detail)
    return JournalEntry(seq, at, actor, action, device, result, detail, prev_hash, digest)


def _row(e: JournalEntry) -> JournalTable:
    return JournalTable(
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        action=e.action,
        device=e.device,
        result=e.result,
        detail=dict(e.detail),
        prev_hash=e.prev_hash,
        hash=e.hash,
    )


def _from_row(r: JournalTable) -> JournalEntry:
    return JournalEntry(
        r.seq, r.at, r.actor, r.action, r.device, r.result, r.detail, r.prev_hash, r.hash
    )


def _recomputed(r: JournalTable) -> str:
    return record_hash(r.prev_hash, r.seq, r.at, r.actor, r.action, r.device, r.result, r.detail)


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
