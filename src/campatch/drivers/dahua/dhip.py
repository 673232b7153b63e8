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

import asyncio
import logging
from collections.abc import Sequence

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.drivers.dahua.models import DhipDeviceInfo, brand_of, dhip_frame
from campatch.errors import DeviceResponseError, DiscoveryError
from campatch.model import Candidate, Confidence, Field, Observation, Service
from campatch.net.udp import discovery_socket, send_paced

logger = logging.getLogger(__name__)

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
        loop = asyncio.get_running_loop()
        collector = _Collector(scope, ctx.limits)
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: collector, sock=discovery_socket(multicast_ttl=1)
            )
        except OSError as err:
            raise DiscoveryError(f"dhip: cannot open a UDP socket ({err.strerror})") from err
        port = ctx.port_map.actual(self.port)
        try:
            if scope.multicast:
                transport.sendto(SEARCH, (self.group, port))
            if self.unicast:
                await _send_unicast(transport, scope, port, ctx.limits, collector)
            await collector.wait(ctx.limits.discovery_listen_s)
        finally:
            transport.close()
        return collector.candidates()


async def _send_unicast(
    transport: asyncio.DatagramTransport,
    scope: Scope,
    port: int,
    limits: Limits,
    collector: _Collector,
) -> None:
    """One search per in-scope IPv4 address, paced to ``limits.probe_rate_per_s``."""
    targets = [str(a) for a in scope.addresses if a.version == 4]
    await send_paced(transport, targets, port, SEARCH, limits, stop=lambda: collector.full)


class _Collector(asyncio.DatagramProtocol):
    """Receives replies: in-scope senders only, parsed once each, capped."""

    def __init__(self, scope: Scope, limits: Limits) -> None:
        self.scope = scope
        self.limits = limits
        self.found: dict[str, DhipDeviceInfo] = {}
        self.dropped_off_scope = 0
        self.rejected = 0
        self._parse_budget = limits.max_discovery_replies * _PARSE_BUDGET_FACTOR
        self._full = asyncio.Event()

    @property
    def full(self) -> bool:
        """True once the reply cap or the parse budget is used up."""
        return self._full.is_set()

    async def wait(self, seconds: float) -> None:
        """Listen ``seconds``, or less when the cap is reached first."""
        try:
            await asyncio.wait_for(self._full.wait(), seconds)
        except TimeoutError:
            return

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        sender = str(addr[0])
        if self.full or sender in self.found:
            return
        if sender not in self.scope:
            self.dropped_off_scope += 1
            return
        self._parse_budget -= 1
        if self._parse_budget <= 0:
            self._full.set()
        if len(data) > self.limits.max_datagram_bytes:
            self.rejected += 1
            return
        try:
            self.found[sender] = DhipDeviceInfo.decode(data, host=sender)
        except DeviceResponseError as err:
            self.rejected += 1
            logger.debug("dhip: ignored a reply from %s: %s", sender, err)
            return
        if len(self.found) >= self.limits.max_discovery_replies:
            self._full.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP "port unreachable" from hosts without DHIP, or no multicast route.
        logger.debug("dhip: %s", exc)

    def candidates(self) -> list[Candidate]:
        """What was found, one candidate per sender, in arrival order."""
        return [candidate_of(address, info) for address, info in self.found.items()]


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
