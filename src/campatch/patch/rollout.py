"""A staged rollout: canary first, then waves, halted by failures, held to a window.

Devices are put in waves when the job is created (:func:`assign_waves`): wave 0 is the
canary (``canary`` devices), then each wave brings the share of devices done up to the
next percentage of ``waves`` (default 10 %, 50 %, 100 %). :class:`Rollout` runs the
waves in order:

- at most ``concurrency`` devices at a time, and at most ``per_subnet`` uploads at a
  time per /24 (IPv6: /64), so a site's uplink and switch are not flooded (D-08);
- a device starts only while the maintenance window is open; one already running when
  it closes finishes, and the job stops as ``window-closed`` (D-09);
- after each wave, any canary failure, or more than ``max_failure_pct`` of a wave
  failing, halts the job: no device of a later wave is touched (D-08). Resuming needs
  the owner's explicit ``campatch patch --resume``, which is journalled;
- ``pause_after_wave`` stops after each wave until resumed.

Everything the rollout decides is written to the :class:`JobStore` first, so
``--resume`` after a crash picks up exactly where it was.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from campatch.errors import UsageError
from campatch.patch.apply import ApplySettings, DeviceUpgrade
from campatch.patch.jobs import FAILED_STEPS, DeviceJob, Job, JobState, JobStore, Journal
from campatch.patch.window import MaintenanceWindow

__all__ = ["Rollout", "RolloutSettings", "assign_waves", "subnet_of"]

#: Builds a device's upgrade; None when the device was settled without one (no login).
UpgradeFactory = Callable[[DeviceJob, asyncio.Semaphore], DeviceUpgrade | None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RolloutSettings:
    """How a rollout is staged (stored with the job, so a resume uses the same).

    Args:
        canary: devices in the first wave.
        waves: cumulative share of devices (percent) done after each later wave.
        concurrency: devices being upgraded at once.
        per_subnet: uploads at once per /24 (IPv6 /64).
        max_failure_pct: a later wave with more failures than this halts the job.
        pause_after_wave: stop after each wave until ``--resume``.
        window: the maintenance window, or None for any time.
        apply: per-device timing, retries and overrides.
    """

    canary: int = 1
    waves: tuple[float, ...] = (10.0, 50.0, 100.0)
    concurrency: int = 10
    per_subnet: int = 2
    max_failure_pct: float = 5.0
    pause_after_wave: bool = False
    window: MaintenanceWindow | None = None
    apply: ApplySettings = field(default_factory=ApplySettings)

    def __post_init__(self) -> None:
        if self.canary < 0 or self.concurrency < 1 or self.per_subnet < 1:
            raise UsageError("canary must be >= 0, concurrency and per-subnet >= 1")
        if not self.waves or any(not 0 < w <= 100 for w in self.waves):
            raise UsageError("waves are percentages between 0 and 100, e.g. 10,50,100")
        if list(self.waves) != sorted(self.waves) or self.waves[-1] != 100:
            raise UsageError("waves must grow and end at 100 (every device is reached)")
        if not 0 <= self.max_failure_pct <= 100:
            raise UsageError("the failure threshold is a percentage between 0 and 100")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values for the job record."""
        raw = asdict(self)
        raw["window"] = self.window.to_json() if self.window else None
        raw["waves"] = list(self.waves)
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RolloutSettings:
        """The inverse of :meth:`to_json`."""
        window = raw.get("window")
        return cls(
            canary=int(raw["canary"]),
            waves=tuple(float(w) for w in raw["waves"]),
            concurrency=int(raw["concurrency"]),
            per_subnet=int(raw["per_subnet"]),
            max_failure_pct=float(raw["max_failure_pct"]),
            pause_after_wave=bool(raw["pause_after_wave"]),
            window=MaintenanceWindow.from_json(window) if window else None,
            apply=ApplySettings(**raw["apply"]),
        )


