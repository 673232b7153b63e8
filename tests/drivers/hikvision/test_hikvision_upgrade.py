"""Hikvision firmware upgrade: the driver's Upgrader operations against the simulator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hik_support import (
    BAD,
    FAST_FLASH,
    GOOD,
    NEW_BUILD,
    NEW_VERSION,
    camera,
    hik_device,
    image,
    nvr,
    target,
    web_candidate,
)

from campatch.config import Limits
from campatch.drivers.hikvision import DRIVER
from campatch.drivers.hikvision.models import ResponseStatus, UpgradeStatus
from campatch.drivers.interface import (
    AuthBudget,
    FirmwareState,
    Upgrader,
    UploadAccepted,
    UploadRefused,
)
from campatch.errors import AuthError, DeviceResponseError, LockoutError, TransportError
from campatch.model import Field, Identity
from campatch.net.http import HttpClient
from campatch.sim.hikvision import CONFIG_SIZE
from support import FleetFactory, probe_context

UPLOAD = "http PUT /ISAPI/System/updateFirmware"


class ManualClock:
    """A device clock the test moves by hand: the flash timeline without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _credentialed(requests: list[str]) -> list[str]:
    return [r for r in requests if r.startswith("http ") and " auth=-" not in r]


def _identity_form(observations: Any) -> tuple[str | None, ...]:
    identity = Identity.of(observations)
    return tuple(
        identity.get(f) for f in (Field.MODEL, Field.FIRMWARE, Field.BUILD, Field.HARDWARE)
    )


def _state_form(state: FirmwareState) -> tuple[str | None, ...]:
    return tuple(v or None for v in (state.model, state.firmware, state.build, state.hardware))


def test_driver_is_an_upgrader() -> None:
    assert isinstance(DRIVER, Upgrader)


async def test_accepted_upload_flashes_reboots_and_comes_back_on_the_new_version(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    clock = ManualClock()
    async with fleet_of([nvr(**FAST_FLASH)], multicast=False, clock=clock) as fleet:
        dev = hik_device(fleet)
        address = dev.spec.address
        sent: list[tuple[int, int]] = []
        async with probe_context(limits, fleet.port_map) as ctx:
            before = await DRIVER.firmware_state(target(address), ctx)
            identified = await DRIVER.identify(web_candidate(address), GOOD, ctx)
            assert _state_form(before) == _identity_form(identified)
            assert (before.upgrading, before.percent) == (False, 0)

            data = image(model="DS-7608NI-K2", hardware="0xaa")
            accepted = await DRIVER.upload(
                target(address), data, ctx, lambda n, t: sent.append((n, t))
            )
            assert accepted == UploadAccepted("OK")  # ISAPI gives no downtime estimate
            assert sent[-1] == (len(data), len(data))

            flashing = await DRIVER.firmware_state(target(address), ctx)
            assert (flashing.upgrading, flashing.percent) == (True, 0)
            assert flashing.firmware == "V5.5.0"  # nothing changes until the reboot
            clock.advance(0.1)
            halfway = await DRIVER.firmware_state(target(address), ctx)
            assert (halfway.upgrading, halfway.percent) == (True, 50)

            clock.advance(0.15)  # written at 0.2 s, rebooting until 0.5 s: the device
            # resets the kept-alive connection (and the fleet any new one)
            with pytest.raises(TransportError):
                await DRIVER.firmware_state(target(address), ctx)

            clock.advance(0.3)
            after = await DRIVER.firmware_state(target(address), ctx)
            identified = await DRIVER.identify(web_candidate(address), GOOD, ctx)
    assert (after.firmware, after.build, after.upgrading) == (NEW_VERSION, NEW_BUILD, False)
    assert _state_form(after) == _identity_form(identified)
    assert after.model == "DS-7608NI-K2"
    assert after.hardware == "0xaa"
    assert dev.flash.counters.flashes == 1


async def test_each_upload_call_sends_the_image_exactly_once(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera(**FAST_FLASH)], multicast=False) as fleet:
        dev = hik_device(fleet)
        async with probe_context(limits, fleet.port_map) as ctx:
            await DRIVER.upload(target(dev.spec.address), image(), ctx)
            assert dev.flash.counters.upload_requests == 1
            with pytest.raises(UploadRefused):  # still flashing: busy, but sent only once
                await DRIVER.upload(target(dev.spec.address), image(), ctx)
    uploads = [r for r in dev.requests if r.startswith(UPLOAD)]
    assert len(uploads) == 2
    assert all(" auth=Digest " in r for r in uploads)  # authorised from the first byte
    assert dev.flash.counters.upload_requests == 2
    assert dev.flash.counters.images_accepted == 1


