"""SAFETY D-10: SIGKILL ``campatch patch --resume`` at random points of a 30-device
rollout, start it again, until it finishes. The job must end as a run without crashes
would (every device upgraded), no device may be flashed twice, no device that already
runs the release gets another upload, and the store must agree with the simulator.

The orchestrator runs as the real CLI in a child process; the simulated fleet runs in
this test's event loop, so it outlives every kill.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pytest
from rollout_support import FAST, PASSWORD, PROFILES, RolloutBench, camera, rollout_bench

from campatch.patch.jobs import JobState, Step
from campatch.patch.rollout import RolloutSettings
from support import campatch

#: Kill points (SAFETY D-10 asks for 200: CAMPATCH_D10_KILLS=200).
KILLS = int(os.environ.get("CAMPATCH_D10_KILLS", "25"))


async def _start(home: Path, job_id: int, offset: int) -> asyncio.subprocess.Process:
    env = {**os.environ, "CAMPATCH_HOME": str(home), "COLUMNS": "200"}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "campatch", "patch", "--resume", "--job", str(job_id),
        "--db", f"sqlite:///{home / 'inventory.db'}", "--port-offset", str(offset),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip


@pytest.mark.timeout(900)  # dozens of CLI starts: slower than the default on a busy machine
async def test_d10_sigkill_at_random_points_then_resume_flashes_each_device_once(
    tmp_path: Path,
) -> None:
    # slow enough (about 20 s of work) that many kills land inside one job
    devices = [camera(p, flash_s=0.5, reboot_s=1.2) for p in PROFILES for _ in range(10)]
    settings = RolloutSettings(canary=0, waves=(100.0,), concurrency=4, per_subnet=4,
                               max_failure_pct=100.0, apply=FAST)  # fmt: skip
    rng = random.Random(20261128)
    async with rollout_bench(tmp_path, devices) as bench:
        code, _, err = await campatch(tmp_path, "creds", "add", bench.fleet_subnet(), "-u",
                                      "admin", "--password-stdin", stdin=f"{PASSWORD}\n".encode())  # fmt: skip
        assert code == 0, err
        kills, rounds = 0, 0
        while kills < KILLS:  # a round is one job over the fleet; rounds go on until KILLS
            rounds += 1
            kills += await _killed_round(bench, settings, rng, KILLS - kills, tmp_path)
        assert rounds >= 1


async def _killed_round(
    bench: RolloutBench, settings: RolloutSettings, rng: random.Random, budget: int,
    home: Path,
) -> int:  # fmt: skip
    """Put every device back on its old firmware, run one job with up to ``budget``
    kills, then check it ended as a run without crashes would. Returns the kills."""
    for name in bench.names:
        spec, profile = bench.device(name).spec, PROFILES[bench.device(name).spec.personality]
        spec.firmware, spec.build = profile["firmware"], profile["build"]
    accepted = {n: bench.device(n).flash.counters.images_accepted for n in bench.names}
    job = bench.create_job(settings)
    offset = bench.fleet.port_map.low_port_offset
    kills = 0
    while True:
        if bench.jobs.job(job.id).state is JobState.DONE:  # type: ignore[union-attr]
            break  # the last kill came after the job was done (while the CLI tidied up)
        proc = await _start(home, job.id, offset)
        if kills < budget:
            try:
                await asyncio.wait_for(proc.wait(), rng.uniform(0.3, 2.5))
            except TimeoutError:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                kills += 1
                continue
        else:
            await asyncio.wait_for(proc.wait(), 120)
        stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
        assert proc.returncode in (0, 1), stderr
        assert bench.jobs.job(job.id).state is JobState.DONE, stderr  # type: ignore[union-attr]
        break
    records = bench.by_name(bench.jobs.job(job.id))  # type: ignore[arg-type]
    for name, record in records.items():
        counters = bench.device(name).flash.counters
        assert record.step is Step.SUCCESS, (name, record.detail)
        assert counters.images_accepted - accepted[name] == 1, (name, counters)  # once
    bench.census(bench.jobs.job(job.id), crashes=kills)  # type: ignore[arg-type]
    # every device's stored step is the step of its last stored event: nothing lost
    last: dict[str, str] = {}
    for event in bench.jobs.events(job.id):
        if event.device_key:
            last[event.device_key] = event.step
    assert all(last[f"sim:{n}"] == str(r.step) for n, r in records.items())
    return kills


@pytest.mark.timeout(900)
async def test_d07_sigkill_right_after_every_state_transition(tmp_path: Path) -> None:
    """Kill the orchestrator as soon as the next transition is committed, every time,
    until a run gets to the end unkilled: every transition of the job is a kill point."""
    devices = [camera(p) for p in PROFILES]
    settings = RolloutSettings(canary=0, waves=(100.0,), concurrency=3, per_subnet=3,
                               max_failure_pct=100.0, apply=FAST)  # fmt: skip
    async with rollout_bench(tmp_path, devices) as bench:
        code, _, err = await campatch(tmp_path, "creds", "add", bench.fleet_subnet(), "-u",
                                      "admin", "--password-stdin", stdin=f"{PASSWORD}\n".encode())  # fmt: skip
        assert code == 0, err
        job = bench.create_job(settings)
        offset = bench.fleet.port_map.low_port_offset
        kills = 0
        while bench.jobs.job(job.id).state is not JobState.DONE:  # type: ignore[union-attr]
            seen = _reached(bench, job.id)
            proc = await _start(tmp_path, job.id, offset)
            # kill as soon as a device reaches a step it had not reached before
            while proc.returncode is None and _reached(bench, job.id) <= seen:  # noqa: ASYNC110
                await asyncio.sleep(0.005)  # polling another process's committed writes
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            await proc.wait()
        records = bench.by_name(bench.jobs.job(job.id))  # type: ignore[arg-type]
        for name, record in records.items():
            counters = bench.device(name).flash.counters
            assert record.step is Step.SUCCESS, (name, record.detail)
            assert counters.images_accepted == 1, (name, counters)
        bench.census(bench.jobs.job(job.id), crashes=kills)  # type: ignore[arg-type]
        assert kills >= 3 * 5  # preflight, backup/uploading, rebooting, verifying ... of each


def _reached(bench: RolloutBench, job_id: int) -> set[tuple[str, str]]:
    """Every (device, step) the job's stored events show."""
    return {(e.device_key, e.step) for e in bench.jobs.events(job_id) if e.device_key}
