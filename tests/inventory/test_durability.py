"""Inventory durability on SQLite (SAFETY S-04): kills and torn copies never lose a
committed job transition nor break the file.

A writer runs in a forked child (``multiprocessing`` "fork": nothing is re-imported, so a
trial costs milliseconds). After each commit *returned*, it writes a token to a pipe;
whatever token the parent read was committed. The parent then SIGKILLs the child at a
random moment of its writes (job transitions, job state changes, login attempts with
their journal records, scans) and checks the file: ``PRAGMA integrity_check`` is ``ok``,
every reported token is stored, and every device row's step is its last event's step.

``CAMPATCH_S04_KILLS`` lowers the number of kills (default 1,000, the SAFETY figure).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import select
import shutil
import signal
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, text

from campatch.inventory import SqlInventoryStore, open_store
from campatch.inventory.interface import AttemptOutcome, LoginAttempt
from campatch.model import DeviceClass, Field, HostReport, Identity, Observation, ScanResult
from campatch.patch.jobs import DeviceJob, DeviceUpdate, JobState, Step

KILLS = int(os.environ.get("CAMPATCH_S04_KILLS", "1000"))
COPIES = 60
KEYS = [f"mac:08:3b:c1:00:00:{i:02x}" for i in range(1, 7)]
STEPS = [Step.PREFLIGHT, Step.BACKUP, Step.UPLOADING, Step.REBOOTING, Step.VERIFYING]
#: a kill lands up to this long after the writer's first commit (a commit takes ~2 ms)
MAX_KILL_DELAY_S = 0.012
#: pages between automatic checkpoints in the kill test (SQLite's default is 1000):
#: frequent checkpoints put some kills inside one
CHECKPOINT_PAGES = 25


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def create_fleet_job(store: SqlInventoryStore) -> int:
    """The job the writers move devices in (created before any child runs)."""
    devices = [
        DeviceJob(
            0, key, f"192.0.2.{i}", "cam", "hikvision", i % 2, "V5.7.3", ("V5.7.15",), ("a" * 64,)
        )
        for i, key in enumerate(KEYS, start=1)
    ]
    return store.jobs().create_job({"waves": [1, 1.0]}, devices).id


# --- the child ---------------------------------------------------------------------------


def _writer(store: SqlInventoryStore, fd: int, seed: int, job_id: int) -> None:
    """Write forever, reporting each committed write as one line (runs in the child).

    ``store`` is the parent's, inherited by fork with no connection open (the parent
    disposed its pool): the child opens its own, and skips the migration check.
    """
    rng = random.Random(seed)
    jobs = store.jobs()
    os.write(fd, b"ready\n")
    for n in range(1, 1_000_000):
        token = f"t{seed}-{n}"
        pick = rng.random()
        if pick < 0.6:
            step = rng.choice(STEPS)
            jobs.update_device(job_id, rng.choice(KEYS), DeviceUpdate(step, token, add_uploads=1))
            os.write(fd, f"event {token}\n".encode())
        elif pick < 0.7:
            jobs.set_job_state(job_id, JobState.RUNNING, token)
            os.write(fd, f"event {token}\n".encode())
        elif pick < 0.95:
            now = datetime.now(UTC)
            outcome = AttemptOutcome.REFUSED
            store.record_attempt(
                LoginAttempt(rng.choice(KEYS), "192.0.2.1", "http", token, now, outcome)
            )
            os.write(fd, f"attempt {token}\n".encode())
        else:
            result = store.record_scan(_scan(rng), ["192.0.2.9"])
            os.write(fd, f"scan {result.scan_id}\n".encode())


def _frequent_checkpoints(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")


def _no_checkpoints(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    """The copy test: the main file stays as it is, only the WAL grows."""
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def _scan(rng: random.Random) -> ScanResult:
    mac = f"08:3b:c1:00:01:{rng.randrange(256):02x}"
    identity = Identity.of([Observation(Field.MAC, mac, "test", 0.9)])
    now = datetime.now(UTC)
    host = HostReport("192.0.2.9", DeviceClass.CAMERA, identity)
    return ScanResult(None, now, now, ("192.0.2.9",), (host,))


# --- the parent ----------------------------------------------------------------------------


class Writer:
    """One forked writer and the tokens it reported committed."""

    def __init__(self, store: SqlInventoryStore, seed: int, job_id: int) -> None:
        read_fd, write_fd = os.pipe()
        context = multiprocessing.get_context("fork")
        store._engine.dispose()  # no connection crosses the fork
        self.process = context.Process(
            target=_writer, args=(store, write_fd, seed, job_id), daemon=True
        )
        self.process.start()
        os.close(write_fd)
        self._fd = read_fd
        self._buffer = b""
        self.reported: dict[str, set[str]] = {"event": set(), "attempt": set(), "scan": set()}
        self.wait_for("ready")

    def wait_for(self, wanted: str, timeout_s: float = 20.0) -> None:
        """Read reports until a line starting with ``wanted`` arrives ("" = any report)."""
        deadline = time.monotonic() + timeout_s
        while not any(line.startswith(wanted) for line in self._take()):
            left = deadline - time.monotonic()
            assert left > 0, f"writer sent no {wanted!r} (exit code {self.process.exitcode})"
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                chunk = os.read(self._fd, 65536)
                assert chunk, f"writer died (exit code {self.process.exitcode})"
                self._buffer += chunk

    def poll(self) -> None:
        """Take the reports already sent, without waiting."""
        while select.select([self._fd], [], [], 0)[0]:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return
            self._buffer += chunk
            self._take()

    def kill(self) -> None:
        """SIGKILL the child, then take every report it sent before dying."""
        assert self.process.pid is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join()
        assert self.process.exitcode == -signal.SIGKILL, "the writer failed before the kill"
        while chunk := os.read(self._fd, 65536):
            self._buffer += chunk
        os.close(self._fd)
        self._take()

    def _take(self) -> list[str]:
        *lines, self._buffer = self._buffer.split(b"\n")
        taken = [line.decode() for line in lines]
        for line in taken:
            kind, _, value = line.partition(" ")
            if kind in self.reported:
                self.reported[kind].add(value)
        return taken


def assert_committed_and_consistent(db: Path, reported: dict[str, set[str]]) -> None:
    """Integrity ok, every reported write present, every device row at its last event."""
    # sqlite3's own "with" commits but does not close; closing() does.
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as con:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert _missing(con, "SELECT detail FROM job_events", "detail", reported["event"]) == set()
        assert (
            _missing(con, "SELECT username FROM login_attempts", "username", reported["attempt"])
            == set()
        )
        assert _missing(con, "SELECT id FROM scans", "id", reported["scan"]) == set()
        assert _steps_off_their_last_event(con) == []


def _missing(con: sqlite3.Connection, query: str, column: str, wanted: set[str]) -> set[str]:
    found: set[str] = set()
    items = sorted(wanted)
    for i in range(0, len(items), 500):
        chunk = items[i : i + 500]
        marks = ",".join("?" * len(chunk))
        found |= {str(r[0]) for r in con.execute(f"{query} WHERE {column} IN ({marks})", chunk)}
    return wanted - found


def _steps_off_their_last_event(con: sqlite3.Connection) -> list[tuple[str, str, str | None]]:
    rows = con.execute(
        """SELECT d.device_key, d.step || '|' || d.detail,
                  (SELECT e.step || '|' || e.detail FROM job_events e
                    WHERE e.job_id = d.job_id AND e.device_key = d.device_key
                    ORDER BY e.seq DESC LIMIT 1)
           FROM job_devices d"""
    ).fetchall()
    return [(key, row, last) for key, row, last in rows if row != last]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Where the inventory file goes."""
    return tmp_path / "inventory.db"


