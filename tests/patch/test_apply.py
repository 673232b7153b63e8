"""One device's upgrade against the simulator: SAFETY D-05 (device-side preflight) and
D-06 (post-reboot verification), for each vendor family."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from rollout_support import FAST, PROFILES, RolloutBench, camera, rollout_bench

from campatch.patch import apply
from campatch.patch.jobs import DeviceJob, Job, Step
from campatch.patch.rollout import RolloutSettings
from campatch.sim.flash import SimImage, build_image

ALL = sorted(PROFILES)
ONE_BY_ONE = RolloutSettings(canary=0, waves=(100.0,), concurrency=4, per_subnet=4,
                             max_failure_pct=100.0, apply=FAST)  # fmt: skip


@pytest.mark.parametrize("personality", ALL)
async def test_d06a_success_only_when_the_device_reports_the_target(
    tmp_path: Path, personality: str
) -> None:
    async with rollout_bench(tmp_path, [camera(personality)]) as bench:
        job = await bench.run(bench.create_job(ONE_BY_ONE))
        record = bench.by_name(job)["cam10"]
        dev = bench.device("cam10")
        assert record.step is Step.SUCCESS, record.detail
        assert dev.spec.firmware == PROFILES[personality]["new"]
        assert (record.uploads, dev.flash.counters.flashes) == (1, 1)
        events = [e.step for e in bench.jobs.events(job.id) if e.device_key == "sim:cam10"]
        assert events.index("uploading") < events.index("rebooting") < events.index("verifying")
        bench.census(job)


@pytest.mark.parametrize("personality", ALL)
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"fault_boot_old": True}, Step.ROLLED_BACK),  # (b) reports success, boots the old
        ({"fault_bad_boot": True, "flash_model": "ab"}, Step.ROLLED_BACK),  # (b) A/B revert
        ({"fault_never_back": True}, Step.UNREACHABLE_AFTER_UPGRADE),  # (c)
        ({"fault_rtsp_down_after": True}, Step.DEGRADED),  # (d) HTTP up, RTSP down
    ],
)
async def test_d06_no_success_from_the_upload_response_alone(
    tmp_path: Path, personality: str, fault: dict[str, object], expected: Step
) -> None:
    async with rollout_bench(tmp_path, [camera(personality, **fault)]) as bench:
        job = await bench.run(bench.create_job(ONE_BY_ONE))
        record = bench.by_name(job)["cam10"]
        assert record.step is expected, record.detail
        assert bench.device("cam10").flash.counters.images_accepted == 1
        bench.census(job)


@pytest.mark.parametrize("personality", ALL)
async def test_d05_wrong_model_image_is_refused_before_any_upload(
    tmp_path: Path, personality: str
) -> None:
    async with rollout_bench(tmp_path, [camera(personality)]) as bench:
        path = [bench.image_for("cam10", model="OTHER-MODEL-1")]
        # The store says the image is for another model: campatch refuses to send it.
        job = await bench.run(bench.create_job(ONE_BY_ONE, paths={"cam10": path}))
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.FAILED_SAFE, record.detail
        assert bench.device("cam10").flash.counters.upload_requests == 0
        bench.census(job)


@pytest.mark.parametrize(
    ("version", "why"),
    [("V5.4.0", "newer than"), ("V5.7.3", "already runs")],  # older / same as installed
)
async def test_d05_older_or_same_image_is_not_uploaded(
    tmp_path: Path, version: str, why: str
) -> None:
    async with rollout_bench(tmp_path, [camera("hikvision")]) as bench:
        path = [bench.image_for("cam10", version=version, build="build 220112")]
        job = await bench.run(bench.create_job(ONE_BY_ONE, paths={"cam10": path}))
        record = bench.by_name(job)["cam10"]
        assert bench.device("cam10").flash.counters.upload_requests == 0
        assert why in record.detail
        # same version: that step is already done (nothing to install); older: refused
        assert record.step is (Step.SUCCESS if why == "already runs" else Step.FAILED_SAFE)


async def test_d05_model_reported_now_differs_from_the_plan(tmp_path: Path) -> None:
    async with rollout_bench(tmp_path, [camera("hikvision")]) as bench:
        job = bench.create_job(ONE_BY_ONE)
        bench.device("cam10").spec.model = "DS-2CD2043G2-I"  # swapped since the plan
        job = await bench.run(job)
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.FAILED_SAFE
        assert "model" in record.detail
        assert bench.device("cam10").flash.counters.upload_requests == 0


@pytest.mark.parametrize("personality", ["hikvision", "dahua"])
async def test_d05_upgrade_already_in_progress_is_not_disturbed(
    tmp_path: Path, personality: str
) -> None:
    async with rollout_bench(tmp_path, [camera(personality, flash_s=30)]) as bench:
        dev = bench.device("cam10")
        p = PROFILES[personality]
        other = SimImage(vendor=p["vendor"], model=dev.spec.model, version=p["new"],
                         build=p["new_build"])  # fmt: skip
        assert dev.flash.accept(build_image(other, 1024)) is None  # someone else's upgrade
        job = await bench.run(bench.create_job(ONE_BY_ONE))
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.FAILED_SAFE
        assert "in progress" in record.detail
        assert dev.flash.counters.upload_requests == 0


@pytest.mark.parametrize("personality", ALL)
async def test_d05_too_little_free_flash_is_refused_by_the_device_and_nothing_flashed(
    tmp_path: Path, personality: str
) -> None:
    async with rollout_bench(tmp_path, [camera(personality, free_flash=1000)]) as bench:
        job = await bench.run(bench.create_job(ONE_BY_ONE))
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.FAILED_SAFE, record.detail
        assert bench.device("cam10").flash.counters.flashes == 0
        bench.census(job)


async def test_d05_tampered_image_in_the_store_is_never_sent(tmp_path: Path) -> None:
    async with rollout_bench(tmp_path, [camera("hikvision")]) as bench:
        job = bench.create_job(ONE_BY_ONE)
        sha = bench.by_name(job)["cam10"].images[0]
        blob = bench.images.blob_path(sha)
        blob.chmod(0o600)
        blob.write_bytes(blob.read_bytes()[:-1] + b"\0")
        job = await bench.run(job)
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.FAILED_SAFE
        assert bench.device("cam10").flash.counters.upload_requests == 0


async def test_upgrade_path_installs_each_release_in_order(tmp_path: Path) -> None:
    async with rollout_bench(tmp_path, [camera("hikvision")]) as bench:
        step1 = bench.image_for("cam10", version="V5.7.10", build="build 221201")
        step2 = bench.image_for("cam10")
        job = await bench.run(bench.create_job(ONE_BY_ONE, paths={"cam10": [step1, step2]}))
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.SUCCESS, record.detail
        assert (record.uploads, bench.device("cam10").flash.counters.flashes) == (2, 2)
        assert bench.device("cam10").spec.firmware == "V5.7.15"


async def test_lockout_during_the_job_stops_all_traffic(tmp_path: Path) -> None:
    async with rollout_bench(tmp_path, [camera("hikvision", fault_lock_during_job=True)]) as bench:
        job = await bench.run(bench.create_job(ONE_BY_ONE))
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.NEEDS_OPERATOR, record.detail
        assert "lock" in record.detail
        bench.census(job)


async def test_config_is_backed_up_before_the_upload(tmp_path: Path) -> None:
    async with rollout_bench(tmp_path, [camera("hikvision")]) as bench:
        await bench.run(bench.create_job(ONE_BY_ONE))
        backups = list((tmp_path / "backups").iterdir())
        assert len(backups) == 1
        assert backups[0].stat().st_mode & 0o777 == 0o600


async def test_onvif_clock_far_off_still_upgrades(tmp_path: Path) -> None:
    # WS-UsernameToken is signed with the device's clock: 9 h off must not matter
    async with rollout_bench(tmp_path, [camera("onvif", clock_offset_s=-9 * 3600)]) as bench:
        job = await bench.run(bench.create_job(ONE_BY_ONE))
        assert bench.by_name(job)["cam10"].step is Step.SUCCESS
        bench.census(job)


@pytest.mark.parametrize("personality", ALL)
async def test_d05_device_below_its_minimum_refuses_and_nothing_is_flashed(
    tmp_path: Path, personality: str
) -> None:
    minimum = {"hikvision": "V5.8.0", "dahua": "2.800.0000017.0.R", "onvif": "45.8.0.0"}
    device = camera(personality, min_firmware=minimum[personality])
    async with rollout_bench(tmp_path, [device]) as bench:
        job = await bench.run(bench.create_job(ONE_BY_ONE))
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.FAILED_SAFE, record.detail
        assert bench.device("cam10").flash.counters.flashes == 0
        bench.census(job)


async def test_reinstall_counts_only_after_the_device_restarted(tmp_path: Path) -> None:
    settings = replace(ONE_BY_ONE, apply=replace(FAST, allow_reinstall=True))
    async with rollout_bench(tmp_path, [camera("onvif")]) as bench:  # ONVIF: no status call
        path = [bench.image_for("cam10", version="45.7.0.79", build="")]
        job = await bench.run(bench.create_job(settings, paths={"cam10": path}))
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.SUCCESS, record.detail
        assert bench.device("cam10").flash.counters.flashes == 1
        at = {e.step: e.at for e in bench.jobs.events(job.id) if e.device_key == "sim:cam10"}
        # success only after the flash write (0.15 s) and the restart (0.3 s)
        assert (at["success"] - at["uploading"]).total_seconds() >= 0.45


# --- the device's own downtime estimate (ONVIF ExpectedDownTime) ------------------------

#: The plan's expected downtime in these tests (per driver, as run_job takes it), and
#: settings that leave the wait to it: no operator --reboot-timeout.
PLAN_DOWNTIME = {"onvif": 0.5}
PLAN_ONLY = replace(ONE_BY_ONE, apply=replace(FAST, reboot_timeout_s=None))
#: Away longer than the plan's 0.5 s (flash 0.15 s + reboot 1.2 s), and says so: 3 s.
SLOW_AND_SAYS_SO = {"reboot_s": 1.2, "onvif_expected_downtime": "PT3S"}


def details(bench: RolloutBench, job: Job, step: str) -> list[str]:
    return [e.detail for e in bench.jobs.events(job.id)
            if e.device_key == "sim:cam10" and e.step == step]  # fmt: skip


async def test_device_that_says_it_needs_longer_than_the_plan_is_waited_for(
    tmp_path: Path,
) -> None:
    async with rollout_bench(tmp_path, [camera("onvif", **SLOW_AND_SAYS_SO)]) as bench:
        job = await bench.run(bench.create_job(PLAN_ONLY), downtime_s=PLAN_DOWNTIME)
        record = bench.by_name(job)["cam10"]
        # with the plan's 0.5 s alone this device was UNREACHABLE_AFTER_UPGRADE
        assert record.step is Step.SUCCESS, record.detail
        assert bench.device("cam10").spec.firmware == PROFILES["onvif"]["new"]
        [rebooting] = details(bench, job, "rebooting")
        assert "waiting up to 3 s" in rebooting
        assert "the device expects to be back within 3 s" in rebooting
        at = {e.step: e.at for e in bench.jobs.events(job.id) if e.device_key == "sim:cam10"}
        assert (at["verifying"] - at["rebooting"]).total_seconds() > PLAN_DOWNTIME["onvif"]
        bench.census(job)


async def test_the_operators_reboot_timeout_wins_over_the_devices_figure(
    tmp_path: Path,
) -> None:
    explicit = replace(ONE_BY_ONE, apply=replace(FAST, reboot_timeout_s=0.5))
    async with rollout_bench(tmp_path, [camera("onvif", **SLOW_AND_SAYS_SO)]) as bench:
        job = await bench.run(bench.create_job(explicit), downtime_s=PLAN_DOWNTIME)
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.UNREACHABLE_AFTER_UPGRADE, record.detail
        assert "not answered for 0.5 s" in record.detail
        [rebooting] = details(bench, job, "rebooting")
        assert "waiting up to 0.5 s" in rebooting
        assert "estimate, 3 s, is not used" in rebooting
        bench.census(job)


async def test_a_device_that_says_less_than_the_plan_does_not_shorten_the_wait(
    tmp_path: Path,
) -> None:
    device = camera("onvif", reboot_s=1.2, onvif_expected_downtime="PT0.1S")
    async with rollout_bench(tmp_path, [device]) as bench:
        job = await bench.run(bench.create_job(PLAN_ONLY), downtime_s={"onvif": 2.0})
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.SUCCESS, record.detail
        [rebooting] = details(bench, job, "rebooting")
        assert "waiting up to 2 s" in rebooting
        bench.census(job)


async def test_an_absurd_device_downtime_is_capped(tmp_path: Path) -> None:
    # A device back in 0.45 s that claims 30 days: the wait announced is the cap.
    device = camera("onvif", onvif_expected_downtime="P30D")
    async with rollout_bench(tmp_path, [device]) as bench:
        job = await bench.run(bench.create_job(PLAN_ONLY), downtime_s=PLAN_DOWNTIME)
        assert bench.by_name(job)["cam10"].step is Step.SUCCESS
        [rebooting] = details(bench, job, "rebooting")
        assert f"waiting up to {apply.MAX_DEVICE_DOWNTIME_S:g} s" in rebooting
        assert "the device says it needs 2592000 s" in rebooting
    assert apply.MAX_DEVICE_DOWNTIME_S == 3600.0


async def test_a_device_that_never_returns_is_given_up_at_the_cap_not_its_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply, "MAX_DEVICE_DOWNTIME_S", 1.0)  # an hour is too long to test
    device = camera("onvif", onvif_expected_downtime="P30D", fault_never_back=True)
    async with rollout_bench(tmp_path, [device]) as bench:
        started = time.monotonic()
        async with asyncio.timeout(10):  # without the cap: 30 days
            job = await bench.run(bench.create_job(PLAN_ONLY), downtime_s=PLAN_DOWNTIME)
        elapsed = time.monotonic() - started
        record = bench.by_name(job)["cam10"]
        assert record.step is Step.UNREACHABLE_AFTER_UPGRADE, record.detail
        assert "not answered for 1 s" in record.detail
        assert elapsed >= 1.0
        bench.census(job)


class _NextStepSaysNothingAndNeverReturns:
    """Before the second release of a path, the device changes: it states no downtime
    (PT0S) and never comes back after that upload."""

    def __init__(self, bench: RolloutBench) -> None:
        self.bench = bench

    def stepped(self, record: DeviceJob) -> None:
        if record.step is Step.PREFLIGHT and record.path_index == 1:
            options = self.bench.device("cam10").spec.options
            options.update(onvif_expected_downtime="PT0S", fault_never_back=True)

    def uploaded(self, record: DeviceJob, sent: int, total: int) -> None:
        pass


async def test_a_later_step_starts_again_from_the_plans_downtime(tmp_path: Path) -> None:
    async with rollout_bench(tmp_path, [camera("onvif", **SLOW_AND_SAYS_SO)]) as bench:
        step1 = bench.image_for("cam10", version="45.7.0.80", build="")
        step2 = bench.image_for("cam10", version="45.7.0.81", build="")
        job = bench.create_job(PLAN_ONLY, paths={"cam10": [step1, step2]})
        listener = _NextStepSaysNothingAndNeverReturns(bench)
        job = await bench.run(job, downtime_s=PLAN_DOWNTIME, listener=listener)
        record = bench.by_name(job)["cam10"]
        assert bench.device("cam10").spec.firmware == "45.7.0.81"  # both were installed
        # step 1 was waited for 3 s (the device's word); step 2 only the plan's 0.5 s
        assert record.step is Step.UNREACHABLE_AFTER_UPGRADE, record.detail
        assert (record.path_index, record.uploads) == (1, 2)
        assert "not answered for 0.5 s" in record.detail
        first, second = details(bench, job, "rebooting")
        assert "waiting up to 3 s" in first
        assert "waiting up to 0.5 s" in second
        bench.census(job)
