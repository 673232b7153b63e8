"""SSDP / UPnP discovery (UDP 1900): M-SEARCH the scope, read each device description.

Two ways of asking, from one socket bound to ``0.0.0.0``:

- a multicast ``M-SEARCH`` to 239.255.255.250:1900 (when ``scope.multicast``), sent
  out of each local interface that faces the scope (the one the kernel routes the
  scope's addresses through: ``lo`` for a loopback scope or inside a namespace, the
  LAN interface on a real network);
- a unicast ``M-SEARCH`` to every IPv4 address in scope (UPnP 1.1 §1.3.3), paced by
  the scan's probe rate.

Replies are untrusted. One is kept only when its sender is in scope, it is a
well-formed ``HTTP/1.1 200 OK`` search response (strict, bounded parser), and the
number of replies stays under ``limits.max_discovery_replies``. A ``LOCATION`` is
followed only when its host is the sender itself, through the scan's
:class:`~campatch.net.http.HttpClient`; any other LOCATION is dropped and counted,
never contacted (SAFETY I-05). Descriptions are parsed with
:func:`~campatch.net.xml.parse_xml`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.errors import DeviceResponseError, DriverError
from campatch.model import Candidate, Confidence, Field, Observation, Service
from campatch.net.http import HttpClient
from campatch.net.udp import Multicast, ReplyCollector, Unicast, probe_and_collect
from campatch.net.xml import local, parse_xml

logger = logging.getLogger(__name__)

MULTICAST_GROUP = "239.255.255.250"
PORT = 1900
SOURCE = "ssdp"
DESCRIPTION_SOURCE = "upnp:description"
MAX_RESPONSE_BYTES = 8_192  # a search response is a few hundred bytes
MAX_HEADERS = 32
MAX_HEADER_VALUE = 1_024
MAX_LOCATIONS_PER_HOST = 4
MAX_DESCRIPTION_BYTES = 262_144
MAX_NOTE = 256  # characters kept of a note copied from a device
MAX_MULTICAST_INTERFACES = 8
_STATUS = re.compile(r"HTTP/1\.[01] 200(?: [^\r\n]*)?")
_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class SearchResponse:
    """One SSDP search response (wire model, no I/O); header names are lower-case."""

    headers: dict[str, str]

    @property
    def location(self) -> str:
        """The description URL the device announces, or ``""``."""
        return self.headers.get("location", "")

    @property
    def st(self) -> str:
        """The search target this response is for."""
        return self.headers.get("st", "")

    @property
    def server(self) -> str:
        """The ``SERVER`` header (OS, UPnP version, product)."""
        return self.headers.get("server", "")


def parse_search_response(data: bytes, *, host: str) -> SearchResponse:
    """Parse a search response strictly.

    Raises:
        DeviceResponseError: too large, not ``HTTP/1.x 200``, a malformed or
            oversized header, too many headers, or neither ``ST`` nor ``USN``.
    """
    if len(data) > MAX_RESPONSE_BYTES:
        raise DeviceResponseError(f"ssdp reply: {len(data)} bytes is too large", host=host)
    # Lines end in CRLF; a bare LF (seen on some embedded stacks) is accepted too.
    head = data.decode("latin-1").replace("\r\n", "\n").split("\n\n", 1)[0]
    lines = head.rstrip("\n").split("\n")
    if not _STATUS.fullmatch(lines[0]):
        raise DeviceResponseError(f"ssdp reply: status line {lines[0][:40]!r}", host=host)
    if len(lines) - 1 > MAX_HEADERS:
        raise DeviceResponseError("ssdp reply: too many headers", host=host)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _HEADER_NAME.fullmatch(name) or len(value) > MAX_HEADER_VALUE:
            raise DeviceResponseError(f"ssdp reply: header line {line[:40]!r}", host=host)
        headers.setdefault(name.lower(), value.strip())
    if "st" not in headers and "usn" not in headers:
        raise DeviceResponseError("ssdp reply: neither ST nor USN", host=host)
    return SearchResponse(headers)


@dataclass(frozen=True)
class UpnpDescription:
    """What a UPnP device description says about its root device (wire model)."""

    device_type: str = ""
    friendly_name: str = ""
    manufacturer: str = ""
    model_name: str = ""
    model_number: str = ""
    serial_number: str = ""
    udn: str = ""

    @classmethod
    def decode(cls, data: bytes, *, host: str) -> UpnpDescription:
        """Parse a description document (``urn:schemas-upnp-org:device-1-0``).

        Raises:
            DeviceResponseError: not XML, hostile XML, or no root ``<device>``.
        """
        root = parse_xml(data, what="upnp description", host=host, max_bytes=MAX_DESCRIPTION_BYTES)
        device = next((el for el in root if local(el.tag) == "device"), None)
        if local(root.tag) != "root" or device is None:
            raise DeviceResponseError("upnp description: no root device", host=host)

        def own(name: str) -> str:
            # Only the root device's own fields, not those of embedded devices.
            el = next((c for c in device if local(c.tag) == name), None)
            return (el.text or "").strip()[:MAX_NOTE] if el is not None else ""

        return cls(
            device_type=own("deviceType"),
            friendly_name=own("friendlyName"),
            manufacturer=own("manufacturer"),
            model_name=own("modelName"),
            model_number=own("modelNumber"),
            serial_number=own("serialNumber"),
            udn=own("UDN"),
        )

    def observations(self) -> list[Observation]:
        """Identity facts, as trusted as a device's own discovery answer."""
        found = [
            (Field.VENDOR, self.manufacturer),
            # modelNumber is often a revision or a catalogue number: a model only
            # when the device gives no modelName.
            (Field.MODEL, self.model_name or self.model_number),
            (Field.SERIAL, self.serial_number),
            (Field.NAME, self.friendly_name),
        ]
        return [Observation(f, v, DESCRIPTION_SOURCE, Confidence.DISCOVERY) for f, v in found if v]