@pytest.fixture
def sqlite_store(db: Path) -> Iterator[SqlInventoryStore]:
    """The inventory at ``db``, open (the writers inherit it)."""
    with open_store(sqlite_url(db)) as store:
        yield store


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.safety("S-04")
def test_s04_every_connection_runs_wal_with_synchronous_full(db: Path) -> None:
    with open_store(sqlite_url(db)) as store:
        for write in (False, True):
            with store._session("check pragmas", write=write) as session:
                assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
                assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


@pytest.mark.slow
@pytest.mark.safety("S-04")
def test_s04_sigkill_during_writes_never_corrupts_or_loses_a_committed_transition(
    sqlite_store: SqlInventoryStore, db: Path
) -> None:
    """KILLS forked writers, each SIGKILLed at a random moment of its writes."""
    job_id = create_fleet_job(sqlite_store)
    event.listen(sqlite_store._engine, "connect", _frequent_checkpoints)
    rng = random.Random(0x5404)
    everything: dict[str, set[str]] = {"event": set(), "attempt": set(), "scan": set()}
    started = time.monotonic()
    for trial in range(KILLS):
        writer = Writer(sqlite_store, seed=trial, job_id=job_id)
        writer.wait_for("")  # a first commit returned: the writes are in full flow
        time.sleep(rng.uniform(0, MAX_KILL_DELAY_S))
        writer.kill()
        assert_committed_and_consistent(db, writer.reported)
        for kind, tokens in writer.reported.items():
            everything[kind] |= tokens

    elapsed = time.monotonic() - started
    assert_committed_and_consistent(db, everything)  # nothing lost later either
    check = sqlite_store.journal().verify()
    events = sqlite_store.jobs().events(job_id)
    assert check.ok, check.reason
    assert check.records >= len(everything["attempt"])
    assert len(events) >= len(everything["event"])
    print(  # noqa: T201 - the figure SAFETY tracks (run with -s to see it)
        f"S-04: {KILLS} kills in {elapsed:.1f}s, "
        f"{len(events)} job events, {check.records} journal records"
    )


