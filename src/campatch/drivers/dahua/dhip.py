"""DHIP discovery: Dahua's own "who is there" on UDP 37810, without credentials.

Dahua's ConfigTool sends ``DHDiscover.search`` behind a 32-byte DHIP header to the
multicast group 239.255.255.251:37810 (and to single addresses); every Dahua-firmware
device (Dahua, Amcrest, Lorex, other OEMs) answers with ``client.notifyDevInfo``:
model, serial, firmware, MAC and brand. Frame and fields are in
:mod:`campatch.drivers.dahua.models`.

Safety (SAFETY I-05): only replies whose *sender* is in scope are kept; the address
a reply claims is never contacted. Replies are size-capped before parsing, parsed
safely, deduplicated per sender and capped in number. Unicast probes are paced by
``limits.probe_rate_per_s``.
"""

from __future__ import annotations

from collections.abc import Sequence

from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.drivers.dahua.models import DhipDeviceInfo, brand_of, dhip_frame
from campatch.model import Candidate, Confidence, Field, Observation, Service
from campatch.net.udp import FirstReplyCollector, Multicast, Unicast, probe_and_collect

DHIP_PORT = 37810
DHIP_GROUP = "239.255.255.251"
SOURCE = "dhip"
#: The ConfigTool search; ``uni: 1`` asks for a unicast answer to the sender.
SEARCH = dhip_frame({"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}})
#: Datagrams parsed per reply kept, before the source stops listening (flood bound).
_PARSE_BUDGET_FACTOR = 4


class DhipSource:
    """Discovery over DHIP (``DHDiscover.search``): multicast plus unicast per address.

    Args:
        unicast: also probe every in-scope IPv4 address directly.
        port: the DHIP port (37810).
        group: the multicast group.
    """

    name = "dhip"

    def __init__(
        self, *, unicast: bool = True, port: int = DHIP_PORT, group: str = DHIP_GROUP
    ) -> None:
        self.unicast = unicast
        self.port = port
        self.group = group

    async def discover(self, scope: Scope, ctx: DiscoveryContext) -> Sequence[Candidate]:
        """Search for Dahua-firmware devices in ``scope``.

        Raises:
            DiscoveryError: the UDP socket could not be opened.

        Returns:
            One candidate per in-scope device that answered.
        """
        collector = _Collector(scope, ctx.limits)
        port = ctx.port_map.actual(self.port)
        await probe_and_collect(
            collector,
            multicast=Multicast(self.group, port, SEARCH) if scope.multicast else None,
            unicast=Unicast(scope.ipv4(), port, SEARCH) if self.unicast else None,
        )
        return [candidate_of(address, info) for address, info in collector.found.items()]


class _Collector(FirstReplyCollector[DhipDeviceInfo]):
    """Receives replies: in-scope senders only, parsed once each, capped."""

    name = SOURCE
    parse_budget_factor = _PARSE_BUDGET_FACTOR

    def parse(self, data: bytes, sender: str) -> DhipDeviceInfo:
        return DhipDeviceInfo.decode(data, host=sender)


def candidate_of(address: str, info: DhipDeviceInfo) -> Candidate:
    """The candidate a DHIP reply from ``address`` describes."""
    notes = {"dhip_device_class": info.device_class} if info.device_class else {}
    if info.http_port:
        notes["dhip_http_port"] = str(info.http_port)
    return Candidate(
        address=address,
        services=(Service(DHIP_PORT, "udp", "dhip"),),
        observations=dhip_observations(info),
        found_by=frozenset({SOURCE}),
        notes=notes,
    )


def dhip_observations(info: DhipDeviceInfo) -> tuple[Observation, ...]:
    """Identity facts of a DHIP reply, at discovery confidence.

    The vendor is Dahua whatever the ``Vendor`` key says: DHIP is Dahua's firmware
    speaking; ``Vendor`` names the brand on the box (Amcrest, Lorex ...).
    """
    values = [
        (Field.VENDOR, "Dahua"),
        (Field.BRAND, brand_of(info.vendor) or ""),
        (Field.MODEL, info.model),
        (Field.SERIAL, info.serial),
        (Field.FIRMWARE, info.firmware),
        (Field.MAC, info.mac),
        (Field.NAME, info.name),
        (Field.DEVICE_TYPE, info.device_class),
    ]
    return tuple(
        Observation(f, value, SOURCE, Confidence.DISCOVERY) for f, value in values if value
    )
