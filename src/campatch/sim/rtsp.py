"""A simulated RTSP/1.0 server (RFC 2326), shared by every camera personality.

What it emulates (VENDORS.md §10): ``OPTIONS`` answers with the usual ``Public``
list and no authentication; ``DESCRIBE`` asks for credentials when
``device.spec.rtsp_auth`` is true (Digest without ``qop``, as RTSP servers do, or
Basic) and otherwise returns an H.264 SDP; ``SETUP``/``PLAY``/``PAUSE``/
``TEARDOWN``/``GET_PARAMETER``/``SET_PARAMETER`` keep a session but send no media.
``CSeq`` is echoed, several requests share one connection, and requests are read
with a size cap and an idle timeout.

Device options it honours:
    ``rtsp_paths``: list of accepted stream paths (``"/Streaming/Channels/101"``);
    any other path gets 404. Missing or empty: every path is a stream.
"""

from __future__ import annotations

import asyncio
import email.utils
import secrets
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from campatch.sim.auth import AuthResult, DigestRealm, Lockout
from campatch.sim.device import SimDevice, TcpService
from campatch.sim.http import read_head, reset_now, serve_connection

MAX_REQUEST_HEAD = 8_192
MAX_REQUEST_BODY = 65_536
IDLE_TIMEOUT_S = 30.0
PUBLIC_METHODS = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, SET_PARAMETER, GET_PARAMETER"
SCHEMES = ("digest", "basic", "both")
_AUTH_METHODS = {"DESCRIBE", "SETUP", "PLAY"}
_SESSION_METHODS = {"PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER"}
_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    454: "Session Not Found", 501: "Not Implemented", 505: "RTSP Version Not Supported",
}  # fmt: skip


