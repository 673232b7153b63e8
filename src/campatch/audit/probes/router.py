"""Router port forwards: what a UPnP Internet Gateway Device exposes to the internet.

For each non-camera host that announced itself over SSDP as an
``InternetGatewayDevice``, read its description (only at the router's own address,
which discovery already kept inside the scope), find the ``WANIPConnection`` or
``WANPPPConnection`` control URL, and list the mappings with
``GetGenericPortMappingEntry`` from index 0 until the router answers UPnP error 713
(``SpecifiedArrayIndexInvalid``) or ``MAX_ENTRIES`` is reached. Listing changes
nothing on the router. Each mapping is then attached, as a
:class:`~campatch.model.PortForward`, to the device whose address is its internal
client (SAFETY B-03).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from campatch.drivers.interface import ProbeContext
from campatch.errors import DeviceResponseError, DriverError
from campatch.model import Candidate, HostReport, PortForward, Problem, SecurityFacts
from campatch.net.xml import child_text, local, parse_xml

logger = logging.getLogger(__name__)

IGD_TYPE = "InternetGatewayDevice"
WAN_SERVICES = ("WANIPConnection", "WANPPPConnection")
MAX_ENTRIES = 128  # mappings read from one router
NO_MORE_ENTRIES = 713  # UPnP error SpecifiedArrayIndexInvalid
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

Forwards = dict[str, list[PortForward]]  # internal client address -> mappings


def is_gateway(candidate: Candidate) -> bool:
    """True when the host announced itself as a UPnP Internet Gateway Device."""
    return IGD_TYPE in candidate.notes.get("upnp_device_type", "") and bool(
        candidate.upnp_locations
    )


def _same_host(url: str, address: str) -> bool:
    return urlsplit(url).hostname == address


def _mapped(url: str, ctx: ProbeContext) -> str:
    """``url`` with its port mapped (the simulator may listen on a moved port)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return ctx.http.url(parts.hostname or "", port, path or "/", tls=parts.scheme == "https")


def control_url(description: Element, location: str) -> tuple[str, str] | None:
    """``(control URL, service type)`` of the WAN connection service, if described."""
    base = child_text(description, "URLBase") or location
    for service in (el for el in description.iter() if local(el.tag) == "service"):
        service_type = child_text(service, "serviceType") or ""
        control = child_text(service, "controlURL")
        if control and any(f":{name}:" in service_type for name in WAN_SERVICES):
            return urljoin(base, control), service_type
    return None


def _envelope(service_type: str, index: int) -> bytes:
    return (
        f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP_ENV}" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        f'<u:GetGenericPortMappingEntry xmlns:u="{escape(service_type)}">'
        f"<NewPortMappingIndex>{index}</NewPortMappingIndex>"
        "</u:GetGenericPortMappingEntry></s:Body></s:Envelope>"
    ).encode()


def _values(root: Element) -> dict[str, str]:
    return {local(el.tag): (el.text or "").strip() for el in root.iter() if len(el) == 0}


def _forward(router: str, values: dict[str, str]) -> tuple[str, PortForward] | None:
    try:
        external, internal = int(values["NewExternalPort"]), int(values["NewInternalPort"])
    except (KeyError, ValueError):
        return None
    if values.get("NewEnabled", "1") == "0":
        return None
    forward = PortForward(
        router=router,
        external_port=external,
        internal_port=internal,
        protocol=values.get("NewProtocol", "TCP").upper()[:8],
        description=values.get("NewPortMappingDescription", "")[:200],
    )
    return values.get("NewInternalClient", ""), forward


async def _entry(
    url: str, service_type: str, index: int, ctx: ProbeContext, router: str
) -> dict[str, str] | None:
    """One mapping's values; None when the router says there are no more."""
    action = f'"{service_type}#GetGenericPortMappingEntry"'
    reply = await ctx.http.request(
        "POST",
        url,
        content=_envelope(service_type, index),
        headers={"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": action},
        max_body_bytes=65_536,
    )
    values = _values(parse_xml(reply.body, what="upnp port mapping", host=router))
    if reply.status == 200:
        return values
    code = values.get("errorCode", "")
    if code == str(NO_MORE_ENTRIES):
        return None
    raise DeviceResponseError(f"{router}: GetGenericPortMappingEntry fault {code!r}", host=router)


async def list_mappings(candidate: Candidate, ctx: ProbeContext) -> Forwards:
    """Every enabled mapping of one gateway, by internal client.

    Raises:
        DriverError: the description or the control endpoint could not be used.
    """
    router = candidate.address
    location = next((u for u in candidate.upnp_locations if _same_host(u, router)), None)
    if location is None:
        raise DeviceResponseError(f"{router}: no description URL at the router's address")
    reply = await ctx.http.request("GET", _mapped(location, ctx), max_body_bytes=131_072)
    found = control_url(parse_xml(reply.body, what="upnp description", host=router), location)
    if found is None or not _same_host(found[0], router):
        raise DeviceResponseError(f"{router}: no WAN connection service at its own address")
    url, service_type = _mapped(found[0], ctx), found[1]
    forwards: Forwards = {}
    for index in range(MAX_ENTRIES):
        values = await _entry(url, service_type, index, ctx, router)
        if values is None:
            break
        if (pair := _forward(router, values)) is not None:
            forwards.setdefault(pair[0], []).append(pair[1])
    return forwards


async def router_forwards(
    candidates: Sequence[Candidate], ctx: ProbeContext
) -> tuple[Forwards, int, list[Problem]]:
    """Mappings of every gateway among ``candidates``.

    Returns:
        Mappings by internal client, how many gateways answered, and the problems.
    """
    forwards: Forwards = {}
    answered = 0
    problems: list[Problem] = []
    for candidate in (c for c in candidates if is_gateway(c)):
        try:
            mine = await list_mappings(candidate, ctx)
        except DriverError as err:
            problems.append(Problem(f"upnp-igd:{candidate.address}", str(err)))
            continue
        answered += 1
        for client, items in mine.items():
            forwards.setdefault(client, []).extend(items)
    return forwards, answered, problems


def attach_forwards(
    reports: Sequence[HostReport], forwards: Forwards, gateways_answered: int
) -> list[HostReport]:
    """Reports with ``security.port_forwards`` set for video devices (``()`` = none seen).

    Without any gateway that answered, the fact stays None (not checked).
    """
    if not gateways_answered:
        return list(reports)
    out: list[HostReport] = []
    for report in reports:
        if report.device_class.is_video_device:
            mine = tuple(forwards.get(report.address, ()))
            security: SecurityFacts = dataclasses.replace(report.security, port_forwards=mine)
            report = dataclasses.replace(report, security=security)
        out.append(report)
    return out
