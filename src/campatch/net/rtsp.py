"""A bounded RTSP/1.0 client: one request, one reply (RFC 2326 §6-7).

Enough of RTSP for identification and audit: ``OPTIONS`` and ``DESCRIBE`` with
optional Digest or Basic authentication. Every read has a deadline and a byte cap;
anything that is not a well-formed RTSP reply with our CSeq is a
:class:`~campatch.errors.DeviceResponseError` ("RTSP unparseable", SAFETY I-04).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from dataclasses import dataclass

from campatch.config import Limits, PortMap
from campatch.errors import DeviceResponseError, TransportError
from campatch.model import Credential

_STATUS = re.compile(rb"^RTSP/1\.[01] (\d{3})(?: ([^\r\n]*))?$")
MAX_RTSP_HEADERS = 64


@dataclass(frozen=True)
class RtspReply:
    """A parsed RTSP reply."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str:
        """First value of header ``name`` (case-insensitive), or ``""``."""
        values = self.all_headers(name)
        return values[0] if values else ""

    def all_headers(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive)."""
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]


async def rtsp_request(
    host: str,
    port: int,
    method: str,
    path: str = "/",
    *,
    limits: Limits,
    port_map: PortMap | None = None,
    credential: Credential | None = None,
) -> RtspReply:
    """Send ``method`` to ``rtsp://host:port{path}`` and read one reply.

    With a credential, a 401 challenge is answered once (Digest preferred over Basic).

    Raises:
        TransportError: connect/read failure, deadline or byte cap.
        DeviceResponseError: the reply is not valid RTSP.
    """
    actual = (port_map or PortMap()).actual(port)
    url = f"rtsp://{host}:{port}{path}"
    try:
        async with asyncio.timeout(limits.request_deadline_s):
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, actual), limits.connect_timeout_s
            )
            try:
                reply = await _exchange(reader, writer, method, url, 1, None, limits, host)
                if reply.status == 401 and credential is not None:
                    auth = authorization(
                        reply.all_headers("WWW-Authenticate"), credential, method, url
                    )
                    if auth:
                        reply = await _exchange(reader, writer, method, url, 2, auth, limits, host)
                return _checked(reply, host)
            finally:
                writer.close()
    except TimeoutError as err:
        raise TransportError(f"{url}: no RTSP reply within deadline", host=host) from err
    except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
        # readline() past the stream limit (64 KiB), a body shorter than declared.
        raise DeviceResponseError(f"RTSP unparseable: {_brief(err)}", host=host) from err
    except OSError as err:
        raise TransportError(f"{url}: {err.strerror or type(err).__name__}", host=host) from err


def _checked(reply: RtspReply, host: str) -> RtspReply:
    """Refuse a 401 nobody could answer (SAFETY I-04). Redirects are returned, never followed."""
    if reply.status == 401:
        challenges = [parse_challenge(c) for c in reply.all_headers("WWW-Authenticate")]
        if not any(_usable(scheme, params) for scheme, params in challenges):
            raise DeviceResponseError("RTSP unparseable: 401 without a usable challenge", host=host)
    return reply


def _usable(scheme: str, params: dict[str, str]) -> bool:
    if scheme == "digest":
        return bool(params.get("nonce")) and "realm" in params
    return scheme == "basic"


def _brief(err: BaseException) -> str:
    return (str(err).splitlines() or [""])[0][:120] or type(err).__name__


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    url: str,
    cseq: int,
    auth: str | None,
    limits: Limits,
    host: str,
) -> RtspReply:
    lines = [f"{method} {url} RTSP/1.0", f"CSeq: {cseq}", "User-Agent: campatch/0.1"]
    if method == "DESCRIBE":
        lines.append("Accept: application/sdp")
    if auth:
        lines.append(f"Authorization: {auth}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    return await read_reply(reader, cseq, limits, host)


async def read_reply(
    reader: asyncio.StreamReader, cseq: int, limits: Limits, host: str
) -> RtspReply:
    """Read one RTSP reply with header and body caps; check its CSeq."""
    head = bytearray()
    while not head.endswith(b"\r\n\r\n"):
        line = await asyncio.wait_for(reader.readline(), limits.read_timeout_s)
        if not line:
            raise DeviceResponseError("RTSP unparseable: connection closed mid-reply", host=host)
        head += line
        if len(head) > limits.max_header_bytes:
            raise DeviceResponseError("RTSP unparseable: header block too large", host=host)
        if head == b"\r\n":  # tolerate one stray blank line before the status line
            head.clear()
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    match = _STATUS.match(status_line.encode("latin-1"))
    if not match:
        raise DeviceResponseError(f"RTSP unparseable: status line {status_line[:60]!r}", host=host)
    headers = _parse_headers([h for h in header_lines if h], host)
    reply_cseq = next((v for k, v in headers if k.lower() == "cseq"), "")
    if reply_cseq.strip() != str(cseq):
        raise DeviceResponseError(
            f"RTSP unparseable: CSeq {reply_cseq!r}, expected {cseq}", host=host
        )
    length_text = next((v for k, v in headers if k.lower() == "content-length"), "0").strip()
    if (
        not (length_text.isascii() and length_text.isdigit())
        or int(length_text) > limits.max_body_bytes
    ):
        raise DeviceResponseError(f"RTSP unparseable: Content-Length {length_text!r}", host=host)
    body = b""
    if int(length_text):
        body = await asyncio.wait_for(reader.readexactly(int(length_text)), limits.read_timeout_s)
    reason = (match.group(2) or b"").decode("latin-1")
    return RtspReply(int(match.group(1)), reason, tuple(headers), body)


def _parse_headers(lines: list[str], host: str) -> list[tuple[str, str]]:
    if len(lines) > MAX_RTSP_HEADERS:
        raise DeviceResponseError(
            f"RTSP unparseable: more than {MAX_RTSP_HEADERS} headers", host=host
        )
    headers: list[tuple[str, str]] = []
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise DeviceResponseError(f"RTSP unparseable: header line {line[:60]!r}", host=host)
        headers.append((name.strip(), value.strip()))
    return headers


def parse_challenge(challenge: str) -> tuple[str, dict[str, str]]:
    """``'Digest realm="x", nonce="y"'`` -> ``("digest", {"realm": "x", "nonce": "y"})``."""
    scheme, _, rest = challenge.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'(\w+)\s*=\s*"?([^",]*)"?', rest)}
    return scheme.lower(), params


def authorization(
    challenges: list[str], credential: Credential, method: str, url: str
) -> str | None:
    """The ``Authorization`` value answering ``challenges`` (Digest preferred), or None."""
    parsed = [parse_challenge(c) for c in challenges]
    user, password = credential.username, credential.password.reveal()
    for scheme, params in parsed:
        if scheme == "digest" and params.get("nonce") and "realm" in params:
            realm, nonce = params["realm"], params["nonce"]
            ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()  # noqa: S324 - RFC 2069 digest
            ha2 = hashlib.md5(f"{method}:{url}".encode()).hexdigest()  # noqa: S324
            response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()  # noqa: S324
            return (
                f'Digest username="{user}", realm="{realm}", nonce="{nonce}", '
                f'uri="{url}", response="{response}"'
            )
    if any(scheme == "basic" for scheme, _ in parsed):
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return None
