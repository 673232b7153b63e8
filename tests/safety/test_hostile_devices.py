"""SAFETY I-01..I-05: hostile devices (``personality: hostile``) against the real scanner.

Every test drives the production code paths (HttpClient, the Hikvision and ONVIF
drivers, rtsp_request, identify_host, the discovery sources, run_scan) over real
loopback sockets against :mod:`campatch.sim.hostile`, with shrunk limits instead of
sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from hostile_support import ADMIN, MIB, elapsed, hostile, memory_peak, trap_listener, web_candidate

from campatch.config import Limits, Settings
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.probe import TcpProbe
from campatch.discovery.run import discover
from campatch.discovery.ssdp import DESCRIPTION_SOURCE, SsdpSource
from campatch.discovery.ws_discovery import WsDiscovery, build_probe, parse_probe_matches
from campatch.drivers.banners import gather_banners
from campatch.drivers.hikvision import HikvisionDriver
from campatch.drivers.identify import NoCredentials, identify_host
from campatch.drivers.interface import ProbeContext
from campatch.drivers.onvif import OnvifDriver
from campatch.drivers.registry import all_drivers
from campatch.errors import DeviceResponseError, TransportError
from campatch.model import AuthState, Credential, DeviceClass, Field, HostReport
from campatch.net.http import HttpClient
from campatch.net.rtsp import rtsp_request
from campatch.pipeline import run_scan
from campatch.sim.fleet import Fleet
from campatch.sim.hostile import BEHAVIOURS, METADATA_URL, HostileDevice
from support import probe_context

FleetFactory = Callable[..., AbstractAsyncContextManager[Fleet]]

XML_ATTACKS = ["xml_bomb", "quadratic_blowup", "xxe_file", "xxe_http", "dtd_retrieval"]
OVERSIZED = [
    "many_headers",
    "huge_header",
    "huge_content_length",
    "endless_body",
    "gzip_bomb",
    "soap_50mb",
]
RTSP_MALFORMED = [
    "rtsp_bad_status",
    "rtsp_cseq_mismatch",
    "rtsp_negative_length",
    "rtsp_huge_length",
    "rtsp_junk",
    "rtsp_interleaved",
]
OVERSIZED_CASES = OVERSIZED
RTSP_MALFORMED_CASES = RTSP_MALFORMED
TIMEOUT_WORDS = ("deadline", "timeout", "timed out", "within")
PASSWORD = ADMIN.password.reveal()


class AdminEverywhere:
    """A credential lookup that offers the test's admin credential for every host."""

    def for_host(self, address: str, vendor: str | None) -> list[Credential]:
        """Always the one admin credential."""
        return [ADMIN]


def healthy_camera(n: int) -> dict[str, Any]:
    """A healthy Hikvision camera whose model and firmware name it (``HX-<n>``)."""
    return {
        "personality": "hikvision",
        "model": f"DS-2CD2{n:03d}FWD-I",
        "firmware": f"V5.{n % 8}.0",
        "users": {"admin": PASSWORD},
        "ws_discovery": False,
        "sdk": False,
    }


def only(fleet: Fleet) -> HostileDevice:
    """The fleet's one hostile device."""
    (device,) = fleet.devices.values()
    assert isinstance(device, HostileDevice)
    return device


def is_timeout(message: str) -> bool:
    """True for a problem that says a deadline or timeout ended the exchange."""
    return any(word in message.lower() for word in TIMEOUT_WORDS)


async def identify_as_admin(address: str, ctx: ProbeContext) -> HostReport:
    """Identify the camera-looking host at ``address`` with every driver, as admin."""
    return await identify_host(web_candidate(address), all_drivers(), ctx, AdminEverywhere())


def assert_identified(report: HostReport, spec: dict[str, Any]) -> None:
    """The healthy camera ``spec`` was identified as what it is."""
    identity = report.identity
    assert report.device_class is DeviceClass.CAMERA, report
    assert report.auth is AuthState.ACCEPTED, report.problems
    assert identity.get(Field.VENDOR) == "Hikvision"
    assert identity.get(Field.MODEL) == spec["model"]
    assert identity.get(Field.FIRMWARE) == spec["firmware"]


# --- I-01 XML attacks ------------------------------------------------------------------


