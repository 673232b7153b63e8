"""Dahua firmware upgrade: the driver's Upgrader calls against the simulated devices."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from dahua_support import (
    BAD,
    GOOD,
    NEW_BUILD,
    NEW_FIRMWARE,
    StepClock,
    amcrest_cam,
    dahua_cam,
    dahua_image,
    lock_web,
    lorex_nvr,
    web_candidate,
)

from campatch.config import Limits
from campatch.drivers.dahua import DRIVER
from campatch.drivers.dahua.models import UpgradeState
from campatch.drivers.dahua.upgrade import multipart_body
from campatch.drivers.interface import (
    FirmwareState,
    ProbeContext,
    Upgrader,
    UpgradeTarget,
    UploadAccepted,
    UploadRefused,
)
from campatch.errors import (
    AuthError,
    DeviceResponseError,
    LockoutError,
    TransportError,
)
from campatch.model import Credential, Field, Identity
from campatch.sim.dahua import DahuaDevice, multipart_file
from campatch.sim.fleet import Fleet
from campatch.sim.http import HttpRequest
from support import FleetFactory, probe_context

FLASH = {"flash_s": 0.2, "reboot_s": 0.3}
UPLOAD_LINE = "http POST /cgi-bin/upgrader.cgi?action=uploadFirmware"


def _dahua(fleet: Fleet, name: str = "dev10") -> DahuaDevice:
    device = fleet.device(name)
    assert isinstance(device, DahuaDevice)
    return device


def _target(fleet: Fleet, credential: Credential = GOOD) -> UpgradeTarget:
    return UpgradeTarget(_dahua(fleet).spec.address, credential)


async def _identified(fleet: Fleet, ctx: ProbeContext) -> FirmwareState:
    """What identify() stored, in FirmwareState's fields."""
    address = _dahua(fleet).spec.address
    ident = Identity.of(await DRIVER.identify(web_candidate(address), GOOD, ctx))
    return FirmwareState(
        model=ident.get(Field.MODEL) or "",
        firmware=ident.get(Field.FIRMWARE) or "",
        build=ident.get(Field.BUILD) or "",
        hardware=ident.get(Field.HARDWARE) or "",
    )


def _version(state: FirmwareState) -> tuple[str, str, str, str]:
    return state.model, state.firmware, state.build, state.hardware


def test_driver_is_an_upgrader() -> None:
    assert isinstance(DRIVER, Upgrader)


