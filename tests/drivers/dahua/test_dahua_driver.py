"""The Dahua driver against the simulated Dahua/Amcrest/Lorex devices, over real sockets."""

from __future__ import annotations

from typing import Any

import pytest
from dahua_support import (
    BAD,
    DAHUA_PASSWORD,
    GOOD,
    amcrest_cam,
    auth_requests,
    dahua_cam,
    lorex_nvr,
    web_candidate,
)

from campatch.config import Limits, PortMap
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.drivers.dahua import DRIVER, DahuaDriver, DhipSource
from campatch.drivers.interface import AuthBudget, Banners
from campatch.drivers.onvif import OnvifDriver
from campatch.errors import AuthError, DeviceResponseError, LockoutError
from campatch.model import Candidate, Confidence, DeviceClass, Field, Identity, Service
from campatch.net.http import HttpClient
from campatch.net.rtsp import rtsp_request
from campatch.sim.dahua import DahuaDevice
from campatch.sim.fleet import Fleet
from support import FleetFactory, probe_context


def _dahua(fleet: Fleet, name: str = "dev10") -> DahuaDevice:
    device = fleet.device(name)
    assert isinstance(device, DahuaDevice)
    return device


async def _lock_web(fleet: Fleet, limits: Limits, address: str, failures: int) -> None:
    """Lock the device's web login for this client with real refused Digest logins."""
    async with HttpClient(limits, fleet.port_map) as http:
        url = http.url(address, 80, "/cgi-bin/magicBox.cgi?action=getMachineName")
        for _ in range(failures):
            reply = await http.request("GET", url, credential=BAD)
            assert reply.status == 401


def test_driver_module_exposes_named_instance() -> None:
    assert DRIVER.name == "dahua"
    assert [type(s) for s in DRIVER.discovery_sources()] == [DhipSource]