async def test_wrong_model_image_is_refused_with_the_vendor_message(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera(**FAST_FLASH)], multicast=False) as fleet:
        dev = hik_device(fleet)
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(UploadRefused) as caught:
                await DRIVER.upload(target(dev.spec.address), image(model="DS-2CD2T47G2-L"), ctx)
            state = await DRIVER.firmware_state(target(dev.spec.address), ctx)
    assert caught.value.vendor_message == "upgrade packet mismatch"
    assert "upgrade packet mismatch" in str(caught.value)
    assert dev.flash.counters.flashes == 0
    assert dev.flash.counters.rejections == ["wrong-model"]
    assert (state.firmware, state.upgrading) == ("V5.5.0", False)


@pytest.mark.parametrize(
    ("options", "header", "message"),
    [
        ({}, {"hardware": "0xbb"}, "upgrade packet mismatch"),
        ({"region": "EN"}, {"region": "CN"}, "upgrade packet language mismatch"),
        ({"min_firmware": "V5.6.0"}, {"version": "V5.5.5"}, "upgrade packet version too low"),
        ({"fault_reject": "not-an-image"}, {}, "invalid upgrade packet"),
    ],
)
async def test_other_refusals_carry_the_device_message(
    fleet_of: FleetFactory,
    limits: Limits,
    options: dict[str, Any],
    header: dict[str, str],
    message: str,
) -> None:
    async with fleet_of([nvr(**FAST_FLASH, **options)], multicast=False) as fleet:
        dev = hik_device(fleet)
        data = image(
            "DS-7608NI-K2",
            header.get("version", NEW_VERSION),
            hardware=header.get("hardware", "0xaa"),
            region=header.get("region", ""),
        )
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(UploadRefused) as caught:
                await DRIVER.upload(target(dev.spec.address), data, ctx)
    assert caught.value.vendor_message == message
    assert dev.flash.counters.images_accepted == 0


@pytest.mark.safety("D-07")
@pytest.mark.parametrize("percent", [0, 50, 99])
async def test_connection_reset_mid_upload_is_transport_error_and_nothing_flashed(
    fleet_of: FleetFactory, limits: Limits, percent: int
) -> None:
    async with fleet_of(
        [camera(**FAST_FLASH, fault_upload_reset_at=percent)], multicast=False
    ) as fleet:
        dev = hik_device(fleet)
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(TransportError):
                await DRIVER.upload(target(dev.spec.address), image(), ctx)
            state = await DRIVER.firmware_state(target(dev.spec.address), ctx)
    assert dev.flash.counters.upload_requests == 1
    assert dev.flash.counters.images_accepted == 0
    assert dev.flash.counters.flashes == 0
    assert (state.firmware, state.build, state.upgrading) == ("V5.5.0", "build 170725", False)


@pytest.mark.parametrize("status", [500, 503])
async def test_server_error_is_device_response_error(
    fleet_of: FleetFactory, limits: Limits, status: int
) -> None:
    async with fleet_of([camera(**FAST_FLASH, fault_http_status=status)], multicast=False) as fleet:
        dev = hik_device(fleet)
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(DeviceResponseError, match=f"HTTP {status}") as caught:
                await DRIVER.upload(target(dev.spec.address), image(), ctx)
    assert not isinstance(caught.value, UploadRefused)
    assert dev.flash.counters.images_accepted == 0


async def test_busy_device_refuses_the_image(fleet_of: FleetFactory, limits: Limits) -> None:
    async with fleet_of([camera(**FAST_FLASH, fault_reject="busy")], multicast=False) as fleet:
        dev = hik_device(fleet)
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(UploadRefused) as caught:
                await DRIVER.upload(target(dev.spec.address), image(), ctx)
    assert caught.value.vendor_message == "Device Busy (deviceBusy)"
    assert dev.flash.counters.rejections == ["busy"]
    assert dev.flash.counters.flashes == 0


@pytest.mark.safety("D-02")
async def test_wrong_password_is_auth_error_after_one_failed_login(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera(**FAST_FLASH)], multicast=False) as fleet:
        dev = hik_device(fleet)
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            with pytest.raises(AuthError) as caught:
                await DRIVER.upload(target(dev.spec.address, BAD), image(), ctx)
    assert not isinstance(caught.value, LockoutError)
    assert "4 tries left" in str(caught.value)
    assert "wrong-password" not in str(caught.value)
    assert budget.failures(dev.spec.address) == 1
    assert sum(dev.lockout.attempts.values()) == 1
    assert dev.flash.counters.upload_requests == 0  # the image never left


