"""Hikvision wire models: pure decoders of ISAPI and SADP payloads (no I/O).

Every vendor key is renamed to ours here and nowhere else. Each decoder parses through
:func:`campatch.net.xml.parse_xml` (no DTDs, no entities, size cap) and raises
:class:`~campatch.errors.DeviceResponseError` for anything it cannot accept.

Shapes (VENDORS.md §1 and the sources named in :mod:`campatch.sim.hikvision`):

- ``DeviceInfo`` (``GET /ISAPI/System/deviceInfo``), namespace
  ``http://www.hikvision.com/ver20/XMLSchema`` (newer firmware: ``isapi.org``).
- ``userCheck``: on every failed login (``lockStatus``/``unlockTime``/``retryLoginTime``)
  and as the success reply of ``GET /ISAPI/Security/userCheck``.
- ``IllegalLoginLock`` (``/ISAPI/Security/illegalLoginLock``).
- ``ResponseStatus``: the reply of every ISAPI write (the firmware upload) and of most
  errors; ``upgradeStatus`` (``GET /ISAPI/System/upgradeStatus``).
- SADP ``<Probe>`` inquiry and ``<ProbeMatch>`` reply on UDP 37020.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, Protocol, Self, TypedDict, TypeVar
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from campatch.errors import DeviceResponseError
from campatch.net.xml import children_text, local, parse_xml

MAX_FIELD_CHARS = 256  # longest identity value kept from a device (longer ones are cut)
_SOFTWARE_VERSION = re.compile(r"^\s*(V?\d+(?:\.\d+)*)\s*(?:build\s*(\d{6}))?", re.IGNORECASE)
_MODEL_CLASS = (  # Hikvision model-number families [assumed: the vendor's naming scheme]
    (re.compile(r"^(?:DS-|iDS-)(?:76|77|86|96|I7|I9)", re.IGNORECASE), "NVR"),
    (re.compile(r"^(?:DS-|iDS-)(?:71|72|73|81|90|91)", re.IGNORECASE), "DVR"),
    (re.compile(r"^(?:DS-|iDS-)2(?:CD|DE|DF|CE|XE)", re.IGNORECASE), "IPCamera"),
)


class Decodable(Protocol):
    """**Protocol**: a wire model that decodes itself from a reply body."""

    @classmethod
    def decode(cls, data: bytes, *, host: str = "") -> Self:
        """Decode ``data`` (raises DeviceResponseError)."""
        ...


T = TypeVar("T", bound=Decodable)


@dataclass(frozen=True)
class IsapiRequest(Generic[T]):
    """One ISAPI endpoint: what to send and which model decodes a 200 reply.

    Args:
        method: HTTP method.
        path: request path.
        response_type: the model whose ``decode`` reads a 200 reply body.
    """

    method: str
    path: str
    response_type: type[T]


def _text(values: dict[str, str], key: str) -> str:
    return values.get(key, "")[:MAX_FIELD_CHARS]


def _int(values: dict[str, str], key: str) -> int | None:
    raw = values.get(key, "").strip()
    if not raw.lstrip("-").isdigit() or len(raw) > 12:
        return None
    return int(raw)


def _bool(values: dict[str, str], key: str) -> bool | None:
    raw = values.get(key, "").strip().lower()
    return {"true": True, "false": False}.get(raw)


def _root(data: bytes, expected: str, *, what: str, host: str) -> Element:
    root = parse_xml(data, what=what, host=host)
    if local(root.tag) != expected:
        raise DeviceResponseError(
            f"{what}: expected <{expected}>, got <{local(root.tag)[:40]}>", host=host
        )
    return root


class DeviceInfoXml(TypedDict, total=False):
    """The raw ``<DeviceInfo>`` fields campatch reads (vendor spelling)."""

    deviceName: str
    deviceID: str
    model: str
    serialNumber: str
    macAddress: str
    firmwareVersion: str
    firmwareReleasedDate: str
    encoderVersion: str
    encoderReleasedDate: str
    hardwareVersion: str
    deviceType: str
    manufacturer: str


_DEVICE_INFO_KEYS = tuple(DeviceInfoXml.__annotations__)


@dataclass(frozen=True)
class DeviceInfo:
    """``/ISAPI/System/deviceInfo``: the device's own identity (empty string = absent)."""

    name: str
    device_id: str
    model: str
    serial: str
    mac: str
    firmware: str
    build: str
    encoder: str
    hardware: str
    device_type: str
    manufacturer: str

    @classmethod
    def decode(cls, data: bytes, *, host: str = "") -> DeviceInfo:
        """Decode a ``<DeviceInfo>`` document.

        Raises:
            DeviceResponseError: not XML, hostile, not a DeviceInfo, or without a model.
        """
        root = _root(data, "DeviceInfo", what="ISAPI deviceInfo", host=host)
        v = children_text(root, _DEVICE_INFO_KEYS)
        if not v.get("model"):
            raise DeviceResponseError("ISAPI deviceInfo: no <model>", host=host)
        return cls(
            name=_text(v, "deviceName"),
            device_id=_text(v, "deviceID"),
            model=_text(v, "model"),
            serial=_text(v, "serialNumber"),
            mac=_text(v, "macAddress"),
            firmware=_text(v, "firmwareVersion"),
            build=_text(v, "firmwareReleasedDate"),
            encoder=_text(v, "encoderVersion"),
            hardware=_text(v, "hardwareVersion"),
            device_type=_text(v, "deviceType"),
            manufacturer=_text(v, "manufacturer"),
        )


