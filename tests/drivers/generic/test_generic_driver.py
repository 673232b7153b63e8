"""The generic driver against the simulated non-camera hosts (and cameras it must not claim)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from campatch.config import Limits, PortMap
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.ssdp import SsdpSource
from campatch.drivers.banners import gather_banners
from campatch.drivers.generic import DRIVER, GenericDriver
from campatch.drivers.identify import NoCredentials, identify_host
from campatch.drivers.interface import AuthBudget, Banners, Fingerprint, ProbeContext
from campatch.drivers.registry import all_drivers
from campatch.model import (
    Candidate,
    Confidence,
    Credential,
    DeviceClass,
    Field,
    Observation,
    Secret,
    Service,
)
from campatch.net.http import HttpClient, HttpReply
from campatch.net.rtsp import RtspReply
from campatch.sim.fleet import Fleet
from support import probe_context

#: The ``fleet_of`` fixture of tests/conftest.py.
FleetFactory = Callable[..., AbstractAsyncContextManager[Fleet]]

HTTP, SSH = Service(80, "tcp", "http"), Service(22, "tcp", "ssh")
IPP, JETDIRECT = Service(631, "tcp", "ipp"), Service(9100, "tcp", "jetdirect")
RTSP = Service(554, "tcp", "rtsp")
ROUTER = {"personality": "router", "brand": "NETGEAR", "model": "R7000", "serial": "4AB1"}


async def verdict(candidate: Candidate, ctx: ProbeContext) -> Fingerprint | None:
    banners = await gather_banners(candidate, ctx)
    return await DRIVER.fingerprint(candidate, banners, ctx)


async def single(
    fleet_of: FleetFactory, limits: Limits, spec: dict[str, Any], *services: Service
) -> Fingerprint | None:
    async with fleet_of([spec]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        candidate = Candidate(fleet.device("dev10").spec.address, services=services)
        return await verdict(candidate, ctx)


async def test_printer_is_a_printer_with_model_and_serial_from_its_server_header(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    spec = {"personality": "printer", "brand": "HP", "model": "LaserJet M404", "serial": "PHB1"}
    fp = await single(fleet_of, limits, spec, HTTP, IPP, JETDIRECT)
    assert fp is not None
    assert (fp.device_class, fp.what, fp.driver) == (DeviceClass.NOT_CAMERA, "printer", "generic")
    assert fp.score >= 0.8
    assert {(o.field, o.value) for o in fp.observations} == {
        (Field.VENDOR, "HP"),
        (Field.MODEL, "HP LaserJet M404"),
        (Field.SERIAL, "PHB1"),
    }


async def test_printer_seen_only_on_its_print_ports_is_still_a_printer(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    fp = await single(fleet_of, limits, {"personality": "printer"}, IPP, JETDIRECT)
    assert fp is not None
    assert fp.what == "printer"
    assert fp.score >= 0.8


async def test_router_found_by_ssdp_is_a_router_and_reported_as_not_a_camera(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([ROUTER]) as fleet, probe_context(limits, fleet.port_map) as ctx:
        address = fleet.device("dev10").spec.address
        scope = Scope.of([address], multicast=False)
        [upnp] = await SsdpSource().discover(scope, DiscoveryContext(limits, fleet.port_map))
        candidate = upnp.merged(Candidate(address, services=(HTTP,)))
        fp = await verdict(candidate, ctx)
        report = await identify_host(candidate, [DRIVER], ctx, NoCredentials())
    assert fp is not None
    assert (fp.what, fp.device_class) == ("router", DeviceClass.NOT_CAMERA)
    assert fp.score >= 0.85
    assert (report.device_class, report.what) == (DeviceClass.NOT_CAMERA, "router")
    assert report.identity.get(Field.VENDOR) == "NETGEAR"
    assert report.identity.get(Field.MODEL) == "R7000"


async def test_router_without_upnp_is_recognised_by_its_login_page_with_less_certainty(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    fp = await single(fleet_of, limits, {**ROUTER, "upnp": False}, HTTP)
    assert fp is not None
    assert fp.what == "router"
    assert 0.4 <= fp.score < 0.85


async def test_ssh_only_host_is_an_ssh_server(fleet_of: FleetFactory, limits: Limits) -> None:
    fp = await single(fleet_of, limits, {"personality": "sshd"}, SSH)
    assert fp is not None
    assert (fp.what, fp.score) == ("ssh server", 0.6)


async def test_plain_web_server_gets_a_modest_score(fleet_of: FleetFactory, limits: Limits) -> None:
    nginx = await single(fleet_of, limits, {"personality": "webserver"}, HTTP)
    apache = await single(fleet_of, limits, {"personality": "webserver", "flavour": "apache"}, HTTP)
    for fp in (nginx, apache):
        assert fp is not None
        assert fp.what == "web server"
        assert 0.3 <= fp.score <= 0.6  # below any camera driver that recognises the host


async def test_onvif_camera_behind_nginx_is_not_claimed(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    camera = {"personality": "onvif", "http_server": "nginx/1.18.0", "rtsp_auth": False}
    assert await single(fleet_of, limits, camera, HTTP, RTSP) is None


def reply(status: int, headers: list[tuple[str, str]], body: bytes = b"") -> HttpReply:
    return HttpReply(status, httpx.Headers(headers), body, "http://127.0.0.5/")


@pytest.fixture
async def ctx(limits: Limits) -> AsyncIterator[ProbeContext]:
    """A context for checks that need no device (the driver makes no requests)."""
    async with HttpClient(limits) as http:
        yield ProbeContext(http=http, limits=limits, port_map=PortMap(), auth=AuthBudget())


async def test_camera_like_banner_set_is_not_claimed(ctx: ProbeContext) -> None:
    hik = Banners(
        http={
            80: reply(
                401,
                [("Server", "Webs"), ("WWW-Authenticate", 'Digest realm="IP Camera(C1234)"')],
            )
        },
        rtsp={554: RtspReply(200, "OK", (("CSeq", "1"), ("Public", "OPTIONS")), b"")},
    )
    candidate = Candidate("127.0.0.5", services=(HTTP, RTSP, Service(8000, "tcp", "hik-sdk")))
    assert await DRIVER.fingerprint(candidate, hik, ctx) is None


async def test_camera_hint_vetoes_even_specific_non_camera_evidence(ctx: ProbeContext) -> None:
    """A camera that also runs UPnP with an odd type is still left to the camera drivers."""
    candidate = Candidate(
        "127.0.0.5",
        services=(HTTP, Service(37777, "tcp", "dahua-sdk")),
        notes={"upnp_device_type": "urn:schemas-upnp-org:device:InternetGatewayDevice:1"},
    )
    assert await DRIVER.fingerprint(candidate, Banners(), ctx) is None


async def test_nothing_specific_means_no_verdict(ctx: ProbeContext) -> None:
    banners = Banners(http={80: reply(200, [("Content-Type", "text/html")], b"<html></html>")})
    assert await DRIVER.fingerprint(Candidate("127.0.0.5", services=(HTTP,)), banners, ctx) is None


async def test_upnp_notes_become_observations_unless_the_candidate_has_them(
    ctx: ProbeContext,
) -> None:
    notes = {"upnp_device_type": "urn:schemas-upnp-org:device:Printer:1", "upnp_model": "ET-2850"}
    bare = Candidate("127.0.0.5", notes=notes | {"upnp_manufacturer": "EPSON"})
    vendor = Observation(Field.VENDOR, "EPSON", "upnp:description", Confidence.DISCOVERY)
    with_obs = Candidate("127.0.0.5", observations=(vendor,), notes=bare.notes)
    fp_bare = await DRIVER.fingerprint(bare, Banners(), ctx)
    fp_with = await DRIVER.fingerprint(with_obs, Banners(), ctx)
    assert fp_bare is not None
    assert fp_with is not None
    assert fp_bare.what == fp_with.what == "printer"
    assert {(o.field, o.value) for o in fp_bare.observations} == {
        (Field.VENDOR, "EPSON"),
        (Field.MODEL, "ET-2850"),
    }
    assert {(o.field, o.value) for o in fp_with.observations} == {(Field.MODEL, "ET-2850")}


async def test_identify_reads_nothing_and_spends_no_budget(ctx: ProbeContext) -> None:
    credential = Credential("admin", Secret("pw"))
    assert await DRIVER.identify(Candidate("127.0.0.5"), credential, ctx) == []
    assert ctx.auth.failures("127.0.0.5") == 0
    assert DRIVER.discovery_sources() == []


def test_registry_consults_generic_after_the_vendor_drivers() -> None:
    drivers = all_drivers()
    assert isinstance(DRIVER, GenericDriver)
    assert DRIVER.name == "generic"
    assert drivers[-1].name == "generic"
