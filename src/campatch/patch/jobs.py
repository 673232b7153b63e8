"""Upgrade jobs as records: what a rollout is doing to each device, step by step.

A *job* is one rollout (``campatch patch``): its settings and its devices. Each
device moves through :class:`Step` values; every move is written to the store
*before* the action it announces and again after it (STYLE: "write-ahead"), so a
process killed at any point leaves a record that says which action may have been
in flight. :class:`JobStore` is the contract the inventory implements
(:mod:`campatch.inventory.jobs`); the orchestrator (:mod:`campatch.patch.rollout`)
only talks to it.

Terminal steps are what an owner reads at the end; each is honest about what is
known of the device:

- ``SUCCESS``: the device reports the target version and its health probes pass;
- ``ROLLED_BACK``: it took the image but came back on the old version;
- ``DEGRADED``: it runs the target version but a health probe fails (RTSP down);
- ``UNREACHABLE_AFTER_UPGRADE``: it took the image and did not come back in time;
- ``FAILED_SAFE``: nothing was flashed (refused by preflight or by the device, or the
  upload failed) and the device still runs its old version;
- ``NEEDS_OPERATOR``: campatch cannot tell or must not go on; the detail says why.

A device still ``PENDING`` when a job halted, paused or left its maintenance window
was not touched; ``campatch patch --resume`` starts it later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class Step(StrEnum):
    """Where one device is in its upgrade (stored as text)."""

    PENDING = "pending"
    PREFLIGHT = "preflight"
    BACKUP = "backup"
    UPLOADING = "uploading"  # written before the first byte is sent
    REBOOTING = "rebooting"  # the device accepted the image; waiting for it to return
    VERIFYING = "verifying"
    SUCCESS = "success"
    ROLLED_BACK = "rolled-back"
    DEGRADED = "degraded"
    UNREACHABLE_AFTER_UPGRADE = "unreachable-after-upgrade"
    FAILED_SAFE = "failed-safe"
    NEEDS_OPERATOR = "needs-operator"

    def __str__(self) -> str:
        return self.value

    @property
    def terminal(self) -> bool:
        """True when the device's part of the job is over."""
        return self in TERMINAL_STEPS

    @property
    def in_flight(self) -> bool:
        """True when an action on the device may have been under way (resume re-probes)."""
        return self in IN_FLIGHT_STEPS


TERMINAL_STEPS = frozenset(
    {
        Step.SUCCESS,
        Step.ROLLED_BACK,
        Step.DEGRADED,
        Step.UNREACHABLE_AFTER_UPGRADE,
        Step.FAILED_SAFE,
        Step.NEEDS_OPERATOR,
    }
)
IN_FLIGHT_STEPS = frozenset({Step.UPLOADING, Step.REBOOTING, Step.VERIFYING})
#: Terminal steps that count against a wave's failure budget.
FAILED_STEPS = frozenset(
    {
        Step.ROLLED_BACK,
        Step.DEGRADED,
        Step.UNREACHABLE_AFTER_UPGRADE,
        Step.FAILED_SAFE,
        Step.NEEDS_OPERATOR,
    }
)


class JobState(StrEnum):
    """Where a whole rollout is."""

    RUNNING = "running"  # started, not finished (a killed process leaves it so: resumable)
    PAUSED = "paused"  # stopped after a wave on request; `--resume` goes on
    HALTED = "halted"  # the failure rule stopped it; `--resume` goes on, audited
    WINDOW_CLOSED = "window-closed"  # outside the maintenance window; `--resume` later
    DONE = "done"

    def __str__(self) -> str:
        return self.value

    @property
    def resumable(self) -> bool:
        """True when ``campatch patch --resume`` may continue it."""
        return self is not JobState.DONE


