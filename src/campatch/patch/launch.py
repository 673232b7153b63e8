"""Turn a plan into a stored job, and run a stored job with real drivers.

This is where the rollout meets the rest of campatch: the plan's ready devices, the
firmware store's verified images, the credential vault, the vendor drivers and one
bounded HTTP client. The CLI (``campatch patch``) and the benchmark call these two
functions; the decisions live in :mod:`campatch.patch.apply` and
:mod:`campatch.patch.rollout`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from campatch.audit.interface import DeviceFacts
from campatch.config import Limits, PortMap
from campatch.drivers.interface import AuthBudget, ProbeContext, Upgrader, UpgradeTarget
from campatch.drivers.registry import driver_named
from campatch.errors import UsageError
from campatch.model import Credential
from campatch.net.http import HttpClient
from campatch.patch.apply import DeviceUpgrade, ImageSource, StepListener
from campatch.patch.firmware_store import ImageListing
from campatch.patch.jobs import DeviceJob, DeviceUpdate, Job, JobStore, Journal, Step
from campatch.patch.plan import DevicePlan, Plan, automatic_driver, expected_downtime
from campatch.patch.rollout import Rollout, RolloutSettings, assign_waves

__all__ = ["CredentialLookup", "Excluded", "create_job", "run_job"]


class CredentialLookup(Protocol):
    """**Protocol**: the owner's logins (the vault or a snapshot of it)."""

    def for_host(self, address: str, vendor: str | None = None) -> list[Credential]:
        """The credentials for a host, most specific first."""
        ...


@dataclass(frozen=True)
class Excluded:
    """A ready device left out of the job, and why."""

    key: str
    address: str
    reason: str


def create_job(
    plan: Plan,
    devices: Sequence[DeviceFacts],
    jobs: JobStore,
    listing: ImageListing,
    settings: RolloutSettings,
) -> tuple[Job | None, list[Excluded]]:
    """Store a job for the plan's ready devices (nothing is sent to any device).

    A device already in another unfinished job is left out (never two jobs on one
    device, SAFETY D-08), as is one whose image cannot be found in the store.

    Args:
        plan: the plan (its ready devices are the job's).
        devices: the planned devices' facts (for their drivers).
        jobs: where the job is stored.
        listing: the firmware store's index the plan was made with (read once).
        settings: waves and limits.

    Returns:
        The job (None when no device is left) and the devices left out.
    """
    reports = {d.key: d.report for d in devices}
    records: list[DeviceJob] = []
    excluded: list[Excluded] = []
    for item in plan.ready:
        busy = jobs.active_device_jobs(item.key)
        if busy:
            excluded.append(Excluded(item.key, item.address, f"already in unfinished job "
                                     f"{busy[0].job_id}; finish or resume that one first"))  # fmt: skip
            continue
        driver = automatic_driver(reports[item.key], item.vendor)
        shas = _image_hashes(item, listing)
        if driver is None or shas is None:
            excluded.append(Excluded(item.key, item.address, "no automatic path or no image"))
            continue
        records.append(_record(item, driver, shas))
    if not records:
        return None, excluded
    waves = assign_waves(len(records), settings)
    records = [replace(r, wave=w) for r, w in zip(records, waves, strict=True)]
    return jobs.create_job(settings.to_json(), records), excluded


def _image_hashes(item: DevicePlan, images: ImageListing) -> tuple[str, ...] | None:
    shas: list[str] = []
    for release in item.path:
        found = images.find(item.vendor or release.vendor, item.model or release.model,
                            release.version, release.hardware or item.hardware)  # fmt: skip
        wanted = release.sha256.casefold()
        match = [i for i in found if not wanted or i.sha256.casefold() == wanted]
        if not match:
            return None
        shas.append(match[0].sha256)
    return tuple(shas)


def _record(item: DevicePlan, driver: str, shas: tuple[str, ...]) -> DeviceJob:
    return DeviceJob(
        job_id=0,
        device_key=item.key,
        address=item.address,
        name=item.name,
        driver=driver,
        wave=0,
        from_version=item.current or "",
        path=tuple(r.version for r in item.path),
        images=shas,
        vendor=item.vendor or "",
        model=item.model or "",
        hardware=item.hardware or "",
    )


async def run_job(
    job: Job,
    jobs: JobStore,
    *,
    credentials: CredentialLookup,
    images: ImageSource,
    limits: Limits,
    port_map: PortMap,
    journal: Journal | None = None,
    listener: StepListener | None = None,
    backup_dir: Path | None = None,
    downtime_s: Mapping[str, float] | None = None,
    now: Callable[[], datetime] | None = None,
) -> Job:
    """Run (or resume) a stored job to its end, halt, pause or window close.

    Args:
        job: the stored job; its settings are read from it.
        jobs: the job store.
        credentials: where each device's login comes from (the first for its address).
        images: verified image bytes.
        limits, port_map: network bounds and port mapping (simulator offsets).
        journal: the tamper-evident journal.
        listener: progress display.
        backup_dir: where configuration exports are kept.
        downtime_s: expected downtime per driver name, seconds (default: the plan's).
        now: UTC clock for the maintenance window.
    """
    settings = RolloutSettings.from_json(dict(job.settings))
    images = _ReadOnce(images)
    async with HttpClient(limits, port_map) as http:
        ctx = ProbeContext(http=http, limits=limits, port_map=port_map, auth=AuthBudget())

        def make_upgrade(record: DeviceJob, slot: asyncio.Semaphore) -> DeviceUpgrade | None:
            upgrader = _upgrader(record.driver)
            logins = credentials.for_host(record.address, vendor=record.vendor or None)
            if not logins:
                jobs.update_device(record.job_id, record.device_key, DeviceUpdate(
                    Step.NEEDS_OPERATOR, f"no stored credentials; add them with "
                    f"`campatch creds add {record.address}`, then resume"))  # fmt: skip
                return None
            return DeviceUpgrade(
                record, upgrader, UpgradeTarget(record.address, logins[0]), ctx,
                jobs=jobs, images=images, settings=settings.apply,
                downtime_s=(downtime_s or {}).get(record.driver, expected_downtime(record.vendor)),
                rtsp_paths=getattr(upgrader, "rtsp_paths", ()), upload_slot=slot,
                journal=journal, listener=listener, backup_dir=backup_dir,
            )  # fmt: skip

        rollout = Rollout(job, jobs, settings, make_upgrade, journal=journal,
                          **({"now": now} if now else {}))  # fmt: skip
        return await rollout.run()


class _ReadOnce:
    """Each image read (and hashed) once per run: a wave of 50 cameras of one model
    shares one verified copy in memory instead of 50 disk reads and hashes."""

    def __init__(self, images: ImageSource) -> None:
        self._images = images
        self._bytes: dict[tuple[str, str, str], bytes] = {}

    def read(self, sha256: str, vendor: str, model: str) -> bytes:
        key = (sha256, vendor, model)
        if key not in self._bytes:
            self._bytes[key] = self._images.read(sha256, vendor, model)
        return self._bytes[key]


def _upgrader(name: str) -> Upgrader:
    driver = driver_named(name)
    if not isinstance(driver, Upgrader):
        raise UsageError(f"driver {name} has no upgrade operations")
    return driver
