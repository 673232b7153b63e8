"""Upgrade jobs in the inventory database: :class:`campatch.patch.jobs.JobStore` on SQL.

    with open_store(url) as store:
        jobs = store.jobs()
        job = jobs.create_job(settings, devices)
        jobs.update_device(job.id, key, DeviceUpdate(Step.UPLOADING, "sending V5.7.15"))

Every method is one transaction, committed before it returns (SQLite runs with
``synchronous=FULL``, so a transition that returned survives a crash or power loss).
A device row and the :class:`~campatch.patch.jobs.JobEvent` announcing its new step
are written together: the row's step is always the step of its last event.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from campatch.errors import InventoryError
from campatch.inventory._codec import clean
from campatch.inventory.tables import JobDeviceTable, JobEventTable, JobTable
from campatch.patch.jobs import (
    TERMINAL_STEPS,
    DeviceJob,
    DeviceUpdate,
    Job,
    JobEvent,
    JobState,
    Step,
)


class SessionOpener(Protocol):
    """**Protocol**: the store's transaction: ``with opener("do x", write=True) as s:``.

    The session is committed when the block ends without an error; database errors come
    out as one-line :class:`InventoryError`. ``write=True`` takes the write lock first
    (SQLite ``BEGIN IMMEDIATE``), so read-then-write transactions never deadlock.
    """

    def __call__(self, action: str, *, write: bool = False) -> AbstractContextManager[Session]:
        """Open one transaction for ``action`` (named in error messages)."""
        ...


def utc_now() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


class SqlJobStore:
    """:class:`~campatch.patch.jobs.JobStore` on the inventory's engine.

    Get one from :meth:`campatch.inventory.store.SqlInventoryStore.jobs`.

    Args:
        session: the store's transaction opener.
        lock: the job lock for this database (:mod:`campatch.inventory.job_lock`).
        clock: the time written on rows and events (tests freeze it).
    """

    def __init__(
        self,
        session: SessionOpener,
        lock: Callable[[int], AbstractContextManager[None]],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._session = session
        self._lock = lock
        self._clock = clock

    def exclusive(self, job_id: int) -> AbstractContextManager[None]:
        """Hold the job for this process while the block runs (see the protocol).

        Raises:
            JobBusyError: another process, here or on another host, holds it.
            InventoryError: the lock cannot be taken.
        """
        return self._lock(job_id)

    def create_job(self, settings: Mapping[str, Any], devices: Sequence[DeviceJob]) -> Job:
        """Store a new RUNNING job and its devices (their ``job_id`` is replaced).

        One event per device records its first step, so every device has a last event.

        Raises:
            InventoryError: a device key appears twice, or the store failed.
        """
        now = self._clock()
        with self._session("create job", write=True) as session:
            row = JobTable(
                state=JobState.RUNNING.value,
                settings=dict(settings),
                reason="",
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            _event(session, row.id, now, "", JobState.RUNNING.value, f"{len(devices)} devices")
            for d in devices:
                session.add(_device_row(row.id, d, now))
                _event(session, row.id, now, d.device_key, d.step.value, d.detail)
            return _job(row)

    def job(self, job_id: int) -> Job | None:
        """The job, or None."""
        with self._session("read job") as session:
            row = session.get(JobTable, job_id)
            return None if row is None else _job(row)

    def jobs(self, limit: int = 20) -> list[Job]:
        """The latest jobs, newest first."""
        stmt = select(JobTable).order_by(JobTable.id.desc()).limit(limit)
        with self._session("list jobs") as session:
            return [_job(r) for r in session.scalars(stmt)]

    def device_jobs(self, job_id: int) -> list[DeviceJob]:
        """The job's devices, by wave then address."""
        stmt = select(JobDeviceTable).where(JobDeviceTable.job_id == job_id)
        with self._session("list job devices") as session:
            found = [_device_job(r) for r in session.scalars(stmt)]
        return sorted(found, key=lambda d: (d.wave, _address_order(d.address), d.device_key))

    def update_device(self, job_id: int, device_key: str, update: DeviceUpdate) -> DeviceJob:
        """Apply one transition and append its :class:`JobEvent`, atomically.

        Raises:
            InventoryError: unknown job or device, a ``path_index`` outside the path, or
                the store failed. Nothing is written then.
        """
        now = self._clock()
        action = f"update job {job_id} device {device_key}"
        with self._session(action, write=True) as session:
            row = session.scalars(
                select(JobDeviceTable)
                .where(JobDeviceTable.job_id == job_id, JobDeviceTable.device_key == device_key)
                .with_for_update()
            ).one_or_none()
            if row is None:
                raise InventoryError(_missing(session, job_id, device_key))
            _apply(row, update, now)
            _event(session, job_id, now, device_key, row.step, row.detail)
            return _device_job(row)

    def set_job_state(self, job_id: int, state: JobState, reason: str = "") -> Job:
        """Change the job's state and append a job-level event, atomically.

        Raises:
            InventoryError: unknown job, or the store failed.
        """
        now = self._clock()
        with self._session(f"set state of job {job_id}", write=True) as session:
            row = session.get(JobTable, job_id, with_for_update=True)
            if row is None:
                raise InventoryError(f"inventory: no job {job_id}")
            row.state, row.reason, row.updated_at = state.value, clean(reason), now
            _event(session, job_id, now, "", state.value, row.reason)
            return _job(row)

    def events(self, job_id: int) -> list[JobEvent]:
        """Every stored transition of the job, in order."""
        stmt = select(JobEventTable).where(JobEventTable.job_id == job_id)
        with self._session("read job events") as session:
            return [_job_event(r) for r in session.scalars(stmt.order_by(JobEventTable.seq))]

    def active_device_jobs(self, device_key: str) -> list[DeviceJob]:
        """Non-terminal device jobs of unfinished jobs for this device (D-08: one job per
        device at a time), oldest job first."""
        stmt = (
            select(JobDeviceTable)
            .join(JobTable, JobTable.id == JobDeviceTable.job_id)
            .where(
                JobDeviceTable.device_key == device_key,
                JobTable.state != JobState.DONE.value,
                JobDeviceTable.step.not_in([s.value for s in TERMINAL_STEPS]),
            )
            .order_by(JobDeviceTable.job_id)
        )
        with self._session("read active jobs") as session:
            return [_device_job(r) for r in session.scalars(stmt)]


