"""The Hikvision driver against the simulated device, over real loopback sockets."""

from __future__ import annotations

import asyncio
import time

import pytest
from hik_support import BAD, GOOD, PASSWORD, USER, camera, nvr, web_candidate

from campatch.drivers.banners import gather_banners
from campatch.drivers.hikvision import DRIVER, HikvisionDriver, SadpSource
from campatch.drivers.interface import AuthBudget, Banners
from campatch.errors import AuthError, DeviceResponseError, LockoutError
from campatch.model import Candidate, Confidence, Credential, DeviceClass, Field, Identity, Secret
from campatch.net.http import HttpClient
from support import probe_context

ISAPI = "isapi:/ISAPI/System/deviceInfo"


def _credentialed(requests: list[str]) -> list[str]:
    return [r for r in requests if r.startswith("http ") and " auth=-" not in r]


def test_driver_is_registered_under_its_name() -> None:
    assert DRIVER.name == "hikvision"
    assert isinstance(DRIVER, HikvisionDriver)
    assert [type(s) for s in DRIVER.discovery_sources()] == [SadpSource]


async def test_fingerprint_recognises_camera_without_credentials(fleet_of, limits) -> None:
    async with fleet_of([camera()], multicast=False) as fleet:
        dev = fleet.device("dev10")
        candidate = web_candidate(dev.spec.address)
        async with probe_context(limits, fleet.port_map) as ctx:
            banners = await gather_banners(candidate, ctx)
            fp = await DRIVER.fingerprint(candidate, banners, ctx)
    assert fp is not None
    assert fp.driver == "hikvision"
    assert fp.device_class is DeviceClass.CAMERA
    assert fp.score >= 0.9  # userCheck 401 + Server: Webs + RTSP Server + SDK port
    sources = {o.source for o in fp.observations if o.field is Field.VENDOR}
    assert sources == {"isapi:userCheck", "rtsp:server"}
    assert dev.lockout.attempts == {}  # the probe carried no Authorization header
    assert _credentialed(dev.requests) == []


async def test_fingerprint_from_isapi_probe_alone(fleet_of, limits) -> None:
    async with fleet_of([camera(server_header="lighttpd")], multicast=False) as fleet:
        candidate = Candidate(
            fleet.device("dev10").spec.address, services=web_candidate("x").services[:1]
        )
        async with probe_context(limits, fleet.port_map) as ctx:
            fp = await DRIVER.fingerprint(candidate, Banners(), ctx)
    assert fp is not None
    assert fp.score == Confidence.UNAUTHENTICATED_API


async def test_fingerprint_recognises_nvr_variant(fleet_of, limits) -> None:
    async with fleet_of([nvr()], multicast=False) as fleet:
        candidate = web_candidate(fleet.device("dev10").spec.address)
        async with probe_context(limits, fleet.port_map) as ctx:
            fp = await DRIVER.fingerprint(candidate, await gather_banners(candidate, ctx), ctx)
    assert fp is not None
    assert fp.device_class is DeviceClass.NVR
    assert any(o.field is Field.DEVICE_TYPE and o.value == "NVR" for o in fp.observations)


async def test_fingerprint_ignores_other_vendors(fleet_of, limits) -> None:
    onvif_cam = {"personality": "onvif", "vendor": "Acme", "model": "AC-1", "users": {"a": "b"}}
    async with fleet_of([onvif_cam], multicast=False) as fleet:
        candidate = Candidate(
            fleet.device("dev10").spec.address, services=web_candidate("x").services[:2]
        )
        async with probe_context(limits, fleet.port_map) as ctx:
            fp = await DRIVER.fingerprint(candidate, await gather_banners(candidate, ctx), ctx)
    assert fp is None


async def test_identify_returns_the_device_values(fleet_of, limits) -> None:
    async with fleet_of([nvr()], multicast=False) as fleet:
        spec = fleet.device("dev10").spec
        async with probe_context(limits, fleet.port_map) as ctx:
            observations = await DRIVER.identify(web_candidate(spec.address), GOOD, ctx)
    identity = Identity.of(observations)
    assert identity.get(Field.VENDOR) == "Hikvision"
    assert identity.get(Field.MODEL) == spec.model == "DS-7608NI-K2"
    assert identity.get(Field.SERIAL) == spec.serial
    assert identity.get(Field.MAC) == spec.mac
    assert identity.get(Field.FIRMWARE) == "V5.5.0"
    assert identity.get(Field.BUILD) == "build 170725"
    assert identity.get(Field.HARDWARE) == "0xaa"
    assert identity.get(Field.DEVICE_TYPE) == "NVR"
    assert identity.get(Field.NAME) == "Network Video Recorder"
    assert {(o.source, o.confidence) for o in observations} == {(ISAPI, Confidence.AUTHENTICATED)}


async def test_identify_falls_back_to_basic_only_when_digest_is_not_offered(
    fleet_of, limits
) -> None:
    async with fleet_of([camera(http_auth="basic")], multicast=False) as fleet:
        dev = fleet.device("dev10")
        async with probe_context(limits, fleet.port_map) as ctx:
            observations = await DRIVER.identify(web_candidate(dev.spec.address), GOOD, ctx)
    assert Identity.of(observations).get(Field.MODEL) == "DS-2CD2142FWD-I"
    assert any(" auth=Basic " in r for r in dev.requests)
    assert not any(" auth=Digest " in r for r in dev.requests)


async def test_identify_uses_digest_when_both_are_offered(fleet_of, limits) -> None:
    async with fleet_of([camera()], multicast=False) as fleet:
        dev = fleet.device("dev10")
        async with probe_context(limits, fleet.port_map) as ctx:
            await DRIVER.identify(web_candidate(dev.spec.address), GOOD, ctx)
    assert [r.split(" auth=")[1].split()[0] for r in _credentialed(dev.requests)] == ["Digest"]