@pytest.mark.safety("I-01")
@pytest.mark.parametrize("attack", XML_ATTACKS)
@pytest.mark.parametrize(
    ("driver", "request_seen"),
    [
        pytest.param(HikvisionDriver, "/ISAPI/System/deviceInfo", id="isapi_device_info"),
        pytest.param(OnvifDriver, "onvif POST", id="onvif_get_device_information"),
    ],
)
async def test_I01_device_info_attack_is_refused(
    driver: type[HikvisionDriver | OnvifDriver],
    request_seen: str,
    attack: str,
    fleet_of: FleetFactory,
    limits: Limits,
) -> None:
    async with trap_listener() as trap, fleet_of([hostile(attack, trap_url=trap.url)]) as fleet:
        address = only(fleet).spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with (
                memory_peak() as mem,
                elapsed() as took,
                pytest.raises(DeviceResponseError, match="hostile XML"),
            ):
                await driver().identify(web_candidate(address), ADMIN, ctx)
        assert any(request_seen in line for line in only(fleet).requests)
    assert took[0] < 0.2
    assert mem.worst < 20 * MIB, mem
    assert trap.hits == []


async def _probe_reply(address: str) -> bytes:
    """Send a real WS-Discovery probe to ``address`` and return the first reply datagram."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        await loop.sock_sendto(sock, build_probe("urn:uuid:i01"), (address, 3702))
        async with asyncio.timeout(2.0):
            return await loop.sock_recv(sock, 65_535)


@pytest.mark.safety("I-01")
@pytest.mark.parametrize("attack", XML_ATTACKS)
async def test_I01_discovery_attacks_are_refused(
    attack: str, fleet_of: FleetFactory, limits: Limits
) -> None:
    """The ProbeMatch (WS-Discovery) and the UPnP description (SSDP LOCATION) both carry it."""
    async with (
        trap_listener() as trap,
        fleet_of([hostile(attack, trap_url=trap.url)], multicast=False) as fleet,
    ):
        address = only(fleet).spec.address
        datagram = await _probe_reply(address)
        with (
            memory_peak() as mem,
            elapsed() as took,
            pytest.raises(DeviceResponseError, match="hostile XML"),
        ):
            parse_probe_matches(datagram, host=address, max_bytes=65_507)
        dctx = DiscoveryContext(dataclasses.replace(limits, discovery_listen_s=0.3), fleet.port_map)
        scope = Scope.of([address], multicast=False)
        found = await WsDiscovery().discover(scope, dctx)
        (upnp,) = await SsdpSource().discover(scope, dctx)
        assert any("upnp/desc.xml" in line for line in only(fleet).requests)
    assert took[0] < 0.2
    assert mem.worst < 20 * MIB, mem
    assert found == [], "a hostile ProbeMatch yields no candidate"
    assert not [o for o in upnp.observations if o.source == DESCRIPTION_SOURCE]
    assert trap.hits == []


# --- I-02 oversized replies ------------------------------------------------------------


@pytest.mark.safety("I-02")
@pytest.mark.parametrize("case", OVERSIZED_CASES)
async def test_I02_oversized_http_reply_is_a_clean_error(
    case: str, fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([hostile(case, interval_s=0.05)]) as fleet:
        address = only(fleet).spec.address
        async with HttpClient(limits, fleet.port_map) as http:
            url = http.url(address, 80, "/onvif/device_service")
            with (
                memory_peak() as mem,
                elapsed() as took,
                pytest.raises((TransportError, DeviceResponseError)) as caught,
            ):
                await http.request("POST", url, content=b"<x/>")
    assert caught.value.host == address
    assert took[0] < limits.request_deadline_s + 0.5
    assert mem.worst < 64 * MIB, mem


@pytest.mark.safety("I-02")
@pytest.mark.parametrize("case", OVERSIZED_CASES)
async def test_I02_oversized_reply_becomes_a_problem_of_that_host(
    case: str, fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([hostile(case, interval_s=0.05)]) as fleet:
        address = only(fleet).spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            with memory_peak() as mem:
                report = await identify_as_admin(address, ctx)
    assert report.address == address
    assert [p.source for p in report.problems if p.source == "port 80"] == ["port 80"]
    assert mem.worst < 64 * MIB, mem


@pytest.mark.safety("I-02")
async def test_I02_broken_digest_challenge_is_a_clean_error(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([hostile("bad_digest")]) as fleet:
        address = only(fleet).spec.address
        async with HttpClient(limits, fleet.port_map) as http:
            url = http.url(address, 80, "/ISAPI/System/deviceInfo")
            assert (await http.request("GET", url)).status == 401
            with pytest.raises(DeviceResponseError, match="invalid HTTP reply"):
                await http.request("GET", url, credential=ADMIN)
        async with probe_context(limits, fleet.port_map) as ctx:
            report = await identify_as_admin(address, ctx)
    assert report.auth is not AuthState.ACCEPTED
    assert any("invalid HTTP reply" in p.message for p in report.problems), report.problems


# --- I-03 slowloris and silent hosts ---------------------------------------------------


@pytest.mark.safety("I-03")
async def test_I03_slash24_with_slowloris_and_silent_hosts_finishes_within_budget(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    """A /24 holding 36 healthy cameras, 2 slowloris and 2 silent hosts (10 %).

    1. scan only the healthy cameras: T_healthy;
    2. scan the whole /24: it must end within 2 x host deadline + T_healthy;
    3. every bad host is in the result with a timeout problem; every camera is identified.
    """
    lim = dataclasses.replace(
        limits, read_timeout_s=1.0, request_deadline_s=1.0, host_deadline_s=1.5
    )
    healthy = [healthy_camera(n) for n in range(36)]
    bad = [hostile("slowloris", interval_s=0.2)] * 2 + [hostile("silent")] * 2
    async with fleet_of([*healthy, *bad], multicast=False) as fleet:
        specs = [d.spec for d in fleet.devices.values()]
        good_addrs = [s.address for s in specs if s.personality == "hikvision"]
        bad_addrs = [s.address for s in specs if s.personality == "hostile"]
        network = good_addrs[0].rsplit(".", 1)[0] + ".0/24"
        settings = Settings(limits=lim, port_map=fleet.port_map)

        async def scan(targets: list[str]) -> tuple[dict[str, HostReport], float]:
            with elapsed() as took:
                result, _scope = await run_scan(
                    targets,
                    settings=settings,
                    credentials=AdminEverywhere(),
                    sources=[TcpProbe(ports=(80, 554, 8000))],
                    multicast=False,
                )
            return {h.address: h for h in result.hosts}, took[0]

        _, healthy_s = await scan(good_addrs)
        hosts, total_s = await scan([network])

    assert total_s <= 2 * lim.host_deadline_s + healthy_s, (total_s, healthy_s)
    assert set(hosts) == {*good_addrs, *bad_addrs}
    for address in bad_addrs:
        assert any(is_timeout(p.message) for p in hosts[address].problems), hosts[address]
    for address, spec in zip(good_addrs, healthy, strict=True):
        assert_identified(hosts[address], spec)


@pytest.mark.safety("I-03")
async def test_I03_request_deadline_ends_a_trickle_that_beats_every_read_timeout(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    """One byte every 0.1 s never trips a 1 s read timeout; the 0.5 s wall clock ends it."""
    lim = dataclasses.replace(limits, read_timeout_s=1.0, request_deadline_s=0.5)
    async with fleet_of([hostile("slowloris", interval_s=0.1)]) as fleet:
        address = only(fleet).spec.address
        async with HttpClient(lim, fleet.port_map) as http:
            with elapsed() as http_s, pytest.raises(TransportError, match=r"within 0\.5 s"):
                await http.request("GET", http.url(address, 80, "/"))
        with elapsed() as rtsp_s, pytest.raises(TransportError, match="within deadline"):
            await rtsp_request(address, 554, "OPTIONS", limits=lim, port_map=fleet.port_map)
    assert 0.5 <= http_s[0] < 0.8
    assert 0.5 <= rtsp_s[0] < 0.8


@pytest.mark.safety("I-03")
@pytest.mark.parametrize("behaviour", ["slowloris", "silent"])
async def test_I03_host_deadline_ends_a_stalling_host(
    behaviour: str, fleet_of: FleetFactory, limits: Limits
) -> None:
    """With per-request deadlines longer than the host's, the host deadline ends it."""
    lim = dataclasses.replace(
        limits, read_timeout_s=5.0, request_deadline_s=5.0, host_deadline_s=0.5
    )
    async with fleet_of([hostile(behaviour, interval_s=0.1)]) as fleet:
        address = only(fleet).spec.address
        async with probe_context(lim, fleet.port_map) as ctx:
            with elapsed() as took:
                report = await identify_as_admin(address, ctx)
    assert 0.5 <= took[0] < 0.8
    assert [p.message for p in report.problems if p.source == "identify"] == [
        "gave up after 0.5 s (host deadline)"
    ]


