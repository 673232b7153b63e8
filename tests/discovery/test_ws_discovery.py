"""WS-Discovery against simulated ONVIF devices and hostile responders, over real UDP."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.ws_discovery import (
    PORT,
    WsDiscovery,
    build_probe,
    parse_probe_matches,
)
from campatch.errors import DeviceResponseError
from campatch.model import Confidence, Field, Service
from campatch.net.xml import child_text, parse_xml
from netns import json_result, require_netns, run_in_netns

if TYPE_CHECKING:
    from support import FleetFactory

_blocks = itertools.count()


def fresh_subnet() -> str:
    """A loopback /24 of this module's own (not from conftest: several conftest.py exist)."""
    n = next(_blocks) + os.getpid() % 50 * 200
    return f"127.{222 + n // 256 % 30}.{n % 256}"


def onvif_cam(model: str, **kw: object) -> dict[str, object]:
    return {"personality": "onvif", "vendor": "Acme", "model": model, **kw}


def match_xml(
    relates_to: str, xaddrs: str, scopes: str = "", prolog: str = "", body_text: str = ""
) -> bytes:
    """A ProbeMatches reply as a (possibly lying) device would send it."""
    return (
        f"{prolog}<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope' "
        "xmlns:a='http://schemas.xmlsoap.org/ws/2004/08/addressing' "
        "xmlns:d='http://schemas.xmlsoap.org/ws/2005/04/discovery'>"
        f"<s:Header><a:RelatesTo>{relates_to}</a:RelatesTo></s:Header><s:Body><d:ProbeMatches>"
        "<d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:1</a:Address></a:EndpointReference>"
        f"<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>{scopes}{body_text}</d:Scopes>"
        f"<d:XAddrs>{xaddrs}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>"
        "</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
    ).encode()


Reply = Callable[[str], list[bytes]]


class _Responder(asyncio.DatagramProtocol):
    """Answers every probe with ``reply(message_id)``, optionally from another socket."""

    def __init__(self, reply: Reply, via: asyncio.DatagramTransport | None) -> None:
        self.reply, self.via = reply, via
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message_id = child_text(parse_xml(data, what="probe"), "MessageID") or ""
        out = self.via or self.transport
        assert out is not None
        for datagram in self.reply(message_id):
            out.sendto(datagram, addr)


@asynccontextmanager
async def responder(
    address: str, reply: Reply, *, send_from: str | None = None
) -> AsyncIterator[None]:
    """A fake WS-Discovery device on ``address``:3702 (replies may come from ``send_from``)."""
    loop = asyncio.get_running_loop()
    via = None
    if send_from:
        via, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=(send_from, 0)
        )
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Responder(reply, via), local_addr=(address, PORT)
    )
    try:
        yield
    finally:
        transport.close()
        if via:
            via.close()


def unicast(addresses: list[str]) -> Scope:
    return Scope.of(addresses, multicast=False)


