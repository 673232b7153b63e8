"""mDNS discovery: real multicast inside a network namespace, plus the TXT/name parsing."""

from __future__ import annotations

import ifaddr
import pytest

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.mdns import MdnsSource, local_links, observations_from
from campatch.model import Confidence, Field
from netns import json_result, run_in_netns

# Runs inside the namespace: a zeroconf responder in the same process plays the cameras
# on lo, and MdnsSource finds them. Prints what was found as JSON.
SCRIPT = r"""
import asyncio, json, socket, threading
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf
from campatch.config import Limits, PortMap
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.mdns import MdnsSource

def svc(type_, instance, address, port, **txt):
    return ServiceInfo(
        type_, f"{instance}.{type_}", addresses=[socket.inet_aton(address)], port=port,
        properties=txt, server=f"{instance.replace(' ', '-').lower()}.local.",
    )

SERVICES = [
    svc("_axis-video._tcp.local.", "AXIS M1065-LW - ACCC8E123456", "127.0.0.5", 80,
        macaddress="ACCC8E123456"),
    svc("_rtsp._tcp.local.", "Lobby NVR", "127.0.0.6", 20554),
    svc("_hap._tcp.local.", "Front Door", "127.0.0.7", 51826, md="Doorcam 2", ci="18",
        id="AA:BB:CC:DD:EE:FF"),
    svc("_rtsp._tcp.local.", "Spoofed", "127.0.0.99", 554),   # outside the scope
    svc("_ipp._tcp.local.", "Printer", "127.0.0.8", 631),     # a type not browsed
]

def dump(cands):
    return [
        {"address": c.address, "services": [[s.port, s.protocol] for s in c.services],
         "observations": [[o.field.value, o.value, o.source] for o in c.observations],
         "found_by": sorted(c.found_by), "notes": dict(c.notes)}
        for c in sorted(cands, key=lambda c: c.address)
    ]

async def main():
    threads_before = set(threading.enumerate())
    camera = AsyncZeroconf(interfaces=["127.0.0.1"])
    announced = await asyncio.gather(*(camera.async_register_service(s) for s in SERVICES))
    await asyncio.gather(*announced)
    # The camera just multicast its records, so RFC 6762 s.14 makes it hold answers to
    # our queries for up to a second: listening 2 s covers that.
    scope = Scope.of(["127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"])
    ctx = DiscoveryContext(Limits(discovery_listen_s=2.0), PortMap(low_port_offset=20000))
    capped_ctx = DiscoveryContext(Limits(discovery_listen_s=2.0, max_discovery_replies=1))
    found, capped = await asyncio.gather(
        MdnsSource().discover(scope, ctx), MdnsSource().discover(scope, capped_ctx)
    )
    await camera.async_close()
    leaked_tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    print(json.dumps({
        "found": dump(found), "capped": len(capped),
        "threads": sorted(t.name for t in set(threading.enumerate()) - threads_before),
        "tasks": [repr(t) for t in leaked_tasks],
    }))

asyncio.run(main())
"""


@pytest.mark.netns
def test_mdns_finds_announced_cameras_in_scope_only() -> None:
    result = json_result(run_in_netns(SCRIPT))
    found = {c["address"]: c for c in result["found"]}

    assert sorted(found) == ["127.0.0.5", "127.0.0.6", "127.0.0.7"]  # no spoof, no printer
    axis = found["127.0.0.5"]
    assert axis["services"] == [[80, "http"]]
    assert axis["found_by"] == ["mdns"]
    assert ["mac", "ACCC8E123456", "mdns:_axis-video._tcp/txt:macaddress"] in axis["observations"]
    assert ["vendor", "Axis", "mdns:_axis-video._tcp/name"] in axis["observations"]
    assert ["model", "M1065-LW", "mdns:_axis-video._tcp/name"] in axis["observations"]
    assert found["127.0.0.6"]["services"] == [[554, "rtsp"]]  # simulator port mapped back
    assert found["127.0.0.6"]["notes"] == {"mdns:_rtsp._tcp": "Lobby NVR"}
    door = found["127.0.0.7"]["observations"]
    assert ["device_type", "video doorbell", "mdns:_hap._tcp/txt:ci"] in door
    assert ["model", "Doorcam 2", "mdns:_hap._tcp/txt:md"] in door
    assert not any(o[0] == "mac" for o in door)  # HAP "id" is not a MAC

    assert result["capped"] == 1
    assert result["threads"] == []
    assert result["tasks"] == []


async def test_no_multicast_in_scope_means_no_listening() -> None:
    ctx = DiscoveryContext(Limits())
    assert await MdnsSource().discover(Scope.of(["127.0.0.5"], multicast=False), ctx) == []


def test_listens_only_on_links_that_hold_scope_addresses() -> None:
    # Pure: fake adapters (documentation addresses, RFC 5737); nothing is sent.
    adapters = [
        ifaddr.Adapter("lo", "lo", [ifaddr.IP("127.0.0.1", 8, "lo")]),
        ifaddr.Adapter("eth0", "eth0", [ifaddr.IP("198.51.100.3", 24, "eth0")]),
        ifaddr.Adapter("eth1", "eth1", [ifaddr.IP(("fd00::2", 0, 0), 64, "eth1")]),
    ]
    assert local_links(Scope.of(["198.51.100.77", "127.5.0.1"]), adapters) == [
        "127.0.0.1",
        "198.51.100.3",
    ]
    assert local_links(Scope.of(["198.51.101.77", "fd00::5"]), adapters) == []


def test_axis_instance_name_and_txt() -> None:
    obs = observations_from(
        "_axis-video._tcp.local.",
        "AXIS P1448-LE - B8A44F000001._axis-video._tcp.local.",
        {"macaddress": "B8A44F000001"},
    )
    got = {(o.field, o.value, o.confidence) for o in obs}
    assert (Field.MAC, "B8A44F000001", Confidence.DISCOVERY) in got
    assert (Field.MODEL, "P1448-LE", Confidence.BANNER) in got
    assert (Field.VENDOR, "Axis", Confidence.BANNER) in got
    assert (Field.NAME, "AXIS P1448-LE - B8A44F000001", Confidence.DISCOVERY) in got


def test_renamed_axis_or_doorbird_gives_no_vendor_guess() -> None:
    obs = observations_from(
        "_axis-video._tcp.local.",
        "Front gate._axis-video._tcp.local.",
        {"macaddress": "1CCAE3000002"},
    )
    assert {o.field for o in obs} == {Field.MAC, Field.NAME}


def test_generic_txt_keys_and_bogus_mac() -> None:
    obs = observations_from(
        "_http._tcp.local.",
        "cam._http._tcp.local.",
        {"manufacturer": "Acme", "model": "X1", "mac": "not-a-mac", "serial": "S" * 999},
    )
    got = {o.field: o for o in obs}
    assert got[Field.VENDOR].value == "Acme"
    assert got[Field.MODEL].source == "mdns:_http._tcp/txt:model"
    assert Field.MAC not in got
    assert len(got[Field.SERIAL].value) == 256  # capped