@pytest.mark.safety("D-02")
@pytest.mark.parametrize("operation", ["upload", "firmware_state", "backup_config"])
async def test_locked_device_raises_lockout_without_offering_the_credential(
    fleet_of: FleetFactory, limits: Limits, operation: str
) -> None:
    async with fleet_of(
        [camera(**FAST_FLASH, lockout_max_failures=3, lockout_seconds=900)], multicast=False
    ) as fleet:
        dev = hik_device(fleet)
        async with HttpClient(limits, fleet.port_map) as http:  # someone else locked it
            url = http.url(dev.spec.address, 80, "/ISAPI/System/deviceInfo")
            for _ in range(3):
                await http.request("GET", url, credential=BAD)
        mark = len(dev.requests)
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            owner = target(dev.spec.address)
            calls: dict[str, Callable[[], Awaitable[object]]] = {
                "upload": lambda: DRIVER.upload(owner, image(), ctx),
                "firmware_state": lambda: DRIVER.firmware_state(owner, ctx),
                "backup_config": lambda: DRIVER.backup_config(owner, ctx),
            }
            with pytest.raises(LockoutError) as caught:
                await calls[operation]()
    assert caught.value.unlock_after_s is not None
    assert budget.is_locked(dev.spec.address)
    assert _credentialed(dev.requests[mark:]) == []
    assert len(dev.requests) == mark + 1  # one unauthenticated look, then nothing
    assert dev.flash.counters.upload_requests == 0


@pytest.mark.safety("D-02")
async def test_lock_signalled_during_the_job_stops_the_driver(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of(
        [camera(**FAST_FLASH, fault_lock_during_job=True)], multicast=False
    ) as fleet:
        dev = hik_device(fleet)
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            await DRIVER.upload(target(dev.spec.address), image(), ctx)
            mark = len(dev.requests)
            with pytest.raises(LockoutError):
                await DRIVER.firmware_state(target(dev.spec.address), ctx)
    assert budget.is_locked(dev.spec.address)
    assert _credentialed(dev.requests[mark:]) == []


async def test_backup_config_returns_the_export(fleet_of: FleetFactory, limits: Limits) -> None:
    async with fleet_of([camera(), camera(config_backup=False)], multicast=False) as fleet:
        with_export, without = hik_device(fleet), hik_device(fleet, "dev11")
        async with probe_context(limits, fleet.port_map) as ctx:
            first = await DRIVER.backup_config(target(with_export.spec.address), ctx)
            again = await DRIVER.backup_config(target(with_export.spec.address), ctx)
            missing = await DRIVER.backup_config(target(without.spec.address), ctx)
    assert isinstance(first, bytes)
    assert len(first) == CONFIG_SIZE
    assert first == again
    assert missing is None


async def test_backup_config_with_wrong_password_is_auth_error(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera()], multicast=False) as fleet:
        dev = hik_device(fleet)
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(AuthError) as caught:
                await DRIVER.backup_config(target(dev.spec.address, BAD), ctx)
    assert not isinstance(caught.value, LockoutError)
    assert sum(dev.lockout.attempts.values()) == 1


async def test_simulator_takes_a_multipart_post_with_update_file(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    """VENDORS.md §1: other tools POST multipart with the field ``updateFile``."""
    data = image()
    boundary = "campatch-test-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="updateFile"; filename="digicap.dav"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    async with fleet_of([camera(**FAST_FLASH)], multicast=False) as fleet:
        dev = hik_device(fleet)
        async with HttpClient(limits, fleet.port_map) as http:
            reply = await http.upload(
                "POST",
                http.url(dev.spec.address, 80, "/ISAPI/System/updateFirmware"),
                body,
                credential=GOOD,
                auth_url=http.url(dev.spec.address, 80, "/ISAPI/System/deviceInfo"),
                content_type=f"multipart/form-data; boundary={boundary}",
            )
    assert reply.status == 200
    assert b"<statusCode>1</statusCode>" in reply.body
    assert dev.flash.counters.images_accepted == 1


def test_response_status_message_prefers_the_device_text() -> None:
    with_text = ResponseStatus.decode(
        b'<ResponseStatus xmlns="http://www.isapi.org/ver20/XMLSchema"><statusCode>6'
        b"</statusCode><statusString>Invalid XML Content</statusString><subStatusCode>"
        b"upgradePacketMismatch</subStatusCode><errorMsg>upgrade packet mismatch</errorMsg>"
        b"</ResponseStatus>"
    )
    bare = ResponseStatus.decode(
        b"<ResponseStatus><statusCode>2</statusCode><statusString>Device Busy</statusString>"
        b"</ResponseStatus>"
    )
    assert (with_text.status_code, with_text.message) == (6, "upgrade packet mismatch")
    assert (bare.status_code, bare.message) == (2, "Device Busy")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<upgradeStatus><upgrading>true</upgrading><percent>42</percent></upgradeStatus>",
         (True, 42)),
        (b"<upgradeStatus><upgrading>false</upgrading><percent>100</percent></upgradeStatus>",
         (False, 100)),
        (b"<upgradeStatus><upgrading>yes</upgrading><percent>250</percent></upgradeStatus>",
         (None, None)),
    ],
)  # fmt: skip
def test_upgrade_status_decodes_only_sane_values(
    body: bytes, expected: tuple[bool | None, int | None]
) -> None:
    status = UpgradeStatus.decode(body)
    assert (status.upgrading, status.percent) == expected


def test_upgrade_status_refuses_another_document() -> None:
    with pytest.raises(DeviceResponseError, match="upgradeStatus"):
        UpgradeStatus.decode(b"<userCheck><statusValue>401</statusValue></userCheck>")
