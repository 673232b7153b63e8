"""Simulated Hikvision IP camera, NVR or DVR (``personality: hikvision``).

Usage in a fleet file::

    - name: lobby-cam
      personality: hikvision
      address: 127.20.0.10
      model: DS-2CD2142FWD-I
      firmware: V5.5.0
      build: build 170725
      serial: DS-2CD2142FWD-I20170725AAWR123456789
      mac: 44:19:b6:12:34:56
      users: {admin: "12345"}
      lockout_max_failures: 5

What it speaks (facts from VENDORS.md §1 and data/fingerprints.md unless marked):

- HTTP 80, ``Server: Webs`` (option ``server_header``: ``App-webs/``, ``DNVRS-Webs``,
  ``Hikvision-Webs``, ``DVRDVS-Webs`` for older firmware, NVRs and DVRs).
  ISAPI needs HTTP Digest (MD5, ``qop="auth"``). Every 401 carries the captured header
  set: ``X-Frame-Options: SAMEORIGIN``, ``Content-Type: application/xml;
  charset="UTF-8"``, a Digest challenge (``domain="::"``, nonce ``<hex>:<ms>``,
  ``opaque=""``, ``stale="FALSE"``) then a Basic challenge, realm a per-device hex
  string (option ``http_realm`` sets another), and a ``userCheck`` body whose
  ``retryLoginTime`` counts down.
  - ``GET /ISAPI/System/deviceInfo``: ``DeviceInfo`` in the captured shape
    (namespace ``http://www.hikvision.com/ver20/XMLSchema``; ``hardwareVersion`` only
    when the spec has one).
  - ``GET /ISAPI/Security/userCheck``: ``statusValue`` 200, ``isDefaultPassword``
    (password ``12345``), ``isRiskPassword``, ``isActivated`` (isapi.org namespace,
    as captured from a current device).
  - ``GET /ISAPI/Security/illegalLoginLock``: the lock policy.
  - ``GET /ISAPI/Security/users``: ``UserList`` of ``spec.users`` [assumed shape];
    ``GET /ISAPI/System/Network/UPnP`` and ``/ISAPI/System/Network/EZVIZ``:
    ``<enabled>`` from the options ``upnp_enabled`` / ``p2p_enabled`` (default false;
    paths and element seen in public ISAPI clients).
  - Firmware upgrade (VENDORS.md §1): ``PUT`` (raw image, as ``curl --digest -T``) or
    ``POST`` (raw, or multipart with the field ``updateFile``) to
    ``/ISAPI/System/updateFirmware``; the image goes to :class:`~campatch.sim.flash.Flash`.
    Accepted: 200 ``ResponseStatus`` statusCode 1 ``OK``. Refused (nothing written):
    wrong model or hardware -> 400, statusCode 6 ``Invalid XML Content``, subStatusCode
    ``upgradePacketMismatch`` and ``errorMsg`` ``upgrade packet mismatch`` (the message is
    VENDORS.md's; the HTTP status, codes and the ``errorMsg`` element are [assumed]: the
    exact reply is not public); busy -> 503, statusCode 2 ``Device Busy`` (the code is
    VENDORS.md's, HTTP status and subStatusCode ``deviceBusy`` [assumed]); the other
    refusals (wrong region, version below the minimum, not an image, incomplete, no
    space) -> 400 with the sub-statuses and messages in ``_REFUSALS`` [assumed]. The
    fault ``fault_http_status`` makes the upload answer that status with the web
    server's own error page (no ISAPI body).
  - ``GET /ISAPI/Streaming/channels/101/picture``: a small JPEG (``image/jpeg``, see
    :mod:`campatch.sim.snapshot`; path as public ISAPI clients fetch it), behind the
    usual login unless the option ``snapshot_auth`` is false (then anyone gets it).
  - ``GET /ISAPI/System/upgradeStatus``: ``<upgradeStatus><upgrading>true|false
    </upgrading><percent>n</percent></upgradeStatus>`` from the flash's state
    (VENDORS.md §1; the root element has no namespace, as in S-HIK-UPD-PY).
  - ``GET /ISAPI/System/configurationData``: the configuration export, a binary body
    (``application/octet-stream``) [assumed: path from the ISAPI guide; real devices
    export an encrypted file, here deterministic bytes derived from the serial]; 404
    ``notSupport`` when the option ``config_backup`` is false. ``PUT
    /ISAPI/System/reboot`` is not simulated (campatch never sends it).
  - Illegal-login lock per client address (:class:`~campatch.sim.auth.Lockout`,
    5 failures / 1800 s by default). While locked even the right password gets 401
    with ``lockStatus`` lock, ``unlockTime`` seconds and ``retryLoginTime`` 0. The
    same lock covers ONVIF and RTSP (one counter per client, as on the device).
- ONVIF on the web port (delegated to :class:`campatch.sim.onvif.OnvifService`),
  WS-Discovery when ``spec.onvif`` and ``spec.ws_discovery``.
- RTSP 554: Digest realm ``Hikvision`` then Basic (fingerprints.md §3; the shared RTSP
  server repeats the realm in the Basic line, where the nmap capture has ``"/"``).
  ``Server: Hikvision RTSP Server`` [assumed: seen only in third-party simulators].
- SDK port 8000: accepts TCP and answers the first bytes a client sends with the nmap
  ``ipcam`` reply ``00 00 00 10 00 00 00 1e 00 00 00 1e 00 00 00 00``, then closes
  [assumed: that the device waits for a request; nmap files the match under its
  NULL probe].
- telnet 23 when ``spec.telnet``; SSDP when ``spec.ssdp`` (device type
  ``urn:schemas-upnp-org:device:Basic:1`` [assumed, VENDORS.md §9], description at
  ``/upnp/desc.xml``, ``SERVER`` header [assumed]).
- SADP on UDP 37020, unicast and multicast group 239.255.255.250 (option ``sadp``,
  default true). Inquiry: ``<Probe><Uuid>…</Uuid><Types>inquiry</Types></Probe>``.
  The reply ``<ProbeMatch>`` echoes the inquiry's ``Uuid`` and ``Types``.
  Confirmed in public SADP clients/dissectors (hiktools, HikPwn, UniversalScanner,
  hikvision-tooling): the element names and order ``Uuid, Types, DeviceType,
  DeviceDescription (model), DeviceSN, CommandPort, HttpPort, MAC (dash-separated),
  IPv4Address, IPv4SubnetMask, IPv4Gateway, IPv6Address, IPv6Gateway, IPv6MaskLen,
  DHCP, AnalogChannelNum, DigitalChannelNum, SoftwareVersion ("V5.3.0build 150513"),
  DSPVersion, BootTime ("YYYY-MM-DD hh:mm:ss"), ResetAbility, DiskNumber, Activated,
  PasswordResetAbility``, and the Uuid echo (HikPwn). [assumed]: the numeric
  ``DeviceType`` values (option ``sadp_device_code``; public samples only show
  placeholders), that the reply goes unicast to the inquirer, and that only
  ``Types`` ``inquiry`` is answered.

Options (beside the spec fields): ``server_header``, ``http_realm``, ``http_auth``
(``"digest+basic"`` default, ``"digest"``, ``"basic"``), ``lockout_max_failures``,
``lockout_seconds``, ``refuse_with_403`` (a refused login gets 403, a lock signal for
SAFETY D-02), ``config_backup`` (default true), ``sadp``, ``sadp_device_code``, ``sdk``
(port 8000, default true), ``activated``, ``encoder_version``, ``rtsp_server``,
``ssdp_server``, ``snapshot_auth`` (default true; false: the snapshot needs no login),
the fault ``snapshot_fault`` (see :mod:`campatch.sim.snapshot`) and the fault
``hostile_device_info`` (``"billion_laughs"``, ``"quadratic"`` or ``"xxe"`` with
``xxe_url``): deviceInfo then answers with that hostile XML (SAFETY I-01).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import random
import secrets
import time
import uuid
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from xml.sax.saxutils import escape

from campatch.errors import DeviceResponseError
from campatch.net.xml import child_text, local, parse_xml
from campatch.sim.auth import AuthResult, Clock, DigestRealm
from campatch.sim.camera import CameraDevice
from campatch.sim.device import DeviceSpec, TcpService, UdpService
from campatch.sim.flash import Rejection
from campatch.sim.http import HttpRequest, HttpResponse, RawWriter
from campatch.sim.snapshot import answers_anyone, snapshot_response

HIK_NS = "http://www.hikvision.com/ver20/XMLSchema"
ISAPI_NS = "http://www.isapi.org/ver20/XMLSchema"
SADP_PORT = 37020
SADP_GROUP = "239.255.255.250"
SDK_PORT = 8000
SDK_REPLY = bytes.fromhex("000000100000001e0000001e00000000")
SDK_IDLE_S = 10.0  # seconds the SDK port waits for a client's first bytes
MAX_SADP_INQUIRY = 4_096  # bytes: an inquiry is ~120 bytes; larger datagrams are ignored
LEGACY_DEFAULT_PASSWORD = "12345"  # the vendor's pre-2016 default (VENDORS.md §1)
UPNP_DEVICE_TYPE = "urn:schemas-upnp-org:device:Basic:1"
_XML = 'application/xml; charset="UTF-8"'
_DEFAULTS = {
    "vendor": "Hikvision", "model": "DS-2CD2142FWD-I", "firmware": "V5.5.0",
    "build": "build 170725", "device_type": "IPCamera",
}  # fmt: skip
_DEVICE_NAMES = {  # factory device names [assumed for NVR/DVR; "IP CAMERA" is captured]
    "IPCamera": "IP CAMERA", "NVR": "Network Video Recorder", "DVR": "Embedded Net DVR",
}  # fmt: skip
_SADP_CODES = {"IPCamera": "20008", "NVR": "30003", "DVR": "30001"}  # [assumed] placeholders
UPDATE_FIRMWARE = "/ISAPI/System/updateFirmware"
SNAPSHOT = "/ISAPI/Streaming/channels/101/picture"
CONFIG_SIZE = 32 * 1024  # bytes of the simulated configuration export [assumed size]
#: Rejection -> HTTP status, statusCode, statusString, subStatusCode, errorMsg. Only the
#: wrong-model message ("upgrade packet mismatch") and busy = statusCode 2 are from
#: VENDORS.md §1; everything else here is [assumed] (the device's exact replies are not
#: public).
_REFUSALS: dict[Rejection, tuple[int, int, str, str, str]] = {
    Rejection.WRONG_MODEL: (400, 6, "Invalid XML Content", "upgradePacketMismatch",
                            "upgrade packet mismatch"),
    Rejection.WRONG_REGION: (400, 6, "Invalid XML Content", "upgradePacketLanguageMismatch",
                             "upgrade packet language mismatch"),
    Rejection.BELOW_MINIMUM: (400, 6, "Invalid XML Content", "upgradePacketVersionTooLow",
                              "upgrade packet version too low"),
    Rejection.NOT_AN_IMAGE: (400, 6, "Invalid XML Content", "badUpgradePacket",
                             "invalid upgrade packet"),
    Rejection.INCOMPLETE: (400, 6, "Invalid XML Content", "badUpgradePacket",
                           "invalid upgrade packet"),
    Rejection.NO_SPACE: (400, 4, "Invalid Operation", "notEnoughSpace", "not enough space"),
    Rejection.BUSY: (503, 2, "Device Busy", "deviceBusy", ""),
}  # fmt: skip

Route = Callable[[HttpRequest, str], HttpResponse]


class HikvisionRealm(DigestRealm):
    """Digest checking with the challenge spelled exactly as Hikvision firmware does."""

    def challenge(self, *, qop: bool = True) -> str:
        """The captured Digest challenge: ``domain``, ``<hex>:<ms>`` nonce, empty opaque."""
        nonce = f"{secrets.token_hex(16)}:{int(time.time() * 1000)}"
        self._nonces.add(nonce)
        if len(self._nonces) > 4096:
            self._nonces.pop()
        return (
            f'Digest realm="{self.realm}", domain="::", qop="auth", nonce="{nonce}", '
            'opaque="", algorithm="MD5", stale="FALSE"'
        )


def _fill_defaults(spec: DeviceSpec) -> None:
    for key, value in _DEFAULTS.items():
        if not getattr(spec, key):
            setattr(spec, key, value)
    if not spec.build.lower().startswith("build"):
        spec.build = f"build {spec.build.strip()}"
    if not spec.serial:
        spec.serial = f"{spec.model}20{spec.build[-6:]}AAWR{_digits(spec.address, 9)}"
    if not spec.mac:
        spec.mac = "44:19:b6:" + ":".join(
            f"{int(p) % 256:02x}" for p in spec.address.split(".")[1:]
        )


def _digits(text: str, n: int) -> str:
    return str(int(hashlib.sha256(text.encode()).hexdigest(), 16))[:n]


class HikvisionDevice(CameraDevice):
    """A Hikvision camera/NVR/DVR (see the module docstring for what it speaks).

    Attributes:
        lockout: the illegal-login lock, shared by ISAPI, ONVIF and RTSP.
        realm: the web server's Digest realm and user table.
    """

    personality = "hikvision"
    api_prefix = "/ISAPI/"
    rtsp_server = "Hikvision RTSP Server"
    rtsp_scheme = "both"
    ssdp_server = "Linux/3.0 UPnP/1.0 Hikvision/1.0"
    upnp_device_type = UPNP_DEVICE_TYPE

    def __init__(self, spec: DeviceSpec, clock: Clock = time.monotonic) -> None:
        super().__init__(spec, clock)
        auth = str(spec.options.get("http_auth", "digest+basic"))
        self.offer_digest, self.offer_basic = "digest" in auth, "basic" in auth
        self.realm = HikvisionRealm(self._realm_name(), spec.users, allow_basic=self.offer_basic)
        self._routes: dict[str, Route] = {
            "/ISAPI/System/deviceInfo": self._device_info,
            "/ISAPI/Security/userCheck": self._user_check,
            "/ISAPI/Security/illegalLoginLock": self._illegal_login_lock,
            "/ISAPI/Security/users": self._users,
            "/ISAPI/System/Network/UPnP": lambda r, u: self._switch("UPnP", "upnp_enabled"),
            "/ISAPI/System/Network/EZVIZ": lambda r, u: self._switch("EZVIZ", "p2p_enabled"),
            "/ISAPI/System/upgradeStatus": self._upgrade_status,
            "/ISAPI/System/configurationData": self._configuration_data,
            SNAPSHOT: lambda r, u: snapshot_response(self.spec),
        }

    def fill_defaults(self) -> None:
        _fill_defaults(self.spec)

    def _realm_name(self) -> str:
        configured = self.spec.options.get("http_realm")
        if configured:
            return str(configured)
        return hashlib.sha256(f"realm:{self.spec.serial}".encode()).hexdigest()[:24]

    @property
    def server_header(self) -> str:
        """The web server's ``Server`` header."""
        return str(self.spec.options.get("server_header", "Webs"))

    def rtsp_realm(self) -> str:
        return "Hikvision"

    def vendor_tcp_services(self) -> list[TcpService]:
        """The SDK port 8000 (unless the option ``sdk`` is off)."""
        return [TcpService(SDK_PORT, self._sdk)] if self.spec.options.get("sdk", True) else []

    def is_upload(self, request: HttpRequest) -> bool:
        """The ISAPI firmware upload (``PUT``/``POST``), or the ONVIF one."""
        ours = request.path == UPDATE_FIRMWARE and request.method in ("PUT", "POST")
        return ours or super().is_upload(request)

    def vendor_udp_services(self) -> list[UdpService]:
        """SADP (unless the option ``sadp`` is off)."""
        if not self.spec.options.get("sadp", True):
            return []
        return [UdpService(SADP_PORT, self._sadp, multicast_group=SADP_GROUP)]

    # --- HTTP -------------------------------------------------------------------------

    def index_page(self) -> HttpResponse:
        return _index_page()

    async def api(self, request: HttpRequest) -> HttpResponse | RawWriter:
        if request.path == SNAPSHOT and answers_anyone(self.spec):
            return snapshot_response(self.spec)
        denied, user = self._authenticate(request)
        if denied is not None:
            return denied
        if request.path == UPDATE_FIRMWARE and self.is_upload(request):
            return self._update_firmware(request)
        route = self._routes.get(request.path)
        if route is None:
            return _response_status(request.path, 404, "notSupport")
        if request.method != "GET":
            return _response_status(request.path, 405, "invalidOperation")
        return route(request, user)

    def _authenticate(self, request: HttpRequest) -> tuple[HttpResponse | None, str]:
        """None and the user name when the request may pass, else the 401 to send."""
        result, user = self.login(request)
        if result is AuthResult.OK:
            return None, user
        if result is AuthResult.BAD and self.spec.options.get("refuse_with_403"):
            return _response_status(request.path, 403, "forbidden"), ""
        return self._unauthorized(request.peer), ""

    def _unauthorized(self, peer: str) -> HttpResponse:
        unlock_in = max(self.lockout.unlock_in(peer), self.locked_for_everyone_s())
        locked = unlock_in > 0
        unlock = math.ceil(unlock_in) if locked else 0
        retry = 0 if locked else self.lockout.remaining(peer)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<userCheck>\n'
            "<statusValue>401</statusValue>\n<statusString>Unauthorized</statusString>\n"
            f"<lockStatus>{'lock' if locked else 'unlock'}</lockStatus>\n"
            f"<unlockTime>{unlock}</unlockTime>\n<retryLoginTime>{retry}</retryLoginTime>\n"
            "</userCheck>\n"
        )
        headers = [("X-Frame-Options", "SAMEORIGIN"), ("Content-Type", _XML)]
        if self.offer_digest:
            headers.append(("WWW-Authenticate", self.realm.challenge()))
        if self.offer_basic:
            headers.append(("WWW-Authenticate", self.realm.basic_challenge()))
        return HttpResponse(401, body.encode(), headers)

    def _device_info(self, request: HttpRequest, user: str) -> HttpResponse:
        hostile = self.spec.options.get("hostile_device_info")
        if hostile:
            return _xml_response(_hostile_xml(str(hostile), self.spec.options))
        return _xml_response(device_info_xml(self.spec))

    def _user_check(self, request: HttpRequest, user: str) -> HttpResponse:
        password = self.spec.users.get(user, "")
        default = password == LEGACY_DEFAULT_PASSWORD
        activated = bool(self.spec.options.get("activated", True))
        return _xml_response(
            f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<userCheck version="2.0" xmlns="{ISAPI_NS}">\n'
            "<statusValue>200</statusValue>\n<statusString>OK</statusString>\n"
            f"<isDefaultPassword>{_flag(default)}</isDefaultPassword>\n"
            f"<isRiskPassword>{_flag(default or len(password) < 8)}</isRiskPassword>\n"
            f"<isActivated>{_flag(activated)}</isActivated>\n</userCheck>\n"
        )

    def _illegal_login_lock(self, request: HttpRequest, user: str) -> HttpResponse:
        return _xml_response(
            f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<IllegalLoginLock version="2.0" xmlns="{ISAPI_NS}">\n<enabled>true</enabled>\n'
            f"<maxIllegalLoginTimes>{self.lockout.max_failures}</maxIllegalLoginTimes>\n"
            f"<maxIllegalLoginLockTime>{int(self.lockout.lock_s)}</maxIllegalLoginLockTime>\n"
            "</IllegalLoginLock>\n"
        )

    def _users(self, request: HttpRequest, user: str) -> HttpResponse:
        entries = "".join(
            f"<User><id>{i}</id><userName>{escape(name)}</userName>"
            f"<userLevel>{'Administrator' if i == 1 else 'Operator'}</userLevel></User>\n"
            for i, name in enumerate(self.spec.users, start=1)
        )
        return _xml_response(
            f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<UserList version="2.0" xmlns="{ISAPI_NS}">\n{entries}</UserList>\n'
        )

    def _switch(self, element: str, option: str) -> HttpResponse:
        enabled = bool(self.spec.options.get(option, False))
        return _xml_response(
            f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<{element} version="2.0" xmlns="{ISAPI_NS}">\n'
            f"<enabled>{_flag(enabled)}</enabled>\n</{element}>\n"
        )

    # --- firmware upgrade ------------------------------------------------------------

    def _update_firmware(self, request: HttpRequest) -> HttpResponse:
        status = self.flash.faults.http_status
        if status is not None:
            page = f"<html><body>{status} Error</body></html>"
            return HttpResponse.text(page, status, "text/html")
        rejection = self.flash.accept(_uploaded_image(request))
        if rejection is None:
            self.log("firmware image accepted")
            return _isapi_status(request.path, 200, 1, "OK", "ok")
        http_status, code, text, sub, message = _REFUSALS[rejection]
        return _isapi_status(request.path, http_status, code, text, sub, message)

    def _upgrade_status(self, request: HttpRequest, user: str) -> HttpResponse:
        upgrading, percent = self.flash.status()
        return _xml_response(
            '<?xml version="1.0" encoding="UTF-8"?>\n<upgradeStatus>\n'
            f"<upgrading>{_flag(upgrading)}</upgrading>\n<percent>{percent}</percent>\n"
            "</upgradeStatus>\n"
        )

    def _configuration_data(self, request: HttpRequest, user: str) -> HttpResponse:
        if not self.spec.options.get("config_backup", True):
            return _response_status(request.path, 404, "notSupport")
        data = random.Random(f"config:{self.spec.serial}").randbytes(CONFIG_SIZE)
        return HttpResponse(200, data, [("Content-Type", "application/octet-stream")])

    # --- SDK port and SADP ------------------------------------------------------------

    async def _sdk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await asyncio.wait_for(reader.read(1024), SDK_IDLE_S)
            if first:
                self.log(f"sdk {len(first)} bytes")
                writer.write(SDK_REPLY)
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    def _sadp(self, data: bytes, client: tuple[str, int]) -> list[bytes]:
        if not self.spec.options.get("sadp", True) or len(data) > MAX_SADP_INQUIRY:
            return []
        try:
            root = parse_xml(data, what="SADP inquiry")
        except DeviceResponseError:
            return []
        if local(root.tag) != "Probe" or child_text(root, "Types") != "inquiry":
            return []
        self.log(f"sadp inquiry from {client[0]}")
        return [sadp_probe_match(self.spec, child_text(root, "Uuid") or "")]


