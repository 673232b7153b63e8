"""SADP discovery against simulated Hikvision devices: unicast here, multicast in a netns."""

from __future__ import annotations

import asyncio

import pytest
from hik_support import camera, nvr

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.drivers.hikvision import SadpSource
from campatch.drivers.hikvision.models import SadpProbeMatch
from campatch.model import Confidence, Field, Identity, Service
from campatch.sim.device import DeviceSpec
from campatch.sim.hikvision import HikvisionDevice, sadp_probe_match
from netns import arun_in_netns, json_result, require_netns


async def test_unicast_discovery_reports_model_firmware_and_mac(fleet_of, limits) -> None:
    async with fleet_of([camera(), nvr(), camera(sadp=False)], multicast=False) as fleet:
        cam, rec, silent = (fleet.device(n).spec for n in ("dev10", "dev11", "dev12"))
        scope = Scope.of([cam.address, rec.address, silent.address], multicast=False)
        found = await SadpSource().discover(scope, DiscoveryContext(limits, fleet.port_map))
        users_seen = {a for d in fleet.devices.values() for a in d.lockout.attempts}
    by_address = {c.address: c for c in found}
    assert set(by_address) == {cam.address, rec.address}
    identity = Identity.of(by_address[cam.address].observations)
    assert identity.get(Field.VENDOR) == "Hikvision"
    assert identity.get(Field.MODEL) == cam.model
    assert identity.get(Field.SERIAL) == cam.serial
    assert identity.get(Field.MAC) == cam.mac
    assert (identity.get(Field.FIRMWARE), identity.get(Field.BUILD)) == ("V5.5.0", "build 170725")
    assert identity.get(Field.DEVICE_TYPE) == "IPCamera"
    assert Identity.of(by_address[rec.address].observations).get(Field.DEVICE_TYPE) == "NVR"
    assert all(o.confidence <= Confidence.DISCOVERY for o in by_address[cam.address].observations)
    assert Service(37020, "udp", "sadp") in by_address[cam.address].services
    assert by_address[cam.address].found_by == frozenset({"sadp"})
    assert users_seen == set()  # discovery never logs in


async def test_off_scope_and_hostile_replies_are_dropped(fleet_of, limits) -> None:
    """1. a rogue in-scope host answers every inquiry twice: a hostile XML bomb from its
    own address, and a well-formed ProbeMatch from an address outside the scope;
    2. discovery keeps the real camera only."""
    async with fleet_of([camera()], multicast=False) as fleet:
        cam = fleet.device("dev10")
        prefix = cam.spec.address.rsplit(".", 1)[0]
        rogue_addr, outsider_addr = f"{prefix}.50", f"{prefix}.66"
        loop = asyncio.get_running_loop()
        outsider, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=(outsider_addr, 0)
        )
        spoof = sadp_probe_match(cam.spec, "x").replace(cam.spec.model.encode(), b"SPOOFED")
        bomb = b'<!DOCTYPE a [<!ENTITY a "aaaa">]><ProbeMatch>&a;</ProbeMatch>'

        class Rogue(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                self.transport.sendto(bomb, addr)  # type: ignore[attr-defined]
                outsider.sendto(spoof, addr)

        rogue, _ = await loop.create_datagram_endpoint(Rogue, local_addr=(rogue_addr, 37020))
        try:
            scope = Scope.of([cam.spec.address, rogue_addr], multicast=False)
            found = await SadpSource().discover(scope, DiscoveryContext(limits, fleet.port_map))
        finally:
            rogue.close()
            outsider.close()
    assert [c.address for c in found] == [cam.spec.address]
    assert Identity.of(found[0].observations).get(Field.MODEL) == cam.spec.model


async def test_replies_are_capped(fleet_of) -> None:
    devices = [camera(mac=f"44:19:b6:00:00:{i:02x}") for i in range(5)]
    capped = Limits(max_discovery_replies=2, discovery_listen_s=2.0)
    async with fleet_of(devices, multicast=False) as fleet:
        scope = Scope.of([d.spec.address for d in fleet.devices.values()], multicast=False)
        found = await SadpSource().discover(scope, DiscoveryContext(capped, fleet.port_map))
    assert len(found) == 2


def test_simulated_reply_is_a_probe_match_that_echoes_the_uuid() -> None:
    dev = HikvisionDevice(DeviceSpec("c", "hikvision", "127.0.0.9", model="DS-2CD2042WD-I"))
    (sadp,) = [s for s in dev.udp_services() if s.port == 37020]
    assert sadp.multicast_group == "239.255.255.250"
    inquiry = b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>U-1</Uuid><Types>inquiry</Types></Probe>'
    (reply,) = sadp.handler(inquiry, ("127.0.0.1", 40000))
    match = SadpProbeMatch.decode(reply)
    assert (match.uuid, match.types, match.model) == ("U-1", "inquiry", "DS-2CD2042WD-I")
    assert match.software_version == "V5.5.0build 170725"
    assert sadp.handler(b"<Probe><Types>other</Types></Probe>", ("127.0.0.1", 1)) == []
    assert sadp.handler(b"\xff" * 10, ("127.0.0.1", 1)) == []


NETNS_SCRIPT = """
import asyncio, json
from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.drivers.hikvision import SadpSource
from campatch.sim.fleet import Fleet, specs_from_dicts

async def main():
    items = [
        {"name": "cam", "personality": "hikvision", "address": "127.0.0.5", "onvif": False},
        {"name": "nvr", "personality": "hikvision", "address": "127.0.0.6", "onvif": False,
         "model": "DS-7608NI-K2", "device_type": "NVR", "server_header": "DNVRS-Webs"},
    ]
    async with Fleet(specs_from_dicts(items)) as fleet:
        limits = Limits(discovery_listen_s=0.5)
        multicast_only = Scope.of(["127.0.0.5", "127.0.0.6"], multicast=True)
        found = await SadpSource().discover(multicast_only, DiscoveryContext(limits, fleet.port_map))
        inquiries = {n: sum("sadp inquiry" in r for r in d.requests) for n, d in fleet.devices.items()}
        print(json.dumps({"multicast_ok": fleet.multicast_ok, "found": sorted(c.address for c in found),
                          "inquiries": inquiries}))

asyncio.run(main())
"""


@pytest.mark.netns
async def test_multicast_inquiry_reaches_every_device_in_a_namespace() -> None:
    require_netns()
    result = json_result(await arun_in_netns(NETNS_SCRIPT, timeout=30))
    assert result["multicast_ok"] is True
    assert result["found"] == ["127.0.0.5", "127.0.0.6"]
    # one inquiry by unicast and one through the group: the multicast path delivered
    assert result["inquiries"] == {"cam": 2, "nvr": 2}
