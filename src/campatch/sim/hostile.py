"""A simulated hostile device (``personality: hostile``): one misbehaviour per device.

Usage in a fleet file::

    - name: bomb
      personality: hostile
      address: 127.20.0.66
      behaviour: xml_bomb
      trap_url: http://127.20.0.250:18080/trap     # xxe_http, dtd_retrieval, discovery_*
      interval_s: 0.2                              # slowloris pace (default 5 s)

Every behaviour is a faithful misbehaviour from SAFETY I-01..I-05. The device looks
like a camera where that matters, so a scan really tries to identify it: TCP 80 with
a Hikvision-style ``Server: App-webs/`` and an ONVIF device service, TCP 554 RTSP,
and WS-Discovery (UDP 3702) / SSDP (UDP 1900) answers for the XML and discovery
behaviours. Options: ``behaviour`` (required, one of :data:`BEHAVIOURS`),
``trap_url``, ``interval_s``, ``max_hold_s`` (longest a stalling connection is kept,
default 30 s), ``header_count`` (``many_headers``, default 150), ``flood_count``
(``discovery_flood``, default 10,000), ``server_header``.

I-01, XML attacks, on ISAPI ``GET /ISAPI/System/deviceInfo``, ONVIF
``GetDeviceInformation`` (other ONVIF operations answer honestly, so a client finds
the device service first), the UPnP description and the WS-Discovery ProbeMatch:

- ``xml_bomb``: billion laughs (10 levels of 10 references, 10^9 "lol"s);
- ``quadratic_blowup``: a 50 kB entity referenced 1,000 times (50 MB expanded);
- ``xxe_file``: an external entity ``file:///etc/passwd``;
- ``xxe_http``: an external entity pointing at ``trap_url``;
- ``dtd_retrieval``: ``<!DOCTYPE ... SYSTEM trap_url>``.

I-02, oversized HTTP (every request on port 80):

- ``endless_body``: chunked, never ends; ``huge_header``: one 1 MiB header line;
- ``many_headers``: ``header_count`` small headers; ``huge_content_length``:
  ``Content-Length: 10^12``, then one body byte per ``interval_s``;
- ``gzip_bomb``: ``Content-Encoding: gzip``, ~1 GB of zeros (ratio ~1000),
  compressed on the fly; ``soap_50mb``: a 50 MB SOAP reply, chunked, streamed.

I-03: ``slowloris`` (one byte per ``interval_s`` on 80 and 554, never finishes),
``silent`` (accepts TCP on 80 and 554, never answers). Both let go after
``max_hold_s`` or when the client closes.

Other hostile input: ``garbage`` (binary junk on every port, TCP and UDP),
``bad_digest`` (every HTTP request gets 401 with a Digest challenge that has no
nonce and broken quoting).

I-04, RTSP on 554 (port 80 serves a plain camera page): ``rtsp_bad_status``
(an HTTP status line), ``rtsp_cseq_mismatch``, ``rtsp_negative_length``,
``rtsp_huge_length`` (10^12, then a trickle), ``rtsp_junk`` (128 KiB of binary
without a line end), ``rtsp_interleaved`` (a ``$`` frame before the reply),
``rtsp_bad_challenge`` (401 with an unterminated realm and an empty nonce),
``rtsp_redirect_loop`` (302 to itself, forever).

I-05, spoofed discovery: ``discovery_spoof`` (ProbeMatch XAddrs and SSDP LOCATION
pointing at ``trap_url`` and at 169.254.169.254, beside an honest one),
``discovery_flood`` (``flood_count`` WS-Discovery and SSDP replies per probe, all
but a few of them duplicates).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import itertools
import random
import re
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from xml.sax.saxutils import escape

from campatch.errors import UsageError
from campatch.sim.auth import Clock
from campatch.sim.device import DeviceSpec, SimDevice, TcpService, UdpService
from campatch.sim.http import HttpRequest, HttpResponse, RawWriter, serve_http
from campatch.sim.onvif import OnvifService

XML_ATTACKS = frozenset({"xml_bomb", "quadratic_blowup", "xxe_file", "xxe_http", "dtd_retrieval"})
HTTP_ATTACKS = frozenset(
    {"endless_body", "huge_header", "many_headers", "huge_content_length", "gzip_bomb",
     "soap_50mb", "bad_digest"}
)  # fmt: skip
STALLS = frozenset({"slowloris", "silent"})
RTSP_ATTACKS = frozenset(
    {"rtsp_bad_status", "rtsp_cseq_mismatch", "rtsp_negative_length", "rtsp_huge_length",
     "rtsp_junk", "rtsp_interleaved", "rtsp_bad_challenge", "rtsp_redirect_loop"}
)  # fmt: skip
DISCOVERY_ATTACKS = frozenset({"discovery_spoof", "discovery_flood"})
BEHAVIOURS = XML_ATTACKS | HTTP_ATTACKS | STALLS | RTSP_ATTACKS | DISCOVERY_ATTACKS | {"garbage"}

HIK_NS = "http://www.hikvision.com/ver20/XMLSchema"
NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"
NS_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSD_PORT, SSDP_PORT, MULTICAST_GROUP = 3702, 1900, "239.255.255.250"
METADATA_URL = "http://169.254.169.254/latest/meta-data/"
DESCRIPTION_PATH = "/upnp/desc.xml"
ONE_MIB = 1_048_576
SOAP_BYTES = 50_000_000
GZIP_ZEROS = 1_024 * ONE_MIB  # uncompressed size of the gzip bomb (~1 MB on the wire)
GZIP_BLOCK_MIB = 64  # MiB of zeros per repeated deflate block (~64 kB compressed: one read)
HUGE_LENGTH = 10**12
_CHUNK = 65_536
_MESSAGE_ID = re.compile(rb"MessageID[^>]*>\s*([^<\s]{1,200})\s*<")
_CSEQ = re.compile(rb"(?im)^cseq:\s*(\d{1,10})\s*$")
_ZEROS = bytes(ONE_MIB)
#: The reader of the connection being served; lets a raw HTTP writer notice a hang-up.
_CONNECTION_READER: contextvars.ContextVar[asyncio.StreamReader | None] = contextvars.ContextVar(
    "hostile_connection_reader", default=None
)


def attack_doctype(kind: str, root: str, trap_url: str) -> tuple[str, str]:
    """The ``<!DOCTYPE>`` of XML attack ``kind`` and the text that triggers it.

    Args:
        kind: one of :data:`XML_ATTACKS`.
        root: the document element's name, as the DOCTYPE must spell it.
        trap_url: where the external entity or DTD points (``xxe_http``, ``dtd_retrieval``).

    Returns:
        ``(doctype, reference)``: put ``reference`` into a text node of the document.
    """
    url = escape(trap_url, {'"': "&quot;"})
    if kind == "xml_bomb":
        levels = '<!ENTITY l0 "lol">' + "".join(
            f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
        )
        return f"<!DOCTYPE {root} [{levels}]>", "&l9;"
    if kind == "quadratic_blowup":
        return f'<!DOCTYPE {root} [<!ENTITY a "{"A" * 50_000}">]>', "&a;" * 1_000
    if kind == "xxe_file":
        return f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"
    if kind == "xxe_http":
        return f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "{url}">]>', "&x;"
    if kind == "dtd_retrieval":
        return f'<!DOCTYPE {root} SYSTEM "{url}">', "IP CAMERA"
    raise ValueError(f"not an xml attack: {kind!r}")


def hostile_device_info(kind: str, trap_url: str) -> bytes:
    """An ISAPI ``DeviceInfo`` document carrying XML attack ``kind``."""
    doctype, ref = attack_doctype(kind, "DeviceInfo", trap_url)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n'
        f'<DeviceInfo version="2.0" xmlns="{HIK_NS}"><deviceName>{ref}</deviceName>'
        f"<model>{ref}</model><serialNumber>HOSTILE0001</serialNumber>"
        "<firmwareVersion>V5.5.0</firmwareVersion><deviceType>IPCamera</deviceType>"
        "</DeviceInfo>\n"
    ).encode()


def hostile_device_information(kind: str, trap_url: str) -> bytes:
    """An ONVIF ``GetDeviceInformationResponse`` envelope carrying XML attack ``kind``."""
    doctype, ref = attack_doctype(kind, "s:Envelope", trap_url)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n'
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:tds="{NS_TDS}"><s:Body>'
        f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{ref}</tds:Manufacturer>"
        f"<tds:Model>{ref}</tds:Model><tds:FirmwareVersion>1.0</tds:FirmwareVersion>"
        "<tds:SerialNumber>HOSTILE0001</tds:SerialNumber><tds:HardwareId>1</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse></s:Body></s:Envelope>"
    ).encode()


def probe_matches(
    relates_to: str, xaddrs: str, *, doctype: str = "", scope_text: str = ""
) -> bytes:
    """A WS-Discovery ``ProbeMatches`` datagram (optionally with a hostile DOCTYPE)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:a="{NS_WSA}" xmlns:d="{NS_WSD}"><s:Header>'
        f"<a:Action>{NS_WSD}/ProbeMatches</a:Action>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header><s:Body>"
        "<d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>"
        "urn:uuid:0badc0de-0000-4000-8000-000000000001</a:Address></a:EndpointReference>"
        "<d:Types>dn:NetworkVideoTransmitter</d:Types>"
        f"<d:Scopes>onvif://www.onvif.org/name/{scope_text or 'Hostile'} "
        "onvif://www.onvif.org/hardware/HX-1</d:Scopes>"
        f"<d:XAddrs>{escape(xaddrs)}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>"
        "</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
    ).encode()


