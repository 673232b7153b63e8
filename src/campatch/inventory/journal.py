"""The tamper-evident journal (SAFETY S-03): append-only, hash-chained, in the inventory.

    with open_store(url) as store:
        journal = store.journal(actor=actor_for("creds add"))
        journal.append("credential-add", "added", device="192.0.2.7", detail={"username": "admin"})
        check = journal.verify()  # JournalCheck(ok=True, ...)

Each record's hash chains to the record before (the format, the hash and the refusal of
secrets in ``detail`` are :mod:`campatch.inventory.journal_record`). Appends are
serialized across processes (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
``pg_advisory_xact_lock``), so sequence numbers are gapless. :meth:`SqlJournal.verify`
walks the chain: a deleted, edited, swapped or re-hashed record breaks it. A deleted
*tail* leaves a valid but shorter chain, so the head (seq and hash) is also kept as a
witness: in the ``journal_head`` row, and for a SQLite file also in
``<database>.journal-head`` beside it, written (atomically, after the commit) only
forward (:mod:`campatch.inventory._journal_witness`).

What it does not promise: the chain has no secret key. Someone who can write the
database *and* the witness file can rewrite the whole journal consistently, and on
PostgreSQL (no witness file) someone who deletes the tail and updates ``journal_head``
goes unnoticed. Copy the journal (``campatch journal show --format json``) somewhere
they cannot write when that matters.

Secrets never go in: :meth:`SqlJournal.append` refuses detail keys naming a password,
secret or token.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from campatch.errors import InventoryError
from campatch.inventory._codec import clean
from campatch.inventory._journal_witness import advance_witness, read_witness
from campatch.inventory.jobs import SessionOpener, utc_now
from campatch.inventory.journal_record import (
    GENESIS,
    MAX_DETAIL_BYTES,
    SECRET_WORDS,
    canonical_json,
    record_hash,
    safe_detail,
)
from campatch.inventory.tables import JournalHeadTable, JournalTable
from campatch.patch.jobs import JournalEntry

__all__ = [
    "GENESIS",
    "MAX_DETAIL_BYTES",
    "PG_JOURNAL_LOCK",
    "SECRET_WORDS",
    "JournalCheck",
    "SqlJournal",
    "actor_for",
    "canonical_json",
    "os_user",
    "record_hash",
    "safe_detail",
]

#: pg_advisory_xact_lock key serializing appends ("jrnl")
PG_JOURNAL_LOCK = 0x6A726E6C
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
            advance_witness(self.witness, 0, GENESIS, create=True)

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
            advance_witness(self.witness, entry.seq, entry.hash, create=False)
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
            witness = read_witness(self.witness)
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