async def test_wrong_password_is_auth_error_and_counted(fleet_of, limits) -> None:
    async with fleet_of([camera()], multicast=False) as fleet:
        dev = fleet.device("dev10")
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            with pytest.raises(AuthError) as caught:
                await DRIVER.identify(web_candidate(dev.spec.address), BAD, ctx)
    assert not isinstance(caught.value, LockoutError)
    assert "4 tries left" in str(caught.value)
    assert "wrong-password" not in str(caught.value)
    assert budget.failures(dev.spec.address) == 1
    assert sum(dev.lockout.attempts.values()) == 1


@pytest.mark.safety("D-02")
async def test_d02_retry_login_time_countdown_stops_before_the_device_locks(
    fleet_of, limits
) -> None:
    """1. a generous budget (10) leaves only the device's countdown to stop the driver;
    2. failures 1-3 answer retryLoginTime 4, 3, 2 -> AuthError;
    3. failure 4 answers retryLoginTime 1 -> LockoutError, the host is recorded locked;
    4. every later run (same budget, then a fresh scan's budget) sends no credential.
    """
    async with fleet_of([camera()], multicast=False) as fleet:
        dev = fleet.device("dev10")
        candidate = web_candidate(dev.spec.address)
        budget = AuthBudget(max_failures_per_host=10)
        outcomes: list[str] = []
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            for _ in range(8):
                try:
                    await DRIVER.identify(candidate, BAD, ctx)
                except LockoutError:
                    outcomes.append("lock")
                except AuthError:
                    outcomes.append("auth")
            assert budget.is_locked(dev.spec.address)
        async with probe_context(limits, fleet.port_map, AuthBudget(10)) as fresh:
            with pytest.raises(LockoutError, match="1 more failed login"):
                await DRIVER.identify(candidate, GOOD, fresh)
        assert outcomes == ["auth"] * 3 + ["lock"] * 5
        assert dev.lockout.lock_events == 0
        assert sum(dev.lockout.attempts.values()) == 4
        assert len(_credentialed(dev.requests)) == 4


@pytest.mark.safety("D-02")
async def test_d02_locked_device_raises_lockout_without_sending_credentials(
    fleet_of, limits
) -> None:
    async with fleet_of(
        [camera(lockout_max_failures=3, lockout_seconds=900)], multicast=False
    ) as fleet:
        dev = fleet.device("dev10")
        async with HttpClient(limits, fleet.port_map) as http:  # someone else locked it
            url = http.url(dev.spec.address, 80, "/ISAPI/System/deviceInfo")
            for _ in range(3):
                await http.request("GET", url, credential=BAD)
        assert dev.lockout.lock_events == 1
        attempts, mark = sum(dev.lockout.attempts.values()), len(dev.requests)
        budget = AuthBudget()
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            with pytest.raises(LockoutError) as caught:
                await DRIVER.identify(web_candidate(dev.spec.address), GOOD, ctx)
            with pytest.raises(LockoutError):
                await DRIVER.identify(web_candidate(dev.spec.address), GOOD, ctx)
    assert caught.value.unlock_after_s is not None
    assert 890 <= caught.value.unlock_after_s <= 900
    assert "by us: no" in str(caught.value)
    assert budget.is_locked(dev.spec.address)
    assert sum(dev.lockout.attempts.values()) == attempts
    assert _credentialed(dev.requests[mark:]) == []
    assert len(dev.requests) == mark + 1  # one unauthenticated look, then nothing


@pytest.mark.safety("I-01")
@pytest.mark.parametrize("payload", ["billion_laughs", "quadratic", "xxe"])
async def test_i01_hostile_device_info_is_refused(fleet_of, limits, payload: str) -> None:
    hits: list[str] = []

    async def trap(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append("connected")
        writer.close()

    async with fleet_of([camera()], multicast=False) as fleet:
        address = fleet.device("dev10").spec.address
        trap_host = address.rsplit(".", 1)[0] + ".99"
        server = await asyncio.start_server(trap, trap_host, 0)
        port = server.sockets[0].getsockname()[1]
        dev = fleet.device("dev10")
        dev.spec.options.update(hostile_device_info=payload, xxe_url=f"http://{trap_host}:{port}/x")
        async with server, probe_context(limits, fleet.port_map) as ctx:
            started = time.perf_counter()
            with pytest.raises(DeviceResponseError, match="deviceInfo"):
                await DRIVER.identify(web_candidate(address), GOOD, ctx)
            elapsed = time.perf_counter() - started
    assert hits == []
    assert elapsed < 1.0


async def test_budget_spent_means_no_request_at_all(fleet_of, limits) -> None:
    async with fleet_of([camera()], multicast=False) as fleet:
        dev = fleet.device("dev10")
        budget = AuthBudget(max_failures_per_host=1)
        budget.failed(dev.spec.address)
        async with probe_context(limits, fleet.port_map, budget) as ctx:
            with pytest.raises(LockoutError):
                await DRIVER.identify(web_candidate(dev.spec.address), GOOD, ctx)
    assert dev.requests == []


async def test_credentials_never_appear_in_errors(fleet_of, limits) -> None:
    secret = Credential(USER, Secret("canary-Zq81"))
    async with fleet_of([camera()], multicast=False) as fleet:
        address = fleet.device("dev10").spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with pytest.raises(AuthError) as caught:
                await DRIVER.identify(web_candidate(address), secret, ctx)
    assert "canary-Zq81" not in str(caught.value) + repr(caught.value)
    assert PASSWORD not in str(caught.value)
