"""A small HTTP/1.1 server for simulated devices.

Why not a web framework: a camera's web server is part of what is emulated. Devices
send exact header sets (two ``WWW-Authenticate`` lines in vendor order, ``Server:
Webs``), and hostile personalities must be able to misbehave at byte level (endless
bodies, 1 MB headers, trickling one byte every few seconds). This server gives each
handler that control with ~150 lines and no per-device framework overhead, which
matters when one process hosts 500+ devices for the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

MAX_REQUEST_HEAD = 65_536
MAX_REQUEST_BODY = 64 * 1024 * 1024  # a firmware upload is the largest request
IDLE_TIMEOUT_S = 30.0

_REASONS = {
    200: "OK", 204: "No Content", 302: "Found", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable",
}  # fmt: skip


@dataclass
class HttpRequest:
    """One request as the simulated device sees it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    peer: str  # client IP: lockouts are per client address on real devices

    @property
    def path(self) -> str:
        """The path without query string."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (last one wins)."""
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def header(self, name: str) -> str:
        """First value of header ``name`` (case-insensitive), or ``""``."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), "")


@dataclass
class HttpResponse:
    """A response; ``headers`` keeps order and repeats (two WWW-Authenticate lines)."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False

    @classmethod
    def text(
        cls, body: str, status: int = 200, content_type: str = "text/plain", **kw: object
    ) -> HttpResponse:
        """A response with a text body of ``content_type``."""
        headers = [("Content-Type", content_type)]
        extra = kw.get("headers")
        if isinstance(extra, list):
            headers += extra
        return cls(status, body.encode(), headers)


#: A handler may return a response, or take over the raw stream (hostile devices).
RawWriter = Callable[[asyncio.StreamWriter], Awaitable[None]]
Handler = Callable[[HttpRequest], Awaitable[HttpResponse | RawWriter]]


#: Called with a request whose head has been read: the fraction of its body after
#: which the device drops the connection (a fault), or None to read it all.
BodyCut = Callable[[HttpRequest], float | None]


class BodyDropped(ConnectionError):
    """The device dropped the connection part-way through a request body (a fault)."""


def serve_http(
    handler: Handler,
    server_header: str | None,
    cut_body: BodyCut | None = None,
    on_dropped: Callable[[], None] | None = None,
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """An ``asyncio.start_server`` callback serving ``handler`` with keep-alive.

    Args:
        handler: maps a request to a response (or a raw writer).
        server_header: the ``Server`` header this device sends, or None for none.
        cut_body: fault hook: drop the connection part-way through a body.
        on_dropped: called after ``cut_body`` made the device drop a connection.
    """

    async def exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> bool:
        try:
            request = await _read_request(reader, peer, cut_body)
        except BodyDropped:
            reset_now(writer)
            if on_dropped is not None:
                on_dropped()
            return False
        if request is None:
            return False
        result = await handler(request)
        if not isinstance(result, HttpResponse):
            await result(writer)
            return False
        writer.write(_encode(result, server_header))
        await writer.drain()
        return not (result.close or request.header("Connection").lower() == "close")

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(reader, writer, exchange)

    return on_connection


def reset_now(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with a TCP reset, as a device that stops answering does (a
    plain close would send a FIN, which reads as a clean end of reply)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def reset_connection(writer: asyncio.StreamWriter) -> None:
    """:func:`reset_now` as a raw reply (a handler may return it instead of a response)."""
    reset_now(writer)


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    exchange: Callable[[asyncio.StreamReader, asyncio.StreamWriter, str], Awaitable[bool]],
) -> None:
    """Run ``exchange`` (one request, one reply) until it returns False, then close.

    A client that hangs up, idles out or sends nonsense just ends the connection.
    Shared by the HTTP and RTSP servers.
    """
    peer = str((writer.get_extra_info("peername") or ("?",))[0])
    try:
        while await exchange(reader, writer, peer):
            pass
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def read_head(
    reader: asyncio.StreamReader, max_bytes: int
) -> tuple[str, list[tuple[str, str]]] | None:
    """The request line and headers of one HTTP-style request (HTTP, RTSP).

    None when the client closed, or sent more than ``max_bytes`` of head.
    """
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT_S)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    if len(head) > max_bytes:
        return None
    request_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines if ln)]
    return request_line, headers


async def _read_request(
    reader: asyncio.StreamReader, peer: str, cut_body: BodyCut | None = None
) -> HttpRequest | None:
    head = await read_head(reader, MAX_REQUEST_HEAD)
    if head is None:
        return None
    request_line, headers = head
    method, target, _version = request_line.split(" ", 2)
    request = HttpRequest(method, target, headers, b"", peer)
    if request.header("Transfer-Encoding").lower() == "chunked":
        request.body = await _read_chunked(reader)
    else:
        length = int(request.header("Content-Length") or 0)
        if length > MAX_REQUEST_BODY:
            raise ValueError("request body too large")
        cut = cut_body(request) if cut_body is not None else None
        if cut is not None:
            await reader.readexactly(min(length, int(length * cut)))
            raise BodyDropped(f"dropped after {cut:.0%} of {length} bytes")
        request.body = await reader.readexactly(length) if length else b""
    return request


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readline()
        if len(body) > MAX_REQUEST_BODY:
            raise ValueError("request body too large")


def _encode(response: HttpResponse, server_header: str | None) -> bytes:
    reason = _REASONS.get(response.status, "Unknown")
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    if server_header is not None:
        lines.append(f"Server: {server_header}")
    lines += [f"{k}: {v}" for k, v in response.headers]
    lines.append(f"Content-Length: {len(response.body)}")
    if response.close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body