# --- I-04 malformed RTSP ---------------------------------------------------------------


@pytest.mark.safety("I-04")
@pytest.mark.parametrize("case", RTSP_MALFORMED_CASES)
async def test_I04_malformed_rtsp_reply_is_unparseable(
    case: str, fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([hostile(case, interval_s=0.05)]) as fleet:
        address = only(fleet).spec.address
        for method, credential in (("OPTIONS", None), ("DESCRIBE", ADMIN)):
            with pytest.raises(DeviceResponseError, match="RTSP unparseable") as caught:
                await rtsp_request(
                    address,
                    554,
                    method,
                    "/Streaming/Channels/101",
                    limits=limits,
                    port_map=fleet.port_map,
                    credential=credential,
                )
            assert caught.value.host == address


@pytest.mark.safety("I-04")
@pytest.mark.parametrize("case", RTSP_MALFORMED_CASES)
async def test_I04_malformed_rtsp_marks_the_host_and_is_never_open(
    case: str, fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([hostile(case, interval_s=0.05)]) as fleet:
        address = only(fleet).spec.address
        async with probe_context(limits, fleet.port_map) as ctx:
            banners = await gather_banners(web_candidate(address), ctx)
            report = await identify_as_admin(address, ctx)
    assert 554 not in banners.rtsp, "no RTSP reply, so no 'RTSP open without auth' conclusion"
    assert "RTSP unparseable" in banners.errors[554]
    rtsp_problems = [p for p in report.problems if p.source == "port 554"]
    assert [("RTSP unparseable" in p.message) for p in rtsp_problems] == [True]
    assert report.device_class is DeviceClass.CAMERA, "the web port still looks like a camera"


@pytest.mark.safety("I-04")
async def test_I04_broken_rtsp_challenge_is_unparseable_and_never_answered(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([hostile("rtsp_bad_challenge")]) as fleet:
        device = only(fleet)
        address = device.spec.address
        kw: dict[str, Any] = {"limits": limits, "port_map": fleet.port_map}
        with pytest.raises(DeviceResponseError, match="RTSP unparseable"):
            await rtsp_request(address, 554, "DESCRIBE", "/", **kw)
        with pytest.raises(DeviceResponseError, match="RTSP unparseable"):
            await rtsp_request(address, 554, "DESCRIBE", "/", credential=ADMIN, **kw)
        async with probe_context(limits, fleet.port_map) as ctx:
            banners = await gather_banners(web_candidate(address), ctx)
            report = await identify_as_admin(address, ctx)
        rtsp_log = [line for line in device.requests if line.startswith("rtsp")]
    # No Authorization built from an empty nonce: each exchange stayed at CSeq 1.
    assert "rtsp DESCRIBE cseq=2" not in rtsp_log
    assert 554 not in banners.rtsp, "an unparseable reply is never 'open without auth'"
    assert any("RTSP unparseable" in p.message for p in report.problems)


@pytest.mark.safety("I-04")
async def test_I04_rtsp_redirect_loop_is_not_followed(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([hostile("rtsp_redirect_loop")]) as fleet:
        device = only(fleet)
        address = device.spec.address
        with elapsed() as took:
            reply = await rtsp_request(
                address, 554, "DESCRIBE", "/", limits=limits, port_map=fleet.port_map
            )
        async with probe_context(limits, fleet.port_map) as ctx:
            banners = await gather_banners(web_candidate(address), ctx)
        rtsp_log = [line for line in device.requests if line.startswith("rtsp")]
    assert reply.status == 302
    assert rtsp_log == ["rtsp DESCRIBE cseq=1", "rtsp OPTIONS cseq=1"], "one request each"
    assert banners.rtsp[554].status == 302, "a redirect is never 'open without auth'"
    assert took[0] < 0.5


@pytest.mark.safety("I-04")
async def test_I04_binary_garbage_on_every_port_is_a_clean_error(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([hostile("garbage")], multicast=False) as fleet:
        address = only(fleet).spec.address
        async with HttpClient(limits, fleet.port_map) as http:
            with pytest.raises(DeviceResponseError):
                await http.request("GET", http.url(address, 80, "/"))
        with pytest.raises(DeviceResponseError, match="RTSP unparseable"):
            await rtsp_request(address, 554, "OPTIONS", limits=limits, port_map=fleet.port_map)
        found = await WsDiscovery().discover(
            Scope.of([address], multicast=False), DiscoveryContext(limits, fleet.port_map)
        )
        async with probe_context(limits, fleet.port_map) as ctx:
            report = await identify_host(
                web_candidate(address), all_drivers(), ctx, NoCredentials()
            )
    assert found == []
    assert {p.source for p in report.problems} >= {"port 80", "port 554"}


# --- I-05 hostile discovery traffic ----------------------------------------------------


@pytest.mark.safety("I-05")
async def test_I05_spoofed_xaddrs_and_locations_are_never_contacted(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    """XAddrs / LOCATION point at an off-scope loopback trap and at 169.254.169.254."""
    async with fleet_of([hostile("discovery_spoof")], multicast=False) as fleet:
        device = only(fleet)
        address = device.spec.address
        trap_address = address.rsplit(".", 1)[0] + ".250"  # same /24, outside the scope
        async with trap_listener(trap_address) as trap:
            device.trap_url = trap.url
            dctx = DiscoveryContext(limits, fleet.port_map)
            scope = Scope.of([address], multicast=False)
            (candidate,), problems = await discover(scope, [WsDiscovery(), SsdpSource()], dctx)
            result, _ = await run_scan(
                [address],
                settings=Settings(limits=limits, port_map=fleet.port_map),
                credentials=AdminEverywhere(),
                sources=[WsDiscovery(), SsdpSource(), TcpProbe(ports=(80, 554))],
                multicast=False,
            )
    own = f"http://{address}:80"
    assert candidate.onvif_xaddrs == (f"{own}/onvif/device_service",)
    assert candidate.upnp_locations == (f"{own}/upnp/desc.xml",)
    announced = " ".join((*candidate.onvif_xaddrs, *candidate.upnp_locations))
    assert METADATA_URL not in announced
    assert trap_address not in announced
    assert problems == []
    assert [h.address for h in result.hosts] == [address]
    assert trap.hits == []


@pytest.mark.safety("I-05")
async def test_I05_reply_flood_is_capped_and_merged(fleet_of: FleetFactory, limits: Limits) -> None:
    """10,000 WS-Discovery and 10,000 SSDP replies to one probe: one host, capped, fast."""
    lim = dataclasses.replace(limits, discovery_listen_s=3.0, max_discovery_replies=50)
    async with fleet_of([hostile("discovery_flood")], multicast=False) as fleet:
        address = only(fleet).spec.address
        dctx = DiscoveryContext(lim, fleet.port_map)
        with memory_peak() as mem, elapsed() as took:
            found, _ = await discover(
                Scope.of([address], multicast=False), [WsDiscovery(), SsdpSource()], dctx
            )
    (candidate,) = found
    assert candidate.found_by == {"ws-discovery", "ssdp"}
    assert candidate.onvif_xaddrs == (f"http://{address}:80/onvif/device_service",)
    assert candidate.upnp_locations == (f"http://{address}:80/upnp/desc.xml",)
    assert took[0] < lim.discovery_listen_s, "a full reply budget ends the listening early"
    assert mem.worst < 64 * MIB, mem


# --- everything at once ----------------------------------------------------------------


async def _mixed_scan(fleet_of: FleetFactory, limits: Limits, behaviours: list[str]) -> None:
    """One device per behaviour beside healthy cameras: the scan completes, reports every
    host, contacts no trap, and identifies the healthy cameras exactly."""
    lim = dataclasses.replace(limits, request_deadline_s=1.0, host_deadline_s=2.0)
    healthy = [healthy_camera(n) for n in range(4)]
    bad = [hostile(b, interval_s=0.2) for b in behaviours]
    async with trap_listener() as trap:
        bad = [{**d, "trap_url": trap.url} for d in bad]
        async with fleet_of([*healthy, *bad], multicast=False) as fleet:
            specs = [d.spec for d in fleet.devices.values()]
            network = specs[0].address.rsplit(".", 1)[0] + ".0/24"
            with elapsed() as took:
                result, _ = await run_scan(
                    [network],
                    settings=Settings(limits=lim, port_map=fleet.port_map),
                    credentials=AdminEverywhere(),
                    sources=[TcpProbe(ports=(80, 554, 8000)), WsDiscovery(), SsdpSource()],
                    multicast=False,
                )
    hosts = {h.address: h for h in result.hosts}
    assert set(hosts) == {s.address for s in specs}
    for spec, wanted in zip(specs, healthy, strict=False):
        assert_identified(hosts[spec.address], wanted)
    assert took[0] < 2 * lim.host_deadline_s + 2 * lim.discovery_listen_s + 1.0
    assert trap.hits == []


@pytest.mark.safety("I-01", "I-02", "I-03", "I-04", "I-05")
async def test_scan_of_healthy_and_every_hostile_device_never_crashes(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    await _mixed_scan(fleet_of, limits, sorted(BEHAVIOURS))


@pytest.mark.safety("I-04")
async def test_I04_scan_survives_an_rtsp_line_past_the_stream_limit(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    await _mixed_scan(fleet_of, limits, ["rtsp_junk"])