@pytest.mark.parametrize("make", [dahua_cam, amcrest_cam, lorex_nvr])
async def test_firmware_state_reads_identity_as_identify_does(
    fleet_of: FleetFactory, limits: Limits, make: Callable[..., dict[str, Any]]
) -> None:
    async with fleet_of([make()]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        state = await DRIVER.firmware_state(_target(fleet), ctx)
        identified = await _identified(fleet, ctx)
    spec = make()
    assert _version(state) == _version(identified)
    assert _version(state) == (spec["model"], spec["firmware"], spec["build"], spec["hardware"])
    assert (state.upgrading, state.percent, state.status) == (False, 0, "Preparing")


async def test_accepted_upload_flashes_reboots_and_runs_the_new_version(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    clock = StepClock()
    spec = dahua_cam(flash_s=10.0, reboot_s=30.0)
    sent: list[tuple[int, int]] = []
    async with fleet_of([spec], clock=clock) as fleet:
        device = _dahua(fleet)
        target = _target(fleet)
        async with probe_context(limits, fleet.port_map) as ctx:
            image = dahua_image(spec)
            answer = await DRIVER.upload(
                target, image, ctx, lambda n, total: sent.append((n, total))
            )
            assert answer == UploadAccepted("OK")  # the CGI gives no downtime estimate
            assert sent[-1][0] == sent[-1][1] > len(image)  # the whole multipart body went
            assert device.flash.counters.images_accepted == 1

            clock.advance(2.5)
            early = await DRIVER.firmware_state(target, ctx)
            clock.advance(5.0)
            later = await DRIVER.firmware_state(target, ctx)
            assert (early.upgrading, early.status, early.percent) == (True, "Upgrading", 25)
            assert (later.upgrading, later.percent) == (True, 75)
            assert early.firmware == spec["firmware"]  # still the old one while writing

            clock.advance(5.0)  # written: the device reboots and answers nothing
            with pytest.raises(TransportError):
                await DRIVER.firmware_state(target, ctx)

            clock.advance(30.0)
            after = await DRIVER.firmware_state(target, ctx)
            identified = await _identified(fleet, ctx)
        assert (after.firmware, after.build) == (NEW_FIRMWARE, NEW_BUILD)
        assert _version(after) == _version(identified)
        assert (after.upgrading, after.status) == (False, "Preparing")
        assert device.flash.counters.flashes == 1
        assert device.cancel_requests == 0


async def test_upgrade_in_real_time_goes_offline_then_comes_back_new(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    spec = dahua_cam(**FLASH)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        target = _target(fleet)
        assert await DRIVER.upload(target, dahua_image(spec), ctx) == UploadAccepted("OK")
        seen_offline, state = False, None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                state = await DRIVER.firmware_state(target, ctx)
            except TransportError:
                seen_offline = True
            else:
                if seen_offline:
                    break
            await asyncio.sleep(0.02)
    assert seen_offline
    assert state is not None
    assert state.firmware == NEW_FIRMWARE


async def test_wrong_model_image_is_refused_and_nothing_is_flashed(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    spec = dahua_cam(**FLASH)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        device = _dahua(fleet)
        image = dahua_image(spec, model="IPC-HFW2431S")
        with pytest.raises(UploadRefused) as refused:
            await DRIVER.upload(_target(fleet), image, ctx)
        state = await DRIVER.firmware_state(_target(fleet), ctx)
        await asyncio.sleep(FLASH["flash_s"] + FLASH["reboot_s"])
        assert (await DRIVER.firmware_state(_target(fleet), ctx)).firmware == spec["firmware"]
    assert refused.value.vendor_message.splitlines() == ["Error", "Invalid"]
    assert "Invalid" in str(refused.value)
    assert (state.status, state.upgrading) == ("Invalid", False)
    assert device.flash.counters.flashes == 0
    assert device.flash.counters.images_accepted == 0
    assert device.flash.counters.rejections == ["wrong-model"]


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"fault_reject": "busy"}, "Upgrading"),
        ({"free_flash": 1024}, "NotEnoughMemory"),
        ({"region": "EU"}, "Invalid"),  # the image below is for another region
    ],
)
async def test_refusals_carry_the_device_word(
    fleet_of: FleetFactory, limits: Limits, options: dict[str, Any], word: str
) -> None:
    spec = dahua_cam(**FLASH, **options)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        with pytest.raises(UploadRefused) as refused:
            await DRIVER.upload(_target(fleet), dahua_image(spec, region="CN"), ctx)
        assert _dahua(fleet).flash.counters.flashes == 0
    assert refused.value.vendor_message.splitlines()[-1] == word


