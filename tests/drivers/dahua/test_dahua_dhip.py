"""DHIP discovery against simulated devices and hostile responders, over real UDP sockets."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest
from dahua_support import (
    amcrest_cam,
    dahua_cam,
    dhip_datagram,
    dhip_reply,
    fake_dhip,
    lorex_nvr,
)

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.drivers.dahua import DhipSource
from campatch.drivers.dahua.models import DHIP_MAX_JSON_BYTES
from campatch.model import Confidence, Field, Identity, Service
from netns import json_result, require_netns, run_in_netns
from support import FleetFactory, fresh_subnet


async def test_unicast_dhip_gives_identity_without_credentials(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    async with fleet_of([amcrest_cam(), lorex_nvr(), dahua_cam()]) as fleet:
        devices = [fleet.device(n) for n in ("dev10", "dev11", "dev12")]
        in_scope = [d.spec.address for d in devices[:2]]
        scope = Scope.of(in_scope, multicast=False)
        found = await DhipSource().discover(scope, DiscoveryContext(limits, fleet.port_map))
        outside_log = list(devices[2].requests)
    by_address = {c.address: c for c in found}
    assert sorted(by_address) == sorted(in_scope)
    for device, brand in zip(devices[:2], ("Amcrest", "Lorex"), strict=True):
        candidate = by_address[device.spec.address]
        ident = Identity.of(candidate.observations)
        assert ident.get(Field.MODEL) == device.spec.model
        assert ident.get(Field.FIRMWARE) == device.spec.firmware
        assert ident.get(Field.MAC) == device.spec.mac
        assert ident.get(Field.SERIAL) == device.spec.serial
        assert ident.get(Field.BRAND) == brand
        assert ident.get(Field.VENDOR) == "Dahua"
        assert {o.confidence for o in candidate.observations} == {Confidence.DISCOVERY}
        assert candidate.services == (Service(37810, "udp", "dhip"),)
        assert candidate.found_by == {"dhip"}
        assert device.lockout.attempts == {}  # type: ignore[attr-defined]
    assert by_address[devices[1].spec.address].notes["dhip_device_class"] == "NVR"
    assert outside_log == []  # the out-of-scope device was never contacted


@pytest.mark.safety("I-05")
async def test_i05_off_scope_and_spoofed_dhip_replies_are_dropped(limits: Limits) -> None:
    subnet = fresh_subnet()
    honest, liar, off_scope = f"{subnet}.10", f"{subnet}.11", f"{subnet}.200"

    def spoof(data: bytes, peer: tuple[str, int]) -> list[tuple[bytes, str]]:
        # From the off-scope address, and from the liar claiming the off-scope one.
        return [
            (dhip_reply("SPOOFED01"), off_scope),
            (dhip_reply("LIAR0001", claimed_ip="127.0.0.1"), liar),
        ]

    def honest_reply(data: bytes, peer: tuple[str, int]) -> list[tuple[bytes, str]]:
        return [(dhip_reply("HONEST01"), honest)] * 3  # duplicates are merged

    async with AsyncExitStack() as stack:
        await stack.enter_async_context(fake_dhip(liar, spoof, extra_sources=(off_scope,)))
        await stack.enter_async_context(fake_dhip(honest, honest_reply))
        scope = Scope.of([honest, liar], multicast=False)
        found = await DhipSource().discover(scope, DiscoveryContext(limits))
    assert sorted(c.address for c in found) == [honest, liar]
    serials = {c.address: Identity.of(c.observations).get(Field.SERIAL) for c in found}
    assert serials == {honest: "HONEST01", liar: "LIAR0001"}
    assert all(len(c.observations) == len(set(c.observations)) for c in found)


@pytest.mark.safety("I-05")
async def test_i05_malformed_and_huge_dhip_replies_are_ignored_quickly(
    fleet_of: FleetFactory, limits: Limits
) -> None:
    hostile = [
        b"\xff" * 64,
        dhip_datagram(b'{"method":"client.notifyDevInfo","params":'),
        dhip_datagram(b"[" * 50_000),
        dhip_datagram(
            b'{"method":"client.notifyDevInfo","params":{"deviceInfo":{"SerialNo":"'
            + b"A" * (DHIP_MAX_JSON_BYTES + 1)
            + b'"}}}'
        ),
        dhip_datagram(b"{" + b'"k":0,' * 10_000 + b'"x":1}'),
    ]
    async with fleet_of([dahua_cam()]) as fleet:
        real = fleet.device("dev10").spec.address
        subnet = real.rsplit(".", 1)[0]
        fakes = [f"{subnet}.{100 + i}" for i in range(len(hostile))]
        async with AsyncExitStack() as stack:
            for address, payload in zip(fakes, hostile, strict=True):
                reply = [(payload, address)]
                await stack.enter_async_context(fake_dhip(address, lambda d, p, r=reply: r))
            scope = Scope.of([real, *fakes], multicast=False)
            started = time.monotonic()
            found = await DhipSource().discover(scope, DiscoveryContext(limits, fleet.port_map))
            elapsed = time.monotonic() - started
    assert [c.address for c in found] == [real]
    assert elapsed < limits.discovery_listen_s + 1.0


@pytest.mark.safety("I-05")
async def test_i05_reply_count_is_capped(limits: Limits) -> None:
    subnet = fresh_subnet()
    addresses = [f"{subnet}.{20 + i}" for i in range(5)]
    async with AsyncExitStack() as stack:
        for i, address in enumerate(addresses):
            reply = [(dhip_reply(f"CAP{i:05d}"), address)]
            await stack.enter_async_context(fake_dhip(address, lambda d, p, r=reply: r))
        capped = replace(limits, max_discovery_replies=2)
        started = time.monotonic()
        found = await DhipSource().discover(
            Scope.of(addresses, multicast=False), DiscoveryContext(capped)
        )
        elapsed = time.monotonic() - started
    assert len(found) == 2
    assert elapsed < limits.discovery_listen_s  # stopped listening once the cap was hit


MULTICAST_SCRIPT = """
import asyncio, json, sys
sys.path.insert(0, "tests/drivers/dahua")  # the script runs from the repository root
from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.drivers.dahua import DhipSource
from campatch.model import Field, Identity
from campatch.sim.fleet import Fleet, specs_from_dicts
from dahua_support import amcrest_cam, dahua_cam

async def main():
    specs = specs_from_dicts([
        dict(amcrest_cam(), name="in", address="127.0.0.5"),
        dict(dahua_cam(), name="out", address="127.0.0.6"),
    ])
    async with Fleet(specs) as fleet:
        limits = Limits(discovery_listen_s=0.5)
        scope = Scope.of(["127.0.0.5"], multicast=True)
        found = await DhipSource(unicast=False).discover(scope, DiscoveryContext(limits, fleet.port_map))
        out_heard = any("dhip search" in r for r in fleet.device("out").requests)
    print(json.dumps({
        "multicast_ok": fleet.multicast_ok,
        "out_heard": out_heard,
        "found": {c.address: Identity.of(c.observations).get(Field.SERIAL) for c in found},
    }))

asyncio.run(main())
"""


@pytest.mark.netns
@pytest.mark.safety("I-05")
def test_i05_multicast_dhip_in_a_namespace_keeps_only_in_scope_devices() -> None:
    require_netns()
    result = json_result(run_in_netns(MULTICAST_SCRIPT))
    assert result["multicast_ok"] is True
    assert result["out_heard"] is True  # the off-scope device answered the multicast ...
    assert result["found"] == {"127.0.0.5": amcrest_cam()["serial"]}  # ... and was dropped