def ssdp_reply(location: str, usn: str = "uuid:0badc0de::upnp:rootdevice") -> bytes:
    """An SSDP search response announcing ``location``."""
    return (
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
        f"LOCATION: {location}\r\nSERVER: Linux/3.0 UPnP/1.0 IPCamera/1.0\r\n"
        f"ST: upnp:rootdevice\r\nUSN: {usn}\r\n\r\n"
    ).encode()


def junk(n: int, *, seed: int = 0, line_ends: bool = True) -> bytes:
    """``n`` deterministic bytes of binary junk (without ``\\n`` when ``line_ends`` is false)."""
    data = random.Random(seed).randbytes(n)
    return data if line_ends else data.replace(b"\n", b"\x00")


@functools.cache
def gzip_bomb_blocks() -> tuple[bytes, bytes]:
    """The gzip bomb as ``(first, repeated)``: 64 MiB of zeros each, ~64 kB compressed.

    Every block ends with a full flush, which resets the compressor's history, so the
    second block's bytes are valid again after every copy of themselves: the device
    streams 1 GiB of zeros (ratio ~1000) while holding 32 kB. The stream ends without
    the gzip trailer (no client should read that far).
    """
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container

    def block() -> bytes:
        data = b"".join(gz.compress(_ZEROS) for _ in range(GZIP_BLOCK_MIB))
        return data + gz.flush(zlib.Z_FULL_FLUSH)

    return block(), block()