def assign_waves(count: int, settings: RolloutSettings) -> list[int]:
    """The wave of each of ``count`` devices, in order (0 = canary).

    >>> assign_waves(100, RolloutSettings())[:2], assign_waves(100, RolloutSettings()).count(1)
    ([0, 1], 9)
    """
    waves: list[int] = []
    canary = min(settings.canary, count)
    waves += [0] * canary
    number = 0
    for pct in settings.waves:
        upto = max(canary, math.ceil(count * pct / 100))
        if upto > len(waves):  # a share that adds no device is not a wave of its own
            number += 1
            waves += [number] * (upto - len(waves))
    return waves


def subnet_of(address: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) an address is in: the unit of the upload limit."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class Rollout:
    """Run (or resume) one stored job to its end, a halt, a pause or the window's end.

    Args:
        job: the stored job.
        jobs: the job store.
        settings: the job's staging.
        make_upgrade: builds the :class:`DeviceUpgrade` of a device record, given the
            upload slot of its subnet.
        journal: where halts and resumes are journalled.
        now: the current UTC time (tests move it).
    """

    def __init__(
        self,
        job: Job,
        jobs: JobStore,
        settings: RolloutSettings,
        make_upgrade: UpgradeFactory,
        *,
        journal: Journal | None = None,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.job = job
        self.jobs = jobs
        self.settings = settings
        self.make_upgrade = make_upgrade
        self.journal = journal
        self.now = now
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._running = asyncio.Semaphore(settings.concurrency)
        self._window_closed = False

    async def run(self) -> Job:
        """Run the remaining waves; returns the job as stored at the end."""
        records = self.jobs.device_jobs(self.job.id)
        for wave in sorted({r.wave for r in records}):
            members = [r for r in records if r.wave == wave]
            ran = await self._run_wave([r for r in members if not r.step.terminal])
            if self._window_closed:
                return self._stop(JobState.WINDOW_CLOSED,
                                  f"the maintenance window {self.settings.window} closed "
                                  f"during wave {wave}; `campatch patch --resume` in the next window")  # fmt: skip
            if ran and (reason := self._halt_reason(wave)):
                return self._stop(JobState.HALTED, reason)
            last_wave = wave == max(r.wave for r in records)
            if ran and self.settings.pause_after_wave and not last_wave:
                return self._stop(JobState.PAUSED, f"paused after wave {wave} as asked; "
                                  "`campatch patch --resume` goes on")  # fmt: skip
        return self._stop(JobState.DONE, "")

    async def _run_wave(self, pending: Sequence[DeviceJob]) -> bool:
        """Upgrade the wave's unfinished devices; True when at least one started."""
        if not pending:
            return False
        started = [asyncio.create_task(self._one(r)) for r in pending]
        results = await asyncio.gather(*started)
        return any(results)

    async def _one(self, record: DeviceJob) -> bool:
        async with self._running:
            window = self.settings.window
            closed = window is not None and not window.is_open(self.now())
            if closed and not record.step.in_flight:  # an interrupted device is finished
                self._window_closed = True
                return False
            slot = self._slots.setdefault(
                subnet_of(record.address), asyncio.Semaphore(self.settings.per_subnet)
            )
            upgrade = self.make_upgrade(record, slot)
            if upgrade is not None:
                await upgrade.run()
            return True

    def _halt_reason(self, wave: int) -> str:
        members = [r for r in self.jobs.device_jobs(self.job.id) if r.wave == wave]
        failed = [r for r in members if r.step in FAILED_STEPS]
        if not failed:
            return ""
        names = ", ".join(f"{r.address} ({r.step})" for r in failed[:5])
        if wave == 0:
            return f"the canary failed: {names}; no other device was touched"
        share = 100 * len(failed) / len(members)
        if share > self.settings.max_failure_pct:
            return (f"{len(failed)} of {len(members)} devices of wave {wave} failed "
                    f"({share:.0f} % > {self.settings.max_failure_pct:g} %): {names}")  # fmt: skip
        return ""

    def _stop(self, state: JobState, reason: str) -> Job:
        self.job = self.jobs.set_job_state(self.job.id, state, reason)
        if self.journal is not None and state is not JobState.DONE:
            action = "rollout-halt" if state is JobState.HALTED else "rollout-stop"
            self.journal.append(action, str(state), detail={"job": self.job.id, "reason": reason})
        return self.job