async def test_fingerprint_without_credentials_spends_no_login(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([dahua_cam()]) as fleet:
        device = _dahua(fleet)
        address = device.spec.address
        rtsp = await rtsp_request(address, 554, "DESCRIBE", limits=limits, port_map=fleet.port_map)
        async with probe_context(limits, fleet.port_map) as ctx:
            fp = await DahuaDriver().fingerprint(
                web_candidate(address), Banners(rtsp={554: rtsp}), ctx
            )
        requests = list(device.requests)
    assert fp is not None
    assert fp.driver == "dahua"
    assert fp.score > 0.9
    ident = Identity.of(fp.observations)
    assert ident.get(Field.VENDOR) == "Dahua"
    assert ident.get(Field.SERIAL) == "4X7C5A1ZAG21L3F"  # from the realm "Login to <serial>"
    assert any("getDeviceType" in r for r in requests)
    assert auth_requests(requests) == []
    assert device.lockout.attempts == {}


async def test_fingerprint_of_a_non_dahua_host_is_none(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([{"personality": "onvif", "users": {"admin": "x"}}]) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            web_only = Candidate(address, services=(Service(80, "tcp", "http"),))
            fp = await DahuaDriver().fingerprint(web_only, Banners(), ctx)
    assert fp is None


async def test_fingerprint_from_the_sdk_port_alone_is_a_weak_guess(limits: Limits) -> None:
    async with probe_context(limits, PortMap()) as ctx:
        sdk_only = Candidate("127.0.0.9", services=(Service(37777, "tcp", "dahua-sdk"),))
        fp = await DahuaDriver().fingerprint(sdk_only, Banners(), ctx)
    assert fp is not None
    assert fp.score < 0.5
    assert {o.confidence for o in fp.observations} == {Confidence.GUESS}


@pytest.mark.parametrize(
    ("spec", "brand", "device_type", "device_class"),
    [
        (dahua_cam(), "Dahua", "IPC", DeviceClass.CAMERA),
        (amcrest_cam(), "Amcrest", "IPC", DeviceClass.CAMERA),
        (lorex_nvr(), "Lorex", "NVR", DeviceClass.NVR),
    ],
    ids=["dahua", "amcrest", "lorex-nvr"],
)
async def test_identify_returns_the_exact_spec_values(
    fleet_of: FleetFactory,
    limits: Limits,
    spec: dict[str, Any],
    brand: str,
    device_type: str,
    device_class: DeviceClass,
) -> None:
    async with fleet_of([spec]) as fleet:
        device = _dahua(fleet)
        address = device.spec.address
        candidates = await DhipSource().discover(
            Scope.of([address], multicast=False), DiscoveryContext(limits, fleet.port_map)
        )
        async with probe_context(limits, fleet.port_map) as ctx:
            fp = await DahuaDriver().fingerprint(candidates[0], Banners(), ctx)
            observations = await DahuaDriver().identify(web_candidate(address), GOOD, ctx)
        lock_events = device.lockout.lock_events
    ident = Identity.of(observations)
    s = device.spec
    assert ident.get(Field.VENDOR) == "Dahua"
    assert ident.get(Field.BRAND) == brand
    assert ident.get(Field.MODEL) == s.model
    assert ident.get(Field.HARDWARE) == s.hardware
    assert ident.get(Field.SERIAL) == s.serial
    assert ident.get(Field.FIRMWARE) == s.firmware
    assert ident.get(Field.BUILD) == s.build
    assert ident.get(Field.MAC) == s.mac
    assert ident.get(Field.NAME) == s.name
    assert ident.get(Field.DEVICE_TYPE) == device_type
    assert all(o.source.startswith("dahua-cgi:") for o in observations)
    assert fp is not None
    assert fp.device_class is device_class
    assert lock_events == 0


async def test_identify_offers_one_scheme_the_device_challenges_with(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([dahua_cam(legacy_basic=True)]) as fleet:
        device = _dahua(fleet)
        async with probe_context(limits, fleet.port_map) as ctx:
            observations = await DahuaDriver().identify(
                web_candidate(device.spec.address), GOOD, ctx
            )
        offered = auth_requests(device.requests)
    assert Identity.of(observations).get(Field.SERIAL) == device.spec.serial
    assert offered
    assert all("auth=Basic" in r for r in offered)


@pytest.mark.safety("D-01")
async def test_d01_wrong_password_is_refused_and_repeated_runs_never_lock(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([dahua_cam(lockout_max_failures=5)]) as fleet:
        device = _dahua(fleet)
        budget = AuthBudget()
        outcomes: list[type[Exception]] = []
        for _ in range(6):
            async with probe_context(limits, fleet.port_map, budget) as ctx:
                with pytest.raises(AuthError) as caught:
                    await DahuaDriver().identify(web_candidate(device.spec.address), BAD, ctx)
                outcomes.append(type(caught.value))
                assert "not-the-Password-1" not in str(caught.value)
        attempts = sum(device.lockout.attempts.values())
        lock_events = device.lockout.lock_events
    assert outcomes[:2] == [AuthError, AuthError]
    assert outcomes[2:] == [LockoutError] * 4  # the budget stops before the device would
    assert budget.failures(device.spec.address) == 2
    assert attempts == 2
    assert attempts <= device.lockout.max_failures - 2
    assert lock_events == 0


@pytest.mark.safety("D-02")
async def test_d02_locked_device_gives_lockout_and_no_further_credentialed_request(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([dahua_cam(lockout_max_failures=3)]) as fleet:
        device = _dahua(fleet)
        address = device.spec.address
        await _lock_web(fleet, limits, address, 3)
        assert device.lockout.is_locked("127.0.0.1")
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            with pytest.raises(LockoutError):
                await DahuaDriver().identify(web_candidate(address), GOOD, ctx)
            seen = len(device.requests)
            with pytest.raises(LockoutError):
                await DahuaDriver().identify(web_candidate(address), GOOD, ctx)
            after = len(device.requests)
    assert budget.is_locked(address)
    assert after == seen  # the second run sent nothing at all
    assert device.lockout.lock_events == 1  # only the test's own lock


@pytest.mark.safety("D-02")
async def test_d02_a_silent_lock_is_an_auth_error_and_the_budget_still_stops(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([dahua_cam(lockout_max_failures=3, lock_message=False)]) as fleet:
        device = _dahua(fleet)
        address = device.spec.address
        await _lock_web(fleet, limits, address, 3)
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            for _ in range(2):
                with pytest.raises(AuthError) as caught:
                    await DahuaDriver().identify(web_candidate(address), GOOD, ctx)
                assert not isinstance(caught.value, LockoutError)
            with pytest.raises(LockoutError):
                await DahuaDriver().identify(web_candidate(address), GOOD, ctx)
    assert device.lockout.lock_events == 1


@pytest.mark.safety("D-01")
@pytest.mark.parametrize("shared", [False, True], ids=["separate", "shared"])
async def test_d01_web_and_onvif_lockouts_are_separate_unless_shared(
    fleet_of: FleetFactory, limits: Limits, shared: bool
) -> None:
    spec = dahua_cam(onvif=True, lockout_max_failures=3, shared_lockout=shared)
    async with fleet_of([spec]) as fleet:
        device = _dahua(fleet)
        address = device.spec.address
        await _lock_web(fleet, limits, address, 3)
        async with probe_context(limits, fleet.port_map) as ctx:
            if shared:
                with pytest.raises(AuthError):
                    await OnvifDriver().identify(web_candidate(address), GOOD, ctx)
            else:
                observations = await OnvifDriver().identify(web_candidate(address), GOOD, ctx)
                assert Identity.of(observations).get(Field.SERIAL) == device.spec.serial
    assert (device.onvif_lockout is device.lockout) is shared
    assert device.onvif_lockout.is_locked("127.0.0.1") is shared


async def test_garbage_cgi_reply_is_a_clean_device_error_not_an_auth_failure(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([dahua_cam(cgi_garbage=True)]) as fleet:
        address = fleet.device("dev10").spec.address
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            with pytest.raises(DeviceResponseError):
                await DahuaDriver().identify(web_candidate(address), GOOD, ctx)
    assert budget.failures(address) == 0


async def test_identify_of_a_host_without_a_dahua_challenge_is_a_device_error(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([{"personality": "onvif", "users": {"admin": DAHUA_PASSWORD}}]) as fleet:
        address = fleet.device("dev10").spec.address
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            with pytest.raises(DeviceResponseError):
                await DahuaDriver().identify(web_candidate(address), GOOD, ctx)
    assert budget.failures(address) == 0