def build_search(host: str, *, mx: int | None) -> bytes:
    """An ``M-SEARCH`` for ``ssdp:all``; ``mx`` only for multicast (UPnP 1.1)."""
    lines = ["M-SEARCH * HTTP/1.1", f"HOST: {host}:{PORT}", 'MAN: "ssdp:discover"']
    if mx is not None:
        lines.append(f"MX: {mx}")
    lines += ["ST: ssdp:all", "USER-AGENT: campatch/0.1 UPnP/1.1 campatch/0.1"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def location_target(location: str, sender: str) -> tuple[str, int, str] | None:
    """``(host, logical port, path)`` of an ``http://`` LOCATION on the sender itself.

    None for anything else: another address, a name (that would need DNS), another
    scheme, credentials in the URL. Such a LOCATION is never contacted (SAFETY I-05).
    """
    try:
        parts = urlsplit(location)
        port = parts.port or 80
        host = parts.hostname or ""
        if ipaddress.ip_address(host) != ipaddress.ip_address(sender):
            return None
    except ValueError:
        return None
    if parts.scheme != "http" or parts.username or parts.password:
        return None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, port, path


@dataclass
class _Host:
    responses: list[SearchResponse] = field(default_factory=list)
    locations: list[tuple[str, tuple[str, int, str]]] = field(default_factory=list)
    dropped: int = 0


class _Collector(ReplyCollector[SearchResponse]):
    """Keeps well-formed search responses and acceptable LOCATIONs, per sender."""

    name = SOURCE

    def __init__(self, scope: Scope, limits: Limits) -> None:
        super().__init__(scope, limits)
        self.hosts: dict[str, _Host] = {}

    def parse(self, data: bytes, sender: str) -> SearchResponse:
        return parse_search_response(data, host=sender)

    def accept(self, sender: str, item: SearchResponse) -> None:
        host = self.hosts.setdefault(sender, _Host())
        if len(host.responses) < MAX_HEADERS:
            host.responses.append(item)
        self._note_location(host, item.location, sender)

    def _note_location(self, host: _Host, location: str, sender: str) -> None:
        if not location or any(url == location for url, _ in host.locations):
            return
        target = location_target(location, sender)
        if target is None:
            host.dropped += 1
            logger.warning("ssdp: dropped off-scope LOCATION from %s", sender)
        elif len(host.locations) < MAX_LOCATIONS_PER_HOST:
            host.locations.append((location, target))


def multicast_interfaces(scope: Scope, *, sample: int = 256) -> list[str]:
    """Local addresses facing the scope: where the kernel would route its addresses from.

    A connected UDP socket sends nothing; ``getsockname`` then names the source
    address of the route (``127.0.0.1`` for loopback, the LAN address otherwise).
    At most ``sample`` spread-out scope addresses are looked up.
    """
    v4 = [a for a in scope.addresses if a.version == 4]
    step = max(1, len(v4) // sample)
    found: list[str] = []
    for address in v4[::step]:
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((str(address), PORT))
            local_address = str(s.getsockname()[0])
            if local_address not in found:
                found.append(local_address)
        if len(found) >= MAX_MULTICAST_INTERFACES:
            break
    return found


class SsdpSource:
    """SSDP/UPnP as a :class:`~campatch.discovery.interface.DiscoverySource`.

    Args:
        multicast_group: group to search (tests in a namespace keep the default).
        port: SSDP port, 1900.
        unicast: also search every scope address directly (False: multicast only,
            for a large scope on one link where per-address traffic is unwanted).

    Attributes:
        dropped_locations: LOCATIONs refused in the last run (off-scope, SAFETY I-05).
    """

    name = SOURCE

    def __init__(
        self, *, multicast_group: str = MULTICAST_GROUP, port: int = PORT, unicast: bool = True
    ) -> None:
        self.multicast_group = multicast_group
        self.port = port
        self.unicast = unicast
        self.dropped_locations = 0

    async def discover(self, scope: Scope, ctx: DiscoveryContext) -> Sequence[Candidate]:
        """Search ``scope`` and return one candidate per answering in-scope address.

        Raises:
            DiscoveryError: no UDP socket could be opened.
        """
        collector = _Collector(scope, ctx.limits)
        unicast = Unicast(
            scope.ipv4(), ctx.port_map.actual(self.port), lambda a: build_search(a, mx=None)
        )
        await probe_and_collect(
            collector,
            multicast=self._multicast_search(scope, ctx) if scope.multicast else None,
            unicast=unicast if self.unicast else None,
            multicast_ttl=2,
        )
        self.dropped_locations = sum(h.dropped for h in collector.hosts.values())
        descriptions = await self._describe_all(collector.hosts, ctx)
        return [
            candidate_of(a, collector.hosts[a], descriptions.get(a, []))
            for a in scope.ordered(collector.hosts)
        ]

    def _multicast_search(self, scope: Scope, ctx: DiscoveryContext) -> Multicast:
        """The multicast M-SEARCH, out of each interface facing the scope."""
        mx = max(1, min(5, int(ctx.limits.discovery_listen_s)))
        search = build_search(self.multicast_group, mx=mx)
        return Multicast(self.multicast_group, self.port, search, multicast_interfaces(scope))

    async def _describe_all(
        self, hosts: dict[str, _Host], ctx: DiscoveryContext
    ) -> dict[str, list[UpnpDescription]]:
        """Fetch every accepted LOCATION, a bounded number at once."""
        gate = asyncio.Semaphore(ctx.limits.max_concurrent_hosts)
        found: dict[str, list[UpnpDescription]] = {}
        async with HttpClient(ctx.limits, ctx.port_map) as client:

            async def one(sender: str, target: tuple[str, int, str]) -> None:
                async with gate:
                    description = await _fetch_description(client, target)
                if description is not None:
                    found.setdefault(sender, []).append(description)

            async with asyncio.TaskGroup() as tg:
                for sender, host in hosts.items():
                    for _url, target in host.locations:
                        tg.create_task(one(sender, target))
        return found


async def _fetch_description(
    client: HttpClient, target: tuple[str, int, str]
) -> UpnpDescription | None:
    host, port, path = target
    try:
        reply = await client.request(
            "GET", client.url(host, port, path), max_body_bytes=MAX_DESCRIPTION_BYTES
        )
        if reply.status != 200:
            logger.debug("ssdp: description %s:%d%s answered %d", host, port, path, reply.status)
            return None
        return UpnpDescription.decode(reply.body, host=host)
    except DriverError as err:
        logger.debug("ssdp: description of %s unreadable: %s", host, err)
        return None


def candidate_of(sender: str, host: _Host, descriptions: Sequence[UpnpDescription]) -> Candidate:
    """A candidate for ``sender`` from its search responses and fetched descriptions."""
    services = [Service(PORT, "udp", SOURCE, _first_server(host)[:MAX_NOTE])]
    services += [Service(target[1], "tcp", "http") for _url, target in host.locations]
    notes = {"upnp_server": _first_server(host)[:MAX_NOTE]}
    device_type = next((d.device_type for d in descriptions if d.device_type), "")
    device_type = device_type or _announced_device_type(host)
    if device_type:
        notes["upnp_device_type"] = device_type[:MAX_NOTE]
    first = descriptions[0] if descriptions else None
    if first is not None:
        notes |= {
            k: v
            for k, v in (
                ("upnp_manufacturer", first.manufacturer),
                ("upnp_model", first.model_name),
                ("upnp_friendly_name", first.friendly_name),
            )
            if v
        }
    if host.dropped:
        notes["upnp_dropped_locations"] = str(host.dropped)
    return Candidate(
        address=sender,
        services=tuple(dict.fromkeys(services)),
        observations=tuple(o for d in descriptions for o in d.observations()),
        found_by=frozenset({SOURCE}),
        upnp_locations=tuple(url for url, _target in host.locations),
        notes={k: v for k, v in notes.items() if v},
    )


def _first_server(host: _Host) -> str:
    return next((r.server for r in host.responses if r.server), "")


def _announced_device_type(host: _Host) -> str:
    """The ``urn:...:device:...`` search target a device answered with, if any."""
    return next((r.st for r in host.responses if ":device:" in r.st), "")
