"""Firmware upgrade over ONVIF (StartFirmwareUpgrade + HTTP POST, legacy MTOM) against the
simulator, over real loopback sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onvif
import pytest
from onvif import ONVIFCamera
from onvif_support import (
    BAD,
    FAST_FLASH,
    GOOD,
    NEW_VERSION,
    PASSWORD,
    USER,
    image,
    target,
    upgradable,
    web_candidate,
)

from campatch.config import Limits, PortMap
from campatch.drivers.interface import (
    AuthBudget,
    FirmwareState,
    Upgrader,
    UploadAccepted,
    UploadRefused,
)
from campatch.drivers.onvif import DRIVER, OnvifDriver, upgrade
from campatch.drivers.onvif.models import parse_duration
from campatch.errors import AuthError, DeviceResponseError, LockoutError, TransportError
from campatch.model import Field, Identity, Observation
from campatch.sim.device import SimDevice
from campatch.sim.flash import FlashCounters
from campatch.sim.fleet import Fleet
from campatch.sim.onvif import UPLOAD_PREFIX
from support import probe_context

if TYPE_CHECKING:
    from support import FleetFactory

WSDL_DIR = str(Path(onvif.__file__).parent / "wsdl")


def counters(fleet: Fleet, name: str = "dev10") -> FlashCounters:
    dev: Any = fleet.device(name)
    flash_counters: FlashCounters = dev.flash.counters
    return flash_counters


def upload_log_lines(dev: SimDevice) -> list[str]:
    return [line for line in dev.requests if UPLOAD_PREFIX in line]


async def state_or_offline(fleet: Fleet, limits: Limits, address: str) -> FirmwareState | None:
    """The device's firmware state, or None while it answers nothing (a reset that comes
    before the request is sent reads as a disconnect: DeviceResponseError)."""
    async with probe_context(limits, fleet.port_map) as ctx:
        try:
            return await OnvifDriver().firmware_state(target(address), ctx)
        except (TransportError, DeviceResponseError):
            return None


async def wait_offline_then_back(
    fleet: Fleet, limits: Limits, address: str, timeout_s: float = 5.0
) -> FirmwareState:
    """Poll until the device has gone offline, then until it answers again."""
    deadline = time.monotonic() + timeout_s
    went_offline = False
    while time.monotonic() < deadline:
        state = await state_or_offline(fleet, limits, address)
        if state is None:
            went_offline = True
        elif went_offline:
            return state
        await asyncio.sleep(0.02)
    raise AssertionError(f"device did not reboot within {timeout_s} s (offline={went_offline})")


def identity_of(observations: Sequence[Observation]) -> tuple[str | None, ...]:
    ident = Identity.of(observations)
    return tuple(ident.get(f) for f in (Field.MODEL, Field.FIRMWARE, Field.HARDWARE))


async def test_onvif_driver_is_an_upgrader() -> None:
    assert isinstance(DRIVER, Upgrader)
    assert isinstance(OnvifDriver(), Upgrader)


async def test_accepted_upload_flashes_reboots_and_reports_the_new_version(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    # A longer write than FAST_FLASH: the checks made while it runs need the margin.
    async with fleet_of([upgradable(flash_s=0.6)]) as fleet:
        dev: Any = fleet.device("dev10")
        address = dev.spec.address
        driver = OnvifDriver()
        async with probe_context(limits, fleet.port_map) as ctx:
            before = await driver.firmware_state(target(address), ctx)
            identified = await driver.identify(web_candidate(address), GOOD, ctx)
            sent: list[tuple[int, int]] = []
            said = await driver.upload(
                target(address), image(), ctx, lambda n, total: sent.append((n, total))
            )
            during = await driver.firmware_state(target(address), ctx)
            flashing, percent = dev.flash.status()
        after = await wait_offline_then_back(fleet, limits, address)
        async with probe_context(limits, fleet.port_map) as ctx:
            identified_after = await OnvifDriver().identify(web_candidate(address), GOOD, ctx)
        flashes = dev.flash.counters.flashes
    assert (before.model, before.firmware, before.hardware) == identity_of(identified)
    assert before == FirmwareState(model="AC-100", firmware="2.4.1", hardware="HW-7")
    assert before.upgrading is None  # ONVIF has no status call
    assert before.percent is None
    # the device's ExpectedDownTime (flash 0.6 s + reboot 0.3 s), in its words and in seconds
    assert said.text == "accepted; expected downtime PT0.9S"
    assert said.downtime_s == pytest.approx(0.9)
    assert sent[-1] == (len(image()), len(image()))
    assert flashing, "the device is writing the image"
    assert 0 <= percent < 100
    assert during.firmware == "2.4.1"
    assert during.upgrading is None
    assert after.firmware == NEW_VERSION
    assert (after.model, after.firmware, after.hardware) == identity_of(identified_after)
    assert flashes == 1


async def test_the_image_is_sent_exactly_once_per_upload(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable()]) as fleet:
        dev = fleet.device("dev10")
        async with probe_context(limits, fleet.port_map) as ctx:
            await OnvifDriver().upload(target(dev.spec.address), image(), ctx)
        assert counters(fleet).upload_requests == 1
        assert len(upload_log_lines(dev)) == 1
        assert counters(fleet).images_accepted == 1


async def test_wrong_model_image_is_refused_with_the_device_message(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable()]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(UploadRefused) as refused:
                await OnvifDriver().upload(target(address), image(model="AC-200"), ctx)
            await asyncio.sleep(FAST_FLASH["flash_s"] + 0.05)
            state = await OnvifDriver().firmware_state(target(address), ctx)
        assert "415" in str(refused.value)
        assert refused.value.vendor_message == "firmware is not for this model"
        assert counters(fleet).flashes == 0
        assert counters(fleet).upload_requests == 1
    assert state.firmware == "2.4.1"


async def test_busy_device_refuses_the_image(fleet_of: FleetFactory, limits: Limits) -> None:
    async with fleet_of([upgradable(fault_reject="busy")]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(UploadRefused) as refused:
                await OnvifDriver().upload(target(address), image(), ctx)
        assert "already in progress" in refused.value.vendor_message
        assert counters(fleet).flashes == 0


@pytest.mark.parametrize("percent", [0, 50, 99])
async def test_connection_reset_mid_upload_is_a_transport_error_and_nothing_is_flashed(
    fleet_of: FleetFactory, limits: Limits, percent: int
) -> None:
    async with fleet_of([upgradable(fault_upload_reset_at=percent)]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(TransportError):
                await OnvifDriver().upload(target(address), image(), ctx)
            await asyncio.sleep(FAST_FLASH["flash_s"] + 0.05)
            state = await OnvifDriver().firmware_state(target(address), ctx)
        assert counters(fleet).upload_requests == 1
        assert counters(fleet).images_accepted == 0
        assert counters(fleet).flashes == 0
    assert state.firmware == "2.4.1"


async def test_http_503_from_the_upload_uri_is_a_device_response_error(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable(fault_http_status=503)]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(DeviceResponseError, match="http 503"):
                await OnvifDriver().upload(target(address), image(), ctx)
        assert counters(fleet).flashes == 0


async def test_wrong_password_is_an_auth_error_and_no_image_is_sent(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable()]) as fleet:
        dev: Any = fleet.device("dev10")
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(AuthError) as err:
                await OnvifDriver().upload(target(dev.spec.address, BAD), image(), ctx)
            assert ctx.auth.failures(dev.spec.address) == 1
        assert not isinstance(err.value, LockoutError)
        assert counters(fleet).upload_requests == 0
        assert sum(dev.lockout.attempts.values()) == 1


async def test_locked_device_gets_a_lockout_error_without_the_credential_again(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    # ONVIF has no lock signal (a locked device answers NotAuthorized, as for a wrong
    # password): the driver stops on its own count, below the device's threshold.
    async with fleet_of([upgradable(lockout_max_failures=2)]) as fleet:
        dev: Any = fleet.device("dev10")
        address = dev.spec.address
        async with probe_context(limits, fleet.port_map, AuthBudget(2)) as ctx:
            for _ in range(2):
                with pytest.raises(AuthError):
                    await OnvifDriver().upload(target(address, BAD), image(), ctx)
            assert dev.lockout.is_locked("127.0.0.1")
            attempts = sum(dev.lockout.attempts.values())
            with pytest.raises(LockoutError):
                await OnvifDriver().upload(target(address, GOOD), image(), ctx)
            with pytest.raises(LockoutError):
                await OnvifDriver().firmware_state(target(address, GOOD), ctx)
        assert sum(dev.lockout.attempts.values()) == attempts == 2
        assert counters(fleet).upload_requests == 0


async def test_backup_config_is_not_available_over_onvif(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable()]) as fleet:
        dev = fleet.device("dev10")
        async with probe_context(limits, fleet.port_map) as ctx:
            assert await OnvifDriver().backup_config(target(dev.spec.address), ctx) is None
        assert dev.requests == [], "nothing is asked of the device"


async def test_device_clock_far_off_still_signs_the_upgrade(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable(clock_offset_s=-5 * 3600)]) as fleet:
        dev: Any = fleet.device("dev10")
        async with probe_context(limits, fleet.port_map) as ctx:
            said = await OnvifDriver().upload(target(dev.spec.address), image(), ctx)
        assert said.text.startswith("accepted")
        assert dev.lockout.lock_events == 0
        assert counters(fleet).images_accepted == 1


async def test_upload_waits_for_the_upload_delay(fleet_of: FleetFactory, limits: Limits) -> None:
    # The simulated device answers 503 to an image posted before UploadDelay has passed.
    async with fleet_of([upgradable(onvif_upload_delay_s=0.4)]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            started = time.monotonic()
            said = await OnvifDriver().upload(target(address), image(), ctx)
            elapsed = time.monotonic() - started
    assert said.text.startswith("accepted")
    assert elapsed >= 0.4


async def test_legacy_device_is_upgraded_with_upgrade_system_firmware(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable(onvif_upgrade="legacy")]) as fleet:
        dev = fleet.device("dev10")
        address = dev.spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            sent: list[tuple[int, int]] = []
            said = await OnvifDriver().upload(
                target(address), image(), ctx, lambda n, total: sent.append((n, total))
            )
        assert counters(fleet).upload_requests == 1, "one MTOM request carried the image"
        assert upload_log_lines(dev) == []
        after = await wait_offline_then_back(fleet, limits, address)
    # UpgradeSystemFirmware gives no downtime estimate
    assert said == UploadAccepted("accepted; Upgrade started; the device restarts", None)
    assert sent[-1][0] == sent[-1][1] > len(image())  # envelope + image
    assert after.firmware == NEW_VERSION


async def test_legacy_device_refuses_a_wrong_model_with_its_fault(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable(onvif_upgrade="legacy")]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(UploadRefused) as refused:
                await OnvifDriver().upload(target(address), image(model="AC-200"), ctx)
        assert refused.value.vendor_message == (
            "Receiver/InvalidArgVal/InvalidFirmware: firmware is not for this model"
        )
        assert counters(fleet).flashes == 0


async def test_legacy_device_with_wrong_password_is_an_auth_error(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable(onvif_upgrade="legacy")]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(AuthError):
                await OnvifDriver().upload(target(address, BAD), image(), ctx)
        assert counters(fleet).upload_requests == 0, "refused before the image was sent"


async def test_device_without_an_upgrade_operation_is_refused_before_the_image_is_sent(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable(onvif_upgrade="none")]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(UploadRefused, match="offers no firmware upgrade operation"):
                await OnvifDriver().upload(target(address), image(), ctx)
        assert counters(fleet).upload_requests == 0


async def test_onvif_on_port_8899_is_found_and_upgraded(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable(onvif_port=8899, http_server="uc-httpd 1.0.0")]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            said = await OnvifDriver().upload(target(address), image(), ctx)
        after = await wait_offline_then_back(fleet, limits, address)
    assert said.text.startswith("accepted")
    assert after.firmware == NEW_VERSION


async def test_lock_during_job_fault_refuses_the_next_login(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([upgradable(fault_lock_during_job=True)]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            await OnvifDriver().upload(target(address), image(), ctx)
            with pytest.raises(AuthError):
                await OnvifDriver().firmware_state(target(address), ctx)


@pytest.mark.parametrize(
    "device",
    [
        {"personality": "hikvision", "model": "DS-2CD2142FWD-I", "firmware": "V5.5.0",
         "build": "build 170725", "device_type": "IPCamera", "ws_discovery": False},
        {"personality": "dahua", "model": "IPC-HDW5831R-ZE", "firmware": "2.800.0000016.0.R",
         "build": "2020-06-05", "hardware": "1.00", "device_type": "IPC-HDW5830R-Z"},
    ],
    ids=["hikvision", "dahua"],
)  # fmt: skip
async def test_vendor_personalities_also_upgrade_over_onvif(
    fleet_of: FleetFactory, limits: Limits, device: dict[str, Any]
) -> None:
    spec = {**device, **FAST_FLASH, "onvif": True, "users": {USER: PASSWORD}}
    async with fleet_of([spec]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            before = await OnvifDriver().firmware_state(target(address), ctx)
            said = await OnvifDriver().upload(
                target(address), image(model=device["model"], vendor="Vendor"), ctx
            )
        assert counters(fleet).upload_requests == 1
        after = await wait_offline_then_back(fleet, limits, address)
    assert before.firmware == device["firmware"]
    assert said.text.startswith("accepted; expected downtime")
    assert said.downtime_s == pytest.approx(FAST_FLASH["flash_s"] + FAST_FLASH["reboot_s"])
    assert after.firmware == NEW_VERSION


async def test_onvif_zeep_async_accepts_the_start_firmware_upgrade_reply(
    fleet_of: FleetFactory,
) -> None:
    # zeep validates the reply against the ONVIF WSDL: anyURI and two xs:durations.
    async with fleet_of([upgradable(onvif_upload_delay_s=2)]) as fleet:
        dev = fleet.device("dev10")
        cam = ONVIFCamera(dev.spec.address, fleet.port_map.actual(80), USER, PASSWORD,
                          WSDL_DIR, adjust_time=True, no_cache=True)  # fmt: skip
        try:
            await cam.update_xaddrs()
            mgmt = await cam.create_devicemgmt_service()
            reply = await mgmt.StartFirmwareUpgrade()
            capabilities = await mgmt.GetServiceCapabilities()
        finally:
            await cam.close()
    assert reply.UploadUri.startswith(f"http://{dev.spec.address}:80{UPLOAD_PREFIX}")
    assert reply.UploadDelay.total_seconds() == 2
    assert reply.ExpectedDownTime.total_seconds() == pytest.approx(0.5)
    assert capabilities.System.HttpFirmwareUpgrade is True
    assert capabilities.System.FirmwareUpgrade is False


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT60S", 60.0), ("PT2M", 120.0), ("P1DT0.5S", 86_400.5), ("PT1H1M1.25S", 3661.25),
     ("PT0S", 0.0), ("-PT5S", None), ("P", None), ("PT", None), ("60", None), ("", None)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("stated", "text", "seconds"),
    [("PT2M", "PT2M", 120.0), ("P30D", "P30D", 30 * 86_400.0), (95, "PT95S", 95.0),
     ("PT0S", "PT0S", 0.0)],
)  # fmt: skip
async def test_upload_returns_the_devices_own_expected_downtime_in_seconds(
    fleet_of: FleetFactory, limits: Limits, stated: str | int, text: str, seconds: float
) -> None:
    # The device's estimate, not its flash's real timing: the driver reports what it said.
    async with fleet_of([upgradable(onvif_expected_downtime=stated)]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            said = await OnvifDriver().upload(target(address), image(), ctx)
    assert said == UploadAccepted(f"accepted; expected downtime {text}", seconds)


async def test_a_device_that_closes_without_a_reply_is_an_error_not_an_answer(
    subnet: str, limits: Limits
) -> None:
    # A rebooting device may close the connection (FIN) instead of resetting it. httpx
    # cannot tell that from binary garbage followed by a close (SAFETY I-04), so it is a
    # DeviceResponseError; the orchestrator treats it like a dropped connection.
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    address = f"{subnet}.10"
    server = await asyncio.start_server(hang_up, address, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with probe_context(limits, PortMap()) as ctx:
            url = ctx.http.url(address, port, "/onvif/device_service")
            with pytest.raises(DeviceResponseError, match="disconnected"):
                await upgrade.firmware_state(target(address), ctx, url)
            with pytest.raises(DeviceResponseError, match="disconnected"):
                await upgrade.upload(target(address), image(), ctx, None, url)
    finally:
        server.close()
        await server.wait_closed()
