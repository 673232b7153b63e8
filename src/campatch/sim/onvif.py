"""A simulated ONVIF device service and WS-Discovery responder, and a generic ONVIF camera.

Usage::

    dev = fleet.device("onvif-cam")          # personality: onvif
    dev.spec.options["clock_offset_s"] = 3 * 3600   # its clock runs 3 h ahead
    dev.lockout.remaining("127.0.0.1")       # failed ONVIF logins still allowed

:class:`OnvifService` answers SOAP 1.2 on ``/onvif/device_service``: the operations
ONVIF lets anyone call (``GetSystemDateAndTime``, ``GetCapabilities``,
``GetServices``) without credentials, the rest only with a WS-Security
UsernameToken (PasswordDigest or PasswordText). A token is refused with the fault
``ter:NotAuthorized`` when the user or password is wrong, when ``Created`` is more
than 5 minutes from the device's clock, or when its nonce was seen before (replay);
every refusal counts in the :class:`~campatch.sim.auth.Lockout` given. Replies follow
the ONVIF WSDL so onvif-zeep-async parses them (tested in ``tests/interop``).

Options read (``spec.options``): ``clock_offset_s`` (device clock minus real UTC),
``onvif_port`` (80; 8899 for XiongMai-style devices), ``onvif_open_info`` (answer
GetDeviceInformation/GetScopes/GetNetworkInterfaces without credentials),
``http_server`` (``Server`` header, none by default), ``rtsp_server``,
``lockout_max_failures`` and ``lockout_s``, ``location`` (a scope), ``snapshot_auth``
and the fault ``snapshot_fault`` (below).

Snapshot (:class:`OnvifCamera`'s web server on port 80): ``GET /onvif-http/snapshot``
(the query, e.g. ``?Profile_1``, is ignored; the path Hikvision-based firmware answers
to ``GetSnapshotUri``) returns a small JPEG (``image/jpeg``, see
:mod:`campatch.sim.snapshot`). It asks for HTTP Digest with the ONVIF accounts (realm
:data:`SNAPSHOT_REALM` [assumed]; failures count in the ONVIF lockout) unless the
option ``snapshot_auth`` is false, when anyone gets the picture. ``GetSnapshotUri``
itself is not simulated (the sim has no media service).

Firmware upgrade (VENDORS.md §7; devicemgmt.wsdl): option ``onvif_upgrade`` says which
operations the device offers: ``http`` (default: ``StartFirmwareUpgrade``, then an HTTP
POST of the image), ``legacy`` (only the MTOM ``UpgradeSystemFirmware``), ``both`` or
``none``; the others answer ``ter:ActionNotSupported``, and ``GetServiceCapabilities``
reports the same. ``StartFirmwareUpgrade`` hands out a one-time upload URI under
:data:`UPLOAD_PREFIX` (the token in it is the authorisation [assumed]: ONVIF leaves
upload authentication to the device), usable from ``UploadDelay`` (option
``onvif_upload_delay_s``, default 0) for :data:`UPLOAD_WINDOW_S`, with
``ExpectedDownTime`` = the flash's write plus reboot time, unless option
``onvif_expected_downtime`` says otherwise (seconds, or an ``xs:duration`` text such
as ``"P30D"``, sent as is): the device's estimate, which its flash need not keep.
Images go to the device's :class:`~campatch.sim.flash.Flash` (a device without one
offers no upgrade).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from email.message import Message
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from campatch.discovery.ws_discovery import (
    MULTICAST_GROUP,
    NS_ADDRESSING,
    NS_DISCOVERY,
    PORT,
    PROBE_MATCHES_ACTION,
)
from campatch.errors import DeviceResponseError
from campatch.net.soap import NS_SOAP, NS_TDS, NS_TT, NS_WSSE, password_digest
from campatch.net.xml import child_text, local, parse_xml
from campatch.sim.auth import AuthResult, Clock, DigestRealm, Lockout
from campatch.sim.device import DeviceSpec, SimDevice, TcpService, UdpService
from campatch.sim.flash import Flash, Rejection
from campatch.sim.http import HttpRequest, HttpResponse, RawWriter, reset_connection, serve_http
from campatch.sim.rtsp import rtsp_service
from campatch.sim.snapshot import answers_anyone, snapshot_response
from campatch.sim.telnet import telnet_service

DEVICE_SERVICE = "/onvif/device_service"
MAX_SKEW_S = 300.0  # ONVIF devices refuse a Created further than this from their clock
#: Operations ONVIF's access policy lets anyone call (PRE_AUTH).
PRE_AUTH = frozenset(
    {"GetSystemDateAndTime", "GetCapabilities", "GetServices", "GetServiceCapabilities",
     "GetWsdlUrl", "GetHostname", "GetEndpointReference"}
)  # fmt: skip
#: Read-only operations a device with ``onvif_open_info`` also answers without credentials.
OPEN_INFO = frozenset({"GetDeviceInformation", "GetScopes", "GetNetworkInterfaces"})
_SOAP_CT = "application/soap+xml; charset=utf-8"
_NS_TER = "http://www.onvif.org/ver10/error"


#: The generic camera's snapshot path and its HTTP Digest realm [assumed realm].
SNAPSHOT_PATH = "/onvif-http/snapshot"
SNAPSHOT_REALM = "IP Camera"
#: Where ``StartFirmwareUpgrade`` upload URIs live on the device's web server.
UPLOAD_PREFIX = "/onvif/firmware-upload/"
#: How long an upload URI stays valid after its UploadDelay [assumed; ONVIF sets none].
UPLOAD_WINDOW_S = 300.0
#: Which upgrade operations each ``onvif_upgrade`` mode offers.
_UPGRADE_MODES = {
    "StartFirmwareUpgrade": ("http", "both"),
    "UpgradeSystemFirmware": ("legacy", "both"),
}
#: How the device answers a refused image: HTTP POST status and text, and the legacy
#: operation's fault subcodes. 415 for an invalid image is the WSDL's rule
#: (StartFirmwareUpgrade documentation); the texts, 409, 413 and the faults are [assumed].
_INVALID = ("ter:InvalidArgVal", "ter:InvalidFirmware")
_REFUSALS: dict[Rejection, tuple[int, str, tuple[str, ...]]] = {
    Rejection.NOT_AN_IMAGE: (415, "not a firmware image", _INVALID),
    Rejection.WRONG_MODEL: (415, "firmware is not for this model", _INVALID),
    Rejection.WRONG_REGION: (415, "firmware is for another region", _INVALID),
    Rejection.BELOW_MINIMUM: (415, "firmware version is below this device's minimum", _INVALID),
    Rejection.INCOMPLETE: (415, "firmware image is incomplete or corrupt", _INVALID),
    Rejection.BUSY: (409, "a firmware upgrade is already in progress", ("ter:Action",)),
    Rejection.NO_SPACE: (413, "not enough free flash for this image", ("ter:Action",)),
}  # fmt: skip
_OCTET_STREAM = ("application/octet-stream", "application/octetstream")  # the WSDL's spelling too


def device_now(device: SimDevice) -> datetime:
    """The device's clock: real UTC plus ``options.clock_offset_s``."""
    offset = float(device.spec.options.get("clock_offset_s", 0.0))
    return datetime.now(UTC) + timedelta(seconds=offset)


