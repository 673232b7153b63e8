"""A rollout bench for tests: simulated devices, a real SQLite job store, a real firmware
store with simulator images, and the real drivers, all on loopback.

    async with rollout_bench(tmp_path, [camera("hikvision", reboot_s=0.3)]) as bench:
        job = bench.create_job(RolloutSettings(...))
        job = await bench.run(job)
        bench.census(job)   # the store agrees with the simulator for every device
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campatch.config import Limits
from campatch.inventory.store import SqlInventoryStore, open_store
from campatch.knowledge.versions import Ordering, compare, parse_version
from campatch.model import Credential, Secret
from campatch.patch.apply import ApplySettings
from campatch.patch.firmware_store import FirmwareStore
from campatch.patch.jobs import DeviceJob, Job, JobStore, Step
from campatch.patch.launch import run_job
from campatch.patch.rollout import RolloutSettings, assign_waves
from campatch.sim.catalog import release_version
from campatch.sim.device import SimDevice
from campatch.sim.flash import Flash, SimImage, build_image
from campatch.sim.fleet import Fleet, specs_from_dicts
from support import fresh_subnet

PASSWORD = "Upgrade-Test-1"
IMAGE_BYTES = 64 * 1024

#: Per personality: vendor, model, old firmware/build, new firmware/build, driver.
PROFILES: dict[str, dict[str, str]] = {
    "hikvision": {"vendor": "Hikvision", "model": "DS-2CD2143G2-I", "firmware": "V5.7.3",
                  "build": "build 220112", "new": "V5.7.15", "new_build": "build 230512",
                  "driver": "hikvision"},
    "dahua": {"vendor": "Dahua", "model": "IPC-HDW5831R-ZE", "firmware": "2.800.0000016.0.R",
              "build": "2020-06-05", "new": "2.800.0000016.3.R", "new_build": "2023-04-10",
              "driver": "dahua"},
    "onvif": {"vendor": "Milesight", "model": "MS-C2963-PB", "firmware": "45.7.0.79",
              "build": "", "new": "45.7.0.80", "new_build": "", "driver": "onvif"},
}  # fmt: skip

FAST = ApplySettings(poll_interval_s=0.05, reboot_timeout_s=4.0, settle_s=0.6, retries=1)


def camera(personality: str = "hikvision", **options: Any) -> dict[str, Any]:
    """A fleet-file device of ``personality`` on the old firmware, fast flash and reboot."""
    p = PROFILES[personality]
    device: dict[str, Any] = {
        "personality": personality, "vendor": p["vendor"], "model": p["model"],
        "firmware": p["firmware"], "build": p["build"], "users": {"admin": PASSWORD},
        "flash_s": 0.15, "reboot_s": 0.3,
    }  # fmt: skip
    if personality == "onvif":
        device["onvif_port"] = 80
    device.update(options)
    return device


class Upgradable(SimDevice):
    """A simulated device that has a flash (for the type checker)."""

    flash: Flash


class _Logins:
    """Every device's login is admin / PASSWORD (the vault's job, without a key file)."""

    def for_host(self, address: str, vendor: str | None = None) -> list[Credential]:
        return [Credential("admin", Secret(PASSWORD))]


@dataclass
class RolloutBench:
    """The parts of a rollout under test."""

    fleet: Fleet
    store: SqlInventoryStore
    images: FirmwareStore
    limits: Limits
    home: Path
    names: list[str] = field(default_factory=list)

    def fleet_subnet(self) -> str:
        """The devices' /24, for a credential scope."""
        first = self.device(self.names[0]).spec.address
        return first.rsplit(".", 1)[0] + ".0/24"

    @property
    def jobs(self) -> JobStore:
        """The job store."""
        return self.store.jobs()

    def device(self, name: str) -> Upgradable:
        """A simulated camera (every personality here has a flash)."""
        dev = self.fleet.device(name)
        assert dev.flash is not None
        return dev  # type: ignore[return-value]

    def image_for(self, name: str, version: str | None = None, build: str | None = None,
                  model: str | None = None) -> tuple[str, str]:  # fmt: skip
        """Store an image for the device (its model, the profile's new version unless
        given); returns (release version text, sha256)."""
        spec = self.device(name).spec
        p = PROFILES[spec.personality]
        image = SimImage(vendor=p["vendor"], model=model or spec.model,
                         version=version or p["new"],
                         build=p["new_build"] if build is None else build)  # fmt: skip
        path = self.home / f"{name}-{image.version}.bin"
        path.write_bytes(build_image(image, IMAGE_BYTES))
        stored = self.images.add(path, p["vendor"], model or spec.model,
                                 release_version(image.version, image.build, p["vendor"]))  # fmt: skip
        return release_version(image.version, image.build, p["vendor"]), stored.sha256

    def create_job(
        self,
        settings: RolloutSettings,
        names: Sequence[str] | None = None,
        paths: dict[str, list[tuple[str, str]]] | None = None,
    ) -> Job:
        """A job upgrading ``names`` (default: every device) to the profile's new release
        (or the given path of (version, sha256) per device)."""
        chosen = list(names or self.names)
        waves = assign_waves(len(chosen), settings)
        records = []
        for name, wave in zip(chosen, waves, strict=True):
            spec = self.device(name).spec
            p = PROFILES[spec.personality]
            path = (paths or {}).get(name) or [self.image_for(name)]
            records.append(DeviceJob(
                job_id=0, device_key=f"sim:{name}", address=spec.address,
                name=f"{p['vendor']} {spec.model}", driver=p["driver"], wave=wave,
                from_version=" ".join(x for x in (spec.firmware, spec.build) if x),
                path=tuple(v for v, _ in path), images=tuple(s for _, s in path),
                vendor=p["vendor"], model=spec.model,
            ))  # fmt: skip
        return self.jobs.create_job(settings.to_json(), records)

    async def run(self, job: Job, **kw: Any) -> Job:
        """Run (or resume) the job with the real drivers against the fleet."""
        return await run_job(job, self.jobs, credentials=_Logins(), images=self.images,
                             limits=self.limits, port_map=self.fleet.port_map,
                             journal=self.store.journal(), backup_dir=self.home / "backups",
                             **kw)  # fmt: skip

    def by_name(self, job: Job) -> dict[str, DeviceJob]:
        """The job's device records by simulated device name."""
        return {r.device_key.removeprefix("sim:"): r for r in self.jobs.device_jobs(job.id)}

    def census(self, job: Job, retries: int = FAST.retries, crashes: int = 0) -> None:
        """SAFETY D-06/D-07: every device ended in a known state, and the store agrees
        with what the simulator reports (SUCCESS iff the device runs the target), and no
        device got more uploads than its retries allow, plus one per crash (D-10)."""
        for name, record in self.by_name(job).items():
            dev = self.device(name)
            spec = dev.spec
            runs = compare(parse_version(record.vendor, spec.firmware, spec.build or None),
                           parse_version(record.vendor, record.target))  # fmt: skip
            assert record.step.terminal or record.step is Step.PENDING, (name, record)
            if record.step is Step.SUCCESS:
                assert runs is Ordering.EQUAL, (name, record, spec.firmware)
                assert not dev.flash.offline(), name
            if record.step in (Step.FAILED_SAFE, Step.ROLLED_BACK, Step.PENDING):
                assert runs is not Ordering.EQUAL, (name, record, spec.firmware)
            assert record.uploads <= (retries + 1) * len(record.path) + crashes, record
            for line in dev.requests:  # D-07: never reboot, cancel or reset
                assert not any(
                    w in line
                    for w in ("reboot", "cancel", "factoryReset", "SystemReboot", "factoryDefault")
                ), line


@contextlib.asynccontextmanager
async def rollout_bench(
    home: Path, devices: Sequence[dict[str, Any]]
) -> AsyncIterator[RolloutBench]:
    """Start the devices on a fresh /24 and open a job store and firmware store in ``home``."""
    prefix = fresh_subnet()
    items = []
    for i, d in enumerate(devices, start=10):
        item = dict(d)
        item.setdefault("name", f"cam{i}")
        item["address"] = f"{prefix}.{i}"
        items.append(item)
    # Loopback answers at once (a rebooting device resets); the margins are for a loaded
    # machine, where the shared event loop (fleet and orchestrator) may lag.
    limits = Limits(connect_timeout_s=2.0, read_timeout_s=2.0, request_deadline_s=4.0)
    store = open_store(f"sqlite:///{home / 'inventory.db'}")
    try:
        async with Fleet(specs_from_dicts(items, origin="test"), multicast=False) as fleet:
            yield RolloutBench(fleet, store, FirmwareStore(home / "firmware"), limits, home,
                               [i["name"] for i in items])  # fmt: skip
    finally:
        store.close()