def device_info_xml(spec: DeviceSpec) -> str:
    """The ``DeviceInfo`` document ``spec`` describes, in the vendor's shape."""
    fields = [
        ("deviceName", spec.options.get("device_name") or _DEVICE_NAMES.get(spec.device_type, "")),
        ("deviceID", str(uuid.uuid5(uuid.NAMESPACE_OID, spec.serial))),
        ("model", spec.model),
        ("serialNumber", spec.serial),
        ("macAddress", spec.mac.lower()),
        ("firmwareVersion", spec.firmware),
        ("firmwareReleasedDate", spec.build),
        ("encoderVersion", spec.options.get("encoder_version", "V7.3")),
        ("encoderReleasedDate", spec.build),
    ]
    if spec.hardware:
        fields.append(("hardwareVersion", spec.hardware))
    fields += [("deviceType", spec.device_type), ("manufacturer", "hikvision")]
    body = "".join(f"  <{k}>{escape(str(v))}</{k}>\n" for k, v in fields)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<DeviceInfo version="2.0" xmlns="{HIK_NS}">\n{body}</DeviceInfo>\n'
    )


def sadp_probe_match(spec: DeviceSpec, inquiry_uuid: str) -> bytes:
    """The SADP ``<ProbeMatch>`` reply of ``spec`` to an inquiry carrying ``inquiry_uuid``."""
    code = spec.options.get("sadp_device_code") or _SADP_CODES.get(spec.device_type, "20008")
    build = spec.build.removeprefix("build").strip()
    activated = bool(spec.options.get("activated", True))
    fields = [
        ("Uuid", inquiry_uuid), ("Types", "inquiry"), ("DeviceType", code),
        ("DeviceDescription", spec.model), ("DeviceSN", spec.serial),
        ("CommandPort", SDK_PORT), ("HttpPort", 80), ("MAC", spec.mac.lower().replace(":", "-")),
        ("IPv4Address", spec.address), ("IPv4SubnetMask", "255.0.0.0"),
        ("IPv4Gateway", "0.0.0.0"), ("IPv6Address", "::"), ("IPv6Gateway", "::"),
        ("IPv6MaskLen", 64), ("DHCP", "false"), ("AnalogChannelNum", 0),
        ("DigitalChannelNum", 1), ("SoftwareVersion", f"{spec.firmware}build {build}"),
        ("DSPVersion", f"{spec.options.get('encoder_version', 'V7.3')}build {build}"),
        ("BootTime", "2024-01-01 00:00:00"), ("ResetAbility", "false"), ("DiskNumber", 0),
        ("Activated", _flag(activated)), ("PasswordResetAbility", "true"),
    ]  # fmt: skip
    body = "".join(f"<{k}>{escape(str(v))}</{k}>\n" for k, v in fields)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<ProbeMatch>\n{body}</ProbeMatch>\n'.encode()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _xml_response(text: str) -> HttpResponse:
    return HttpResponse(200, text.encode(), [("Content-Type", _XML)])


