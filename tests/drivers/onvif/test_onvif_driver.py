"""The ONVIF driver against the simulated ONVIF camera, over real loopback sockets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from onvif_support import BAD, GOOD, PASSWORD, camera, web_candidate

from campatch.config import Limits
from campatch.drivers.interface import AuthBudget, Banners
from campatch.drivers.onvif import DRIVER, OnvifDriver
from campatch.drivers.onvif.models import GetDeviceInformation
from campatch.errors import AuthError, LockoutError
from campatch.model import Candidate, Confidence, DeviceClass, Field, Identity
from campatch.net.soap import SoapClient
from campatch.sim.onvif import OnvifCamera
from support import probe_context

if TYPE_CHECKING:
    from support import FleetFactory


async def test_driver_module_exposes_named_instance() -> None:
    assert DRIVER.name == "onvif"
    assert DRIVER.discovery_sources() == []


async def test_fingerprint_open_device_reads_identity_without_credentials(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera(onvif_open_info=True)]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            fp = await OnvifDriver().fingerprint(web_candidate(address), Banners(), ctx)
    assert fp is not None
    assert fp.driver == "onvif"
    assert fp.device_class is DeviceClass.CAMERA
    ident = Identity.of(fp.observations)
    assert ident.get(Field.VENDOR) == "Acme"
    assert ident.get(Field.FIRMWARE) == "2.4.1"
    assert ident.fields[Field.FIRMWARE].confidence == Confidence.UNAUTHENTICATED_API
    assert any(o.source == "onvif:GetScopes" and o.field is Field.MODEL for o in fp.observations)


async def test_fingerprint_closed_device_is_recognised_without_identity(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera()]) as fleet:
        dev = fleet.device("dev10")
        async with probe_context(limits, fleet.port_map) as ctx:
            fp = await OnvifDriver().fingerprint(web_candidate(dev.spec.address), Banners(), ctx)
    assert fp is not None
    assert fp.observations == ()
    assert fp.device_class is DeviceClass.CAMERA
    assert isinstance(dev, OnvifCamera)
    assert dev.lockout.attempts == {}, "unauthenticated calls are not login attempts"


async def test_fingerprint_non_onvif_host_returns_none(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera(onvif=False)]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            assert await OnvifDriver().fingerprint(web_candidate(address), Banners(), ctx) is None


async def test_fingerprint_uses_announced_xaddr_on_nonstandard_port(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of(
        [camera(onvif_port=8899, device_type="NVR", onvif_open_info=True)]
    ) as fleet:
        address = fleet.device("dev10").spec.address
        candidate = Candidate(
            address,
            onvif_xaddrs=(f"http://{address}:8899/onvif/device_service",),
            notes={"onvif_types": "NetworkVideoTransmitter Device"},
        )
        async with probe_context(limits, fleet.port_map) as ctx:
            driver = OnvifDriver()
            fp = await driver.fingerprint(candidate, Banners(), ctx)
            obs = await driver.identify(candidate, GOOD, ctx)
    assert fp is not None
    assert fp.device_class is DeviceClass.NVR  # announced by the type scope of an NVR
    assert Identity.of(obs).get(Field.MODEL) == "AC-100"


async def test_identify_reads_authenticated_identity_and_mac(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera()]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            driver = OnvifDriver()
            candidate = web_candidate(address)
            assert await driver.fingerprint(candidate, Banners(), ctx) is not None
            obs = await driver.identify(candidate, GOOD, ctx)
    ident = Identity.of(obs)
    assert {f: ident.get(f) for f in (Field.VENDOR, Field.MODEL, Field.HARDWARE, Field.SERIAL)} == {
        Field.VENDOR: "Acme",
        Field.MODEL: "AC-100",
        Field.HARDWARE: "HW-7",
        Field.SERIAL: "ACME0001",
    }
    assert ident.get(Field.MAC) == "00:11:22:33:44:55"
    assert all(o.confidence == Confidence.AUTHENTICATED for o in obs)
    assert ident.fields[Field.FIRMWARE].source == "onvif:GetDeviceInformation"


async def test_identify_without_fingerprint_locates_the_service_itself(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera(brand="AcmeBrand")]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            obs = await OnvifDriver().identify(web_candidate(address), GOOD, ctx)
    assert Identity.of(obs).get(Field.VENDOR) == "AcmeBrand"


async def test_wrong_password_raises_auth_error_and_counts_on_device(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera()]) as fleet:
        dev = fleet.device("dev10")
        assert isinstance(dev, OnvifCamera)
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            with pytest.raises(AuthError) as err:
                await OnvifDriver().identify(web_candidate(dev.spec.address), BAD, ctx)
    assert PASSWORD not in str(err.value)
    assert "wrong-password" not in str(err.value)
    assert budget.failures(dev.spec.address) == 1
    assert sum(dev.lockout.attempts.values()) == 1
    (peer,) = dev.lockout.attempts
    assert dev.lockout.remaining(peer) == dev.lockout.max_failures - 1


async def test_budget_stops_before_the_device_lock(fleet_of: FleetFactory, limits: Limits) -> None:
    async with fleet_of([camera(lockout_max_failures=3)]) as fleet:
        dev = fleet.device("dev10")
        assert isinstance(dev, OnvifCamera)
        async with probe_context(
            limits, fleet.port_map, AuthBudget(max_failures_per_host=2)
        ) as ctx:
            driver, candidate = OnvifDriver(), web_candidate(dev.spec.address)
            for _ in range(2):
                with pytest.raises(AuthError):
                    await driver.identify(candidate, BAD, ctx)
            with pytest.raises(LockoutError):
                await driver.identify(candidate, GOOD, ctx)
    assert sum(dev.lockout.attempts.values()) == 2, "no third login reached the device"
    assert dev.lockout.lock_events == 0


async def test_locked_device_refuses_the_right_password(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera(lockout_max_failures=2)]) as fleet:
        dev = fleet.device("dev10")
        assert isinstance(dev, OnvifCamera)
        candidate = web_candidate(dev.spec.address)
        driver = OnvifDriver()
        for _ in range(2):  # a fresh budget each time: someone else's failed logins
            async with probe_context(limits, fleet.port_map) as ctx:
                with pytest.raises(AuthError):
                    await driver.identify(candidate, BAD, ctx)
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(AuthError):
                await driver.identify(candidate, GOOD, ctx)
    assert dev.lockout.lock_events == 1


async def test_device_clock_three_hours_ahead_still_authenticates(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([camera(clock_offset_s=3 * 3600)]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            driver = OnvifDriver()
            candidate = web_candidate(address)
            await driver.fingerprint(candidate, Banners(), ctx)
            obs = await driver.identify(candidate, GOOD, ctx)
            offset = driver.clock_offset(address)
            # Without the offset the same credential is refused: Created is 3 h stale.
            url = ctx.http.url(address, 80, "/onvif/device_service")
            with pytest.raises(AuthError):
                await SoapClient(ctx.http).call(url, GetDeviceInformation(), credential=GOOD)
    assert Identity.of(obs).get(Field.SERIAL) == "ACME0001"
    assert offset is not None
    assert abs(offset - 3 * 3600) < 2
    assert driver.clock_offset("127.0.0.254") is None