def endpoint_uuid(spec: DeviceSpec) -> str:
    """The device's stable WS-Discovery endpoint address (``urn:uuid:...``)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'campatch-sim/{spec.name}/{spec.serial}')}"


def scopes_of(spec: DeviceSpec) -> list[str]:
    """The ONVIF scopes a device announces and returns from GetScopes."""
    kind = (
        "Network_Video_Recorder" if spec.device_type.upper() in ("NVR", "DVR") else "video_encoder"
    )
    return [
        f"onvif://www.onvif.org/type/{kind}",
        "onvif://www.onvif.org/Profile/Streaming",
        f"onvif://www.onvif.org/hardware/{_scope_part(spec.model)}",
        f"onvif://www.onvif.org/name/{_scope_part(spec.brand or spec.vendor)}",
        f"onvif://www.onvif.org/location/{_scope_part(str(spec.options.get('location', '')))}",
    ]


def _scope_part(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.~" else f"%{ord(c):02X}" for c in value)


def _envelope(body: str, header: str = "") -> bytes:
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:tds="{NS_TDS}" xmlns:tt="{NS_TT}" '
        f'xmlns:ter="{_NS_TER}">{head}<s:Body>{body}</s:Body></s:Envelope>'
    ).encode()


def soap_fault(
    code: str, subcode: str, reason: str, status: int = 400, *, more: tuple[str, ...] = ()
) -> HttpResponse:
    """A SOAP 1.2 fault (``s:Sender`` faults go with HTTP 400 per the SOAP HTTP binding);
    ``more`` nests further subcodes below ``subcode``."""
    codes = (subcode, *more)
    nested = "".join(f"<s:Subcode><s:Value>{c}</s:Value>" for c in codes)
    body = (
        f"<s:Fault><s:Code><s:Value>s:{code}</s:Value>{nested}{'</s:Subcode>' * len(codes)}"
        f'</s:Code><s:Reason><s:Text xml:lang="en">{escape(reason)}</s:Text>'
        "</s:Reason></s:Fault>"
    )
    return HttpResponse(status, _envelope(body), [("Content-Type", _SOAP_CT)])


def _not_authorized() -> HttpResponse:
    return soap_fault("Sender", "ter:NotAuthorized", "Sender not Authorized")


class _TokenChecker:
    """Verifies WS-Security UsernameTokens against the device's users and clock."""

    def __init__(self, device: SimDevice) -> None:
        self.device = device
        self._nonces: OrderedDict[str, datetime] = OrderedDict()

    def check(self, token: Element) -> AuthResult:
        user = child_text(token, "Username") or ""
        password_el = next((e for e in token.iter() if local(e.tag) == "Password"), None)
        expected = self.device.spec.users.get(user)
        if expected is None or password_el is None:
            return AuthResult.BAD
        given = (password_el.text or "").strip()
        if "PasswordText" in password_el.get("Type", ""):
            return AuthResult.OK if secrets.compare_digest(given, expected) else AuthResult.BAD
        nonce, created = child_text(token, "Nonce"), child_text(token, "Created")
        if not nonce or not created or not self._fresh(created) or not self._first_use(nonce):
            return AuthResult.BAD
        try:
            want = password_digest(base64.b64decode(nonce, validate=True), created, expected)
        except ValueError:
            return AuthResult.BAD
        return AuthResult.OK if secrets.compare_digest(given, want) else AuthResult.BAD

    def _fresh(self, created: str) -> bool:
        try:
            stamp = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            return False
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return abs((stamp - device_now(self.device)).total_seconds()) <= MAX_SKEW_S

    def _first_use(self, nonce: str) -> bool:
        now = device_now(self.device)
        while (
            self._nonces
            and (now - next(iter(self._nonces.values()))).total_seconds() > 2 * MAX_SKEW_S
        ):
            self._nonces.popitem(last=False)
        if nonce in self._nonces or len(self._nonces) >= 65_536:
            return False
        self._nonces[nonce] = now
        return True