def _missing(session: Session, job_id: int, device_key: str) -> str:
    if session.get(JobTable, job_id) is None:
        return f"inventory: no job {job_id}"
    return f"inventory: job {job_id} has no device {device_key!r}"


def _apply(row: JobDeviceTable, update: DeviceUpdate, now: datetime) -> None:
    if update.add_uploads < 0:
        raise InventoryError(f"inventory: add_uploads must be >= 0, got {update.add_uploads}")
    if update.path_index is not None:
        if not 0 <= update.path_index < len(row.path):
            raise InventoryError(
                f"inventory: job {row.job_id} device {row.device_key!r}: path_index "
                f"{update.path_index} outside its path of {len(row.path)} versions"
            )
        row.path_index = update.path_index
    if update.attempts is not None:
        row.attempts = update.attempts
    if update.address is not None:
        row.address = clean(update.address)
    row.uploads += update.add_uploads
    row.step, row.detail, row.updated_at = update.step.value, clean(update.detail), now


def _event(
    session: Session, job_id: int, at: datetime, device_key: str, step: str, detail: str
) -> None:
    session.add(
        JobEventTable(
            job_id=job_id, at=at, device_key=clean(device_key), step=step, detail=clean(detail)
        )
    )


def _device_row(job_id: int, d: DeviceJob, now: datetime) -> JobDeviceTable:
    return JobDeviceTable(
        job_id=job_id,
        device_key=clean(d.device_key),
        address=clean(d.address),
        name=clean(d.name),
        driver=clean(d.driver)[:32],
        vendor=clean(d.vendor),
        model=clean(d.model),
        hardware=clean(d.hardware),
        wave=d.wave,
        from_version=clean(d.from_version),
        path=[clean(v) for v in d.path],
        images=list(d.images),
        step=d.step.value,
        path_index=d.path_index,
        uploads=d.uploads,
        attempts=d.attempts,
        detail=clean(d.detail),
        updated_at=now,
    )


def _job(row: JobTable) -> Job:
    return Job(
        id=row.id,
        state=JobState(row.state),
        settings=dict(row.settings),
        created_at=row.created_at,
        updated_at=row.updated_at,
        reason=row.reason,
    )


def _device_job(row: JobDeviceTable) -> DeviceJob:
    return DeviceJob(
        job_id=row.job_id,
        device_key=row.device_key,
        address=row.address,
        name=row.name,
        driver=row.driver,
        vendor=row.vendor,
        model=row.model,
        hardware=row.hardware,
        wave=row.wave,
        from_version=row.from_version,
        path=tuple(row.path),
        images=tuple(row.images),
        step=Step(row.step),
        path_index=row.path_index,
        uploads=row.uploads,
        attempts=row.attempts,
        detail=row.detail,
        updated_at=row.updated_at,
    )


def _job_event(row: JobEventTable) -> JobEvent:
    return JobEvent(
        job_id=row.job_id,
        at=row.at,
        device_key=row.device_key,
        step=row.step,
        detail=row.detail,
        seq=row.seq,
    )


def _address_order(address: str) -> tuple[int, int, str]:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0, address)
    return (ip.version, int(ip), address)