@dataclass(frozen=True, slots=True)
class DeviceJob:
    """One device's part in a job, as stored.

    Args:
        job_id: the job.
        device_key: inventory key of the device.
        address: where it was reached.
        name: "Hikvision DS-2CD2143G2-I" (for people).
        driver: the driver that upgrades it (hikvision, dahua, onvif).
        wave: 0 = canary, then 1, 2 ...
        from_version: firmware (and build) installed when the job was planned.
        path: versions to install, in order (the last is the target).
        images: hex SHA-256 of the image for each version of ``path``.
        vendor, model, hardware: as planned (preflight re-reads and compares them).
        step: where it is.
        path_index: which element of ``path`` the step is about.
        uploads: uploads sent to the device in this job (D-10: at most once per flash).
        attempts: tries of the current path element (retry cap, D-07).
        detail: what happened, in words an owner reads.
        updated_at: time of the last write (UTC).
    """

    job_id: int
    device_key: str
    address: str
    name: str
    driver: str
    wave: int
    from_version: str
    path: tuple[str, ...]
    images: tuple[str, ...]
    vendor: str = ""
    model: str = ""
    hardware: str = ""
    step: Step = Step.PENDING
    path_index: int = 0
    uploads: int = 0
    attempts: int = 0
    detail: str = ""
    updated_at: datetime | None = None

    @property
    def target(self) -> str:
        """The version the device should end on."""
        return self.path[-1]


@dataclass(frozen=True, slots=True)
class Job:
    """A rollout as stored.

    Args:
        id: job number (shown to the owner).
        state: where it is.
        settings: the rollout settings, as plain JSON values (waves, thresholds, window).
        created_at, updated_at: UTC.
        reason: why it halted, paused or stopped (empty while running or done).
    """

    id: int
    state: JobState
    settings: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One stored transition of a device (or of the job when ``device_key`` is empty)."""

    job_id: int
    at: datetime
    device_key: str
    step: str
    detail: str
    seq: int = 0


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """Fields of a :class:`DeviceJob` to change in one transition (None = keep)."""

    step: Step
    detail: str = ""
    path_index: int | None = None
    add_uploads: int = 0
    attempts: int | None = None
    address: str | None = None


class JobStore(Protocol):
    """**Protocol**: where jobs live. Every method is one durable transaction.

    Implementations commit each call before returning (SQLite with
    ``synchronous=FULL``), so a transition that returned is never lost to a crash.
    """

    def create_job(self, settings: Mapping[str, Any], devices: Sequence[DeviceJob]) -> Job:
        """Store a new RUNNING job and its devices (their ``job_id`` is replaced)."""
        ...

    def job(self, job_id: int) -> Job | None:
        """The job, or None."""
        ...

    def jobs(self, limit: int = 20) -> list[Job]:
        """The latest jobs, newest first."""
        ...

    def device_jobs(self, job_id: int) -> list[DeviceJob]:
        """The job's devices, by wave then address."""
        ...

    def update_device(self, job_id: int, device_key: str, update: DeviceUpdate) -> DeviceJob:
        """Apply one transition and append its :class:`JobEvent`, atomically.

        Raises:
            InventoryError: unknown job or device, or the store failed.
        """
        ...

    def set_job_state(self, job_id: int, state: JobState, reason: str = "") -> Job:
        """Change the job's state and append a job-level event, atomically."""
        ...

    def events(self, job_id: int) -> list[JobEvent]:
        """Every stored transition of the job, in order."""
        ...

    def active_device_jobs(self, device_key: str) -> list[DeviceJob]:
        """Non-terminal device jobs of unfinished jobs for this device (D-08: one job per
        device at a time)."""
        ...

    def exclusive(self, job_id: int) -> AbstractContextManager[None]:
        """Hold the job for this process while the block runs: one process per job
        among all that use this store. The hold dies with the process.

        Raises:
            JobBusyError: another process holds it.
        """
        ...


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One record of the tamper-evident journal (SAFETY S-03).

    Args:
        seq: position in the chain, from 1.
        at: UTC time.
        actor: who acted ("campatch scan", the OS user ...).
        action: what ("auth-attempt", "credential-add", "feed-sync", "upgrade-start",
            "upgrade-state", "upgrade-end", "override", "rollout-halt", "rollout-resume").
        device: device key or address ("" when none).
        result: outcome in a word or two.
        detail: extra JSON values; secrets never go here.
        prev_hash, hash: the chain (hex SHA-256).
    """

    seq: int
    at: datetime
    actor: str
    action: str
    device: str
    result: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""


class Journal(Protocol):
    """**Protocol**: the append-only, hash-chained journal."""

    def append(
        self,
        action: str,
        result: str,
        *,
        device: str = "",
        detail: Mapping[str, Any] | None = None,
        actor: str = "",
    ) -> JournalEntry:
        """Append one record (chained to the last), durably."""
        ...
