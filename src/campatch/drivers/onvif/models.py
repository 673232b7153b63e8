"""ONVIF device-service wire models: one typed request per operation, decoders, no I/O.

Each request class satisfies :class:`~campatch.net.soap.SoapOperation`: it renders
its body element and decodes the ``<OpResponse>`` element. ONVIF's element names are
renamed to campatch's fields in exactly one place, the ``decode`` methods and
:meth:`DeviceInformation.observations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from xml.etree.ElementTree import Element

from campatch.errors import DeviceResponseError
from campatch.model import Field, Observation, normalize_mac
from campatch.net.soap import NS_TDS
from campatch.net.xml import child_text, children_text, local

DEVICE_SERVICE_PATH = "/onvif/device_service"
_MAX_VALUE = 256  # characters kept of one identity value


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())[:_MAX_VALUE]


@dataclass(frozen=True)
class GetSystemDateAndTime:
    """The device's UTC clock; ONVIF allows it without credentials."""

    name: ClassVar[str] = "GetSystemDateAndTime"
    namespace: ClassVar[str] = NS_TDS

    def body_xml(self) -> str:
        """The request element."""
        return "<tds:GetSystemDateAndTime/>"

    def decode(self, response: Element, host: str) -> datetime:
        """The device's UTC time (falls back to LocalDateTime when UTC is absent).

        Raises:
            DeviceResponseError: no usable date and time in the reply.
        """
        for name in ("UTCDateTime", "LocalDateTime"):
            node = next((el for el in response.iter() if local(el.tag) == name), None)
            if node is None:
                continue
            parts = children_text(node, ("Year", "Month", "Day", "Hour", "Minute", "Second"))
            try:
                y, mo, d, h, mi, s = (
                    int(parts[k]) for k in ("Year", "Month", "Day", "Hour", "Minute", "Second")
                )
                return datetime(y, mo, d, h, mi, min(s, 59), tzinfo=UTC)
            except (KeyError, ValueError) as err:
                raise DeviceResponseError(
                    f"onvif {self.name}: bad {name} ({err})", host=host
                ) from err
        raise DeviceResponseError(f"onvif {self.name}: reply carries no date and time", host=host)


@dataclass(frozen=True)
class DeviceInformation:
    """``GetDeviceInformation``'s reply."""

    manufacturer: str
    model: str
    firmware_version: str
    serial_number: str
    hardware_id: str

    def observations(self, source: str, confidence: float) -> list[Observation]:
        """The identity facts it carries (empty values are left out)."""
        pairs = (
            (Field.VENDOR, self.manufacturer),
            (Field.MODEL, self.model),
            (Field.FIRMWARE, self.firmware_version),
            (Field.SERIAL, self.serial_number),
            (Field.HARDWARE, self.hardware_id),
        )
        return [Observation(f, v, source, confidence) for f, v in pairs if v]


@dataclass(frozen=True)
class GetDeviceInformation:
    """Manufacturer, model, firmware, serial and hardware id."""

    name: ClassVar[str] = "GetDeviceInformation"
    namespace: ClassVar[str] = NS_TDS

    def body_xml(self) -> str:
        """The request element."""
        return "<tds:GetDeviceInformation/>"

    def decode(self, response: Element, host: str) -> DeviceInformation:
        """Read the five fields.

        Raises:
            DeviceResponseError: neither a manufacturer nor a model in the reply.
        """
        info = DeviceInformation(
            manufacturer=_clean(child_text(response, "Manufacturer")),
            model=_clean(child_text(response, "Model")),
            firmware_version=_clean(child_text(response, "FirmwareVersion")),
            serial_number=_clean(child_text(response, "SerialNumber")),
            hardware_id=_clean(child_text(response, "HardwareId")),
        )
        if not (info.manufacturer or info.model):
            raise DeviceResponseError(f"onvif {self.name}: no manufacturer or model", host=host)
        return info


@dataclass(frozen=True)
class GetNetworkInterfaces:
    """The device's network interfaces; we keep their MAC addresses."""

    name: ClassVar[str] = "GetNetworkInterfaces"
    namespace: ClassVar[str] = NS_TDS

    def body_xml(self) -> str:
        """The request element."""
        return "<tds:GetNetworkInterfaces/>"

    def decode(self, response: Element, host: str) -> tuple[str, ...]:
        """Normalised MACs (``aa:bb:..``) of every interface, bogus ones left out."""
        macs = (
            normalize_mac(el.text or "") for el in response.iter() if local(el.tag) == "HwAddress"
        )
        return tuple(dict.fromkeys(m for m in macs if m))


@dataclass(frozen=True)
class GetScopes:
    """The device's scope URIs (``onvif://www.onvif.org/name/...``)."""

    name: ClassVar[str] = "GetScopes"
    namespace: ClassVar[str] = NS_TDS

    def body_xml(self) -> str:
        """The request element."""
        return "<tds:GetScopes/>"

    def decode(self, response: Element, host: str) -> tuple[str, ...]:
        """Every ``ScopeItem``, in order (at most 64)."""
        items = (_clean(el.text) for el in response.iter() if local(el.tag) == "ScopeItem")
        return tuple(i for i in items if i)[:64]


@dataclass(frozen=True)
class GetUsers:
    """The device's ONVIF accounts (``tds:GetUsers``; needs an administrator)."""

    name: ClassVar[str] = "GetUsers"
    namespace: ClassVar[str] = NS_TDS

    def body_xml(self) -> str:
        """The request element."""
        return "<tds:GetUsers/>"

    def decode(self, response: Element, host: str) -> tuple[str, ...]:
        """Every ``User/Username``, in order (at most 64)."""
        names = (_clean(el.text) for el in response.iter() if local(el.tag) == "Username")
        return tuple(dict.fromkeys(n for n in names if n))[:64]
