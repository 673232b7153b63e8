"""The inventory's tables (SQLAlchemy 2 declarative).

Changing a table means adding an Alembic revision under ``migrations/versions``; the
revision, not ``Base.metadata.create_all``, is what creates the schema.

Device-reported strings (model names, banners, serials) are ``Text``: a device decides
their length, and PostgreSQL would reject a value longer than a ``String(n)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone).

    Naive datetimes are taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with constraint names Alembic can refer to."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ScanTable(Base):
    """One scan."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    targets: Mapped[list[str]] = mapped_column(JSON)
    host_count: Mapped[int] = mapped_column(Integer)


class DeviceTable(Base):
    """The latest known state of one device, by stable key."""

    __tablename__ = "devices"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    address: Mapped[str] = mapped_column(Text, index=True)
    device_class: Mapped[str] = mapped_column(String(16))
    vendor: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    hardware: Mapped[str | None] = mapped_column(Text)
    firmware: Mapped[str | None] = mapped_column(Text)
    build: Mapped[str | None] = mapped_column(Text)
    serial: Mapped[str | None] = mapped_column(Text)
    mac: Mapped[str | None] = mapped_column(Text)
    what: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    gone: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    last_scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id", ondelete="SET NULL"))


class ScanHostTable(Base):
    """One host as one scan reported it (the history)."""

    __tablename__ = "scan_hosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    device_key: Mapped[str] = mapped_column(Text, index=True)
    address: Mapped[str] = mapped_column(Text)
    device_class: Mapped[str] = mapped_column(String(16))
    what: Mapped[str] = mapped_column(Text, default="")
    #: ``{field: {value, source, confidence, disagreements: [observation, ...]}}``
    identity: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: every observation, in the order the identity was folded from
    observations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    services: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    drivers: Mapped[list[str]] = mapped_column(JSON)
    auth: Mapped[str] = mapped_column(String(16))
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: what the audit's probes observed (SecurityFacts); None for scans before r0002
    security: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ChangeTable(Base):
    """One change a scan noticed."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    device_key: Mapped[str] = mapped_column(Text, index=True)
    address: Mapped[str] = mapped_column(Text)
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")


class LoginAttemptTable(Base):
    """One login campatch made on a device (no password): the lockout budget's memory."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_key: Mapped[str] = mapped_column(Text, index=True)
    address: Mapped[str] = mapped_column(Text, index=True)
    protocol: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    owner: Mapped[bool] = mapped_column(Boolean, default=False)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JobTable(Base):
    """One rollout (``campatch patch``): see :class:`campatch.patch.jobs.Job`."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(24))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobDeviceTable(Base):
    """One device's part in a job: see :class:`campatch.patch.jobs.DeviceJob`."""

    __tablename__ = "job_devices"
    __table_args__ = (UniqueConstraint("job_id", "device_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    device_key: Mapped[str] = mapped_column(Text, index=True)
    address: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, default="")
    driver: Mapped[str] = mapped_column(String(32))
    vendor: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(Text, default="")
    hardware: Mapped[str] = mapped_column(Text, default="")
    wave: Mapped[int] = mapped_column(Integer)
    from_version: Mapped[str] = mapped_column(Text)
    path: Mapped[list[str]] = mapped_column(JSON)
    images: Mapped[list[str]] = mapped_column(JSON)
    step: Mapped[str] = mapped_column(String(32))
    path_index: Mapped[int] = mapped_column(Integer, default=0)
    uploads: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobEventTable(Base):
    """One stored transition of a job's device (or of the job: empty ``device_key``)."""

    __tablename__ = "job_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    device_key: Mapped[str] = mapped_column(Text, default="")
    step: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class JournalTable(Base):
    """One record of the hash-chained journal (SAFETY S-03); ``seq`` is given, from 1."""

    __tablename__ = "journal"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(Text, default="", index=True)
    result: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class JournalHeadTable(Base):
    """The journal's last record as the appender saw it (one row, ``id`` 1): a deleted
    tail shows as a head the chain no longer reaches."""

    __tablename__ = "journal_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