_USER_CHECK_KEYS = (
    "statusValue", "statusString", "lockStatus", "unlockTime", "retryLoginTime",
    "isDefaultPassword", "isRiskPassword", "isActivated",
)  # fmt: skip


@dataclass(frozen=True)
class UserCheck:
    """A ``<userCheck>`` body: the login verdict and the lock state (None = not sent).

    Attributes:
        status: ``statusValue`` (200 or 401).
        lock_status: ``"lock"`` or ``"unlock"``.
        unlock_time_s: seconds until the client address is unlocked.
        retry_login_time: failed logins left before the lock.
    """

    status: int | None
    status_string: str
    lock_status: str | None
    unlock_time_s: int | None
    retry_login_time: int | None
    is_default_password: bool | None
    is_risk_password: bool | None
    is_activated: bool | None

    @property
    def locked(self) -> bool:
        """True when the device says this client is locked out now."""
        return self.lock_status == "lock" or (self.unlock_time_s or 0) > 0

    @property
    def near_lock(self) -> bool:
        """True when one more failure could lock (``retryLoginTime`` <= 1): stop (D-02)."""
        return self.retry_login_time is not None and self.retry_login_time <= 1

    @classmethod
    def decode(cls, data: bytes, *, host: str = "") -> UserCheck:
        """Decode a ``<userCheck>`` document.

        Raises:
            DeviceResponseError: not XML, hostile, or not a userCheck.
        """
        root = _root(data, "userCheck", what="ISAPI userCheck", host=host)
        v = children_text(root, _USER_CHECK_KEYS)
        lock = v.get("lockStatus", "").strip().lower() or None
        return cls(
            status=_int(v, "statusValue"),
            status_string=_text(v, "statusString"),
            lock_status=lock,
            unlock_time_s=_int(v, "unlockTime"),
            retry_login_time=_int(v, "retryLoginTime"),
            is_default_password=_bool(v, "isDefaultPassword"),
            is_risk_password=_bool(v, "isRiskPassword"),
            is_activated=_bool(v, "isActivated"),
        )


@dataclass(frozen=True)
class IllegalLoginLock:
    """``/ISAPI/Security/illegalLoginLock``: the device's lockout policy."""

    enabled: bool | None
    max_failures: int | None
    lock_time_s: int | None

    @classmethod
    def decode(cls, data: bytes, *, host: str = "") -> IllegalLoginLock:
        """Decode an ``<IllegalLoginLock>`` document.

        Raises:
            DeviceResponseError: not XML, hostile, or not an IllegalLoginLock.
        """
        root = _root(data, "IllegalLoginLock", what="ISAPI illegalLoginLock", host=host)
        v = children_text(root, ("enabled", "maxIllegalLoginTimes", "maxIllegalLoginLockTime"))
        return cls(
            enabled=_bool(v, "enabled"),
            max_failures=_int(v, "maxIllegalLoginTimes"),
            lock_time_s=_int(v, "maxIllegalLoginLockTime"),
        )


MAX_ACCOUNTS = 64  # user entries kept from one device


