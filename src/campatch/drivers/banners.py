"""Gather what a host says before anyone logs in, once, for every driver to read."""

from __future__ import annotations

import asyncio

from campatch.drivers.interface import Banners, ProbeContext
from campatch.errors import DriverError
from campatch.model import Candidate, Service
from campatch.net.http import HttpReply
from campatch.net.rtsp import RtspReply, rtsp_request

HTTP_PROTOCOLS = frozenset({"http", "https", "onvif-http"})
RTSP_PROTOCOLS = frozenset({"rtsp"})
TEXT_PROTOCOLS = frozenset({"telnet", "ssh", "ftp"})
MAX_TEXT_BANNER = 512  # bytes: enough for an SSH version line or a login prompt
TEXT_BANNER_WAIT_S = 1.0  # telnet daemons speak first, but not always at once


async def gather_banners(candidate: Candidate, ctx: ProbeContext) -> Banners:
    """Read ``GET /``, RTSP ``OPTIONS`` and unprompted text banners from ``candidate``.

    At most ``limits.max_concurrent_per_host`` requests run at once; failures are kept
    per port in :attr:`Banners.errors`, never raised.
    """
    gate = asyncio.Semaphore(ctx.limits.max_concurrent_per_host)
    http: dict[int, HttpReply] = {}
    rtsp: dict[int, RtspReply] = {}
    text: dict[int, str] = {}
    errors: dict[int, str] = {}

    async def one(service: Service) -> None:
        host, port = candidate.address, service.port
        async with gate:
            try:
                if service.protocol in HTTP_PROTOCOLS:
                    url = ctx.http.url(host, port, "/", tls=service.protocol == "https")
                    http[port] = await ctx.http.request("GET", url, max_body_bytes=65_536)
                elif service.protocol in RTSP_PROTOCOLS:
                    rtsp[port] = await rtsp_request(
                        host, port, "OPTIONS", "/", limits=ctx.limits, port_map=ctx.port_map
                    )
                elif service.protocol in TEXT_PROTOCOLS and (
                    banner := await read_text_banner(host, ctx.port_map.actual(port), ctx)
                ):
                    text[port] = banner
            except DriverError as err:
                errors[port] = str(err)

    async with asyncio.TaskGroup() as tg:
        for service in candidate.services:
            if service.transport == "tcp":
                tg.create_task(one(service))
    return Banners(http=http, rtsp=rtsp, text=text, errors=errors)


async def read_text_banner(host: str, port: int, ctx: ProbeContext) -> str:
    """The first bytes a service sends unprompted (telnet options stripped), or ``""``."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), ctx.limits.connect_timeout_s
        )
    except (OSError, TimeoutError):
        return ""
    try:
        data = await asyncio.wait_for(reader.read(MAX_TEXT_BANNER), TEXT_BANNER_WAIT_S)
    except (OSError, TimeoutError):
        data = b""
    finally:
        writer.close()
    return _strip_telnet(data).decode("utf-8", errors="replace").strip()


def _strip_telnet(data: bytes) -> bytes:
    """Drop telnet IAC option negotiation (RFC 854: IAC cmd opt) from a banner."""
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == 0xFF and i + 2 < len(data):
            i += 3
            continue
        out.append(data[i])
        i += 1
    return bytes(out)
