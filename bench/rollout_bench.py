"""Rollout benchmark: upgrade 500 simulated cameras through the real orchestrator.

Usage::

    .venv/bin/python bench/rollout_bench.py                      # 500 devices, 2 MB, 3 s reboots
    .venv/bin/python bench/rollout_bench.py --devices 100 --concurrency 20

What it does (all traffic stays on loopback):

1. writes a fleet of ``--devices`` cameras (Hikvision, Dahua and generic ONVIF in turn)
   spread over /24s of 127.40.0.0/16, each flashing for ``--flash`` s and rebooting
   for ``--reboot`` s, and one simulator image per model of ``--image-mb`` MB;
2. serves the fleet from a process of its own (``fleet_gen.py serve``), so the
   figures below are the orchestrator's alone;
3. stores the images in a throw-away firmware store, creates one job (canary 1, then
   waves to 10 %, 50 %, 100 %; ``--concurrency`` devices at once and as many uploads
   per /24) and runs it in this process with the real drivers;
4. prints wall time against the ideal (for each wave, the rounds it needs at the
   concurrency limit times the slowest device's upload + flash + reboot), CPU seconds
   per device, peak RSS, and the result of every device; writes
   ``bench/results/rollout-<date>.json``.

It prints figures; it is not a timed test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
import scan_bench  # noqa: E402  (bench helpers: simulator process, machine description)

from campatch.config import Limits, PortMap  # noqa: E402
from campatch.model import Credential, Secret  # noqa: E402
from campatch.patch.apply import ApplySettings  # noqa: E402
from campatch.patch.firmware_store import FirmwareStore  # noqa: E402
from campatch.patch.jobs import DeviceJob  # noqa: E402
from campatch.patch.launch import run_job  # noqa: E402
from campatch.patch.rollout import RolloutSettings, assign_waves  # noqa: E402
from campatch.sim.catalog import release_version  # noqa: E402
from campatch.sim.flash import SimImage, build_image  # noqa: E402

PASSWORD = "Bench-Upgrade-1"  # noqa: S105 - the simulated devices' password
MODELS = [  # personality, vendor, model, old firmware, old build, new firmware, new build
    ("hikvision", "Hikvision", "DS-2CD2143G2-I", "V5.7.3", "build 220112", "V5.7.15", "build 230512"),
    ("dahua", "Dahua", "IPC-HDW5831R-ZE", "2.800.0000016.0.R", "2020-06-05", "2.800.0000016.3.R", "2023-04-10"),
    ("onvif", "Milesight", "MS-C2963-PB", "45.7.0.79", "", "45.7.0.80", ""),
]  # fmt: skip


class _Logins:
    def for_host(self, address: str, vendor: str | None = None) -> list[Credential]:
        return [Credential("admin", Secret(PASSWORD))]


def fleet_file(path: Path, devices: int, flash_s: float, reboot_s: float) -> list[dict[str, Any]]:
    """Write the fleet; returns the device entries."""
    entries = []
    for i in range(devices):
        personality, vendor, model, firmware, build, _, _ = MODELS[i % len(MODELS)]
        entries.append({
            "name": f"cam{i}", "personality": personality, "address": f"127.40.{i // 200}.{10 + i % 200}",
            "vendor": vendor, "model": model, "firmware": firmware, "build": build,
            "users": {"admin": PASSWORD}, "flash_s": flash_s, "reboot_s": reboot_s,
            "ws_discovery": False, **({"onvif_port": 80} if personality == "onvif" else {}),
        })  # fmt: skip
    path.write_text(yaml.safe_dump({"devices": entries}))
    return entries


def store_images(store: FirmwareStore, workdir: Path, size: int) -> dict[str, tuple[str, str]]:
    """One image per model; returns model -> (release version, sha256)."""
    out = {}
    for _, vendor, model, _, _, new, new_build in MODELS:
        data = build_image(SimImage(vendor=vendor, model=model, version=new, build=new_build), size)
        path = workdir / f"{model}.bin"
        path.write_bytes(data)
        version = release_version(new, new_build, vendor)
        out[model] = (version, store.add(path, vendor, model, version).sha256)
    return out


def ideal_seconds(waves: list[int], concurrency: int, per_device_s: float) -> float:
    """Each wave in rounds of ``concurrency`` devices, each round the slowest device."""
    sizes = Counter(waves)
    return sum(math.ceil(n / concurrency) for n in sizes.values()) * per_device_s


async def rollout(args: argparse.Namespace, workdir: Path, offset: int,
                  entries: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    from campatch.inventory.store import open_store

    store = open_store(f"sqlite:///{workdir / 'inventory.db'}")
    images = FirmwareStore(workdir / "firmware")
    by_model = store_images(images, workdir, int(args.image_mb * 1024 * 1024))
    settings = RolloutSettings(
        canary=1, waves=(10.0, 50.0, 100.0), concurrency=args.concurrency,
        per_subnet=args.concurrency, max_failure_pct=100.0,
        apply=ApplySettings(poll_interval_s=args.poll, reboot_timeout_s=args.reboot * 10,
                            settle_s=5.0, retries=1),
    )  # fmt: skip
    waves = assign_waves(len(entries), settings)
    records = []
    for entry, wave in zip(entries, waves, strict=True):
        version, sha = by_model[entry["model"]]
        driver = entry["personality"]
        records.append(DeviceJob(
            job_id=0, device_key=f"bench:{entry['name']}", address=entry["address"],
            name=f"{entry['vendor']} {entry['model']}", driver=driver, wave=wave,
            from_version=f"{entry['firmware']} {entry['build']}".strip(), path=(version,),
            images=(sha,), vendor=entry["vendor"], model=entry["model"],
        ))  # fmt: skip
    jobs = store.jobs()
    job = jobs.create_job(settings.to_json(), records)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    job = await run_job(job, jobs, credentials=_Logins(), images=images,
                        limits=Limits(request_deadline_s=30.0),
                        port_map=PortMap(low_port_offset=offset), journal=store.journal())  # fmt: skip
    wall = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    results = Counter(str(r.step) for r in jobs.device_jobs(job.id))
    store.close()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    per_device = args.flash + args.reboot + args.image_mb * 8 / 1000  # 1 Gbit/s upload
    ideal = ideal_seconds(waves, args.concurrency, per_device)
    return {
        "devices": len(entries), "image_mb": args.image_mb, "flash_s": args.flash,
        "reboot_s": args.reboot, "concurrency": args.concurrency, "poll_s": args.poll,
        "waves": dict(sorted(Counter(waves).items())), "job_state": str(job.state),
        "results": dict(results), "wall_s": round(wall, 1), "ideal_s": round(ideal, 1),
        "ratio_to_ideal": round(wall / ideal, 2), "cpu_s": round(cpu, 1),
        "cpu_ms_per_device": round(1000 * cpu / len(entries), 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--image-mb", type=float, default=2.0)
    parser.add_argument("--flash", type=float, default=1.0, help="seconds of flash write")
    parser.add_argument("--reboot", type=float, default=3.0, help="seconds of reboot")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--poll", type=float, default=0.5, help="status poll interval")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="campatch-rollout-bench-") as tmp:
        workdir = Path(tmp)
        os.environ["CAMPATCH_HOME"] = str(workdir / "home")
        entries = fleet_file(workdir / "fleet.yaml", args.devices, args.flash, args.reboot)
        with scan_bench.simulator(workdir / "fleet.yaml", workdir) as (offset, _proc):
            result = asyncio.run(rollout(args, workdir, offset, entries))
    result["machine"] = scan_bench.machine()
    result["date"] = dt.date.today().isoformat()
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"rollout-{result['date']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key in ("devices", "waves", "job_state", "results", "wall_s", "ideal_s",
                "ratio_to_ideal", "cpu_s", "cpu_ms_per_device", "peak_rss_mib"):  # fmt: skip
        print(f"{key:>18}: {result[key]}")
    print(f"{'written':>18}: {out}")


if __name__ == "__main__":
    main()