class OnvifService:
    """The ONVIF device service of a simulated device.

    Args:
        device: whose spec is served (read live on every request).
        lockout: counts refused tokens per client; a locked client is refused.
    """

    def __init__(self, device: SimDevice, *, lockout: Lockout | None = None) -> None:
        self.device = device
        self.lockout = lockout
        self._tokens = _TokenChecker(device)
        self._upload_uris: dict[str, float] = {}  # token -> device clock when usable
        #: Until this device-clock time every token is refused (fault ``lock_during_job``).
        self.locked_until = 0.0

    def is_upload(self, request: HttpRequest) -> bool:
        """True for a POST to an upload URI handed out by ``StartFirmwareUpgrade``, or an
        MTOM request to the device service (the legacy ``UpgradeSystemFirmware``)."""
        if request.method != "POST":
            return False
        mtom = request.header("Content-Type").lower().startswith("multipart/related")
        return request.path.startswith(UPLOAD_PREFIX) or (request.path == DEVICE_SERVICE and mtom)

    @property
    def flash(self) -> Flash | None:
        """The device's flash (None: the device takes no images)."""
        flash = getattr(self.device, "flash", None)
        return flash if isinstance(flash, Flash) else None

    def offers(self, operation: str) -> bool:
        """Does the device offer this upgrade operation (option ``onvif_upgrade``)?"""
        mode = str(self.device.spec.options.get("onvif_upgrade", "http"))
        return self.flash is not None and mode in _UPGRADE_MODES[operation]

    async def handle(self, request: HttpRequest) -> HttpResponse | None:
        """Answer a request for an ``/onvif/`` path; None for any other path."""
        if not request.path.startswith("/onvif/"):
            return None
        self.device.log(f"onvif {request.method} {request.path}")
        if request.path.startswith(UPLOAD_PREFIX):
            return self._upload(request)
        if request.method != "POST":
            return HttpResponse(405, b"", [("Allow", "POST")])
        soap, attachments = _mtom_parts(request)
        try:
            root = parse_xml(soap, what="onvif request")
        except DeviceResponseError:
            return soap_fault("Sender", "ter:WellFormed", "Malformed SOAP request")
        operation = _operation(root)
        if operation is None:
            return soap_fault("Sender", "ter:WellFormed", "No SOAP body")
        if request.path != DEVICE_SERVICE:
            return soap_fault("Receiver", "ter:ActionNotSupported", f"No service at {request.path}")
        name = local(operation.tag)
        refusal = self._authorize(request.peer, root, name)
        if refusal is not None:
            return refusal
        if name == "UpgradeSystemFirmware" and self.offers(name):
            return self._upgrade_system_firmware(operation, attachments)
        return self._answer(name)

    def _authorize(self, peer: str, root: Element, name: str) -> HttpResponse | None:
        token = next((e for e in root.iter() if e.tag == f"{{{NS_WSSE}}}UsernameToken"), None)
        if token is None:
            needs_auth = self.device.spec.users and name not in PRE_AUTH
            if needs_auth and not (
                self.device.spec.options.get("onvif_open_info") and name in OPEN_INFO
            ):
                return _not_authorized()
            return None
        if self.device.clock() < self.locked_until or (
            self.lockout is not None and self.lockout.is_locked(peer)
        ):
            return _not_authorized()  # locked: even the right password is refused
        result = self._tokens.check(token)
        if self.lockout is not None:
            self.lockout.record(peer, result)
        return None if result is AuthResult.OK else _not_authorized()

    def _answer(self, name: str) -> HttpResponse:
        build = getattr(self, f"_op_{name}", None)
        if build is None or (name in _UPGRADE_MODES and not self.offers(name)):
            return soap_fault("Receiver", "ter:ActionNotSupported", f"{name} is not supported")
        body: str = build()
        return HttpResponse(200, _envelope(body), [("Content-Type", _SOAP_CT)])

    def _xaddr(self, path: str) -> str:
        port = int(self.device.spec.options.get("onvif_port", 80))
        return f"http://{self.device.spec.address}:{port}{path}"

    def _op_GetSystemDateAndTime(self) -> str:
        now = device_now(self.device)
        stamp = (
            f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>"
            f"<tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>{now.year}</tt:Year>"
            f"<tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date>"
        )
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
            f"<tt:UTCDateTime>{stamp}</tt:UTCDateTime><tt:LocalDateTime>{stamp}</tt:LocalDateTime>"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    def _op_GetDeviceInformation(self) -> str:
        s = self.device.spec
        fields = (
            ("Manufacturer", s.brand or s.vendor), ("Model", s.model),
            ("FirmwareVersion", s.firmware), ("SerialNumber", s.serial), ("HardwareId", s.hardware),
        )  # fmt: skip
        inner = "".join(f"<tds:{k}>{escape(v)}</tds:{k}>" for k, v in fields)
        return f"<tds:GetDeviceInformationResponse>{inner}</tds:GetDeviceInformationResponse>"

    def _op_GetCapabilities(self) -> str:
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities>"
            f"<tt:Device><tt:XAddr>{self._xaddr(DEVICE_SERVICE)}</tt:XAddr></tt:Device>"
            f"<tt:Media><tt:XAddr>{self._xaddr('/onvif/media_service')}</tt:XAddr>"
            "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
            "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
            "</tt:StreamingCapabilities></tt:Media>"
            "</tds:Capabilities></tds:GetCapabilitiesResponse>"
        )

    def _op_GetServices(self) -> str:
        services = (
            (NS_TDS, DEVICE_SERVICE),
            ("http://www.onvif.org/ver10/media/wsdl", "/onvif/media_service"),
        )
        inner = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{self._xaddr(path)}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
            for ns, path in services
        )
        return f"<tds:GetServicesResponse>{inner}</tds:GetServicesResponse>"

    def _op_GetScopes(self) -> str:
        inner = "".join(
            f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{escape(s)}</tt:ScopeItem></tds:Scopes>"
            for s in scopes_of(self.device.spec)
        )
        return f"<tds:GetScopesResponse>{inner}</tds:GetScopesResponse>"

    def _op_GetUsers(self) -> str:
        users = "".join(
            f"<tds:User><tt:Username>{escape(name)}</tt:Username>"
            f"<tt:UserLevel>{'Administrator' if i == 0 else 'User'}</tt:UserLevel></tds:User>"
            for i, name in enumerate(self.device.spec.users)
        )
        return f"<tds:GetUsersResponse>{users}</tds:GetUsersResponse>"

    def _op_GetNetworkInterfaces(self) -> str:
        s = self.device.spec
        return (
            '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
            "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
            f"<tt:HwAddress>{escape(s.mac)}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
            "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
            f"<tt:Address>{s.address}</tt:Address><tt:PrefixLength>24</tt:PrefixLength></tt:Manual>"
            "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
            "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
        )

    def _op_GetServiceCapabilities(self) -> str:
        def flag(operation: str) -> str:
            return "true" if self.offers(operation) else "false"

        return (
            "<tds:GetServiceCapabilitiesResponse><tds:Capabilities>"
            '<tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false"/>'
            '<tds:Security UsernameToken="true" HttpDigest="false"/>'
            f'<tds:System FirmwareUpgrade="{flag("UpgradeSystemFirmware")}" '
            f'HttpFirmwareUpgrade="{flag("StartFirmwareUpgrade")}" SystemBackup="false" '
            'HttpSystemBackup="false"/>'
            "</tds:Capabilities></tds:GetServiceCapabilitiesResponse>"
        )

    # --- firmware upgrade -------------------------------------------------------------

    def _op_StartFirmwareUpgrade(self) -> str:
        downtime = self._expected_downtime()
        delay = float(self.device.spec.options.get("onvif_upload_delay_s", 0.0))
        token = secrets.token_urlsafe(18)
        now = self.device.clock()
        live = {t: at for t, at in self._upload_uris.items() if at + UPLOAD_WINDOW_S > now}
        self._upload_uris = live
        self._upload_uris[token] = now + delay
        return (
            "<tds:StartFirmwareUpgradeResponse>"
            f"<tds:UploadUri>{self._xaddr(UPLOAD_PREFIX + token)}</tds:UploadUri>"
            f"<tds:UploadDelay>{_duration(delay)}</tds:UploadDelay>"
            f"<tds:ExpectedDownTime>{escape(downtime)}</tds:ExpectedDownTime>"
            "</tds:StartFirmwareUpgradeResponse>"
        )

    def _expected_downtime(self) -> str:
        """``ExpectedDownTime`` as the device states it: option ``onvif_expected_downtime``
        (seconds, or ``xs:duration`` text), else the flash's write plus reboot time."""
        said = self.device.spec.options.get("onvif_expected_downtime")
        if isinstance(said, str):
            return said
        if said is not None:
            return _duration(float(said))
        flash = self.flash
        return _duration(flash.flash_s + flash.reboot_s if flash is not None else 0.0)

    def _upload(self, request: HttpRequest) -> HttpResponse:
        """The HTTP POST of an image to an upload URI (one use per URI)."""
        if request.method != "POST":
            return HttpResponse(405, b"", [("Allow", "POST")])
        usable_at = self._upload_uris.pop(request.path.removeprefix(UPLOAD_PREFIX), None)
        flash, now = self.flash, self.device.clock()
        if flash is None or usable_at is None or now > usable_at + UPLOAD_WINDOW_S:
            return HttpResponse.text("upload URI unknown or expired", 404)
        if now < usable_at:  # [assumed]: posted before UploadDelay
            return HttpResponse.text("not ready for the upload: wait for UploadDelay", 503)
        if (status := flash.faults.http_status) is not None:
            return HttpResponse.text(f"{status} Error", status)
        if request.header("Content-Type").split(";")[0].strip().lower() not in _OCTET_STREAM:
            return HttpResponse.text(
                "Unsupported Media Type: expected application/octet-stream", 415
            )
        rejection = flash.accept(request.body)
        if rejection is None:
            self.device.log("onvif firmware image accepted")
            return HttpResponse.text("OK")
        status, text, _ = _REFUSALS[rejection]
        return HttpResponse.text(text, status)

    def _upgrade_system_firmware(
        self, operation: Element, attachments: dict[str, bytes]
    ) -> HttpResponse:
        """The legacy MTOM upgrade: the image is the part the ``xop:Include`` names."""
        flash = self.flash
        include = next((e for e in operation.iter() if local(e.tag) == "Include"), None)
        cid = (include.get("href", "") if include is not None else "").removeprefix("cid:")
        image = attachments.get(cid)
        if flash is None or image is None:
            return soap_fault("Sender", "ter:InvalidArgVal", "No firmware attachment", 400,
                              more=("ter:InvalidFirmware",))  # fmt: skip
        if (status := flash.faults.http_status) is not None:
            return HttpResponse.text(f"{status} Error", status)
        rejection = flash.accept(image)
        if rejection is not None:
            _, text, codes = _REFUSALS[rejection]
            return soap_fault("Receiver", codes[0], text, 500, more=codes[1:])
        self.device.log("onvif firmware image accepted (UpgradeSystemFirmware)")
        body = (
            "<tds:UpgradeSystemFirmwareResponse><tds:Message>Upgrade started; the device "
            "restarts</tds:Message></tds:UpgradeSystemFirmwareResponse>"
        )
        return HttpResponse(200, _envelope(body), [("Content-Type", _SOAP_CT)])


