"""Property test of the orchestrator (SAFETY, fuzzing section: states x faults): random
faults on random personalities and flash models; whatever happens, every device ends in
a known step, the store agrees with the simulator, retries stay capped, and only an
injected power cut or a bad image can leave a single-bank device bricked."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rollout_support import FAST, PROFILES, camera, rollout_bench

from campatch.patch.jobs import TERMINAL_STEPS, JobState
from campatch.patch.rollout import RolloutSettings

FAULTS: list[dict[str, Any]] = [
    {}, {"fault_upload_reset_at": 0}, {"fault_upload_reset_at": 60},
    {"fault_reboot_mid_upload": True}, {"fault_boot_old": True}, {"fault_bad_boot": True},
    {"fault_power_cut": True}, {"fault_never_back": True}, {"fault_http_status": 503},
    {"fault_rtsp_down_after": True}, {"fault_reject": "busy"}, {"fault_reject": "wrong-model"},
    {"fault_lock_during_job": True}, {"free_flash": 100},
]  # fmt: skip
DEVICE = st.fixed_dictionaries({
    "personality": st.sampled_from(sorted(PROFILES)),
    "flash_model": st.sampled_from(["single-bank", "ab", "self-recovery"]),
    "fault": st.sampled_from(range(len(FAULTS))),
})  # fmt: skip


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(DEVICE, min_size=1, max_size=4))
def test_any_faults_end_in_known_states_that_match_the_devices(
    devices: list[dict[str, Any]],
) -> None:
    asyncio.run(_check(devices))


async def _check(devices: list[dict[str, Any]]) -> None:
    specs = [camera(d["personality"], flash_model=d["flash_model"], **FAULTS[d["fault"]])
             for d in devices]  # fmt: skip
    rollout = RolloutSettings(canary=0, waves=(100.0,), concurrency=4, per_subnet=4,
                              max_failure_pct=100.0, apply=FAST)  # fmt: skip
    with tempfile.TemporaryDirectory() as home:
        async with rollout_bench(Path(home), specs) as bench:
            job = await bench.run(bench.create_job(rollout))
            assert job.state is JobState.DONE
            bench.census(job)
            for spec, (name, record) in zip(specs, bench.by_name(job).items(), strict=True):
                assert record.step in TERMINAL_STEPS, (name, record)
                if bench.device(name).flash.counters.bricked:
                    assert spec["flash_model"] == "single-bank", (name, spec)
                    assert spec.get("fault_power_cut") or spec.get("fault_bad_boot"), spec