async def test_a_second_upload_while_flashing_is_refused_as_busy(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    clock = StepClock()
    spec = dahua_cam(flash_s=10.0, reboot_s=10.0)
    async with fleet_of([spec], clock=clock) as fleet:
        async with probe_context(limits, fleet.port_map) as ctx:
            image = dahua_image(spec)
            assert await DRIVER.upload(_target(fleet), image, ctx) == UploadAccepted("OK")
            with pytest.raises(UploadRefused, match="already in progress"):
                await DRIVER.upload(_target(fleet), image, ctx)
            state = await DRIVER.firmware_state(_target(fleet), ctx)
        assert (state.status, state.upgrading) == ("Upgrading", True)
        assert _dahua(fleet).flash.counters.images_accepted == 1


@pytest.mark.parametrize("percent", [0, 50, 99])
async def test_connection_reset_mid_upload_is_a_transport_error(
    fleet_of: FleetFactory, limits: Limits, percent: int
) -> None:
    spec = dahua_cam(**FLASH, fault_upload_reset_at=percent)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        device = _dahua(fleet)
        with pytest.raises(TransportError):
            await DRIVER.upload(_target(fleet), dahua_image(spec, size=1024 * 1024), ctx)
        await asyncio.sleep(FLASH["flash_s"] + FLASH["reboot_s"])
        state = await DRIVER.firmware_state(_target(fleet), ctx)
    assert device.flash.counters.upload_requests == 1
    assert device.flash.counters.images_accepted == 0
    assert device.flash.counters.flashes == 0
    assert (state.firmware, state.upgrading) == (spec["firmware"], False)


@pytest.mark.parametrize("status", [500, 503])
async def test_server_error_on_upload_is_a_device_response_error(
    fleet_of: FleetFactory, limits: Limits, status: int
) -> None:
    spec = dahua_cam(**FLASH, fault_http_status=status)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        with pytest.raises(DeviceResponseError, match=f"HTTP {status}"):
            await DRIVER.upload(_target(fleet), dahua_image(spec), ctx)
        state = await DRIVER.firmware_state(_target(fleet), ctx)  # getState answers 503 too
        assert _dahua(fleet).flash.counters.flashes == 0
    assert state.firmware == spec["firmware"]
    assert (state.upgrading, state.status) == (None, "")


async def test_wrong_password_is_an_auth_error_and_the_image_is_not_sent(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    spec = dahua_cam(**FLASH)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        device = _dahua(fleet)
        with pytest.raises(AuthError) as raised:
            await DRIVER.upload(_target(fleet, BAD), dahua_image(spec), ctx)
        with pytest.raises(AuthError):
            await DRIVER.firmware_state(_target(fleet, BAD), ctx)
        assert ctx.auth.failures(device.spec.address) == 2
    assert not isinstance(raised.value, LockoutError)
    assert device.flash.counters.upload_requests == 0
    assert device.lockout.lock_events == 0


async def test_locked_device_is_a_lockout_and_nothing_more_is_offered(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    spec = dahua_cam(**FLASH)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        device = _dahua(fleet)
        address = device.spec.address
        await lock_web(fleet, limits, address)
        with pytest.raises(LockoutError):
            await DRIVER.upload(_target(fleet), dahua_image(spec), ctx)
        seen, attempts = len(device.requests), dict(device.lockout.attempts)
        for call in (
            DRIVER.upload(_target(fleet), dahua_image(spec), ctx),
            DRIVER.firmware_state(_target(fleet), ctx),
            DRIVER.backup_config(_target(fleet), ctx),
        ):
            with pytest.raises(LockoutError):
                await call
        assert len(device.requests) == seen
    assert device.lockout.attempts == attempts
    assert device.flash.counters.upload_requests == 0
    assert ctx.auth.is_locked(address)


async def test_lock_after_the_image_was_accepted_is_a_lockout(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    spec = dahua_cam(**FLASH, fault_lock_during_job=True)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        assert await DRIVER.upload(_target(fleet), dahua_image(spec), ctx) == UploadAccepted("OK")
        with pytest.raises(LockoutError):
            await DRIVER.firmware_state(_target(fleet), ctx)


@pytest.mark.parametrize("legacy_basic", [False, True])
async def test_one_upload_request_per_upload_call(
    fleet_of: FleetFactory, limits: Limits, legacy_basic: bool
) -> None:
    spec = dahua_cam(**FLASH, legacy_basic=legacy_basic)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        device = _dahua(fleet)
        await DRIVER.upload(_target(fleet), dahua_image(spec, size=512 * 1024), ctx)
        uploads = [r for r in device.requests if r.startswith(UPLOAD_LINE)]
    scheme = "Basic" if legacy_basic else "Digest"
    assert device.flash.counters.upload_requests == 1
    assert len(uploads) == 1
    assert f"auth={scheme}" in uploads[0]  # credentials from the first byte, never resent


async def test_backup_config_returns_the_configuration(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    spec = dahua_cam()
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        backup = await DRIVER.backup_config(_target(fleet), ctx)
    assert backup is not None
    assert f"table.Network.eth0.PhysicalAddress={spec['mac']}".encode() in backup
    assert spec["users"]["admin"].encode() not in backup


async def test_backup_config_is_none_where_the_firmware_has_none(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    spec = dahua_cam(config_backup=False)
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        assert await DRIVER.backup_config(_target(fleet), ctx) is None
        with pytest.raises(AuthError):
            await DRIVER.backup_config(_target(fleet, BAD), ctx)


def test_upgrade_state_decoding() -> None:
    busy = UpgradeState.decode("State=Upgrading\r\nProgress=42\r\n")
    assert (busy.state, busy.progress, busy.upgrading) == ("Upgrading", 42, True)
    idle = UpgradeState.decode("state=Preparing\r\nprogress=0\r\n")
    assert (idle.upgrading, idle.progress) == (False, 0)
    odd = UpgradeState.decode("state=Rebooting\r\nprogress=\u00b2\r\n")
    assert (odd.upgrading, odd.progress) == (None, None)
    with pytest.raises(DeviceResponseError):
        UpgradeState.decode("progress=5\r\n")
    with pytest.raises(DeviceResponseError):
        UpgradeState.decode("Error\r\nBad Request!\r\n")


def test_multipart_body_round_trips_through_the_simulator_parser() -> None:
    image = b"\r\n--not-the-boundary\r\n" + bytes(range(256)) * 4
    body = multipart_body(image, "campatch-abc")
    headers = [("Content-Type", "multipart/form-data; boundary=campatch-abc")]
    request = HttpRequest("POST", "/cgi-bin/upgrader.cgi?action=uploadFirmware", headers, body, "")
    assert multipart_file(request) == image
    raw = HttpRequest("POST", "/", [("Content-Type", "application/octet-stream")], image, "")
    assert multipart_file(raw) is None