@pytest.mark.slow
@pytest.mark.safety("S-04")
def test_s04_copies_taken_while_writing_open_consistent_like_after_a_power_cut(
    sqlite_store: SqlInventoryStore, db: Path, tmp_path: Path
) -> None:
    """A copy of the database and its WAL taken mid-write is what a power cut leaves:
    the main file plus a WAL whose tail may be torn. Checkpoints are off in the writer,
    so the main file does not change under the copy (a live checkpoint would mix two
    moments, which no crash produces). The copy must open with integrity ``ok``, keep
    every write reported before the copy began, keep each device at its last event's
    step, and keep a whole journal chain.

    Copying reads the page cache: that fsync really put committed frames on the disk is
    SQLite's promise under ``synchronous=FULL``, checked by the pragma test above.
    """
    job_id = create_fleet_job(sqlite_store)
    event.listen(sqlite_store._engine, "connect", _no_checkpoints)  # the writer's connections
    witness = db.with_name(db.name + ".journal-head")
    rng = random.Random(0x5405)
    writer = Writer(sqlite_store, seed=1, job_id=job_id)
    writer.wait_for("attempt")  # the journal and its witness exist from here on
    try:
        for copy in range(COPIES):
            time.sleep(rng.uniform(0, MAX_KILL_DELAY_S))
            writer.poll()
            before = {kind: set(tokens) for kind, tokens in writer.reported.items()}
            target = tmp_path / f"copy{copy}"
            target.mkdir()
            for name in (witness.name, db.name, db.name + "-wal"):  # witness first: never ahead
                shutil.copyfile(db.with_name(name), target / name)
            assert_committed_and_consistent(target / db.name, before)
            with open_store(sqlite_url(target / db.name)) as store:
                check = store.journal().verify()
            assert check.ok, f"copy {copy}: {check.reason}"
    finally:
        writer.kill()
    assert sum(len(t) for t in writer.reported.values()) > COPIES