@dataclass(frozen=True)
class UserList:
    """``GET /ISAPI/Security/users``: the device's accounts (names only, never passwords).

    Shape [assumed, from public ISAPI clients]: ``<UserList><User><id/><userName/>
    <userLevel/></User>...</UserList>``.
    """

    names: tuple[str, ...]

    @classmethod
    def decode(cls, data: bytes, *, host: str = "") -> UserList:
        """Decode a ``<UserList>`` document.

        Raises:
            DeviceResponseError: not XML, hostile, or not a UserList.
        """
        root = _root(data, "UserList", what="ISAPI users", host=host)
        names = [
            (el.text or "").strip()[:MAX_FIELD_CHARS]
            for el in root.iter()
            if local(el.tag) == "userName"
        ]
        return cls(tuple(dict.fromkeys(n for n in names if n))[:MAX_ACCOUNTS])


@dataclass(frozen=True)
class UpnpSettings:
    """``GET /ISAPI/System/Network/UPnP``: ``<UPnP><enabled>true</enabled>...``."""

    enabled: bool | None

    @classmethod
    def decode(cls, data: bytes, *, host: str = "") -> UpnpSettings:
        """Decode a ``<UPnP>`` document (raises DeviceResponseError)."""
        root = _root(data, "UPnP", what="ISAPI UPnP", host=host)
        return cls(_bool(children_text(root, ("enabled",)), "enabled"))


@dataclass(frozen=True)
class EzvizSettings:
    """``GET /ISAPI/System/Network/EZVIZ``: Hik-Connect/EZVIZ platform access."""

    enabled: bool | None

    @classmethod
    def decode(cls, data: bytes, *, host: str = "") -> EzvizSettings:
        """Decode an ``<EZVIZ>`` document (raises DeviceResponseError)."""
        root = _root(data, "EZVIZ", what="ISAPI EZVIZ", host=host)
        return cls(_bool(children_text(root, ("enabled",)), "enabled"))


_RESPONSE_STATUS_KEYS = ("statusCode", "statusString", "subStatusCode", "errorMsg")


@dataclass(frozen=True)
class ResponseStatus:
    """An ISAPI ``<ResponseStatus>``: the outcome of a write, or an error.

    ``status_code`` (VENDORS.md §1, [assumed] from the ISAPI guide): 1 OK, 2 Device
    Busy, 3 Device Error, 4 Invalid Operation, 5 Invalid XML Format, 6 Invalid XML
    Content, 7 Reboot Required. ``error_msg`` is the human text newer firmware adds
    (``errorMsg``), "" when absent.
    """

    status_code: int | None
    status_string: str
    sub_status_code: str
    error_msg: str

    @property
    def message(self) -> str:
        """What the device said, for the owner: ``errorMsg``, else status and sub-status."""
        if self.error_msg:
            return self.error_msg
        parts = [self.status_string, f"({self.sub_status_code})" if self.sub_status_code else ""]
        return " ".join(p for p in parts if p) or f"statusCode {self.status_code}"

    @classmethod
    def decode(cls, data: bytes, *, host: str = "") -> ResponseStatus:
        """Decode a ``<ResponseStatus>`` document.

        Raises:
            DeviceResponseError: not XML, hostile, or not a ResponseStatus.
        """
        root = _root(data, "ResponseStatus", what="ISAPI ResponseStatus", host=host)
        v = children_text(root, _RESPONSE_STATUS_KEYS)
        return cls(
            status_code=_int(v, "statusCode"),
            status_string=_text(v, "statusString"),
            sub_status_code=_text(v, "subStatusCode"),
            error_msg=_text(v, "errorMsg"),
        )


@dataclass(frozen=True)
class UpgradeStatus:
    """``GET /ISAPI/System/upgradeStatus``: ``<upgradeStatus><upgrading>true</upgrading>
    <percent>42</percent></upgradeStatus>`` (VENDORS.md §1, S-HIK-UPD-PY)."""

    upgrading: bool | None
    percent: int | None

    @classmethod
    def decode(cls, data: bytes, *, host: str = "") -> UpgradeStatus:
        """Decode an ``<upgradeStatus>`` document (percent kept only when 0..100).

        Raises:
            DeviceResponseError: not XML, hostile, or not an upgradeStatus.
        """
        root = _root(data, "upgradeStatus", what="ISAPI upgradeStatus", host=host)
        v = children_text(root, ("upgrading", "percent"))
        percent = _int(v, "percent")
        return cls(
            upgrading=_bool(v, "upgrading"),
            percent=percent if percent is not None and 0 <= percent <= 100 else None,
        )