def _duration(seconds: float) -> str:
    """Seconds as an ``xs:duration`` (``PT3.3S``)."""
    return f"PT{f'{seconds:.3f}'.rstrip('0').rstrip('.')}S"


def _mtom_parts(request: HttpRequest) -> tuple[bytes, dict[str, bytes]]:
    """The SOAP envelope of a request and its MTOM attachments by Content-ID (a plain
    SOAP request has none); the root part is the ``start`` part, else the first."""
    header = Message()
    header["Content-Type"] = request.header("Content-Type")
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/related" or not isinstance(boundary, str):
        return request.body, {}
    start = header.get_param("start")
    parts: dict[str, bytes] = {}
    first = b""
    for chunk in request.body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        cid = ""
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-id":
                cid = value.strip().strip("<>")
        parts[cid] = content
        first = first or content
    root = parts.pop(start.strip("<>"), first) if isinstance(start, str) else first
    return root, parts


def _operation(root: Element) -> Element | None:
    if root.tag != f"{{{NS_SOAP}}}Envelope":
        return None
    body = root.find(f"{{{NS_SOAP}}}Body")
    return body[0] if body is not None and len(body) else None


# -- WS-Discovery -------------------------------------------------------------------


def _probe_id(data: bytes, peer: str) -> str | None:
    """The MessageID of a Probe that asks for an ONVIF transmitter, else None."""
    try:
        root = parse_xml(data, what="ws-discovery probe", host=peer, max_bytes=65_507)
    except DeviceResponseError:
        return None
    probe = next((e for e in root.iter() if e.tag == f"{{{NS_DISCOVERY}}}Probe"), None)
    if probe is None:
        return None
    wanted = [t.rsplit(":", 1)[-1] for t in (child_text(probe, "Types") or "").split()]
    if wanted and not {"NetworkVideoTransmitter", "Device"} & set(wanted):
        return None
    return child_text(root, "MessageID") or ""


