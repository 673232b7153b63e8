"""ONVIF WS-Discovery (2005/04, UDP 3702): probe the scope, collect ProbeMatches.

Two ways of asking, both from one socket bound to ``0.0.0.0``:

- a multicast Probe to 239.255.255.250:3702 (when ``scope.multicast``), which only
  reaches devices on the local link;
- a unicast Probe to every address in scope, which devices also answer and which
  works across routers (rate-limited and with a bounded number in flight).

Replies are untrusted: a reply is kept only when its source address is in scope,
it is parsed with :func:`~campatch.net.xml.parse_xml` (no DTD or entities), and an
``XAddr`` is kept only when its host is the sender or in scope. A spoofed ProbeMatch
pointing somewhere else is dropped, never followed (SAFETY I-05). Replies are
counted against ``limits.max_discovery_replies`` and merged per address.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.errors import DeviceResponseError
from campatch.model import Candidate, Confidence, DeviceClass, Field, Observation, Service
from campatch.net.udp import Multicast, ReplyCollector, Unicast, probe_and_collect
from campatch.net.xml import local, parse_xml

logger = logging.getLogger(__name__)

MULTICAST_GROUP = "239.255.255.250"
PORT = 3702
NS_DISCOVERY = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NS_ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_NETWORK = "http://www.onvif.org/ver10/network/wsdl"
PROBE_ACTION = f"{NS_DISCOVERY}/Probe"
PROBE_MATCHES_ACTION = f"{NS_DISCOVERY}/ProbeMatches"
SCOPE_PREFIX = "onvif://www.onvif.org/"
_MAX_FIELD = 4096  # characters kept of one Types/Scopes/XAddrs list
_MAX_ITEMS = 32  # entries kept of one such list
SOURCE = "ws-discovery"


def build_probe(message_id: str | None = None) -> bytes:
    """A WS-Discovery Probe for ``dn:NetworkVideoTransmitter`` (what ONVIF clients send)."""
    mid = message_id or f"urn:uuid:{uuid.uuid4()}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:a="{NS_ADDRESSING}" xmlns:d="{NS_DISCOVERY}" xmlns:dn="{NS_NETWORK}">'
        f"<s:Header><a:Action>{PROBE_ACTION}</a:Action><a:MessageID>{mid}</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>"
        "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>"
        "</s:Envelope>"
    ).encode()


@dataclass(frozen=True)
class ProbeMatch:
    """One ``ProbeMatch`` of a reply (wire model, no I/O)."""

    endpoint: str
    types: tuple[str, ...]
    scopes: tuple[str, ...]
    xaddrs: tuple[str, ...]
    relates_to: str


def _split(text: str | None) -> tuple[str, ...]:
    return tuple((text or "")[:_MAX_FIELD].split()[:_MAX_ITEMS])


def _first(parent: Element, name: str) -> Element | None:
    return next((el for el in parent.iter() if local(el.tag) == name), None)


def _text(parent: Element, name: str) -> str:
    el = _first(parent, name)
    return (el.text or "").strip() if el is not None else ""


def parse_probe_matches(data: bytes, *, host: str, max_bytes: int) -> list[ProbeMatch]:
    """Every ProbeMatch in a WS-Discovery reply datagram.

    Tolerates a ``ProbeMatch`` without the ``ProbeMatches`` wrapper (ipycam sends that).

    Raises:
        DeviceResponseError: not XML, hostile XML, or not a SOAP envelope.
    """
    root = parse_xml(data, what="ws-discovery reply", host=host, max_bytes=max_bytes)
    if local(root.tag) != "Envelope":
        raise DeviceResponseError("ws-discovery reply: not a soap envelope", host=host)
    relates_to = _text(root, "RelatesTo")
    matches = [el for el in root.iter() if el.tag == f"{{{NS_DISCOVERY}}}ProbeMatch"]
    return [
        ProbeMatch(
            endpoint=_text(m, "Address"),
            types=tuple(t.rsplit(":", 1)[-1] for t in _split(_text(m, "Types"))),
            scopes=_split(_text(m, "Scopes")),
            xaddrs=_split(_text(m, "XAddrs")),
            relates_to=relates_to,
        )
        for m in matches[:_MAX_ITEMS]
    ]


def scope_values(scopes: Iterable[str], kind: str) -> list[str]:
    """Values of ``onvif://www.onvif.org/<kind>/<value>`` scopes, URL-decoded."""
    prefix = f"{SCOPE_PREFIX}{kind}/"
    return [unquote(s[len(prefix) :]).strip() for s in scopes if s.startswith(prefix)]


def scope_observations(scopes: Iterable[str], source: str) -> list[Observation]:
    """Identity facts from ONVIF scopes: ``name`` -> vendor, ``hardware`` -> model."""
    scopes = list(scopes)
    found = [(Field.VENDOR, v) for v in scope_values(scopes, "name")]
    found += [(Field.MODEL, v) for v in scope_values(scopes, "hardware")]
    return [Observation(f, v, source, Confidence.DISCOVERY) for f, v in found if v]