DEVICE_INFO = IsapiRequest("GET", "/ISAPI/System/deviceInfo", DeviceInfo)
USER_CHECK = IsapiRequest("GET", "/ISAPI/Security/userCheck", UserCheck)
ILLEGAL_LOGIN_LOCK = IsapiRequest("GET", "/ISAPI/Security/illegalLoginLock", IllegalLoginLock)
USERS = IsapiRequest("GET", "/ISAPI/Security/users", UserList)
UPNP = IsapiRequest("GET", "/ISAPI/System/Network/UPnP", UpnpSettings)
EZVIZ = IsapiRequest("GET", "/ISAPI/System/Network/EZVIZ", EzvizSettings)
UPGRADE_STATUS = IsapiRequest("GET", "/ISAPI/System/upgradeStatus", UpgradeStatus)
#: The firmware upload (``PUT``, raw image; answered with a :class:`ResponseStatus`).
UPDATE_FIRMWARE = IsapiRequest("PUT", "/ISAPI/System/updateFirmware", ResponseStatus)
#: The configuration export: a binary body, no decoder [assumed path: ISAPI guide].
CONFIGURATION_DATA_PATH = "/ISAPI/System/configurationData"


def split_software_version(text: str) -> tuple[str, str]:
    """``"V5.5.0build 170725"`` or ``"V5.5.0 build 170725"`` -> ``("V5.5.0", "build 170725")``.

    Returns ``("", "")`` parts for what is not there.
    """
    match = _SOFTWARE_VERSION.match(text)
    if not match:
        return "", ""
    build = f"build {match.group(2)}" if match.group(2) else ""
    return match.group(1), build


def device_type_from_model(model: str) -> str:
    """``"IPCamera"``, ``"NVR"`` or ``"DVR"`` from a Hikvision model number, or ``""``."""
    for pattern, device_type in _MODEL_CLASS:
        if pattern.match(model):
            return device_type
    return ""


_PROBE_MATCH_KEYS = (
    "Uuid", "Types", "DeviceType", "DeviceDescription", "DeviceSN", "CommandPort", "HttpPort",
    "MAC", "IPv4Address", "SoftwareVersion", "DSPVersion", "BootTime", "Activated",
    "PasswordResetAbility",
)  # fmt: skip


@dataclass(frozen=True)
class SadpProbeMatch:
    """A SADP ``<ProbeMatch>``: what a Hikvision device says about itself on UDP 37020.

    ``model`` is ``DeviceDescription``; ``device_code`` is the numeric ``DeviceType``
    (its meaning is not public, so it is kept raw).
    """

    uuid: str
    types: str
    device_code: str
    model: str
    serial: str
    command_port: int | None
    http_port: int | None
    mac: str
    ipv4: str
    software_version: str
    dsp_version: str
    boot_time: str
    activated: bool | None
    password_reset_ability: bool | None

    @property
    def firmware(self) -> str:
        """Firmware version from ``SoftwareVersion`` (``"V5.5.0"``)."""
        return split_software_version(self.software_version)[0]

    @property
    def build(self) -> str:
        """Build from ``SoftwareVersion`` (``"build 170725"``)."""
        return split_software_version(self.software_version)[1]

    @classmethod
    def decode(cls, data: bytes, *, host: str = "", max_bytes: int = 65_507) -> SadpProbeMatch:
        """Decode one SADP reply datagram.

        Raises:
            DeviceResponseError: not XML, hostile, too large, or not a ProbeMatch.
        """
        if len(data) > max_bytes:
            raise DeviceResponseError(f"SADP reply of {len(data)} bytes", host=host)
        root = _root(data, "ProbeMatch", what="SADP ProbeMatch", host=host)
        v = children_text(root, _PROBE_MATCH_KEYS)
        return cls(
            uuid=_text(v, "Uuid"),
            types=_text(v, "Types"),
            device_code=_text(v, "DeviceType"),
            model=_text(v, "DeviceDescription"),
            serial=_text(v, "DeviceSN"),
            command_port=_port(_int(v, "CommandPort")),
            http_port=_port(_int(v, "HttpPort")),
            mac=_text(v, "MAC"),
            ipv4=_text(v, "IPv4Address"),
            software_version=_text(v, "SoftwareVersion"),
            dsp_version=_text(v, "DSPVersion"),
            boot_time=_text(v, "BootTime"),
            activated=_bool(v, "Activated"),
            password_reset_ability=_bool(v, "PasswordResetAbility"),
        )


def _port(value: int | None) -> int | None:
    return value if value is not None and 0 < value < 65536 else None


def sadp_inquiry(uuid: str) -> bytes:
    """The SADP ``<Probe>`` inquiry datagram carrying ``uuid`` (echoed in replies)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Probe><Uuid>{escape(uuid)}</Uuid><Types>inquiry</Types></Probe>"
    ).encode()
