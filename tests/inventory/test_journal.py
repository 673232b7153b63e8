"""The hash-chained journal (SAFETY S-03): appends, redaction, tamper detection, concurrency.

Tampering goes straight at the database (and the witness file) with a separate engine,
the way someone with file or SQL access would do it; ``verify`` must name the first bad
record every time.
"""

from __future__ import annotations

import getpass
import multiprocessing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Executable, create_engine, delete, select, update

from campatch.inventory import SqlInventoryStore, open_store
from campatch.inventory.interface import AttemptOutcome, LoginAttempt
from campatch.inventory.journal import (
    GENESIS,
    JournalCheck,
    SqlJournal,
    actor_for,
    record_hash,
)
from campatch.inventory.tables import JournalHeadTable, JournalTable
from campatch.model import Secret
from campatch.patch.jobs import Journal

J = JournalTable.__table__
HEAD = JournalHeadTable.__table__


def fill(store: SqlInventoryStore, n: int = 5) -> list[Any]:
    journal = store.journal(actor="campatch test@owner")
    return [
        journal.append("feed-sync", "ok", device=f"mac:aa:00:00:00:00:0{i}", detail={"n": i})
        for i in range(1, n + 1)
    ]


def tamper(db_url: str, *statements: Executable) -> None:
    """Run ``statements`` in one transaction on a separate connection."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(statement)
    finally:
        engine.dispose()


def rows(db_url: str) -> list[Any]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(J).order_by(J.c.seq)))
    finally:
        engine.dispose()


def rehash_from(db_url: str, first: int) -> list[Executable]:
    """Statements that recompute every hash from ``first`` on (a full chain rewrite)."""
    statements: list[Executable] = []
    prev = GENESIS
    for r in rows(db_url):
        if r.seq >= first:
            new = record_hash(prev, r.seq, r.at, r.actor, r.action, r.device, r.result, r.detail)
            statements.append(update(J).where(J.c.seq == r.seq).values(prev_hash=prev, hash=new))
            prev = new
        else:
            prev = r.hash
    statements.append(update(HEAD).values(hash=prev))
    return statements


def is_sqlite(db_url: str) -> bool:
    return db_url.startswith("sqlite")


def witness_of(db_url: str) -> Path:
    return Path(db_url.removeprefix("sqlite:///") + ".journal-head")


# --- appending ------------------------------------------------------------------------


def test_store_journal_satisfies_the_protocol_and_starts_empty_and_whole(
    store: SqlInventoryStore,
) -> None:
    journal: Journal = store.journal()  # mypy checks the assignment
    assert isinstance(journal, SqlJournal)
    assert store.journal().entries() == []
    assert store.journal().verify() == JournalCheck(True, 0)


def test_appended_records_chain_and_read_back(store: SqlInventoryStore) -> None:
    before = datetime.now(UTC)
    written = fill(store, 3)

    read = store.journal().entries()

    assert read == written
    assert [e.seq for e in read] == [1, 2, 3]
    assert read[0].prev_hash == GENESIS
    assert [e.prev_hash for e in read[1:]] == [e.hash for e in read[:-1]]
    first = read[0]
    assert first.hash == record_hash(
        GENESIS, 1, first.at, first.actor, first.action, first.device, first.result,
        first.detail,
    )  # fmt: skip
    assert before <= first.at <= datetime.now(UTC)
    assert first.at.tzinfo is not None
    check = store.journal().verify()
    assert check == JournalCheck(True, 3, head_seq=3, head_hash=read[-1].hash)


def test_entries_are_the_last_n_oldest_first_and_filter_by_device(
    store: SqlInventoryStore,
) -> None:
    fill(store, 5)
    journal = store.journal()

    assert [e.seq for e in journal.entries(2)] == [4, 5]
    assert [e.seq for e in journal.entries(None)] == [1, 2, 3, 4, 5]
    assert [e.seq for e in journal.entries(device="mac:aa:00:00:00:00:03")] == [3]


def test_actor_is_the_command_and_os_user_or_else_the_os_user(store: SqlInventoryStore) -> None:
    user = getpass.getuser()
    assert actor_for("creds add") == f"campatch creds add@{user}"
    assert actor_for() == user

    plain = store.journal().append("override", "applied")
    store.journal(actor=actor_for("scan"))
    named = store.journal().append("override", "applied")
    given = store.journal().append("override", "applied", actor="someone else")

    assert (plain.actor, named.actor, given.actor) == (
        user,
        f"campatch scan@{user}",
        "someone else",
    )


def test_each_login_attempt_is_one_journal_record_without_a_password(
    store: SqlInventoryStore,
) -> None:
    store.journal(actor="campatch scan@owner")
    now = datetime.now(UTC)
    for protocol, outcome in [
        ("http", AttemptOutcome.REFUSED),
        ("onvif", AttemptOutcome.ACCEPTED),
        ("http", AttemptOutcome.LOCKED),
    ]:
        store.record_attempt(
            LoginAttempt("mac:aa:bb:cc:00:00:01", "192.0.2.7", protocol, "admin", now, outcome)
        )

    entries = store.journal().entries()

    assert [(e.action, e.result, e.device) for e in entries] == [
        ("auth-attempt", "refused", "mac:aa:bb:cc:00:00:01"),
        ("auth-attempt", "accepted", "mac:aa:bb:cc:00:00:01"),
        ("auth-attempt", "locked", "mac:aa:bb:cc:00:00:01"),
    ]
    assert dict(entries[0].detail) == {
        "protocol": "http", "username": "admin", "address": "192.0.2.7", "owner": False,
    }  # fmt: skip
    assert {e.actor for e in entries} == {"campatch scan@owner"}
    assert len(store.attempts_since("mac:aa:bb:cc:00:00:01", "192.0.2.7", now)) == 3
    assert store.journal().verify().ok


@pytest.mark.safety("S-03")
@pytest.mark.parametrize(
    "detail",
    [
        {"password": "hunter2"},
        {"Admin_Password": "x"},
        {"secret": "x"},
        {"api_token": "x"},
        {"auth": {"token": "x"}},
        {"tried": [{"username": "admin", "passwd": "x"}]},
        {"credential": Secret("hunter2")},
    ],
    ids=["password", "mixed-case", "secret", "token", "nested", "in-list", "secret-object"],
)
def test_s03_secrets_are_refused_and_nothing_is_appended(
    store: SqlInventoryStore, detail: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="secret"):
        store.journal().append("credential-add", "added", detail=detail)

    assert store.journal().entries() == []


@pytest.mark.parametrize(
    "detail",
    [{"when": datetime.now(UTC)}, {"n": float("nan")}, {1: "x"}, {"big": "x" * 20000}],
    ids=["datetime", "nan", "int-key", "too-large"],
)
def test_detail_that_is_not_small_json_is_refused(
    store: SqlInventoryStore, detail: dict[Any, Any]
) -> None:
    with pytest.raises(ValueError, match="journal"):
        store.journal().append("override", "applied", detail=detail)
    assert store.journal().entries() == []


# --- tampering (S-03) -------------------------------------------------------------------


def _delete_middle(url: str) -> list[Executable]:
    return [delete(J).where(J.c.seq == 3)]


def _delete_and_renumber(url: str) -> list[Executable]:
    return [
        delete(J).where(J.c.seq == 3),
        update(J).where(J.c.seq > 3).values(seq=-J.c.seq),
        update(J).where(J.c.seq < 0).values(seq=-J.c.seq - 1),
        update(HEAD).values(seq=4),
    ]


def _delete_tail(url: str) -> list[Executable]:
    return [delete(J).where(J.c.seq == 5)]


def _delete_head_row(url: str) -> list[Executable]:
    return [delete(HEAD)]


def _swap_records(url: str) -> list[Executable]:
    return [
        update(J).where(J.c.seq == 2).values(seq=-2),
        update(J).where(J.c.seq == 4).values(seq=2),
        update(J).where(J.c.seq == -2).values(seq=4),
    ]


def _swap_contents(url: str) -> list[Executable]:
    two, four = rows(url)[1], rows(url)[3]
    return [
        update(J).where(J.c.seq == 2).values(device=four.device, detail=four.detail),
        update(J).where(J.c.seq == 4).values(device=two.device, detail=two.detail),
    ]


def _change_hash(url: str) -> list[Executable]:
    return [update(J).where(J.c.seq == 3).values(hash="f" * 64)]


def _edit_then_fix_own_hash_and_next_link(url: str) -> list[Executable]:
    r = rows(url)[2]
    new = record_hash(r.prev_hash, 3, r.at, r.actor, r.action, r.device, "failed", r.detail)
    return [
        update(J).where(J.c.seq == 3).values(result="failed", hash=new),
        update(J).where(J.c.seq == 4).values(prev_hash=new),
    ]


def _edit(**values: Any) -> Callable[[str], list[Executable]]:
    return lambda url: [update(J).where(J.c.seq == 3).values(**values)]


TAMPER_CASES: dict[str, tuple[Callable[[str], list[Executable]], int | None, str]] = {
    "delete-middle": (_delete_middle, 3, "record 3 is missing"),
    "delete-and-renumber": (_delete_and_renumber, 3, "prev_hash does not match"),
    "delete-tail": (_delete_tail, 5, "records 5..5 are missing"),
    "delete-head-row": (_delete_head_row, None, "journal_head row is missing"),
    "swap-records": (_swap_records, 2, "prev_hash does not match"),
    "swap-contents": (_swap_contents, 2, "edited"),
    "change-hash": (_change_hash, 3, "edited"),
    "rehash-one-record": (_edit_then_fix_own_hash_and_next_link, 4, "edited"),
    "edit-actor": (_edit(actor="someone else"), 3, "edited"),
    "edit-action": (_edit(action="feed-import"), 3, "edited"),
    "edit-device": (_edit(device="mac:ff:ff:ff:ff:ff:ff"), 3, "edited"),
    "edit-result": (_edit(result="failed"), 3, "edited"),
    "edit-detail": (_edit(detail={"n": 99}), 3, "edited"),
    "edit-time": (_edit(at=datetime(2020, 1, 1, tzinfo=UTC)), 3, "edited"),
}


@pytest.mark.safety("S-03")
@pytest.mark.parametrize("case", list(TAMPER_CASES))
def test_s03_tampering_is_detected_at_the_first_bad_record(
    store: SqlInventoryStore, db_url: str, case: str
) -> None:
    fill(store, 5)
    assert store.journal().verify().ok
    change, bad_seq, reason = TAMPER_CASES[case]

    tamper(db_url, *change(db_url))
    check = store.journal().verify()

    assert not check.ok
    assert check.bad_seq == bad_seq
    assert reason in check.reason
    assert "\n" not in check.reason


@pytest.mark.safety("S-03")
def test_s03_tail_deleted_with_head_row_updated_is_caught_by_the_witness_file(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    with open_store(url) as store:
        written = fill(store, 5)
        tamper(
            url,
            delete(J).where(J.c.seq >= 4),
            update(HEAD).values(seq=3, hash=written[2].hash),
        )
        check = store.journal().verify()

    assert not check.ok
    assert check.bad_seq == 4
    assert "records 4..5 are missing" in check.reason
    assert "witness file" in check.reason


@pytest.mark.safety("S-03")
def test_s03_whole_chain_rewritten_after_an_edit_is_caught_by_the_witness_file(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    with open_store(url) as store:
        fill(store, 5)
        tamper(url, update(J).where(J.c.seq == 2).values(result="failed"))
        tamper(url, *rehash_from(url, 2))
        assert [r.result for r in rows(url)][1] == "failed"
        check = store.journal().verify()

    assert not check.ok
    assert check.bad_seq == 5
    assert "differs from the witness file" in check.reason


@pytest.mark.safety("S-03")
def test_s03_deleted_witness_file_is_reported_and_never_silently_recreated(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    with open_store(url) as store:
        fill(store, 2)
        witness_of(url).unlink()
        store.journal().append("override", "applied")
        check = store.journal().verify()

    assert not witness_of(url).exists()
    assert not check.ok
    assert "witness file" in check.reason
    assert "missing" in check.reason


@pytest.mark.safety("S-03")
def test_s03_damaged_witness_file_is_reported_and_kept_as_evidence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    with open_store(url) as store:
        fill(store, 2)
        witness_of(url).write_text('{"seq": "two"}')
        store.journal().append("override", "applied")  # appending still works
        check = store.journal().verify()

    assert witness_of(url).read_text() == '{"seq": "two"}'
    assert not check.ok
    assert "is damaged" in check.reason


@pytest.mark.safety("S-03")
def test_s03_unreadable_record_is_reported_not_a_crash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    with open_store(url) as store:
        fill(store, 3)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE journal SET at = 'yesterday' WHERE seq = 2")
        engine.dispose()
        check = store.journal().verify()

    assert not check.ok
    assert check.bad_seq == 2
    assert "cannot be read" in check.reason


def test_postgresql_limit_tail_deleted_with_head_row_updated_goes_unnoticed(
    pg_url: str,
) -> None:
    """The documented limit: without a witness outside the database, a consistent
    truncation (rows and head row together) leaves a valid, shorter chain."""
    with open_store(pg_url) as store:
        written = fill(store, 5)
        tamper(
            pg_url, delete(J).where(J.c.seq == 5), update(HEAD).values(seq=4, hash=written[3].hash)
        )
        assert store.journal().verify() == JournalCheck(
            True, 4, head_seq=4, head_hash=written[3].hash
        )


# --- the witness -------------------------------------------------------------------------


def test_witness_lagging_after_a_crash_before_its_update_still_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    with open_store(url) as store:
        journal = store.journal()
        fill(store, 2)
        monkeypatch.setattr(journal, "committed", lambda entry: None)  # killed after commit
        journal.append("override", "applied")
        monkeypatch.undo()
        assert witness_of(url).read_text().startswith('{"hash":')
        lagging = journal.verify()
        last = journal.append("override", "applied")
        caught_up = journal.verify()

    assert lagging.ok, lagging.reason
    assert caught_up.ok
    assert f'"seq":{last.seq}' in witness_of(url).read_text()


def test_witness_never_moves_backward(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    with open_store(url) as store:
        written = fill(store, 4)
        store.journal().committed(written[1])  # a slow process reports an older head late
        assert store.journal().verify().ok
    assert f'"seq":{written[-1].seq}' in witness_of(url).read_text()


def test_witness_file_is_0600_beside_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    with open_store(url) as store:
        fill(store, 1)
    assert witness_of(url).stat().st_mode & 0o777 == 0o600
    assert not witness_of(url).with_name("inventory.db.journal-head.tmp").exists()


# --- concurrency ---------------------------------------------------------------------------

APPENDS_PER_PROCESS = 60


def _append_many(url: str, name: str) -> None:
    with open_store(url) as store:
        journal = store.journal(actor=name)
        for i in range(APPENDS_PER_PROCESS):
            journal.append("feed-sync", "ok", detail={"process": name, "i": i})


@pytest.mark.safety("S-03")
def test_s03_concurrent_appends_from_two_processes_keep_one_valid_chain(db_url: str) -> None:
    with open_store(db_url):  # migrate once, before the writers race
        pass
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_append_many, args=(db_url, n)) for n in ("p1", "p2")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=60)

    assert [w.exitcode for w in writers] == [0, 0]
    with open_store(db_url) as store:
        entries = store.journal().entries(None)
        check = store.journal().verify()
    assert check.ok, check.reason
    assert check.records == 2 * APPENDS_PER_PROCESS
    assert [e.seq for e in entries] == list(range(1, 2 * APPENDS_PER_PROCESS + 1))
    for name in ("p1", "p2"):
        mine = [e.detail["i"] for e in entries if e.actor == name]
        assert mine == list(range(APPENDS_PER_PROCESS))  # each process's order is kept


def test_a_clock_in_another_time_zone_is_stored_and_hashed_as_utc(
    store: SqlInventoryStore,
) -> None:
    local = datetime(2025, 3, 30, 3, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    journal = SqlJournal(store._session, store.journal().witness, clock=lambda: local)

    entry = journal.append("override", "applied")

    assert entry.at == local
    assert entry.at.utcoffset() == timedelta(0)
    assert store.journal().entries()[-1] == entry
    assert store.journal().verify().ok
