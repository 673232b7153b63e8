"""ONVIF device-service wire models: one typed request per operation, decoders, no I/O.

Each request class satisfies :class:`~campatch.net.soap.SoapOperation`: it renders
its body element and decodes the ``<OpResponse>`` element. ONVIF's element names are
renamed to campatch's fields in exactly one place, the ``decode`` methods and
:meth:`DeviceInformation.observations`.
"""

from __future__ import annotations

import re
import secrets
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


# --- firmware upgrade (devicemgmt.wsdl l.419, 1812; VENDORS.md §7) ---------------------

_DURATION = re.compile(
    r"^(-)?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
# Seconds per duration field; years and months have no fixed length, these are the
# usual approximations (a device's delay or downtime is never measured in months).
_DURATION_UNITS = (365 * 86_400, 30 * 86_400, 86_400, 3_600, 60, 1)
#: Where the image of the legacy ``UpgradeSystemFirmware`` travels (the MTOM part id).
FIRMWARE_CID = "firmware@campatch"
_SOAP_CID = "envelope@campatch"
NS_XOP = "http://www.w3.org/2004/08/xop/include"
NS_XMIME = "http://www.w3.org/2005/05/xmlmime"


def parse_duration(text: str | None) -> float | None:
    """An ``xs:duration`` (``PT60S``, ``PT2M``, ``P1DT0.5S``) in seconds; None when
    ``text`` is not one (negative durations included: no device waits backwards)."""
    match = _DURATION.match((text or "").strip())
    if match is None or match.group(1) or not any(match.groups()[1:]):
        return None
    values = match.groups()[1:]
    return sum(float(v) * unit for v, unit in zip(values, _DURATION_UNITS, strict=True) if v)


@dataclass(frozen=True)
class UploadSlot:
    """``StartFirmwareUpgrade``'s reply: where and when the image may be posted.

    Args:
        upload_uri: the URI the device wants the image POSTed to.
        upload_delay_s: seconds to wait before posting (0 when the device gives none).
        expected_downtime: the device's own ``xs:duration`` text ("PT60S"), "" if none.
    """

    upload_uri: str
    upload_delay_s: float
    expected_downtime: str


@dataclass(frozen=True)
class StartFirmwareUpgrade:
    """Ask for an upload URI (firmware upgrade over HTTP POST)."""

    name: ClassVar[str] = "StartFirmwareUpgrade"
    namespace: ClassVar[str] = NS_TDS

    def body_xml(self) -> str:
        """The request element (it has no parameters)."""
        return "<tds:StartFirmwareUpgrade/>"

    def decode(self, response: Element, host: str) -> UploadSlot:
        """Read UploadUri, UploadDelay and ExpectedDownTime.

        Raises:
            DeviceResponseError: no UploadUri, or an UploadDelay that is not a duration.
        """
        uri = (child_text(response, "UploadUri") or "").strip()
        if not uri:
            raise DeviceResponseError(f"onvif {self.name}: reply carries no UploadUri", host=host)
        delay_text = child_text(response, "UploadDelay")
        delay = parse_duration(delay_text) if delay_text else 0.0
        if delay is None:
            raise DeviceResponseError(
                f"onvif {self.name}: UploadDelay {_clean(delay_text)!r} is not a duration",
                host=host,
            )
        return UploadSlot(uri[:2048], delay, _clean(child_text(response, "ExpectedDownTime")))


@dataclass(frozen=True)
class UpgradeSupport:
    """Which firmware-upgrade operations the device says it offers (None: it does not say).

    Args:
        http: ``HttpFirmwareUpgrade`` (``StartFirmwareUpgrade`` + HTTP POST).
        mtom: ``FirmwareUpgrade`` (the legacy ``UpgradeSystemFirmware``).
    """

    http: bool | None
    mtom: bool | None


@dataclass(frozen=True)
class GetServiceCapabilities:
    """The device service's capabilities; ONVIF allows it without credentials."""

    name: ClassVar[str] = "GetServiceCapabilities"
    namespace: ClassVar[str] = NS_TDS

    def body_xml(self) -> str:
        """The request element."""
        return "<tds:GetServiceCapabilities/>"

    def decode(self, response: Element, host: str) -> UpgradeSupport:
        """The ``System`` element's ``HttpFirmwareUpgrade`` and ``FirmwareUpgrade`` flags."""
        system = next((el for el in response.iter() if local(el.tag) == "System"), None)
        if system is None:
            return UpgradeSupport(None, None)
        return UpgradeSupport(
            _xs_bool(system.get("HttpFirmwareUpgrade")), _xs_bool(system.get("FirmwareUpgrade"))
        )


def _xs_bool(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    return True if text in ("true", "1") else False if text in ("false", "0") else None


def upgrade_system_firmware_xml() -> str:
    """The legacy ``UpgradeSystemFirmware`` element; the image is the MTOM part
    :data:`FIRMWARE_CID` (``tt:AttachmentData``: an ``xop:Include`` plus
    ``xmime:contentType``)."""
    return (
        f'<tds:UpgradeSystemFirmware><tds:Firmware xmlns:xmime="{NS_XMIME}" '
        'xmime:contentType="application/octet-stream">'
        f'<xop:Include xmlns:xop="{NS_XOP}" href="cid:{FIRMWARE_CID}"/>'
        "</tds:Firmware></tds:UpgradeSystemFirmware>"
    )


def upgrade_message(response: Element) -> str:
    """``UpgradeSystemFirmwareResponse``'s optional ``Message`` ("" when absent)."""
    return _clean(child_text(response, "Message"))


def mtom_request(envelope_xml: bytes, attachment: bytes) -> tuple[str, bytes]:
    """A SOAP 1.2 MTOM/XOP message: the envelope, then ``attachment`` as the binary part
    :data:`FIRMWARE_CID` (W3C XOP; multipart/related with ``application/xop+xml`` root).

    Returns:
        ``(content_type, body)`` for the HTTP request.
    """
    boundary = f"campatch-mtom-{secrets.token_hex(12)}"
    action = f"{NS_TDS}/UpgradeSystemFirmware"
    content_type = (
        f'multipart/related; type="application/xop+xml"; start="<{_SOAP_CID}>"; '
        f'start-info="application/soap+xml"; action="{action}"; boundary="{boundary}"'
    )
    head = (
        f"--{boundary}\r\n"
        'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n'
        f"Content-Transfer-Encoding: 8bit\r\nContent-ID: <{_SOAP_CID}>\r\n\r\n"
    ).encode()
    part = (
        f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Transfer-Encoding: binary\r\nContent-ID: <{FIRMWARE_CID}>\r\n\r\n"
    ).encode()
    return content_type, b"".join(
        (head, envelope_xml, part, attachment, f"\r\n--{boundary}--\r\n".encode())
    )