def _response_status(path: str, status: int, sub_status: str) -> HttpResponse:
    return _isapi_status(path, status, 4, "Invalid Operation", sub_status)


def _isapi_status(
    path: str, status: int, code: int, text: str, sub_status: str, message: str = ""
) -> HttpResponse:
    """A ``ResponseStatus`` reply; ``message`` adds an ``errorMsg`` [assumed element]."""
    error = f"<errorMsg>{escape(message)}</errorMsg>\n" if message else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<ResponseStatus version="2.0" xmlns="{ISAPI_NS}">\n'
        f"<requestURL>{escape(path)}</requestURL>\n<statusCode>{code}</statusCode>\n"
        f"<statusString>{escape(text)}</statusString>\n"
        f"<subStatusCode>{sub_status}</subStatusCode>\n{error}</ResponseStatus>\n"
    )
    return HttpResponse(status, body.encode(), [("Content-Type", _XML)])


def _uploaded_image(request: HttpRequest) -> bytes:
    """The raw body, or the ``updateFile`` part of a multipart ``POST`` (VENDORS.md §1)."""
    content_type = request.header("Content-Type")
    if not content_type.lower().startswith("multipart/form-data"):
        return request.body
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + request.body)
    for part in message.walk():
        if part.get_param("name", header="content-disposition") == "updateFile":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    return b""


