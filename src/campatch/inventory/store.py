"""The inventory on SQLAlchemy: SQLite by default, PostgreSQL by URL.

Opening a store runs the Alembic migrations shipped in ``migrations/`` (no
``alembic.ini``), so a new or older database is brought to the current schema
before first use. SQLite files are created 0600 and run in WAL mode with
``synchronous=FULL`` for the whole database (the pragma is per connection, not per
table): a transaction that returned is on disk, so an upgrade job's transitions and the
journal survive a crash or a power cut (SAFETY S-04). Writing transactions start with
``BEGIN IMMEDIATE``, so two processes that read then write wait for each other instead
of failing.

To keep PostgreSQL tables in their own schema, put it on the URL:
``postgresql+psycopg://user@host/db?options=-csearch_path%3Dcampatch``.

The change rules are in :mod:`campatch.inventory.interface`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, delete, event, or_, select, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from campatch.config import data_dir
from campatch.errors import InventoryError
from campatch.inventory import _codec
from campatch.inventory._recorder import ScanRecorder, address_key
from campatch.inventory.interface import (
    AttemptOutcome,
    DeviceRow,
    HostSnapshot,
    LoginAttempt,
    ScanRow,
)
from campatch.inventory.job_lock import file_lock, postgres_lock
from campatch.inventory.jobs import SqlJobStore
from campatch.inventory.journal import SqlJournal
from campatch.inventory.tables import (
    ChangeTable,
    DeviceTable,
    LoginAttemptTable,
    ScanHostTable,
    ScanTable,
)
from campatch.model import Change, ChangeKind, DeviceClass, ScanResult

logger = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).parent / "migrations"
#: pg_advisory_xact_lock key: two processes opening a fresh database migrate one at a time
_PG_MIGRATION_LOCK = 0x63616D70  # "camp"
#: execution option: begin the transaction with SQLite's BEGIN IMMEDIATE (take the write lock)
_IMMEDIATE = "campatch_sqlite_immediate"


def default_url() -> str:
    """The SQLite URL used when no database URL is configured."""
    return f"sqlite:///{data_dir() / 'inventory.db'}"


def open_store(url: str | None = None) -> SqlInventoryStore:
    """Open (and create or migrate) the inventory.

    Args:
        url: SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``;
            ``None`` = SQLite at ``config.data_dir()/inventory.db``.

    Returns:
        The open store; close it (or use it as a context manager) when done.

    Raises:
        InventoryError: the URL is invalid, or the database cannot be reached or
            migrated. The message is one line and never contains the password.
    """
    try:
        parsed = make_url(default_url() if url is None else url)
    except (SQLAlchemyError, ValueError) as err:
        raise InventoryError("cannot open inventory: not a valid database URL") from err
    shown = parsed.render_as_string(hide_password=True)
    engine: Engine | None = None
    try:
        _prepare_sqlite_file(parsed)
        engine = _create_engine(parsed)
        _migrate(engine)
    except (SQLAlchemyError, CommandError, OSError, ImportError) as err:
        if engine is not None:
            engine.dispose()
        reason = _reason(err, parsed)
        if isinstance(err, CommandError):  # e.g. a schema revision this campatch does not know
            reason = f"schema migration failed: {reason}"
        raise InventoryError(f"cannot open inventory {shown}: {reason}") from err
    logger.debug("opened inventory %s", shown)
    return SqlInventoryStore(engine, parsed)


def _reason(err: BaseException, url: URL) -> str:
    """The driver's complaint as one short lowercase line, password removed."""
    orig = getattr(err, "orig", None) or err
    lines = str(orig).strip().splitlines()
    reason = lines[0].strip() if lines else type(orig).__name__
    reason = reason.removeprefix("connection failed: ")
    if " failed: " in reason:  # libpq: 'connection to server at "h", port 1 failed: <why>'
        reason = reason.rsplit(" failed: ", 1)[1]
    reason = reason.removeprefix("FATAL:").strip()
    if url.password:
        reason = reason.replace(str(url.password), "***")
    return (reason[:1].lower() + reason[1:]) or type(orig).__name__