def probe_match(device: SimDevice, relates_to: str, xaddr_port: int) -> bytes:
    """The ProbeMatches reply ``device`` sends to a probe with ``relates_to``."""
    s = device.spec
    header = (
        f'<a:Action xmlns:a="{NS_ADDRESSING}">{PROBE_MATCHES_ACTION}</a:Action>'
        f'<a:MessageID xmlns:a="{NS_ADDRESSING}">urn:uuid:{uuid.uuid4()}</a:MessageID>'
        f'<a:RelatesTo xmlns:a="{NS_ADDRESSING}">{escape(relates_to)}</a:RelatesTo>'
        f'<a:To xmlns:a="{NS_ADDRESSING}">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>'
    )
    body = (
        f'<d:ProbeMatches xmlns:d="{NS_DISCOVERY}" xmlns:a="{NS_ADDRESSING}" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><d:ProbeMatch>'
        f"<a:EndpointReference><a:Address>{endpoint_uuid(s)}</a:Address></a:EndpointReference>"
        "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
        f"<d:Scopes>{escape(' '.join(scopes_of(s)))}</d:Scopes>"
        f"<d:XAddrs>http://{s.address}:{xaddr_port}{DEVICE_SERVICE}</d:XAddrs>"
        "<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches>"
    )
    return _envelope(body, header)