def _soap_operation(body: bytes) -> str:
    """The local name of a SOAP request's operation, found without parsing (bounded regex)."""
    found = re.search(rb"<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w{1,64})", body[:8192])
    return found.group(1).decode() if found else ""


class HostileDevice(SimDevice):
    """A device that misbehaves in exactly one way (see the module docstring).

    Attributes:
        behaviour: the misbehaviour, one of :data:`BEHAVIOURS`.
        connections: TCP connections accepted, per well-known port.
    """

    personality = "hostile"

    def __init__(self, spec: DeviceSpec, clock: Clock = time.monotonic) -> None:
        super().__init__(spec, clock)
        opts = spec.options
        self.behaviour = str(opts.get("behaviour", ""))
        if self.behaviour not in BEHAVIOURS:
            raise UsageError(
                f"device {spec.name}: behaviour must be one of {sorted(BEHAVIOURS)}, "
                f"got {self.behaviour!r}"
            )
        self.trap_url = str(opts.get("trap_url", "http://127.0.0.1:9/trap"))
        self.interval_s = float(opts.get("interval_s", 5.0))
        self.max_hold_s = float(opts.get("max_hold_s", 30.0))
        self.server_header = str(opts.get("server_header", "App-webs/"))
        self.connections: dict[int, int] = {}
        self.onvif = OnvifService(self)
        if self.behaviour == "gzip_bomb":
            gzip_bomb_blocks()  # built once, before any test measures memory

    # --- services ---------------------------------------------------------------------

    def tcp_services(self) -> list[TcpService]:
        """Web 80 and RTSP 554, each wired to the behaviour."""
        if self.behaviour == "silent":
            return [TcpService(p, self._counted(p, self._silent)) for p in (80, 554)]
        if self.behaviour == "garbage":
            return [TcpService(p, self._counted(p, self._garbage)) for p in (80, 554)]
        web = serve_http(self._http, self.server_header)
        return [
            TcpService(80, self._counted(80, web)),
            TcpService(554, self._counted(554, self._rtsp)),
        ]

    def udp_services(self) -> list[UdpService]:
        """WS-Discovery and SSDP answers for the XML, discovery and garbage behaviours."""
        b = self.behaviour
        if b not in XML_ATTACKS | DISCOVERY_ATTACKS | {"garbage"}:
            return []
        return [
            UdpService(WSD_PORT, self._ws_discovery, multicast_group=MULTICAST_GROUP),
            UdpService(SSDP_PORT, self._ssdp, multicast_group=MULTICAST_GROUP),
        ]

    def _counted(
        self,
        port: int,
        handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections[port] = self.connections.get(port, 0) + 1
            _CONNECTION_READER.set(reader)  # this connection's task only (a copied context)
            await handler(reader, writer)

        return on_connection

    # --- HTTP -------------------------------------------------------------------------

    async def _http(self, request: HttpRequest) -> HttpResponse | RawWriter:
        self.log(f"http {request.method} {request.target} from {request.peer}")
        b = self.behaviour
        if b in XML_ATTACKS:
            return await self._xml_attack(request)
        if b == "bad_digest":
            return _bad_digest()
        if b in HTTP_ATTACKS:
            return self._raw_http_attack()
        if b == "slowloris":
            return self._trickle(b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nX-Pad: ")
        if b in DISCOVERY_ATTACKS and request.path == DESCRIPTION_PATH:
            return HttpResponse(200, _description(self.spec), [("Content-Type", "text/xml")])
        return _camera_page(request)

    async def _xml_attack(self, request: HttpRequest) -> HttpResponse:
        kind, xml = self.behaviour, [("Content-Type", 'application/xml; charset="UTF-8"')]
        if request.path == "/ISAPI/System/deviceInfo":
            return HttpResponse(200, hostile_device_info(kind, self.trap_url), xml)
        if request.path == DESCRIPTION_PATH:
            doctype, ref = attack_doctype(kind, "root", self.trap_url)
            description = (
                f'<?xml version="1.0"?>{doctype}<root><device>'
                f"<manufacturer>{ref}</manufacturer></device></root>"
            )
            return HttpResponse(200, description.encode(), xml)
        if request.path.startswith("/onvif/") and request.method == "POST":
            if _soap_operation(request.body) == "GetDeviceInformation":
                soap = hostile_device_information(kind, self.trap_url)
                return HttpResponse(200, soap, [("Content-Type", "application/soap+xml")])
            answer = await self.onvif.handle(request)
            if answer is not None:
                return answer
        return _camera_page(request)

    def _raw_http_attack(self) -> RawWriter:
        b = self.behaviour
        if b == "endless_body":
            return self._endless_body
        if b == "huge_header":
            return _fixed(
                b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nX-Filler: "
                + b"A" * ONE_MIB
                + b"\r\nContent-Length: 2\r\n\r\nok"
            )
        if b == "many_headers":
            count = int(self.spec.options.get("header_count", 150))
            lines = b"".join(b"X-Header-%d: v\r\n" % i for i in range(count))
            return _fixed(
                b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\n" + lines + b"Content-Length: 2\r\n\r\nok"
            )
        if b == "huge_content_length":
            head = (
                b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Length: %d\r\n\r\n" % HUGE_LENGTH
            )
            return self._trickle(b"<?xml version='1.0'?><DeviceInfo>", head=head)
        if b == "gzip_bomb":
            return self._gzip_bomb
        return self._soap_50mb

    async def _endless_body(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nTransfer-Encoding: chunked\r\n\r\n")
        await self._stream(writer, itertools.repeat(b"x" * _CHUNK))

    async def _gzip_bomb(self, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Type: application/xml\r\n"
            b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        first, block = gzip_bomb_blocks()
        blocks = GZIP_ZEROS // (GZIP_BLOCK_MIB * ONE_MIB) - 1
        await self._stream(writer, itertools.chain([first], itertools.repeat(block, blocks)))

    async def _soap_50mb(self, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Type: application/soap+xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        head = (
            f'<?xml version="1.0"?><s:Envelope xmlns:s="{NS_SOAP}" xmlns:tds="{NS_TDS}"><s:Body>'
            "<tds:GetDeviceInformationResponse><tds:Manufacturer>"
        ).encode()
        tail = b"</tds:Manufacturer></tds:GetDeviceInformationResponse></s:Body></s:Envelope>"
        filler = itertools.repeat(b"A" * _CHUNK, SOAP_BYTES // _CHUNK)
        await self._stream(writer, itertools.chain([head], filler, [tail]))

    async def _stream(self, writer: asyncio.StreamWriter, parts: Iterable[bytes]) -> None:
        """Send ``parts`` as HTTP chunks as fast as the client reads, until it hangs up."""
        deadline = time.monotonic() + self.max_hold_s
        with contextlib.suppress(ConnectionError, OSError):
            for part in parts:
                if time.monotonic() > deadline:
                    return
                writer.write(b"%x\r\n%b\r\n" % (len(part), part))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    def _trickle(self, prefix: bytes, *, head: bytes = b"") -> RawWriter:
        """A raw writer: ``head`` at once, then ``prefix`` and padding one byte per ``interval_s``.

        Between two bytes it listens on the connection, so it lets go as soon as the
        client hangs up rather than at the next failing write.
        """

        async def write(writer: asyncio.StreamWriter) -> None:
            reader = _CONNECTION_READER.get()
            deadline = time.monotonic() + self.max_hold_s
            data = iter(prefix)
            with contextlib.suppress(ConnectionError, OSError):
                writer.write(head)
                while time.monotonic() < deadline:
                    writer.write(bytes([next(data, 0x61)]))  # then "aaaa..." forever
                    await writer.drain()
                    if await _hung_up(reader, self.interval_s):
                        return

        return write

    # --- raw TCP behaviours -----------------------------------------------------------

    async def _silent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Accept, read and discard, answer nothing; let go when the client hangs up."""
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            async with asyncio.timeout(self.max_hold_s):
                while await reader.read(_CHUNK):
                    pass
        _close(writer)

    async def _garbage(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await reader.read(_CHUNK)  # let the client speak first, as a server would
            writer.write(junk(4_096, seed=zlib.crc32(self.spec.address.encode())))
            await writer.drain()
        _close(writer)

    # --- RTSP -------------------------------------------------------------------------

    async def _rtsp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                async with asyncio.timeout(self.max_hold_s):
                    head = await reader.readuntil(b"\r\n\r\n")
                found = _CSEQ.search(head)
                cseq = int(found.group(1)) if found else 0
                self.log(f"rtsp {head.split(b' ', 1)[0].decode('latin-1')} cseq={cseq}")
                if not await self._rtsp_reply(writer, cseq):
                    return
        except (ConnectionError, OSError, TimeoutError, asyncio.IncompleteReadError):
            return
        except asyncio.LimitOverrunError:  # a request head past the stream limit: hang up
            return
        finally:
            _close(writer)

    async def _rtsp_reply(self, writer: asyncio.StreamWriter, cseq: int) -> bool:
        """Send this behaviour's reply to request ``cseq``; False to end the connection."""
        b, own = self.behaviour, f"rtsp://{self.spec.address}:554/loop"
        replies = {
            "rtsp_bad_status": f"HTTP/1.1 200 OK\r\nCSeq: {cseq}\r\n\r\n",
            "rtsp_cseq_mismatch": f"RTSP/1.0 200 OK\r\nCSeq: {cseq + 1000}\r\nPublic: OPTIONS\r\n\r\n",
            "rtsp_negative_length": f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Length: -5\r\n\r\n",
            "rtsp_bad_challenge": (
                f'RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Digest realm="Hik'
                '\r\nWWW-Authenticate: Digest nonce=, realm=""", qop="auth\r\n\r\n'
            ),
            "rtsp_redirect_loop": f"RTSP/1.0 302 Moved Temporarily\r\nCSeq: {cseq}\r\nLocation: {own}\r\n\r\n",
        }
        if b in replies:
            writer.write(replies[b].encode("latin-1"))
        elif b == "rtsp_interleaved":
            frame = b"$\x00\x00\x20" + junk(32, seed=7, line_ends=False)
            writer.write(frame + b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nPublic: OPTIONS\r\n\r\n" % cseq)
        elif b == "rtsp_junk":
            writer.write(junk(128 * 1024, seed=11, line_ends=False))
        elif b == "rtsp_huge_length":
            head = b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nContent-Length: %d\r\n\r\n" % (
                cseq,
                HUGE_LENGTH,
            )
            await self._trickle(b"v=0\r\n", head=head)(writer)
            return False
        elif b == "slowloris":
            await self._trickle(b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nX-Pad: " % cseq)(writer)
            return False
        else:  # a plain camera's RTSP: OPTIONS open, everything else wants credentials
            writer.write(
                b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nServer: Hikvision RTSP Server\r\n"
                b"Public: OPTIONS, DESCRIBE\r\n\r\n" % cseq
            )
        await writer.drain()
        return b in ("rtsp_redirect_loop", "rtsp_bad_challenge") or b not in RTSP_ATTACKS

    # --- UDP discovery ----------------------------------------------------------------

    def _ws_discovery(self, data: bytes, peer: tuple[str, int]) -> list[bytes]:
        found = _MESSAGE_ID.search(data[:8192])
        if found is None or not self.spec.ws_discovery:
            return []
        relates_to = found.group(1).decode("latin-1")
        self.log(f"ws-discovery probe from {peer[0]}")
        own = f"http://{self.spec.address}:80/onvif/device_service"
        b = self.behaviour
        if b in XML_ATTACKS:
            doctype, ref = attack_doctype(b, "s:Envelope", self.trap_url)
            return [probe_matches(relates_to, own, doctype=doctype, scope_text=ref)]
        if b == "discovery_spoof":
            return [probe_matches(relates_to, f"{own} {self.trap_url} {METADATA_URL}")]
        if b == "discovery_flood":
            count = int(self.spec.options.get("flood_count", 10_000))
            same = probe_matches(relates_to, own)
            return [same] * (count - 10) + [
                probe_matches(relates_to, f"http://{self.spec.address}:{8000 + i}/onvif/x")
                for i in range(min(10, count))
            ]
        return [junk(512, seed=3)]

    def _ssdp(self, data: bytes, peer: tuple[str, int]) -> list[bytes]:
        if not data.startswith(b"M-SEARCH"):
            return []
        self.log(f"ssdp search from {peer[0]}")
        own = f"http://{self.spec.address}:80{DESCRIPTION_PATH}"
        b = self.behaviour
        if b in XML_ATTACKS:
            return [ssdp_reply(own)]
        if b == "discovery_spoof":
            return [ssdp_reply(self.trap_url), ssdp_reply(METADATA_URL), ssdp_reply(own)]
        if b == "discovery_flood":
            count = int(self.spec.options.get("flood_count", 10_000))
            return [ssdp_reply(own)] * count
        return [junk(512, seed=5)]


async def _hung_up(reader: asyncio.StreamReader | None, wait_s: float) -> bool:
    """Wait up to ``wait_s``, reading and dropping what the client sends; True at its EOF."""
    if reader is None:
        await asyncio.sleep(wait_s)
        return False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(wait_s):
            while await reader.read(_CHUNK):
                pass
            return True
    return False


def _fixed(data: bytes) -> RawWriter:
    async def write(writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(data)
            await writer.drain()

    return write


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        writer.close()


def _bad_digest() -> HttpResponse:
    return HttpResponse(
        401,
        b"<html><body>401 Unauthorized</body></html>",
        [
            ("Content-Type", "text/html"),
            ("WWW-Authenticate", 'Digest realm="IP Camera, qop="auth, algorithm=MD5'),
        ],
    )


def _camera_page(request: HttpRequest) -> HttpResponse:
    if request.path in ("/", "/index.html", "/doc/page/login.asp"):
        return HttpResponse.text(
            "<html><head><title>IP Camera</title></head><body>login</body></html>",
            content_type="text/html",
        )
    return HttpResponse.text("<html><body>404 Not Found</body></html>", 404, "text/html")


def _description(spec: DeviceSpec) -> bytes:
    return (
        '<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
        "<deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>"
        f"<friendlyName>{escape(spec.name)}</friendlyName><manufacturer>Hostile</manufacturer>"
        "<modelName>HX-1</modelName></device></root>"
    ).encode()


DEVICE = HostileDevice