def _is_sqlite_file(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def _prepare_sqlite_file(url: URL) -> None:
    """Create the database file 0600 before SQLite creates it with the umask's mode."""
    if not _is_sqlite_file(url) or str(url.database).startswith("file:"):
        return
    path = Path(str(url.database))
    if not path.parent.is_dir():
        raise OSError(f"directory {path.parent} does not exist")
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if not _is_sqlite_file(url):  # in-memory: one shared connection, or the tables vanish
        return create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            logger.warning("inventory: SQLite refused WAL mode (journal_mode=%s)", mode)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()
    # SQLAlchemy, not the driver, begins transactions (see _sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    """BEGIN, or BEGIN IMMEDIATE for writers: a reader that later writes could otherwise
    hit SQLITE_BUSY without waiting, and the journal must not fork."""
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _migrate(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
    with engine.execution_options(**{_IMMEDIATE: True}).begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _sort_key(address: str) -> tuple[int, int, str]:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0, address)
    return (ip.version, int(ip), address)


class SqlInventoryStore:
    """:class:`~campatch.inventory.interface.InventoryStore` on a SQLAlchemy engine.

    Create it with :func:`open_store`.
    """

    def __init__(self, engine: Engine, url: URL) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{_IMMEDIATE: True})
        self._shown = url.render_as_string(hide_password=True)
        self._url = url
        self._closed = False
        database = str(url.database)  # a "file:" URI has no plain path to put a witness beside
        plain_file = _is_sqlite_file(url) and not database.startswith("file:")
        self._journal = SqlJournal(
            self._session, Path(database + ".journal-head") if plain_file else None
        )

    def __repr__(self) -> str:
        return f"SqlInventoryStore({self._shown!r})"

    @property
    def url(self) -> str:
        """The database URL with the password hidden."""
        return self._shown

    @contextmanager
    def _session(self, action: str, *, write: bool = False) -> Iterator[Session]:
        if self._closed:
            raise InventoryError(f"inventory {self._shown}: cannot {action}: store is closed")
        bind = self._writer if write else self._engine
        try:
            with Session(bind, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as err:
            reason = _reason(err, self._url)
            raise InventoryError(f"inventory {self._shown}: cannot {action}: {reason}") from err

    def record_scan(self, result: ScanResult, scope_addresses: Iterable[str]) -> ScanResult:
        """See :meth:`InventoryStore.record_scan`."""
        scope = frozenset(address_key(a) for a in scope_addresses)
        with self._session("record scan", write=True) as session:
            scan_id, changes = ScanRecorder(session, result, scope).run()
        logger.info(
            "recorded scan %d: %d hosts, %d changes", scan_id, len(result.hosts), len(changes)
        )
        return replace(result, scan_id=scan_id, changes=changes)

    def devices(self, include_gone: bool = False) -> list[DeviceRow]:
        """See :meth:`InventoryStore.devices`."""
        stmt = select(DeviceTable)
        if not include_gone:
            stmt = stmt.where(DeviceTable.gone.is_(False))
        with self._session("list devices") as session:
            rows = [_device_row(d) for d in session.scalars(stmt)]
        return sorted(rows, key=lambda r: (_sort_key(r.address), r.key))

    def scans(self, limit: int = 20) -> list[ScanRow]:
        """See :meth:`InventoryStore.scans`."""
        with self._session("list scans") as session:
            scans = list(
                session.scalars(select(ScanTable).order_by(ScanTable.id.desc()).limit(limit))
            )
            changes = _changes_by_scan(session, [s.id for s in scans])
        return [
            ScanRow(
                id=s.id,
                started_at=s.started_at,
                finished_at=s.finished_at,
                targets=tuple(s.targets),
                host_count=s.host_count,
                changes=tuple(changes.get(s.id, ())),
            )
            for s in scans
        ]

    def history(self, device_key: str) -> list[HostSnapshot]:
        """See :meth:`InventoryStore.history`."""
        stmt = (
            select(ScanHostTable, ScanTable.started_at)
            .join(ScanTable, ScanTable.id == ScanHostTable.scan_id)
            .where(ScanHostTable.device_key == device_key)
            .order_by(ScanHostTable.scan_id, ScanHostTable.id)
        )
        with self._session("read history") as session:
            rows = session.execute(stmt).all()
            try:
                return [_snapshot(host, started) for host, started in rows]
            except (KeyError, TypeError, ValueError) as err:
                raise InventoryError(
                    f"inventory {self._shown}: history of {device_key} is damaged: {err}"
                ) from err

    def jobs(self) -> SqlJobStore:
        """The upgrade jobs kept in this database (:class:`~campatch.patch.jobs.JobStore`)."""
        return SqlJobStore(self._session, self._job_lock)

    def _job_lock(self, job_id: int) -> AbstractContextManager[None]:
        """The lock that keeps a job to one process, for this database's kind."""
        if self._url.get_backend_name() == "postgresql":
            return postgres_lock(self._engine, job_id, self._shown)
        database = str(self._url.database)
        if _is_sqlite_file(self._url) and not database.startswith("file:"):
            return file_lock(Path(f"{database}.job-{job_id}.lock"), job_id)
        return file_lock(data_dir() / "jobs" / f"job-{job_id}.lock", job_id)

    def journal(self, actor: str | None = None) -> SqlJournal:
        """This database's tamper-evident journal (SAFETY S-03).

        Args:
            actor: when given, who acts from now on in records this store writes
                (``campatch scan@alice``, see :func:`~campatch.inventory.journal.actor_for`),
                login attempts included; default: the OS user.
        """
        if actor is not None:
            self._journal.actor = actor
        return self._journal

    def record_attempt(self, attempt: LoginAttempt) -> None:
        """Remember one login attempt (no password), and journal it (action
        ``auth-attempt``) in the same transaction: see :class:`AttemptLedger`."""
        row = LoginAttemptTable(
            device_key=_codec.clean(attempt.device),
            address=address_key(attempt.address),
            protocol=_codec.clean(attempt.protocol)[:16],
            username=_codec.clean(attempt.username),
            at=attempt.at,
            outcome=attempt.outcome.value,
            owner=attempt.owner,
            until=attempt.until,
        )
        self._journal.prepare()
        with self._session("record login attempt", write=True) as session:
            session.add(row)
            entry = self._journal.append_in(
                session, "auth-attempt", row.outcome, device=row.device_key,
                detail={"protocol": row.protocol, "username": row.username,
                        "address": row.address, "owner": row.owner},
            )  # fmt: skip
        self._journal.committed(entry)

    def attempts_since(self, device: str, address: str, since: datetime) -> list[LoginAttempt]:
        """Attempts on ``device`` or at ``address`` since ``since``, oldest first."""
        stmt = (
            select(LoginAttemptTable)
            .where(
                or_(
                    LoginAttemptTable.device_key == device,
                    LoginAttemptTable.address == address_key(address),
                ),
                LoginAttemptTable.at >= since,
            )
            .order_by(LoginAttemptTable.at, LoginAttemptTable.id)
        )
        with self._session("read login attempts") as session:
            return [_attempt(r) for r in session.scalars(stmt)]

    def forget_attempts(self, before: datetime) -> int:
        """Drop attempts older than ``before`` (they no longer count); returns how many."""
        with self._session("prune login attempts", write=True) as session:
            result = session.execute(delete(LoginAttemptTable).where(LoginAttemptTable.at < before))
            return int(getattr(result, "rowcount", 0) or 0)

    def close(self) -> None:
        """See :meth:`InventoryStore.close`."""
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _device_row(d: DeviceTable) -> DeviceRow:
    return DeviceRow(
        key=d.key,
        address=d.address,
        device_class=DeviceClass(d.device_class),
        vendor=d.vendor,
        model=d.model,
        hardware=d.hardware,
        firmware=d.firmware,
        build=d.build,
        serial=d.serial,
        mac=d.mac,
        what=d.what,
        first_seen=d.first_seen,
        last_seen=d.last_seen,
        gone=d.gone,
    )


def _attempt(row: LoginAttemptTable) -> LoginAttempt:
    return LoginAttempt(
        device=row.device_key,
        address=row.address,
        protocol=row.protocol,
        username=row.username,
        at=row.at,
        outcome=AttemptOutcome(row.outcome),
        owner=row.owner,
        until=row.until,
    )


def _changes_by_scan(session: Session, scan_ids: Sequence[int]) -> dict[int, list[Change]]:
    found: dict[int, list[Change]] = {}
    if not scan_ids:
        return found
    stmt = select(ChangeTable).where(ChangeTable.scan_id.in_(scan_ids)).order_by(ChangeTable.id)
    for c in session.scalars(stmt):
        change = Change(ChangeKind(c.kind), c.device_key, c.address, c.before, c.after)
        found.setdefault(c.scan_id, []).append(change)
    return found


def _snapshot(host: ScanHostTable, scanned_at: datetime) -> HostSnapshot:
    report = _codec.host_report(
        address=host.address,
        device_class=host.device_class,
        what=host.what,
        identity=host.identity,
        observations=host.observations,
        services=host.services,
        drivers=host.drivers,
        auth=host.auth,
        problems=host.problems,
        security=host.security,
    )
    return HostSnapshot(host.scan_id, scanned_at, host.device_key, report)