async def test_unicast_probe_finds_every_answering_device(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    devices = [
        onvif_cam("AC-1"),
        onvif_cam("AC-2", onvif_port=8899),
        onvif_cam("AC-3", ws_discovery=False),
    ]
    async with fleet_of(devices) as fleet:
        addrs = [d.spec.address for d in fleet.devices.values()]
        silent = f"{addrs[0].rsplit('.', 1)[0]}.99"  # nothing listens there
        found = await WsDiscovery().discover(
            unicast([*addrs, silent]), DiscoveryContext(limits, fleet.port_map)
        )
    assert [c.address for c in found] == addrs[:2]
    first, second = found
    assert first.onvif_xaddrs == (f"http://{addrs[0]}:80/onvif/device_service",)
    assert second.onvif_xaddrs == (f"http://{addrs[1]}:8899/onvif/device_service",)
    assert first.found_by == {"ws-discovery"}
    assert first.services == (Service(3702, "udp", "ws-discovery"),)
    assert {(o.field, o.value, o.confidence) for o in second.observations} == {
        (Field.VENDOR, "Acme", Confidence.DISCOVERY),
        (Field.MODEL, "AC-2", Confidence.DISCOVERY),
    }
    assert first.notes["onvif_device_class"] == "camera"


async def test_no_reply_means_no_candidate_and_no_wait_beyond_the_window(limits: Limits) -> None:
    started = time.perf_counter()
    found = await WsDiscovery().discover(unicast([f"{fresh_subnet()}.5"]), DiscoveryContext(limits))
    assert found == []
    assert time.perf_counter() - started < limits.discovery_listen_s + 0.5


@pytest.mark.safety("I-05")
async def test_I05_off_scope_xaddrs_are_dropped(limits: Limits) -> None:
    net = fresh_subnet()
    liar, outsider = f"{net}.20", f"{net}.66"
    xaddrs = (
        f"http://{liar}/onvif/device_service http://169.254.169.254/latest/meta-data "
        f"http://{outsider}:8080/trap http://camera.example/onvif ftp://{liar}/x"
    )
    async with responder(liar, lambda mid: [match_xml(mid, xaddrs)]):
        found = await WsDiscovery().discover(unicast([liar]), DiscoveryContext(limits))
    assert [c.address for c in found] == [liar]
    assert found[0].onvif_xaddrs == (f"http://{liar}/onvif/device_service",)


@pytest.mark.safety("I-05")
async def test_I05_replies_from_off_scope_senders_are_ignored(limits: Limits) -> None:
    net = fresh_subnet()
    probed, spoofer = f"{net}.21", f"{net}.77"

    def reply(mid: str) -> list[bytes]:
        return [match_xml(mid, f"http://{spoofer}/onvif/device_service")]

    async with responder(probed, reply, send_from=spoofer):
        found = await WsDiscovery().discover(unicast([probed]), DiscoveryContext(limits))
    assert found == []


@pytest.mark.safety("I-05")
async def test_I05_reply_flood_is_capped_and_merged(limits: Limits) -> None:
    net = fresh_subnet()
    flooder = f"{net}.30"

    def many(mid: str) -> list[bytes]:
        return [match_xml(mid, f"http://{flooder}:{8000 + i}/onvif") for i in range(200)]

    capped = Limits(discovery_listen_s=5.0, max_discovery_replies=10)
    started = time.perf_counter()
    async with responder(flooder, many):
        found = await WsDiscovery().discover(unicast([flooder]), DiscoveryContext(capped))
    assert time.perf_counter() - started < 2.0, "a full reply budget ends the listening early"
    (candidate,) = found
    assert 1 <= len(candidate.onvif_xaddrs) <= 10


async def test_reply_to_another_probe_is_ignored(limits: Limits) -> None:
    address = f"{fresh_subnet()}.31"
    async with responder(
        address, lambda _mid: [match_xml("urn:uuid:someone-else", f"http://{address}/x")]
    ):
        found = await WsDiscovery().discover(unicast([address]), DiscoveryContext(limits))
    assert found == []


def _hostile(trap: str) -> dict[str, tuple[str, str]]:
    laughs = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )
    return {
        "billion-laughs": (f"<!DOCTYPE s:Envelope [{laughs}]>", "&l9;"),
        "quadratic-blowup": (f'<!DOCTYPE s:Envelope [<!ENTITY a "{"a" * 5_000}">]>', "&a;" * 2_000),
        "xxe-local": ('<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
        "xxe-remote": (f'<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "{trap}/x">]>', "&x;"),
        "dtd-retrieval": (f'<!DOCTYPE s:Envelope SYSTEM "{trap}/evil.dtd">', ""),
    }


@pytest.mark.safety("I-01")
@pytest.mark.parametrize(
    "attack", ["billion-laughs", "quadratic-blowup", "xxe-local", "xxe-remote", "dtd-retrieval"]
)
async def test_I01_hostile_probe_match_is_refused(attack: str, limits: Limits) -> None:
    hits: list[object] = []

    async def on_connect(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        hits.append(w.get_extra_info("peername"))
        w.close()

    trap = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    prolog, text = _hostile(f"http://127.0.0.1:{trap.sockets[0].getsockname()[1]}")[attack]
    address = f"{fresh_subnet()}.40"

    def evil(mid: str) -> list[bytes]:
        return [
            match_xml(mid, f"http://{address}/onvif/device_service", prolog=prolog, body_text=text)
        ]

    try:
        started = time.perf_counter()
        with pytest.raises(DeviceResponseError, match="hostile XML"):
            parse_probe_matches(
                evil("urn:uuid:x")[0], host=address, max_bytes=limits.max_datagram_bytes
            )
        assert time.perf_counter() - started < 0.2
        async with responder(address, evil):
            found = await WsDiscovery().discover(unicast([address]), DiscoveryContext(limits))
    finally:
        trap.close()
        await trap.wait_closed()
    assert found == [], "a hostile reply yields no candidate"
    assert hits == []


def test_probe_is_what_onvif_clients_send() -> None:
    root = parse_xml(build_probe("urn:uuid:abc"), what="probe")
    assert child_text(root, "MessageID") == "urn:uuid:abc"
    assert child_text(root, "Action") == "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
    assert child_text(root, "Types") == "dn:NetworkVideoTransmitter"


MULTICAST_SCRIPT = """
import asyncio, json
from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.ws_discovery import WsDiscovery
from campatch.sim.fleet import Fleet, specs_from_dicts

async def main():
    specs = specs_from_dicts([
        {"name": "a", "personality": "onvif", "address": "127.0.0.10", "vendor": "Acme", "model": "A"},
        {"name": "b", "personality": "onvif", "address": "127.0.0.11", "vendor": "Acme", "model": "B"},
        {"name": "c", "personality": "onvif", "address": "127.0.0.12", "ws_discovery": False},
    ])
    async with Fleet(specs) as fleet:
        scope = Scope.of(["127.0.0.10", "127.0.0.11", "127.0.0.12"], multicast=True)
        found = await WsDiscovery().discover(scope, DiscoveryContext(Limits(discovery_listen_s=0.5)))
        probes = {n: sum("ws-discovery probe" in r for r in d.requests) for n, d in fleet.devices.items()}
        print(json.dumps({
            "multicast_ok": fleet.multicast_ok,
            "found": {c.address: list(c.onvif_xaddrs) for c in found},
            "probes": probes,
        }))

asyncio.run(main())
"""


@pytest.mark.netns
def test_multicast_probe_reaches_devices_on_the_link() -> None:
    require_netns()
    result = json_result(run_in_netns(MULTICAST_SCRIPT))
    assert result["multicast_ok"] is True
    assert result["found"] == {
        "127.0.0.10": ["http://127.0.0.10:80/onvif/device_service"],
        "127.0.0.11": ["http://127.0.0.11:80/onvif/device_service"],
    }
    # Each answering device saw two probes: the unicast one and the multicast one.
    assert result["probes"] == {"a": 2, "b": 2, "c": 0}


async def test_unicast_probes_are_paced_and_the_window_follows_the_last_one(
    fleet_of: FleetFactory,
) -> None:
    async with fleet_of([onvif_cam("AC-9", address=250)]) as fleet:
        address = fleet.device("dev10").spec.address
        net = address.rsplit(".", 1)[0]
        scope = unicast([f"{net}.{i}" for i in range(1, 255)])
        paced = Limits(discovery_listen_s=0.3, max_concurrent_probes=50, probe_rate_per_s=500)
        started = time.perf_counter()
        found = await WsDiscovery().discover(scope, DiscoveryContext(paced, fleet.port_map))
        elapsed = time.perf_counter() - started
    assert [c.address for c in found] == [address]
    # 254 probes in bursts of 50 at 500/s: five pauses of 0.1 s before the window opens.
    assert elapsed >= 0.5 + 0.3 - 0.05
