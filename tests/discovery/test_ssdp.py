"""SSDP discovery against the simulated fleet and against hostile responders."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from campatch.config import Limits, PortMap
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.ssdp import (
    DESCRIPTION_SOURCE,
    SsdpSource,
    UpnpDescription,
    build_search,
    location_target,
    multicast_interfaces,
    parse_search_response,
)
from campatch.errors import DeviceResponseError
from campatch.model import Confidence, Field, Observation, Service
from campatch.sim.fleet import Fleet
from campatch.sim.router import IGD_TYPE
from netns import json_result, require_netns, run_in_netns

#: The ``fleet_of`` fixture of tests/conftest.py.
FleetFactory = Callable[..., AbstractAsyncContextManager[Fleet]]

ROUTER = {
    "personality": "router",
    "brand": "NETGEAR",
    "model": "R7000",
    "hardware": "R7000v2",
    "serial": "4AB1C2",
    "port_mappings": [
        {
            "external_port": 8554,
            "protocol": "TCP",
            "internal_client": "127.1.2.3",
            "internal_port": 554,
            "description": "lobby-cam rtsp",
        }
    ],
}


def reply(location: str, st: str = "upnp:rootdevice", server: str = "Linux UPnP/1.0 X/1") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: {location}\r\n"
        f"SERVER: {server}\r\nST: {st}\r\nUSN: uuid:1234::{st}\r\n\r\n"
    ).encode()


Responder = Callable[[tuple[str, int]], list[tuple[bytes, str]]]


@asynccontextmanager
async def responder(address: str, answer: Responder) -> AsyncIterator[None]:
    """A UDP 'device' on ``address:1900``; ``answer(client)`` -> [(datagram, from_address)]."""
    loop = asyncio.get_running_loop()
    sockets: dict[str, socket.socket] = {}

    def sock_for(addr: str) -> socket.socket:
        if addr not in sockets:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind((addr, 1900 if addr == address else 0))
            sockets[addr] = s
        return sockets[addr]

    main = sock_for(address)

    async def serve() -> None:
        while True:
            _data, client = await loop.sock_recvfrom(main, 4096)
            for datagram, source in answer(client):
                await loop.sock_sendto(sock_for(source), datagram, client)

    task = asyncio.create_task(serve())
    try:
        yield
    finally:
        task.cancel()
        for s in sockets.values():
            s.close()


@asynccontextmanager
async def trap(address: str) -> AsyncIterator[list[str]]:
    """A TCP listener that records every connection (SAFETY I-05: must stay empty)."""
    hits: list[str] = []

    async def on_connect(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        hits.append(str(w.get_extra_info("peername")))
        w.close()

    server = await asyncio.start_server(on_connect, address, 8080)
    try:
        yield hits
    finally:
        server.close()
        await server.wait_closed()


def context(limits: Limits) -> DiscoveryContext:
    return DiscoveryContext(limits=limits)


async def test_unicast_finds_the_router_with_igd_type_and_description(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([ROUTER, {"personality": "webserver"}]) as fleet:
        router = fleet.device("dev10").spec.address
        web = fleet.device("dev11").spec.address
        scope = Scope.of([router, web], multicast=False)
        found = await SsdpSource().discover(scope, DiscoveryContext(limits, fleet.port_map))
    [candidate] = found
    assert candidate.address == router
    assert candidate.found_by == {"ssdp"}
    assert candidate.notes["upnp_device_type"] == IGD_TYPE
    assert "MiniUPnPd" in candidate.notes["upnp_server"]
    assert candidate.notes["upnp_manufacturer"] == "NETGEAR"
    assert candidate.upnp_locations == (f"http://{router}:5000/upnp/desc.xml",)
    assert candidate.has_port(1900, "udp")
    assert Service(5000, "tcp", "http") in candidate.services
    obs = {(o.field, o.value) for o in candidate.observations}
    assert {
        (Field.VENDOR, "NETGEAR"),
        (Field.MODEL, "R7000"),
        (Field.SERIAL, "4AB1C2"),
    } <= obs
    # modelNumber ("R7000v2") is a revision here; it counts only without a modelName.
    assert (Field.MODEL, "R7000v2") not in obs
    assert all(
        o.source == DESCRIPTION_SOURCE and o.confidence == Confidence.DISCOVERY
        for o in candidate.observations
    )


async def test_printer_description_via_port_mapped_http(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    printer = {"personality": "printer", "brand": "HP", "model": "LaserJet M404", "ssdp": True}
    async with fleet_of([printer], port_map=PortMap(low_port_offset=20000)) as fleet:
        address = fleet.device("dev10").spec.address
        scope = Scope.of([address], multicast=False)
        [candidate] = await SsdpSource().discover(scope, DiscoveryContext(limits, fleet.port_map))
        assert fleet.device("dev10").requests[-1] == "http GET /upnp/desc.xml"
    # LOCATION names the vendor's port 80; the client reached it through the port map.
    assert candidate.upnp_locations == (f"http://{address}:80/upnp/desc.xml",)
    assert candidate.notes["upnp_device_type"] == "urn:schemas-upnp-org:device:Printer:1"
    assert Observation(Field.MODEL, "LaserJet M404", DESCRIPTION_SOURCE, Confidence.DISCOVERY) in (
        candidate.observations
    )


@pytest.mark.safety("I-05")
async def test_I05_off_scope_location_is_dropped_and_never_contacted(
    subnet: str, limits: Limits
) -> None:
    device, trap_address = f"{subnet}.10", f"{subnet}.66"
    spoofed = [
        f"http://{trap_address}:8080/desc.xml",
        "http://localhost:8080/desc.xml",
        f"http://user:pw@{device}:8080/desc.xml",
        f"ftp://{device}/desc.xml",
    ]
    source = SsdpSource()
    async with (
        trap(trap_address) as hits,
        responder(device, lambda _c: [(reply(loc), device) for loc in spoofed]),
    ):
        found = await source.discover(Scope.of([device], multicast=False), context(limits))
    assert hits == []
    assert source.dropped_locations == len(spoofed)
    [candidate] = found
    assert candidate.upnp_locations == ()
    assert candidate.notes["upnp_dropped_locations"] == str(len(spoofed))
    assert "upnp_device_type" not in candidate.notes


@pytest.mark.safety("I-05")
async def test_I05_replies_from_off_scope_senders_are_ignored(subnet: str, limits: Limits) -> None:
    device, outsider = f"{subnet}.10", f"{subnet}.99"
    answer = [(reply(f"http://{outsider}:80/d.xml"), outsider)]
    async with responder(device, lambda _c: answer):
        found = await SsdpSource().discover(Scope.of([device], multicast=False), context(limits))
    assert found == []


@pytest.mark.safety("I-05")
async def test_I05_reply_flood_is_capped(subnet: str) -> None:
    device = f"{subnet}.10"
    capped = Limits(discovery_listen_s=5.0, max_discovery_replies=20)
    flood = [
        (reply(f"http://{device}:{1000 + i}/d.xml", st=f"urn:x:{i}"), device) for i in range(500)
    ]
    async with responder(device, lambda _c: flood):
        loop = asyncio.get_running_loop()
        started = loop.time()
        [candidate] = await SsdpSource().discover(
            Scope.of([device], multicast=False), context(capped)
        )
        elapsed = loop.time() - started
    assert len(candidate.upnp_locations) == 4  # per-host cap
    assert elapsed < 2.0  # a full collector stops listening long before the window ends


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nST: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nST: x\r\n" + b"X-A: b\r\n" * 40 + b"\r\n",
        b"HTTP/1.1 200 OK\r\nLOCATION: " + b"a" * 2000 + b"\r\nST: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nLOCATION: http://127.0.0.1/\r\n\r\n",  # neither ST nor USN
        bytes(range(256)),
        b"HTTP/1.1 200 OK\r\nST: x\r\n" + b"\x00" * 9000,
    ],
    ids=[
        "empty",
        "notify",
        "404",
        "no-colon",
        "too-many-headers",
        "huge-value",
        "no-st",
        "binary",
        "oversized",
    ],
)
def test_strict_parser_refuses_malformed_replies(data: bytes) -> None:
    with pytest.raises(DeviceResponseError):
        parse_search_response(data, host="127.0.0.1")


def test_parser_reads_a_well_formed_reply_case_insensitively() -> None:
    parsed = parse_search_response(
        b"HTTP/1.1 200 OK\r\ncache-control: max-age=100\r\nLocation: http://127.0.0.5:80/d.xml\n"
        b"Server: Linux/3.10 UPnP/1.0 IPC/1.0\r\nst: upnp:rootdevice\r\nUSN: uuid:a::upnp:rootdevice\r\n\r\n",
        host="127.0.0.5",
    )
    assert parsed.location == "http://127.0.0.5:80/d.xml"
    assert parsed.st == "upnp:rootdevice"
    assert parsed.server == "Linux/3.10 UPnP/1.0 IPC/1.0"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("http://127.0.0.5:49152/rootDesc.xml", ("127.0.0.5", 49152, "/rootDesc.xml")),
        ("http://127.0.0.5/desc.xml?x=1", ("127.0.0.5", 80, "/desc.xml?x=1")),
        ("http://127.0.0.6/desc.xml", None),
        ("http://169.254.169.254/latest/meta-data", None),
        ("http://camera.local/desc.xml", None),
        ("https://127.0.0.5/desc.xml", None),
        ("http://127.0.0.5:99999/desc.xml", None),
        ("http://a@127.0.0.5/desc.xml", None),
    ],
)
def test_location_is_followed_only_on_the_sender(
    location: str, expected: tuple[str, int, str] | None
) -> None:
    assert location_target(location, "127.0.0.5") == expected


@pytest.mark.safety("I-01")
def test_hostile_description_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><root><device>&a;</device></root>'
    )
    with pytest.raises(DeviceResponseError):
        UpnpDescription.decode(bomb, host="127.0.0.5")
    with pytest.raises(DeviceResponseError):
        UpnpDescription.decode(b"<html>nope</html>", host="127.0.0.5")


def test_description_reads_root_device_fields_not_embedded_ones() -> None:
    doc = (
        b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:a</deviceType>'
        b"<manufacturer>ACME</manufacturer><deviceList><device><deviceType>urn:b</deviceType>"
        b"<modelName>Embedded</modelName></device></deviceList></device></root>"
    )
    description = UpnpDescription.decode(doc, host="127.0.0.5")
    assert (description.device_type, description.manufacturer) == ("urn:a", "ACME")
    assert description.model_name == ""


def test_search_messages() -> None:
    assert build_search("239.255.255.250", mx=2) == (
        b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\n'
        b"ST: ssdp:all\r\nUSER-AGENT: campatch/0.1 UPnP/1.1 campatch/0.1\r\n\r\n"
    )
    assert b"MX:" not in build_search("127.0.0.5", mx=None)


def test_multicast_goes_out_of_the_interface_facing_the_scope() -> None:
    assert multicast_interfaces(Scope.of(["127.3.0.1", "127.3.0.2"])) == ["127.0.0.1"]


MULTICAST_SCRIPT = """
import asyncio, json
from campatch.config import Limits, PortMap
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.ssdp import SsdpSource
from campatch.sim.fleet import Fleet, specs_from_dicts

async def main():
    specs = specs_from_dicts([
        {"name": "gw", "personality": "router", "address": "127.0.0.5", "brand": "NETGEAR"},
        {"name": "pr", "personality": "printer", "address": "127.0.0.6", "ssdp": True},
        {"name": "web", "personality": "webserver", "address": "127.0.0.7"},
    ])
    async with Fleet(specs) as fleet:
        scope = Scope.of(["127.0.0.5", "127.0.0.6", "127.0.0.7"], multicast=True)
        ctx = DiscoveryContext(Limits(discovery_listen_s=1.0), fleet.port_map)
        found = await SsdpSource(unicast=False).discover(scope, ctx)
        print(json.dumps({
            "multicast_ok": fleet.multicast_ok,
            "found": {c.address: c.notes.get("upnp_device_type", "") for c in found},
        }))

asyncio.run(main())
"""


@pytest.mark.netns
def test_multicast_search_reaches_devices_on_the_link() -> None:
    require_netns()
    result = json_result(run_in_netns(MULTICAST_SCRIPT))
    assert result["multicast_ok"] is True
    assert result["found"] == {
        "127.0.0.5": IGD_TYPE,
        "127.0.0.6": "urn:schemas-upnp-org:device:Printer:1",
    }
