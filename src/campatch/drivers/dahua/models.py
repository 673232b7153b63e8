"""Dahua wire models: pure decoders from device bytes to typed records. No I/O.

Three formats (VENDORS.md §2):

- CGI replies (``/cgi-bin/magicBox.cgi``, ``configManager.cgi``): plain ``key=value``
  lines, CRLF. Errors come back as a body starting ``Error`` (with status 200 or 400).
- the software version ``2.800.0000016.0.R,build:2020-06-05``: firmware, then the
  build date.
- DHIP discovery replies on UDP 37810: a 32-byte header (``20 00 00 00 "DHIP"``,
  session and request id, the JSON length twice as 64-bit little-endian) and a JSON
  ``client.notifyDevInfo`` message with ``params.deviceInfo``.

Vendor key names are renamed to ours only here, in the ``decode`` methods.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

from campatch.errors import DeviceResponseError
from campatch.model import DeviceClass, normalize_mac

DHIP_MAGIC = b"DHIP"
DHIP_HEADER_BYTES = 32
#: Largest DHIP JSON body accepted; real replies are about 800 bytes.
DHIP_MAX_JSON_BYTES = 16_384
#: Largest CGI key=value body decoded (lines beyond it are not read).
CGI_MAX_LINES = 512

#: DHIP ``Vendor`` values that name no brand: Dahua's white-label firmware says these.
_GENERIC_VENDORS = frozenset({"", "general", "private", "oem"})

_BUILD = re.compile(r"build\s*:\s*(\d{4}-\d{2}-\d{2})", re.IGNORECASE)
_CLASS_PREFIXES: tuple[tuple[str, DeviceClass], ...] = (
    ("IPC", DeviceClass.CAMERA),
    ("SD", DeviceClass.CAMERA),  # PTZ speed domes
    ("HAC", DeviceClass.CAMERA),
    ("NVR", DeviceClass.NVR),
    ("HCVR", DeviceClass.DVR),
    ("XVR", DeviceClass.DVR),
    ("DVR", DeviceClass.DVR),
)


def is_error_body(text: str) -> bool:
    """True for Dahua's error convention (``Error\\r\\n<reason>``) and login refusals.

    python-amcrest treats a body mentioning "invalid" or "error" as a refused login.
    """
    low = text.strip().lower()
    return low.startswith("error") or "invalid" in low


def parse_key_values(text: str, *, what: str, host: str = "") -> dict[str, str]:
    """``key=value`` lines -> dict (first occurrence of a key wins).

    Args:
        text: the CGI body.
        what: which endpoint, for the error message.
        host: the device.

    Raises:
        DeviceResponseError: the body is a Dahua error, or holds no ``key=value`` line.

    Returns:
        The pairs, keys and values stripped.
    """
    if is_error_body(text):
        raise DeviceResponseError(f"{what}: device answered an error", host=host)
    return _pairs(text, what=what, host=host)


def _pairs(text: str, *, what: str, host: str) -> dict[str, str]:
    """:func:`parse_key_values` without its error-body check."""
    pairs: dict[str, str] = {}
    for line in text.splitlines()[:CGI_MAX_LINES]:
        key, sep, value = line.partition("=")
        if sep and key.strip() and key.isprintable():
            pairs.setdefault(key.strip(), value.strip())
    if not pairs:
        raise DeviceResponseError(f"{what}: no key=value lines in the reply", host=host)
    return pairs


def class_prefix(kind: str) -> str:
    """The Dahua class a model name starts with: ``"DHI-NVR5216"`` -> ``"NVR"`` ("" if none)."""
    name = kind.strip().upper()
    for prefix in ("DHI-", "DH-"):
        name = name.removeprefix(prefix)
    return next((p for p, _ in _CLASS_PREFIXES if name.startswith(p)), "")


def device_class_of(kind: str) -> DeviceClass:
    """``"IPC-HDW5831R-ZE"`` / ``"DHI-NVR5216"`` / ``"XVR"`` -> camera, NVR, DVR or unknown."""
    prefix = class_prefix(kind)
    return next((c for p, c in _CLASS_PREFIXES if p == prefix), DeviceClass.UNKNOWN)


def brand_of(vendor: str) -> str | None:
    """The brand a Dahua ``Vendor`` value names, or None for white-label values."""
    value = vendor.strip()
    return None if value.lower() in _GENERIC_VENDORS else value


@dataclass(frozen=True)
class SystemInfo:
    """``magicBox.cgi?action=getSystemInfo``."""

    device_type: str
    hardware: str
    serial: str
    processor: str = ""
    update_serial: str = ""

    @classmethod
    def decode(cls, text: str, host: str = "") -> Self:
        """Decode the reply body.

        Raises:
            DeviceResponseError: an error body, or no ``deviceType``/``serialNumber``.
        """
        kv = parse_key_values(text, what="getSystemInfo", host=host)
        if not kv.get("deviceType") and not kv.get("serialNumber"):
            raise DeviceResponseError("getSystemInfo: no deviceType or serialNumber", host=host)
        return cls(
            device_type=kv.get("deviceType", ""),
            hardware=kv.get("hardwareVersion", ""),
            serial=kv.get("serialNumber", ""),
            processor=kv.get("processor", ""),
            update_serial=kv.get("updateSerial", ""),
        )


@dataclass(frozen=True)
class SoftwareVersion:
    """``getSoftwareVersion``: ``version=2.800.0000016.0.R,build:2020-06-05``."""

    firmware: str
    build: str

    @classmethod
    def parse(cls, value: str) -> Self:
        """Split a version string into firmware and build date (``""`` when absent)."""
        firmware, _, rest = value.partition(",")
        match = _BUILD.search(rest)
        return cls(firmware=firmware.strip(), build=match.group(1) if match else "")

    @classmethod
    def decode(cls, text: str, host: str = "") -> Self:
        """Decode the reply body.

        Raises:
            DeviceResponseError: an error body or no ``version`` key.
        """
        kv = parse_key_values(text, what="getSoftwareVersion", host=host)
        if not kv.get("version"):
            raise DeviceResponseError("getSoftwareVersion: no version", host=host)
        return cls.parse(kv["version"])


def decode_single(text: str, key: str, *, what: str, host: str = "") -> str:
    """The value of ``key`` in a one-line reply (``vendor=Dahua``, ``name=...``).

    Raises:
        DeviceResponseError: an error body or the key is missing or empty.
    """
    value = parse_key_values(text, what=what, host=host).get(key, "")
    if not value:
        raise DeviceResponseError(f"{what}: no {key}", host=host)
    return value


def decode_mac(text: str, host: str = "") -> str:
    """The default interface's MAC from ``configManager.cgi?...&name=Network``.

    Raises:
        DeviceResponseError: an error body or no usable ``PhysicalAddress``.
    """
    kv = parse_key_values(text, what="getConfig Network", host=host)
    default = kv.get("table.Network.DefaultInterface", "eth0")
    candidates = [kv.get(f"table.Network.{default}.PhysicalAddress", "")]
    candidates += [v for k, v in kv.items() if k.endswith(".PhysicalAddress")]
    for value in candidates:
        if mac := normalize_mac(value):
            return mac
    raise DeviceResponseError("getConfig Network: no usable PhysicalAddress", host=host)


@dataclass(frozen=True)
class DhipDeviceInfo:
    """A DHIP ``client.notifyDevInfo`` reply, in our names.

    Args:
        model: ``DeviceType``.
        device_class: ``DeviceClass`` as the device says it ("IPC", "NVR", "VTO" ...).
        serial: ``SerialNo``.
        firmware: ``Version``.
        vendor: ``Vendor`` (the brand on OEM firmware: "Amcrest", "Lorex"; or "General").
        name: ``MachineName``.
        mac: the top-level ``mac``, normalised ("" when absent or bogus).
        address: ``IPv4Address.IPAddress`` as claimed (never used to contact anything).
        http_port: ``HttpPort`` (0 when absent).
        sdk_port: ``Port``, the private protocol port (0 when absent).
    """

    model: str = ""
    device_class: str = ""
    serial: str = ""
    firmware: str = ""
    vendor: str = ""
    name: str = ""
    mac: str = ""
    address: str = ""
    http_port: int = 0
    sdk_port: int = 0

    @classmethod
    def decode(cls, datagram: bytes, host: str = "") -> Self:
        """Decode one DHIP datagram.

        Raises:
            DeviceResponseError: no DHIP header, an oversized or malformed JSON body,
                another method, or a reply with neither model nor serial.
        """
        message = _dhip_json(datagram, host)
        if message.get("method") != "client.notifyDevInfo":
            raise DeviceResponseError("DHIP: not a client.notifyDevInfo reply", host=host)
        params = message.get("params")
        info = params.get("deviceInfo") if isinstance(params, dict) else None
        if not isinstance(info, dict):
            raise DeviceResponseError("DHIP: reply without params.deviceInfo", host=host)
        ipv4 = info.get("IPv4Address")
        record = cls(
            model=_text(info, "DeviceType"),
            device_class=_text(info, "DeviceClass"),
            serial=_text(info, "SerialNo"),
            firmware=_text(info, "Version"),
            vendor=_text(info, "Vendor"),
            name=_text(info, "MachineName"),
            mac=normalize_mac(_text(message, "mac")) or "",
            address=_text(ipv4, "IPAddress") if isinstance(ipv4, dict) else "",
            http_port=_port(info, "HttpPort"),
            sdk_port=_port(info, "Port"),
        )
        if not record.model and not record.serial:
            raise DeviceResponseError("DHIP: reply names neither model nor serial", host=host)
        return record


def dhip_frame(message: Mapping[str, Any], *, pretty: bool = False) -> bytes:
    """A DHIP datagram: the 32-byte header and ``message`` as JSON.

    Args:
        message: the JSON message.
        pretty: format like Dahua firmware does (``"key" : value``), for the simulator.
    """
    separators = (", ", " : ") if pretty else (",", ":")
    body = json.dumps(message, separators=separators).encode()
    size = len(body)
    header = struct.pack("<I", DHIP_HEADER_BYTES) + DHIP_MAGIC + bytes(8)
    return header + struct.pack("<QQ", size, size) + body


def dhip_body(datagram: bytes) -> bytes | None:
    """The JSON bytes of a DHIP datagram, or None if it has no DHIP header."""
    if len(datagram) < DHIP_HEADER_BYTES or datagram[4:8] != DHIP_MAGIC:
        return None
    (header_len,) = struct.unpack_from("<I", datagram, 0)
    if not DHIP_HEADER_BYTES <= header_len <= len(datagram):
        header_len = DHIP_HEADER_BYTES
    (declared,) = struct.unpack_from("<Q", datagram, 16)
    body = datagram[header_len:]
    if 0 < declared < len(body):
        body = body[:declared]
    return body.rstrip(b"\x00\r\n ")


def _dhip_json(datagram: bytes, host: str) -> dict[str, Any]:
    body = dhip_body(datagram)
    if body is None:
        raise DeviceResponseError("DHIP: no DHIP header", host=host)
    if len(body) > DHIP_MAX_JSON_BYTES:
        raise DeviceResponseError(
            f"DHIP: {len(body)} bytes of JSON exceeds {DHIP_MAX_JSON_BYTES}", host=host
        )
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise DeviceResponseError(
            f"DHIP: malformed JSON ({type(err).__name__})", host=host
        ) from err
    if not isinstance(message, dict):
        raise DeviceResponseError("DHIP: JSON is not an object", host=host)
    return message


def _text(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    if isinstance(value, str):
        return value.strip()[:256]
    return ""


def _port(mapping: Mapping[str, Any], key: str) -> int:
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if 0 < value < 65536 else 0


MAX_ACCOUNTS = 64  # accounts kept from one device


def decode_user_names(text: str, host: str = "") -> tuple[str, ...]:
    """``userManager.cgi?action=getUserInfoAll`` -> the account names.

    The reply is ``users[0].Name=admin`` lines (a public NOC script reads it that way).

    Raises:
        DeviceResponseError: a Dahua error body, or no ``key=value`` lines.
    """
    pairs = parse_key_values(text, what="getUserInfoAll", host=host)
    names = [
        v[:64] for k, v in pairs.items() if k.startswith("users[") and k.endswith("].Name") and v
    ]
    return tuple(dict.fromkeys(names))[:MAX_ACCOUNTS]


def decode_enable(table: str) -> Callable[[str, str], bool]:
    """A decoder for ``configManager.cgi?action=getConfig&name=<table>``'s ``Enable`` key.

    ``table.T2UServer.Enable`` (P2P) appears in a public client; ``table.UPnP.Enable``
    follows the same layout [assumed].
    """

    def decode(text: str, host: str = "") -> bool:
        pairs = parse_key_values(text, what=f"getConfig {table}", host=host)
        value = pairs.get(f"table.{table}.Enable", "").strip().lower()
        if value not in ("true", "false"):
            raise DeviceResponseError(f"getConfig {table}: no Enable key", host=host)
        return value == "true"

    return decode


#: ``getState`` words that mean an upgrade is under way (VENDORS.md §2 lists the words).
UPGRADE_BUSY_STATES = frozenset({"downloading", "downloaded", "upgrading"})
#: ``getState`` words that mean nothing is being written. ``Preparing`` is what an idle
#: device says [assumed: no idle capture is public; the simulator answers it too].
UPGRADE_IDLE_STATES = frozenset(
    {
        "preparing",
        "downloadfailed",
        "invalid",
        "failed",
        "succeeded",
        "cancelled",
        "notenoughmemory",
    }
)


@dataclass(frozen=True)
class UpgradeState:
    """``upgrader.cgi?action=getState``: ``state=<word>`` and ``progress=<n>``.

    Keys are matched without regard to case (a Dahua test script reads ``State=`` and
    ``Progress=``).
    """

    state: str
    progress: int | None = None

    @property
    def upgrading(self) -> bool | None:
        """True while an upgrade is under way, False when idle, None for an unknown word."""
        word = self.state.casefold()
        if word in UPGRADE_BUSY_STATES:
            return True
        return False if word in UPGRADE_IDLE_STATES else None

    @classmethod
    def decode(cls, text: str, host: str = "") -> Self:
        """Decode the reply body.

        Raises:
            DeviceResponseError: an error body or no ``state`` key.
        """
        # Not parse_key_values: its "invalid anywhere" rule would refuse state=Invalid.
        if text.lstrip().lower().startswith("error"):
            raise DeviceResponseError("getState: device answered an error", host=host)
        pairs = _pairs(text, what="getState", host=host)
        kv: dict[str, str] = {}
        for key, value in pairs.items():
            kv.setdefault(key.lower(), value)
        state = kv.get("state", "")
        if not state:
            raise DeviceResponseError("getState: no state", host=host)
        raw = kv.get("progress", "")
        progress = min(100, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else None
        return cls(state=state[:64], progress=progress)
