"""Simulated Dahua-firmware camera, NVR or DVR (``personality: dahua``), also OEM brands.

Usage in a fleet file::

    - name: door-cam
      personality: dahua
      address: 127.20.0.22
      brand: Amcrest                 # getVendor / DHIP Vendor; "" -> "Dahua"
      model: IP8M-2496EB             # getSystemInfo deviceType, getDeviceType, DHIP DeviceType
      device_type: IPC-HDW2831T      # the Dahua base model: updateSerial; its prefix gives the class
      firmware: 2.800.0000000.25.R
      build: "2021-07-19"
      serial: AMC0123456789ABCD
      mac: 9c:8e:cd:20:00:22
      users: {admin: Door-Amcrest-1}

What it speaks. Facts come from VENDORS.md §2/§10 and data/fingerprints.md unless
tagged; [assumed] marks what no public source confirmed.

- HTTP 80 with **no** ``Server`` header (the nmap "Dahua webcam httpd" and "Amcrest"
  match lines show a header set without one).
- CGI API, plain ``key=value`` lines with CRLF:
  ``magicBox.cgi?action=getSystemInfo`` (appAutoStart, deviceType, hardwareVersion,
  processor, serialNumber, updateSerial), ``getSoftwareVersion``
  (``version=<firmware>,build:<build>``), ``getDeviceType`` (``type=``), ``getSerialNo``
  (``sn=``), ``getVendor`` (``vendor=``), ``getMachineName`` (``name=``),
  ``getHardwareVersion`` (``version=``), ``getDeviceClass`` (``class=NVR`` — format from
  a public client verified against an NVR) and
  ``configManager.cgi?action=getConfig&name=Network`` (``table.Network.eth0.PhysicalAddress``
  [assumed key layout, VENDORS.md]), ``configManager.cgi?action=getConfig&name=UPnP``
  / ``name=T2UServer`` (``table.<name>.Enable``, from the options ``upnp_enabled`` /
  ``p2p_enabled``; T2UServer seen in a public client, UPnP [assumed]) and
  ``userManager.cgi?action=getUserInfoAll`` (``users[i].Name`` lines, one per
  ``spec.users`` entry). An unknown action or config name answers 400
  ``Error\\r\\nBad Request!\\r\\n`` (Dahua's error convention).
- ``GET /cgi-bin/snapshot.cgi?channel=1`` (channel 1 or none; python-amcrest, the
  HTTP API's "Get a Snapshot"): a small JPEG (``image/jpeg``, see
  :mod:`campatch.sim.snapshot`), behind the usual login unless the option
  ``snapshot_auth`` is false (then anyone gets it); another channel is 400.
- Auth: HTTP Digest, realm ``Login to <serial>`` with ``qop="auth"`` and an ``opaque``
  (public clients' captured challenges); Basic is refused unless option
  ``legacy_basic`` (then Basic only, as on older firmware). A refused login is 401.
- Web lockout per client address (default 5 failures / 1800 s; options
  ``lockout_max_failures`` / ``lockout_seconds``; VENDORS.md: "around half an hour").
  While locked even the right password gets 401 and a fresh challenge; the body says
  ``Error\\r\\nUser is locked!\\r\\n`` [assumed: what the CGI says when locked is not
  public; option ``lock_message: false`` makes the lock silent, a bare 401]. RTSP
  logins count towards the web lockout [assumed].
- ONVIF on the web port with its own counter (``onvif_lockout``: SAFETY's "separate
  web and ONVIF counters"); option ``shared_lockout: true`` makes ``onvif_lockout``
  the web ``lockout`` (the combined variant of SAFETY D-01). WS-Discovery when
  ``spec.onvif`` and ``spec.ws_discovery``.
- RTSP 554: ``Server: Rtsp Server/3.0``, Digest realm ``Login to <serial>``
  (VENDORS.md §10; nmap's Lorex line has the same realm).
- TCP 37777, the private SDK protocol: the port accepts, reads up to 64 bytes and
  closes without answering (its binary replies were not sourced).
- DHIP on UDP 37810, unicast and multicast group 239.255.255.251 (option ``dhip``,
  default true). Confirmed in public clients and captures (rroller/dahua discovery
  tests, Rapid7's Lorex discovery script, a DHIP amplification advisory): the
  request is a 32-byte header (``20 00 00 00 "DHIP"``, 8 zero bytes of session and
  request id, the JSON length as little-endian 64-bit at offsets 16 and 24) plus
  ``{"method":"DHDiscover.search","params":{"mac":"","uni":1}}``; the reply uses the
  same header and ``{"mac", "method":"client.notifyDevInfo", "params":{"deviceInfo":
  {AlarmInputChannels, AlarmOutputChannels, DeviceClass, DeviceType, HttpPort,
  IPv4Address{DefaultGateway, DhcpEnable, IPAddress, SubnetMask}, MachineName,
  Manufacturer "Private", Port 37777, RemoteVideoInputChannels, SerialNo, Vendor,
  Version, VideoInputChannels, VideoOutputChannels}}}``, spaced ``"key" : value`` as
  the firmware prints it. ``Version`` carries no build. No capture shows a
  ``HardwareVersion`` key, so it is not sent. [assumed]: a non-empty ``params.mac``
  is answered only by that MAC; only well-formed DHIP searches are answered (real
  firmware answers almost any byte, which is why it is an amplifier).
- telnet 23 when ``spec.telnet``; SSDP when ``spec.ssdp`` (device type
  ``urn:schemas-upnp-org:device:Basic:1`` [assumed, VENDORS.md §9]).
- Firmware upgrade (VENDORS.md §2, HTTP_API_V3.26 §4.12 via S-AMCREST-GO), behind the
  same login and lockout as the rest of the CGI API; the image goes to ``self.flash``
  (:mod:`campatch.sim.flash`):

  - ``POST /cgi-bin/upgrader.cgi?action=uploadFirmware``, ``multipart/form-data``: the
    first part with a ``filename`` is the image, whatever its field name [assumed]. An
    accepted image answers ``OK``; a refused one ``Error\r\n<word>\r\n`` with HTTP 200
    (VENDORS.md: "Error" plus a reason, 200 or 400), the word being the getState word
    below, or ``Upgrading`` when an upgrade is already running [assumed: Dahua's
    refusal texts are not public]. A body without a file part is 400 Bad Request.
  - ``GET /cgi-bin/upgrader.cgi?action=getState`` -> ``state=<word>\r\nprogress=<n>``:
    ``Upgrading`` with the flash percent while writing; after a refusal the refusal's
    word (``Invalid`` for a wrong-model, wrong-region, too-old or corrupt image or not an
    image at all, ``NotEnoughMemory`` for no space) until an image is accepted;
    otherwise ``Preparing`` with 0 [assumed: what an idle device says is not public].
  - ``upgrader.cgi?action=cancel`` is counted (``cancel_requests``; campatch must never
    send it) and answers ``OK`` when idle, ``Error`` while writing [assumed].
  - fault ``http_status`` makes every ``upgrader.cgi`` action answer that status.
  - ``GET /cgi-bin/Config.backup?action=All`` [assumed path, not in VENDORS.md]: the
    configuration as ``table.*`` lines (Network, UPnP, T2UServer, users with masked
    passwords) as an ``application/octet-stream`` attachment; option
    ``config_backup: false`` (firmware without it) answers 400 Bad Request.

Options: ``legacy_basic``, ``lockout_max_failures``, ``lockout_seconds``,
``shared_lockout``, ``lock_message``, ``dhip``, ``processor``, ``ssdp_server``,
``config_backup``, ``snapshot_auth`` (default true; false: the snapshot needs no
login), the flash options and faults of :mod:`campatch.sim.flash`, the fault
``snapshot_fault`` (see :mod:`campatch.sim.snapshot`) and the fault
``cgi_garbage: true`` (getSystemInfo answers 200 with binary junk).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import struct
import time
from collections.abc import Callable
from typing import Any

from campatch.sim.auth import AuthResult, Clock, DigestRealm, Lockout
from campatch.sim.camera import CameraDevice
from campatch.sim.device import DeviceSpec, TcpService, UdpService
from campatch.sim.flash import Rejection
from campatch.sim.http import HttpRequest, HttpResponse, RawWriter
from campatch.sim.snapshot import answers_anyone, snapshot_response

DHIP_PORT = 37810
DHIP_GROUP = "239.255.255.251"
SDK_PORT = 37777
SDK_IDLE_S = 5.0  # seconds the SDK port waits for a client's first bytes
MAX_DHIP_REQUEST = 4_096  # bytes: a search is ~90 bytes
UPNP_DEVICE_TYPE = "urn:schemas-upnp-org:device:Basic:1"
BAD_REQUEST = "Error\r\nBad Request!\r\n"
LOCKED_BODY = "Error\r\nUser is locked!\r\n"  # [assumed], see the module docstring
UPGRADER = "/cgi-bin/upgrader.cgi"
CONFIG_BACKUP = "/cgi-bin/Config.backup"
SNAPSHOT = "/cgi-bin/snapshot.cgi"
IDLE_STATE = "Preparing"  # [assumed], see the module docstring
#: getState word (and refusal reason) for each way the flash refuses an image [assumed].
REFUSAL_STATES = {
    Rejection.NOT_AN_IMAGE: "Invalid",
    Rejection.WRONG_MODEL: "Invalid",
    Rejection.WRONG_REGION: "Invalid",
    Rejection.BELOW_MINIMUM: "Invalid",
    Rejection.INCOMPLETE: "Invalid",
    Rejection.NO_SPACE: "NotEnoughMemory",
    Rejection.BUSY: "Upgrading",
}
_CLASS_PREFIXES = ("IPC", "SD", "HAC", "NVR", "HCVR", "XVR", "DVR")
_DEFAULTS = {
    "model": "IPC-HDW5831R-ZE", "hardware": "1.00", "firmware": "2.800.0000016.0.R",
    "build": "2020-06-05",
}  # fmt: skip

CgiRoute = Callable[[HttpRequest], HttpResponse]


class DahuaRealm(DigestRealm):
    """Digest checking with the challenge spelled as Dahua firmware does (with ``opaque``)."""

    def challenge(self, *, qop: bool = True) -> str:
        """``Digest realm="Login to <serial>", qop="auth", nonce=..., opaque=...``."""
        nonce = str(secrets.randbelow(10**10))
        self._nonces.add(nonce)
        if len(self._nonces) > 4096:
            self._nonces.pop()
        return (
            f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", '
            f'opaque="{secrets.token_hex(20)}"'
        )


def _fill_defaults(spec: DeviceSpec) -> None:
    for key, value in _DEFAULTS.items():
        if not getattr(spec, key):
            setattr(spec, key, value)
    if not spec.serial:
        spec.serial = "5K" + "".join(f"{int(p) % 256:02X}" for p in spec.address.split(".")) + "PAZ"
    if not spec.mac:
        spec.mac = "14:a7:8b:" + ":".join(
            f"{int(p) % 256:02x}" for p in spec.address.split(".")[1:]
        )


def device_class(spec: DeviceSpec) -> str:
    """The Dahua class ("IPC", "NVR", "XVR" ...) from the base model, else the model."""
    for name in (spec.device_type, spec.model):
        upper = name.upper().removeprefix("DHI-").removeprefix("DH-")
        found = next((p for p in _CLASS_PREFIXES if upper.startswith(p)), None)
        if found:
            return found
    return "IPC"


def _kv(lines: list[tuple[str, str]]) -> HttpResponse:
    body = "".join(f"{k}={v}\r\n" for k, v in lines)
    return HttpResponse.text(body)


class DahuaDevice(CameraDevice):
    """A Dahua-firmware camera/NVR/DVR (see the module docstring for what it speaks).

    Attributes:
        lockout: the web (CGI) and RTSP login lock per client address.
        onvif_lockout: the ONVIF lock; the same object as ``lockout`` when the option
            ``shared_lockout`` is set.
        realm: the web server's Digest realm and user table.
    """

    personality = "dahua"
    api_prefix = "/cgi-bin/"
    rtsp_server = "Rtsp Server/3.0"
    ssdp_server = "Linux/3.10 UPnP/1.0 Dahua/1.0"
    upnp_device_type = UPNP_DEVICE_TYPE

    def __init__(self, spec: DeviceSpec, clock: Clock = time.monotonic) -> None:
        super().__init__(spec, clock)
        self.legacy_basic = bool(spec.options.get("legacy_basic", False))
        self.cancel_requests = 0  # upgrader.cgi?action=cancel calls (campatch sends none)
        self._refused_state: str | None = None  # getState word after a refused upload
        self.realm = DahuaRealm(
            f"Login to {spec.serial}", spec.users, allow_basic=self.legacy_basic
        )
        self._magicbox: dict[str, CgiRoute] = {
            "getSystemInfo": self._system_info,
            "getSoftwareVersion": lambda r: _kv([("version", self._version())]),
            "getDeviceType": lambda r: _kv([("type", self.spec.model)]),
            "getSerialNo": lambda r: _kv([("sn", self.spec.serial)]),
            "getVendor": lambda r: _kv([("vendor", self.spec.brand or "Dahua")]),
            "getMachineName": lambda r: _kv([("name", self._machine_name())]),
            "getHardwareVersion": lambda r: _kv([("version", self.spec.hardware)]),
            "getDeviceClass": lambda r: _kv([("class", device_class(self.spec))]),
        }

    def fill_defaults(self) -> None:
        _fill_defaults(self.spec)

    def new_onvif_lockout(self) -> Lockout:
        return self.lockout if self.spec.options.get("shared_lockout") else self.new_lockout()

    def is_upload(self, request: HttpRequest) -> bool:
        """``POST /cgi-bin/upgrader.cgi?action=uploadFirmware`` (and the ONVIF upload URI)."""
        upload = (
            request.method == "POST"
            and request.path == UPGRADER
            and request.query.get("action") == "uploadFirmware"
        )
        return upload or super().is_upload(request)

    def _version(self) -> str:
        return f"{self.spec.firmware},build:{self.spec.build}"

    def _machine_name(self) -> str:
        return self.spec.name or self.spec.serial

    # --- services -----------------------------------------------------------------------

    def vendor_tcp_services(self) -> list[TcpService]:
        """The SDK port 37777."""
        return [TcpService(SDK_PORT, self._sdk)]

    def vendor_udp_services(self) -> list[UdpService]:
        """DHIP (unless the option ``dhip`` is off)."""
        if not self.spec.options.get("dhip", True):
            return []
        return [UdpService(DHIP_PORT, self._dhip, multicast_group=DHIP_GROUP)]

    # --- HTTP ---------------------------------------------------------------------------

    def index_page(self) -> HttpResponse:
        return _index_page()

    async def api(self, request: HttpRequest) -> HttpResponse | RawWriter:
        if request.path == SNAPSHOT and answers_anyone(self.spec):
            return self._snapshot(request)
        denied = self._authenticate(request)
        return denied or self._cgi(request)

    def _authenticate(self, request: HttpRequest) -> HttpResponse | None:
        """None when the request may pass, else the 401 to send."""
        result, _user = self.login(request)
        if result is AuthResult.OK:
            return None
        if result is None:  # locked before this request: quiet unless it tried a password
            return self._unauthorized(locked=bool(request.header("Authorization")))
        return self._unauthorized(locked=self.lockout.is_locked(request.peer))

    def _unauthorized(self, *, locked: bool) -> HttpResponse:
        challenge = self.realm.basic_challenge() if self.legacy_basic else self.realm.challenge()
        body = "<html><body>401 Unauthorized</body></html>"
        content_type = "text/html"
        if locked and self.spec.options.get("lock_message", True):
            body, content_type = LOCKED_BODY, "text/plain"
        return HttpResponse.text(body, 401, content_type, headers=[("WWW-Authenticate", challenge)])

    def _cgi(self, request: HttpRequest) -> HttpResponse:
        query = request.query
        if request.path == "/cgi-bin/magicBox.cgi":
            route = self._magicbox.get(query.get("action", ""))
            return route(request) if route else HttpResponse.text(BAD_REQUEST, 400)
        config = (query.get("action"), query.get("name"))
        if request.path == "/cgi-bin/configManager.cgi" and config == ("getConfig", "Network"):
            return self._network()
        if request.path == "/cgi-bin/configManager.cgi" and config[0] == "getConfig":
            return self._switch(str(config[1]))
        if request.path == "/cgi-bin/userManager.cgi" and config[0] == "getUserInfoAll":
            return self._users()
        if request.path == UPGRADER:
            return self._upgrader(request)
        if request.path == CONFIG_BACKUP and config[0] == "All" and request.method == "GET":
            return self._config_backup()
        if request.path == SNAPSHOT and request.method == "GET":
            return self._snapshot(request)
        return HttpResponse.text(BAD_REQUEST, 400)

    def _snapshot(self, request: HttpRequest) -> HttpResponse:
        if request.query.get("channel", "1") != "1":
            return HttpResponse.text(BAD_REQUEST, 400)
        return snapshot_response(self.spec)

    # --- firmware upgrade ---------------------------------------------------------------

    def _upgrader(self, request: HttpRequest) -> HttpResponse:
        if (status := self.flash.faults.http_status) is not None:
            return HttpResponse.text(
                f"<html><body>{status} Error</body></html>", status, "text/html"
            )
        action = (request.method, request.query.get("action", ""))
        if action == ("POST", "uploadFirmware"):
            return self._upload(request)
        if action == ("GET", "getState"):
            return self._upgrade_state()
        if action == ("GET", "cancel"):
            self.cancel_requests += 1
            upgrading, _percent = self.flash.status()
            return HttpResponse.text("Error\r\nUpgrading\r\n" if upgrading else "OK\r\n")
        return HttpResponse.text(BAD_REQUEST, 400)

    def _upload(self, request: HttpRequest) -> HttpResponse:
        image = multipart_file(request)
        if image is None:
            return HttpResponse.text(BAD_REQUEST, 400)
        rejection = self.flash.accept(image)
        if rejection is None:
            self._refused_state = None
            return HttpResponse.text("OK\r\n")
        word = REFUSAL_STATES[rejection]
        if rejection is not Rejection.BUSY:  # a busy refusal leaves the running upgrade's state
            self._refused_state = word
        return HttpResponse.text(f"Error\r\n{word}\r\n")

    def _upgrade_state(self) -> HttpResponse:
        upgrading, percent = self.flash.status()
        word = "Upgrading" if upgrading else self._refused_state or IDLE_STATE
        return _kv([("state", word), ("progress", str(percent if upgrading else 0))])

    def _config_backup(self) -> HttpResponse:
        if not self.spec.options.get("config_backup", True):
            return HttpResponse.text(BAD_REQUEST, 400)
        tables = [self._network(), self._switch("UPnP"), self._switch("T2UServer"), self._users()]
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Disposition", 'attachment; filename="config.backup"'),
        ]
        return HttpResponse(200, b"".join(t.body for t in tables), headers)

    def _switch(self, table: str) -> HttpResponse:
        option = {"UPnP": "upnp_enabled", "T2UServer": "p2p_enabled"}.get(table)
        if option is None:
            return HttpResponse.text(BAD_REQUEST, 400)
        enabled = "true" if self.spec.options.get(option, False) else "false"
        return _kv([(f"table.{table}.Enable", enabled)])

    def _users(self) -> HttpResponse:
        lines: list[tuple[str, str]] = []
        for i, name in enumerate(self.spec.users):
            group = "admin" if i == 0 else "user"
            lines += [(f"users[{i}].Group", group), (f"users[{i}].Id", str(i + 1))]
            lines += [(f"users[{i}].Name", name), (f"users[{i}].Password", "******")]
        return _kv(lines)

    def _system_info(self, request: HttpRequest) -> HttpResponse:
        if self.spec.options.get("cgi_garbage"):
            return HttpResponse(200, bytes(range(256)) * 4, [("Content-Type", "text/plain")])
        s = self.spec
        return _kv(
            [
                ("appAutoStart", "true"),
                ("deviceType", s.model),
                ("hardwareVersion", s.hardware),
                ("processor", str(s.options.get("processor", "S3LM"))),
                ("serialNumber", s.serial),
                ("updateSerial", s.device_type or s.model),
            ]
        )

    def _network(self) -> HttpResponse:
        s = self.spec
        prefix = "table.Network"
        return _kv(
            [
                (f"{prefix}.DefaultInterface", "eth0"),
                (f"{prefix}.Domain", "dahua"),
                (f"{prefix}.Hostname", self._machine_name()),
                (f"{prefix}.eth0.DhcpEnable", "false"),
                (f"{prefix}.eth0.IPAddress", s.address),
                (f"{prefix}.eth0.MTU", "1500"),
                (f"{prefix}.eth0.PhysicalAddress", s.mac),
                (f"{prefix}.eth0.SubnetMask", "255.0.0.0"),
            ]
        )

    # --- SDK port and DHIP --------------------------------------------------------------

    async def _sdk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await asyncio.wait_for(reader.read(64), SDK_IDLE_S)
            self.log(f"sdk {len(first)} bytes")
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    def _dhip(self, data: bytes, client: tuple[str, int]) -> list[bytes]:
        message = _dhip_message(data)
        if message is None or message.get("method") != "DHDiscover.search":
            return []
        params = message.get("params")
        wanted = params.get("mac", "") if isinstance(params, dict) else ""
        if wanted and str(wanted).lower() != self.spec.mac.lower():
            return []
        self.log(f"dhip search from {client[0]}")
        return [_dhip_frame(self._dev_info())]

    def _dev_info(self) -> dict[str, Any]:
        s = self.spec
        info = {
            "AlarmInputChannels": 0,
            "AlarmOutputChannels": 0,
            "DeviceClass": device_class(s),
            "DeviceType": s.model,
            "HttpPort": 80,
            "IPv4Address": {
                "DefaultGateway": "127.0.0.1",
                "DhcpEnable": False,
                "IPAddress": s.address,
                "SubnetMask": "255.0.0.0",
            },
            "MachineName": self._machine_name(),
            "Manufacturer": "Private",
            "Port": SDK_PORT,
            "RemoteVideoInputChannels": 16 if device_class(s) != "IPC" else 0,
            "SerialNo": s.serial,
            "Vendor": s.brand or "Dahua",
            "Version": s.firmware,
            "VideoInputChannels": 1 if device_class(s) == "IPC" else 0,
            "VideoOutputChannels": 16,
        }
        return {"mac": s.mac, "method": "client.notifyDevInfo", "params": {"deviceInfo": info}}


def _dhip_message(data: bytes) -> dict[str, Any] | None:
    if not 32 < len(data) <= MAX_DHIP_REQUEST or data[:8] != b"\x20\x00\x00\x00DHIP":
        return None
    try:
        message = json.loads(data[32:].rstrip(b"\x00\r\n ").decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


def _dhip_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(", ", " : ")).encode()
    header = b"\x20\x00\x00\x00DHIP" + bytes(8) + struct.pack("<QQ", len(body), len(body))
    return header + body


def multipart_file(request: HttpRequest) -> bytes | None:
    """The first part with a ``filename`` in a ``multipart/form-data`` body, else None."""
    kind, _, params = request.header("Content-Type").partition(";")
    boundary = _header_param(params, "boundary")
    if kind.strip().lower() != "multipart/form-data" or not boundary:
        return None
    body, delimiter = request.body, b"--" + boundary.encode()
    start = body.find(delimiter)
    while start >= 0 and body[start + len(delimiter) : start + len(delimiter) + 2] != b"--":
        head_end = body.find(b"\r\n\r\n", start)
        if head_end < 0:
            return None
        end = body.find(b"\r\n" + delimiter, head_end)
        if end < 0:
            return None
        if b"filename=" in body[start:head_end].lower():
            return body[head_end + 4 : end]
        start = end + 2
    return None


def _header_param(params: str, wanted: str) -> str:
    """``boundary`` from ``; boundary="x"; charset=...`` ("" when absent)."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == wanted:
            return value.strip().strip('"')
    return ""


def _index_page() -> HttpResponse:
    page = (
        "\ufeff<!DOCTYPE html>\r\n<html>\r\n<head>\r\n<title>WEB SERVICE</title>\r\n"
        "</head>\r\n<body></body>\r\n</html>\r\n"
    )
    return HttpResponse.text(page, content_type="text/html", headers=[("P3P", "CP=CAO PSA OUR")])


DEVICE = DahuaDevice
