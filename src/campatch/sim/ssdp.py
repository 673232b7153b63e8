"""Simulated SSDP (UPnP discovery) answers and UPnP device descriptions.

A device answers ``M-SEARCH * HTTP/1.1`` with ``MAN: "ssdp:discover"`` when the
search target (``ST``) is ``ssdp:all``, ``upnp:rootdevice``, its device type or its
``uuid:``; the reply carries the fields of VENDORS.md §9. ``LOCATION`` names the
vendor's logical HTTP port (the scanner applies its port map); the personality's
web server serves :func:`upnp_description` at :data:`DESCRIPTION_PATH`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from campatch.sim.device import SimDevice, UdpService

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
DESCRIPTION_PATH = "/upnp/desc.xml"
DEVICE_NS = "urn:schemas-upnp-org:device-1-0"
MAX_SEARCH_BYTES = 4_096
_ALL, _ROOT = "ssdp:all", "upnp:rootdevice"


@dataclass(frozen=True)
class UpnpServiceDesc:
    """One ``<service>`` of a UPnP description."""

    service_type: str
    service_id: str
    control_url: str
    event_sub_url: str
    scpd_url: str


@dataclass(frozen=True)
class UpnpNode:
    """An embedded ``<device>`` (the IGD's WANDevice, WANConnectionDevice ...)."""

    device_type: str
    friendly_name: str
    services: tuple[UpnpServiceDesc, ...] = ()
    devices: tuple[UpnpNode, ...] = ()


def device_uuid(device: SimDevice) -> str:
    """The device's UPnP UUID: ``options["upnp_uuid"]`` or one derived from its name."""
    configured = device.spec.options.get("upnp_uuid")
    if configured:
        return str(configured)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"campatch-sim:{device.spec.name}"))


def parse_search(data: bytes) -> dict[str, str] | None:
    """Headers of an ``M-SEARCH`` (lower-case names), or None if it is not one."""
    if len(data) > MAX_SEARCH_BYTES:
        return None
    text = data.decode("latin-1")
    first, _, rest = text.partition("\r\n")
    if first.strip() != "M-SEARCH * HTTP/1.1":
        return None
    headers: dict[str, str] = {}
    for line in rest.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), value.strip())
    if headers.get("man", "").strip('"') != "ssdp:discover":
        return None
    return headers


def search_reply(
    device: SimDevice, st: str, *, location_port: int, server: str, max_age: int = 1800
) -> bytes:
    """One ``HTTP/1.1 200 OK`` search response for target ``st``."""
    udn = f"uuid:{device_uuid(device)}"
    usn = udn if st == udn else f"{udn}::{st}"
    lines = [
        "HTTP/1.1 200 OK",
        f"CACHE-CONTROL: max-age={max_age}",
        "EXT:",
        f"LOCATION: http://{device.spec.address}:{location_port}{DESCRIPTION_PATH}",
        f"SERVER: {server}",
        f"ST: {st}",
        f"USN: {usn}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _targets(st: str, device_type: str, udn: str) -> list[str]:
    """The targets to answer for search target ``st`` (several for ``ssdp:all``)."""
    if st == _ALL:
        return [_ROOT, udn, device_type]
    return [st] if st in (_ROOT, udn, device_type) else []


def ssdp_service(
    device: SimDevice, *, device_type: str, location_port: int, server: str
) -> UdpService:
    """The SSDP responder of ``device`` (unicast, and multicast on 239.255.255.250:1900).

    Args:
        device: the device (its address is read live, so a move changes LOCATION).
        device_type: its UPnP device type, e.g. ``urn:schemas-upnp-org:device:Basic:1``.
        location_port: the vendor's HTTP port that serves the description.
        server: the ``SERVER`` header (``"Linux/3.10 UPnP/1.0 IPC/1.0"``).
    """

    def handle(data: bytes, peer: tuple[str, int]) -> list[bytes]:
        headers = parse_search(data)
        if headers is None:
            return []
        udn = f"uuid:{device_uuid(device)}"
        targets = _targets(headers.get("st", ""), device_type, udn)
        if targets:
            device.log(f"ssdp M-SEARCH {headers.get('st', '')} from {peer[0]}")
        return [
            search_reply(device, t, location_port=location_port, server=server) for t in targets
        ]

    return UdpService(SSDP_PORT, handle, multicast_group=SSDP_GROUP)


def upnp_description(
    device: SimDevice,
    device_type: str,
    *,
    services: Sequence[UpnpServiceDesc] = (),
    devices: Sequence[UpnpNode] = (),
    presentation_port: int = 80,
) -> bytes:
    """The UPnP device description XML (``urn:schemas-upnp-org:device-1-0``).

    Args:
        device: whose spec fills manufacturer, model, serial and UDN.
        device_type: the root device type.
        services: the root device's services.
        devices: embedded devices (an IGD's WANDevice tree).
        presentation_port: the vendor's web port for ``presentationURL``.
    """
    spec = device.spec
    root = ET.Element("root", xmlns=DEVICE_NS)
    version = ET.SubElement(root, "specVersion")
    ET.SubElement(version, "major").text = "1"
    ET.SubElement(version, "minor").text = "0"
    dev = _device_element(root, device_type, spec.name, services, devices, device_uuid(device))
    for tag, value in (
        ("manufacturer", spec.brand or spec.vendor),
        ("modelDescription", spec.device_type or spec.model),
        ("modelName", spec.model),
        ("modelNumber", spec.hardware or spec.model),
        ("serialNumber", spec.serial),
        ("UDN", f"uuid:{device_uuid(device)}"),
        ("presentationURL", f"http://{spec.address}:{presentation_port}/"),
    ):
        ET.SubElement(dev, tag).text = value
    _reorder_children_last(dev, ("serviceList", "deviceList"))
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text


def _device_element(
    parent: ET.Element,
    device_type: str,
    friendly_name: str,
    services: Sequence[UpnpServiceDesc],
    devices: Sequence[UpnpNode],
    udn_seed: str = "",
) -> ET.Element:
    dev = ET.SubElement(parent, "device")
    ET.SubElement(dev, "deviceType").text = device_type
    ET.SubElement(dev, "friendlyName").text = friendly_name
    if services:
        service_list = ET.SubElement(dev, "serviceList")
        for s in services:
            svc = ET.SubElement(service_list, "service")
            for tag, value in (
                ("serviceType", s.service_type),
                ("serviceId", s.service_id),
                ("controlURL", s.control_url),
                ("eventSubURL", s.event_sub_url),
                ("SCPDURL", s.scpd_url),
            ):
                ET.SubElement(svc, tag).text = value
    if devices:
        device_list = ET.SubElement(dev, "deviceList")
        for node in devices:
            child = _device_element(
                device_list,
                node.device_type,
                node.friendly_name,
                node.services,
                node.devices,
                udn_seed,
            )
            # Embedded devices need a UDN of their own; derive a stable one from the type.
            child_udn = uuid.uuid5(uuid.NAMESPACE_URL, f"{udn_seed}:{node.device_type}")
            ET.SubElement(child, "UDN").text = f"uuid:{child_udn}"
            _reorder_children_last(child, ("serviceList", "deviceList"))
    return dev


def _reorder_children_last(element: ET.Element, tags: tuple[str, ...]) -> None:
    """Move the list elements after the identity fields, as devices order them."""
    for tag in tags:
        child = element.find(tag)
        if child is not None:
            element.remove(child)
            element.append(child)