@dataclass
class RtspRequest:
    """One RTSP request as the simulated device sees it."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    peer: str

    def header(self, name: str) -> str:
        """First value of header ``name`` (case-insensitive), or ``""``."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), "")

    @property
    def path(self) -> str:
        """The URL's path plus query (XiongMai puts credentials in the path)."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class _Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False


class _RtspServer:
    """The per-device state behind one RTSP listener."""

    def __init__(
        self, device: SimDevice, server: str, realm: str, scheme: str, lockout: Lockout | None
    ) -> None:
        self.device = device
        self.server = server
        self.scheme = scheme
        self.lockout = lockout
        self.realm = DigestRealm(realm, device.spec.users, allow_basic=scheme != "digest")
        self.sessions: set[str] = set()

    async def on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self.device.rtsp_offline():
            reset_now(writer)  # the stream service is down (fault rtsp_down_after)
            return
        await serve_connection(reader, writer, self._exchange)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> bool:
        request = await _read_request(reader, peer)
        if request is None:
            return False
        reply = self.respond(request)
        writer.write(self._encode(request, reply))
        await writer.drain()
        return not reply.close

    def respond(self, request: RtspRequest) -> _Reply:
        """The reply to one well-formed request."""
        reply = self._dispatch(request)
        self.device.log(f"rtsp {request.method} {request.path} -> {reply.status}")
        return reply

    def _dispatch(self, request: RtspRequest) -> _Reply:
        method = request.method
        if not request.header("CSeq").strip().isdigit():
            return _Reply(400, close=True)  # RFC 2326 §12.17: every request carries CSeq
        if method == "OPTIONS":
            return _Reply(200, [("Public", PUBLIC_METHODS)])
        if method not in PUBLIC_METHODS.split(", "):
            return _Reply(501)
        if method in _AUTH_METHODS and (denied := self._authenticate(request)):
            return denied
        if method in ("DESCRIBE", "SETUP") and not self._path_ok(request.path):
            return _Reply(404)
        if method == "DESCRIBE":
            return self._describe(request)
        if method == "SETUP":
            return self._setup(request)
        return self._in_session(request)

    def _authenticate(self, request: RtspRequest) -> _Reply | None:
        spec = self.device.spec
        if not spec.rtsp_auth:
            return None
        self.realm.users = spec.users  # the test may have replaced the account table
        if self.lockout is not None and self.lockout.is_locked(request.peer):
            return self._challenge()
        result, _user = self.realm.check(request.header("Authorization"), request.method)
        if self.lockout is not None:
            self.lockout.record(request.peer, result)
        return None if result is AuthResult.OK else self._challenge()

    def _challenge(self) -> _Reply:
        headers: list[tuple[str, str]] = []
        if self.scheme in ("digest", "both"):
            headers.append(("WWW-Authenticate", self.realm.challenge(qop=False)))
        if self.scheme in ("basic", "both"):
            headers.append(("WWW-Authenticate", self.realm.basic_challenge()))
        return _Reply(401, headers)

    def _path_ok(self, path: str) -> bool:
        accepted = self.device.spec.options.get("rtsp_paths") or []
        if not accepted:
            return True
        wanted = {str(p).rstrip("/") or "/" for p in accepted}
        return (path.rstrip("/") or "/") in wanted

    def _describe(self, request: RtspRequest) -> _Reply:
        base = request.url if request.url.endswith("/") else request.url + "/"
        body = sdp(self.device, base).encode()
        return _Reply(200, [("Content-Type", "application/sdp"), ("Content-Base", base)], body)

    def _setup(self, request: RtspRequest) -> _Reply:
        session = secrets.token_hex(8)
        if len(self.sessions) >= 256:
            self.sessions.pop()
        self.sessions.add(session)
        transport = request.header("Transport") or "RTP/AVP/TCP;unicast;interleaved=0-1"
        return _Reply(
            200,
            [("Session", f"{session};timeout=60"), ("Transport", transport + ";ssrc=1A2B3C4D")],
        )

    def _in_session(self, request: RtspRequest) -> _Reply:
        session = request.header("Session").split(";")[0].strip()
        if session not in self.sessions:
            return _Reply(454)
        if request.method == "TEARDOWN":
            self.sessions.discard(session)
        return _Reply(200, [("Session", session)])

    def _encode(self, request: RtspRequest, reply: _Reply) -> bytes:
        lines = [f"RTSP/1.0 {reply.status} {_REASONS.get(reply.status, 'Unknown')}"]
        cseq = request.header("CSeq")
        if cseq:
            lines.append(f"CSeq: {cseq}")
        lines.append(f"Server: {self.server}")
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
        lines += [f"{k}: {v}" for k, v in reply.headers]
        if reply.body or reply.status == 200:
            lines.append(f"Content-Length: {len(reply.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body


async def _read_request(reader: asyncio.StreamReader, peer: str) -> RtspRequest | None:
    """One request, or None when the client closed, sent too much or said nonsense."""
    head = await read_head(reader, MAX_REQUEST_HEAD)
    if head is None:
        return None
    request_line, headers = head
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("RTSP/1."):
        return None
    request = RtspRequest(parts[0].upper(), parts[1], headers, b"", peer)
    length_text = request.header("Content-Length") or "0"
    if not length_text.isdigit() or int(length_text) > MAX_REQUEST_BODY:
        return None
    if int(length_text):
        request.body = await asyncio.wait_for(reader.readexactly(int(length_text)), IDLE_TIMEOUT_S)
    return request


def sdp(device: SimDevice, base_url: str) -> str:
    """A plausible single-track H.264 session description for ``device``."""
    spec = device.spec
    session_id = zlib.crc32(spec.name.encode()) or 1
    title = spec.model or spec.device_type or "Media Presentation"
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 {spec.address}",
        f"s={title}",
        "e=NONE",
        "b=AS:5050",
        "t=0 0",
        f"a=control:{base_url}",
        "m=video 0 RTP/AVP 96",
        "c=IN IP4 0.0.0.0",
        "b=AS:5000",
        "a=recvonly",
        "a=x-dimensions:1920,1080",
        "a=control:trackID=1",
        "a=rtpmap:96 H264/90000",
        "a=fmtp:96 profile-level-id=640028;packetization-mode=1;"
        "sprop-parameter-sets=Z2QAKKwrQDwBE/KgQAAAAwBAAAAMo8GIRI==,aO48sA==",
        "a=framerate:25",
    ]
    return "\r\n".join(lines) + "\r\n"


def rtsp_service(
    device: SimDevice,
    *,
    server: str,
    realm: str | None = None,
    scheme: str = "digest",
    port: int = 554,
    lockout: Lockout | None = None,
) -> TcpService:
    """The RTSP listener of ``device``.

    Args:
        device: the device whose spec (users, ``rtsp_auth``, options) is read live.
        server: the ``Server`` header the vendor sends ("Rtsp Server/3.0").
        realm: the authentication realm; default ``"RTSP Server"``.
        scheme: ``"digest"``, ``"basic"`` or ``"both"`` (two challenges, Digest first).
        port: the vendor's RTSP port.
        lockout: when given, RTSP logins count towards it and a locked client gets
            401 even with the right password (as on devices whose lock covers RTSP).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown RTSP auth scheme {scheme!r}")
    state = _RtspServer(device, server, realm or "RTSP Server", scheme, lockout)
    return TcpService(port, state.on_connection)