def ws_discovery_service(device: SimDevice, *, xaddr_port: int = 80) -> UdpService:
    """The device's WS-Discovery responder (UDP 3702, also on 239.255.255.250).

    The XAddr carries the vendor's port even under a PortMap: the scanner maps it.
    """

    def on_datagram(data: bytes, peer: tuple[str, int]) -> list[bytes]:
        if not device.spec.ws_discovery:
            return []
        relates_to = _probe_id(data, peer[0])
        if relates_to is None:
            return []
        device.log(f"ws-discovery probe from {peer[0]}")
        return [probe_match(device, relates_to, xaddr_port)]

    return UdpService(PORT, on_datagram, multicast_group=MULTICAST_GROUP)


# -- the generic ONVIF camera personality ------------------------------------------


class OnvifCamera(SimDevice):
    """A camera that speaks only standard protocols: ONVIF, RTSP, WS-Discovery (+ telnet).

    Attributes:
        lockout: failed ONVIF (and snapshot) logins per client address (5 in 30 min lock
            30 min by default).
        onvif: the device service.
        flash: its flash memory (firmware upgrades over ONVIF, see the module docstring).
        realm: the snapshot's HTTP Digest realm, over the ONVIF accounts.
    """

    personality = "onvif"

    def __init__(self, spec: DeviceSpec, clock: Clock) -> None:
        super().__init__(spec, clock)
        opts = spec.options
        self.lockout = Lockout(
            max_failures=int(opts.get("lockout_max_failures", 5)),
            lock_s=float(opts.get("lockout_s", 1800.0)),
            clock=clock,
        )
        self.onvif = OnvifService(self, lockout=self.lockout)
        self.flash: Flash = Flash(self)
        self.realm = DigestRealm(SNAPSHOT_REALM, spec.users, allow_basic=False)
        self._udp = [ws_discovery_service(self, xaddr_port=self.onvif_port)]

    def lock_everyone(self) -> None:
        """Refuse every ONVIF login for the lock time (fault ``lock_during_job``)."""
        self.onvif.locked_until = self.clock() + self.lockout.lock_s

    def is_upload(self, request: HttpRequest) -> bool:
        """A firmware upload to the ONVIF service (see :meth:`OnvifService.is_upload`)."""
        return self.spec.onvif and self.onvif.is_upload(request)

    @property
    def onvif_port(self) -> int:
        """The port of the ONVIF device service (80, or e.g. 8899)."""
        return int(self.spec.options.get("onvif_port", 80))

    async def _web(self, request: HttpRequest) -> HttpResponse | RawWriter:
        if self.offline():  # a kept-alive connection outlives no reboot
            return reset_connection
        if self.onvif_port == 80 and self.spec.onvif:
            answer = await self.onvif.handle(request)
            if answer is not None:
                return answer
        scheme = request.header("Authorization").split(" ", 1)[0] or "-"
        self.log(f"http {request.method} {request.path} auth={scheme}")
        if request.path in ("/", "/index.html"):
            return HttpResponse.text(
                "<html><head><title>IP Camera</title></head></html>", content_type="text/html"
            )
        if request.path == SNAPSHOT_PATH and request.method == "GET":
            return self._snapshot(request)
        return HttpResponse.text("Not Found", 404)

    def _snapshot(self, request: HttpRequest) -> HttpResponse:
        """The picture for anyone (``snapshot_auth: false``), else behind Digest."""
        if answers_anyone(self.spec):
            return snapshot_response(self.spec)
        peer = request.peer
        if not self.lockout.is_locked(peer) and self.clock() >= self.onvif.locked_until:
            self.realm.users = self.spec.users  # a test may have replaced the accounts
            result, _user = self.realm.check(request.header("Authorization"), request.method)
            self.lockout.record(peer, result)
            if result is AuthResult.OK:
                return snapshot_response(self.spec)
        challenge = [("WWW-Authenticate", self.realm.challenge())]
        return HttpResponse.text("Unauthorized", 401, "text/html", headers=challenge)

    async def _onvif_only(self, request: HttpRequest) -> HttpResponse | RawWriter:
        if self.offline():
            return reset_connection
        answer = await self.onvif.handle(request) if self.spec.onvif else None
        return answer or HttpResponse.text("Not Found", 404)

    def tcp_services(self) -> list[TcpService]:
        """Web on 80 (ONVIF there or on ``onvif_port``), RTSP on 554, telnet if enabled."""
        opts = self.spec.options
        server = opts.get("http_server")
        hooks = (self.cut_upload, self.dropped_upload)
        web_hooks = hooks if self.onvif_port == 80 else (None, None)
        services = [TcpService(80, serve_http(self._web, server, *web_hooks))]
        if self.onvif_port != 80:
            services.append(
                TcpService(self.onvif_port, serve_http(self._onvif_only, server, *hooks))
            )
        services.append(
            rtsp_service(self, server=str(opts.get("rtsp_server", "GStreamer RTSP server")))
        )
        if self.spec.telnet:
            services.append(telnet_service(self))
        return services

    def udp_services(self) -> list[UdpService]:
        """The WS-Discovery responder (it stays silent while ``spec.ws_discovery`` is off)."""
        return self._udp if self.spec.onvif else []


DEVICE = OnvifCamera