def device_class_of(types: Iterable[str], scopes: Iterable[str]) -> DeviceClass:
    """NVR when the types or ``type`` scopes say recorder/NVR, else camera."""
    words = [t.casefold() for t in types] + [v.casefold() for v in scope_values(scopes, "type")]
    recorder = any("nvr" in w or "recorder" in w or "storage" in w for w in words)
    return DeviceClass.NVR if recorder else DeviceClass.CAMERA


def _same_host(url: str, allowed: set[str], scope: Scope) -> bool:
    try:
        host = urlsplit(url).hostname or ""
        ipaddress.ip_address(host)
    except ValueError:
        return False  # a name would need DNS: not ours to resolve or follow
    return host in allowed or host in scope


def candidate_of(sender: str, matches: Sequence[ProbeMatch], scope: Scope) -> Candidate:
    """A candidate for ``sender`` from its ProbeMatches; off-scope XAddrs are dropped."""
    xaddrs = [
        x
        for m in matches
        for x in m.xaddrs
        if x.startswith(("http://", "https://")) and _same_host(x, {sender}, scope)
    ]
    dropped = sum(len(m.xaddrs) for m in matches) - len(xaddrs)
    if dropped:
        logger.warning("ws-discovery: dropped %d off-scope XAddr(s) from %s", dropped, sender)
    # Multicast and unicast probes both get answered: merge the duplicates.
    scopes = list(dict.fromkeys(s for m in matches for s in m.scopes))
    types = list(dict.fromkeys(t for m in matches for t in m.types))
    return Candidate(
        address=sender,
        services=(Service(PORT, "udp", SOURCE),),
        observations=tuple(scope_observations(scopes, SOURCE)),
        found_by=frozenset({SOURCE}),
        onvif_xaddrs=tuple(dict.fromkeys(xaddrs)),
        notes={
            "onvif_types": " ".join(types)[:_MAX_FIELD],
            "onvif_scopes": " ".join(scopes)[:_MAX_FIELD],
            "onvif_device_class": device_class_of(types, scopes).value,
        },
    )


class _Collector(ReplyCollector[list[ProbeMatch]]):
    """Keeps the ProbeMatches answering our probe, per sender address."""

    name = SOURCE

    def __init__(self, scope: Scope, limits: Limits, message_id: str) -> None:
        super().__init__(scope, limits)
        self.message_id = message_id
        self.replies: dict[str, list[ProbeMatch]] = {}

    def parse(self, data: bytes, sender: str) -> list[ProbeMatch] | None:
        matches = parse_probe_matches(data, host=sender, max_bytes=self.limits.max_datagram_bytes)
        # A reply to someone else's probe (or an unsolicited one) is not ours to trust.
        return [m for m in matches if m.relates_to in ("", self.message_id)] or None

    def accept(self, sender: str, item: list[ProbeMatch]) -> None:
        known = self.replies.setdefault(sender, [])
        known.extend(item[: max(0, _MAX_ITEMS - len(known))])


def _multicast_interface(scope: Scope) -> str:
    """The local address to send the multicast probe from: loopback for a loopback scope."""
    v4 = [a for a in scope.addresses if a.version == 4]
    return "127.0.0.1" if v4 and all(a.is_loopback for a in v4) else "0.0.0.0"  # noqa: S104


class WsDiscovery:
    """ONVIF WS-Discovery as a :class:`~campatch.discovery.interface.DiscoverySource`.

    Args:
        multicast_group: group to probe (tests in a namespace keep the default).
        port: WS-Discovery port, 3702.
    """

    name = SOURCE

    def __init__(self, *, multicast_group: str = MULTICAST_GROUP, port: int = PORT) -> None:
        self.multicast_group = multicast_group
        self.port = port

    async def discover(self, scope: Scope, ctx: DiscoveryContext) -> Sequence[Candidate]:
        """Probe ``scope`` (multicast and unicast) and return the devices that answered.

        Raises:
            DiscoveryError: no UDP socket could be opened.

        Returns:
            One candidate per answering in-scope address, ordered by scope order.
        """
        probe_id = f"urn:uuid:{uuid.uuid4()}"
        probe = build_probe(probe_id)
        collector = _Collector(scope, ctx.limits, probe_id)
        multicast = Multicast(
            self.multicast_group, self.port, probe, (_multicast_interface(scope),)
        )
        await probe_and_collect(
            collector,
            multicast=multicast if scope.multicast else None,
            unicast=Unicast(scope.ipv4(), ctx.port_map.actual(self.port), probe),
        )
        return [
            candidate_of(a, collector.replies[a], scope) for a in scope.ordered(collector.replies)
        ]
