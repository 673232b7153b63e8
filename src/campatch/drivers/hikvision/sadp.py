"""SADP, Hikvision's "Search Active Devices Protocol" (UDP 37020), as a discovery source.

One XML ``<Probe>`` inquiry goes to the multicast group 239.255.255.250:37020 (when the
scope allows multicast) and to every in-scope IPv4 address, rate-limited. Every
Hikvision device that hears it answers with a ``<ProbeMatch>`` naming its model,
serial number, MAC, firmware and ports, without credentials. Replies from addresses
outside the scope are dropped, never followed (SAFETY I-05); the address inside a
reply is ignored in favour of the sender's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.drivers.hikvision.models import (
    SadpProbeMatch,
    device_type_from_model,
    sadp_inquiry,
)
from campatch.errors import DeviceResponseError, DiscoveryError
from campatch.model import Candidate, Confidence, Field, Observation, Service, normalize_mac
from campatch.net.udp import discovery_socket, send_paced

logger = logging.getLogger(__name__)

SADP_PORT = 37020
SADP_GROUP = "239.255.255.250"
SOURCE = "sadp"
VENDOR = "Hikvision"
_TICK_S = 0.02  # seconds between two bursts of unicast inquiries (rate limiting)
_JUNK_FACTOR = 4  # datagrams looked at per reply slot before the source stops listening


class _Collector(asyncio.DatagramProtocol):
    """Receives ProbeMatches: in-scope senders only, one per address, bounded work."""

    def __init__(self, scope: Scope, limits: Limits) -> None:
        self.scope = scope
        self.limits = limits
        self.matches: dict[str, SadpProbeMatch] = {}
        self.seen = 0
        self.dropped_off_scope = 0
        self.done = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if self.done.is_set():
            return
        self.seen += 1
        if self.seen >= self.limits.max_discovery_replies * _JUNK_FACTOR:
            self.done.set()
        host = str(addr[0])
        if host not in self.scope:
            self.dropped_off_scope += 1
            return
        if host in self.matches or len(data) > self.limits.max_datagram_bytes:
            return
        try:
            match = SadpProbeMatch.decode(data, host=host)
        except DeviceResponseError as err:
            logger.debug("sadp: ignored reply from %s: %s", host, err)
            return
        self.matches[host] = match
        if len(self.matches) >= self.limits.max_discovery_replies:
            self.done.set()

    def error_received(self, exc: Exception) -> None:
        logger.debug("sadp: socket error %s", exc)


class SadpSource:
    """Hikvision SADP discovery (a :class:`~campatch.discovery.interface.DiscoverySource`).

    Args:
        port: the SADP port (37020).
        group: the multicast group (239.255.255.250).
    """

    name = SOURCE

    def __init__(self, *, port: int = SADP_PORT, group: str = SADP_GROUP) -> None:
        self.port = port
        self.group = group

    async def discover(self, scope: Scope, ctx: DiscoveryContext) -> Sequence[Candidate]:
        """Send SADP inquiries and collect in-scope replies for ``limits.discovery_listen_s``.

        Raises:
            DiscoveryError: no UDP socket could be opened.

        Returns:
            One candidate per answering in-scope address.
        """
        loop = asyncio.get_running_loop()
        collector = _Collector(scope, ctx.limits)
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: collector, sock=discovery_socket(multicast_ttl=1)
            )
        except OSError as err:
            raise DiscoveryError(f"sadp: cannot open a UDP socket: {err.strerror}") from err
        try:
            inquiry = sadp_inquiry(str(uuid.uuid4()).upper())
            port = ctx.port_map.actual(self.port)
            if scope.multicast:
                self._send_multicast(transport, inquiry, port)
            await _send_unicast(transport, inquiry, port, scope, ctx.limits, collector)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(collector.done.wait(), ctx.limits.discovery_listen_s)
        finally:
            transport.close()
        if collector.dropped_off_scope:
            logger.info(
                "sadp: dropped %d replies from outside the scope", collector.dropped_off_scope
            )
        return [candidate_from_match(host, m) for host, m in collector.matches.items()]

    def _send_multicast(
        self, transport: asyncio.DatagramTransport, inquiry: bytes, port: int
    ) -> None:
        transport.sendto(inquiry, (self.group, port))


async def _send_unicast(
    transport: asyncio.DatagramTransport,
    inquiry: bytes,
    port: int,
    scope: Scope,
    limits: Limits,
    collector: _Collector,
) -> None:
    """One inquiry per in-scope IPv4 address, paced to ``probe_rate_per_s``."""
    targets = [str(a) for a in scope.addresses if a.version == 4]
    await send_paced(transport, targets, port, inquiry, limits, stop=collector.done.is_set)


def candidate_from_match(address: str, match: SadpProbeMatch) -> Candidate:
    """The candidate one SADP reply describes (address = the reply's sender)."""
    services = [Service(SADP_PORT, "udp", "sadp")]
    if match.http_port:
        services.append(Service(match.http_port, "tcp", "http"))
    if match.command_port:
        services.append(Service(match.command_port, "tcp", "hik-sdk"))
    notes = {"sadp_device_code": match.device_code}
    if match.activated is not None:
        notes["sadp_activated"] = "true" if match.activated else "false"
    return Candidate(
        address=address,
        services=tuple(services),
        observations=tuple(observations_from_match(match)),
        found_by=frozenset({SOURCE}),
        notes=notes,
    )


def observations_from_match(match: SadpProbeMatch) -> list[Observation]:
    """Identity facts of a SADP reply (Confidence.DISCOVERY; device type inferred lower)."""
    values = [
        (Field.VENDOR, VENDOR),
        (Field.MODEL, match.model),
        (Field.SERIAL, match.serial),
        (Field.MAC, normalize_mac(match.mac) or ""),
        (Field.FIRMWARE, match.firmware),
        (Field.BUILD, match.build),
    ]
    found = [Observation(f, v, SOURCE, Confidence.DISCOVERY) for f, v in values if v]
    if device_type := device_type_from_model(match.model):
        found.append(Observation(Field.DEVICE_TYPE, device_type, "sadp:model", Confidence.BANNER))
    return found
