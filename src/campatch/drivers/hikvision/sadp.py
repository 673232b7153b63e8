"""SADP, Hikvision's "Search Active Devices Protocol" (UDP 37020), as a discovery source.

One XML ``<Probe>`` inquiry goes to the multicast group 239.255.255.250:37020 (when the
scope allows multicast) and to every in-scope IPv4 address, rate-limited. Every
Hikvision device that hears it answers with a ``<ProbeMatch>`` naming its model,
serial number, MAC, firmware and ports, without credentials. Replies from addresses
outside the scope are dropped, never followed (SAFETY I-05); the address inside a
reply is ignored in favour of the sender's.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.drivers.hikvision.models import (
    SadpProbeMatch,
    device_type_from_model,
    sadp_inquiry,
)
from campatch.model import Candidate, Confidence, Field, Observation, Service, normalize_mac
from campatch.net.udp import FirstReplyCollector, Multicast, Unicast, probe_and_collect

logger = logging.getLogger(__name__)

SADP_PORT = 37020
SADP_GROUP = "239.255.255.250"
SOURCE = "sadp"
VENDOR = "Hikvision"
_JUNK_FACTOR = 4  # datagrams looked at per reply slot before the source stops listening


class _Collector(FirstReplyCollector[SadpProbeMatch]):
    """Receives ProbeMatches: in-scope senders only, one per address, bounded work."""

    name = SOURCE
    parse_budget_factor = _JUNK_FACTOR

    def parse(self, data: bytes, sender: str) -> SadpProbeMatch:
        return SadpProbeMatch.decode(data, host=sender)


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
        collector = _Collector(scope, ctx.limits)
        inquiry = sadp_inquiry(str(uuid.uuid4()).upper())
        port = ctx.port_map.actual(self.port)
        await probe_and_collect(
            collector,
            multicast=Multicast(self.group, port, inquiry) if scope.multicast else None,
            unicast=Unicast(scope.ipv4(), port, inquiry),
        )
        if collector.dropped_off_scope:
            logger.info(
                "sadp: dropped %d replies from outside the scope", collector.dropped_off_scope
            )
        return [candidate_from_match(host, m) for host, m in collector.found.items()]


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