def _index_page() -> HttpResponse:
    # Current firmware serves a tiny page whose script sends the browser to the login page.
    page = (
        "\ufeff<!doctype html>\r\n<html>\r\n<head>\r\n\t<title></title>\r\n"
        '<script>window.location.href = "/doc/page/login.asp?_" + (new Date()).getTime();'
        "</script>\r\n</head>\r\n<body></body>\r\n</html>\r\n"
    )
    return HttpResponse(
        200,
        page.encode(),
        [("X-Frame-Options", "SAMEORIGIN"), ("Content-Type", "text/html")],
    )


def _hostile_xml(kind: str, options: dict[str, object]) -> str:
    if kind == "xxe":
        url = escape(str(options.get("xxe_url", "file:///etc/passwd")), {'"': "&quot;"})
        return (
            f'<?xml version="1.0"?>\n<!DOCTYPE DeviceInfo [<!ENTITY x SYSTEM "{url}">]>\n'
            f'<DeviceInfo xmlns="{HIK_NS}"><model>&x;</model></DeviceInfo>\n'
        )
    if kind == "quadratic":
        blob = "A" * 50_000
        return (
            f'<?xml version="1.0"?>\n<!DOCTYPE DeviceInfo [<!ENTITY a "{blob}">]>\n'
            f'<DeviceInfo xmlns="{HIK_NS}"><model>{"&a;" * 1000}</model></DeviceInfo>\n'
        )
    levels = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE DeviceInfo [{"".join(levels)}]>\n'
        f'<DeviceInfo xmlns="{HIK_NS}"><model>&l9;</model></DeviceInfo>\n'
    )


DEVICE = HikvisionDevice
