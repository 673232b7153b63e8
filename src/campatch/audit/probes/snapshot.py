"""Snapshot probe: still pictures anyone on the network can fetch (a video leak).

A ``GET`` of the vendor's snapshot paths without credentials carries no
``Authorization`` header, so it is no login attempt and costs no lockout budget. A
path counts as open only when the reply is a 200 whose ``Content-Type`` is an image
and whose body starts like a JPEG (``FF D8``) or a PNG; a 401/403/404, a web page, an
unparseable reply or a transport error does not (SAFETY I-04).

Requests stay few: at most :data:`MAX_PATHS` paths on the plain-HTTP web port and,
when it is open, on the HTTPS one; a port stops at its first open path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from campatch.drivers.interface import ProbeContext
from campatch.errors import DriverError
from campatch.model import Candidate
from campatch.net.http import HttpReply

logger = logging.getLogger(__name__)

MAX_PATHS = 4  # snapshot paths tried per port: a handful, never a dictionary
MAX_PICTURE_BYTES = 2 * 1024 * 1024  # a camera's JPEG fits; more is not read
HTTP_PORT, HTTPS_PORT = 80, 443
_PICTURE_MAGIC = (b"\xff\xd8", b"\x89PNG\r\n\x1a\n")  # JPEG SOI, PNG signature


def web_ports(candidate: Candidate) -> list[tuple[int, bool]]:
    """``(port, tls)`` of the host's web server: the first announced ``http`` port
    (else 80 when open), then the first ``https`` one (else 443 when open)."""
    found: list[tuple[int, bool]] = []
    for protocol, usual, tls in (("http", HTTP_PORT, False), ("https", HTTPS_PORT, True)):
        ports = [
            s.port for s in candidate.services if s.protocol == protocol and s.transport == "tcp"
        ]
        ports = ports or ([usual] if candidate.has_port(usual) else [])
        found += [(port, tls) for port in ports[:1]]
    return found


def is_picture(reply: HttpReply) -> bool:
    """A 200 carrying an image: ``image/*`` and a JPEG or PNG body."""
    image = reply.header("Content-Type").strip().lower().startswith("image/")
    return reply.status == 200 and image and reply.body.startswith(_PICTURE_MAGIC)


async def open_snapshots(
    candidate: Candidate, paths: Sequence[str], ctx: ProbeContext
) -> tuple[str, ...]:
    """Snapshot URLs that hand out a picture without credentials (one per web port)."""
    found: list[str] = []
    for port, tls in web_ports(candidate):
        for path in paths[:MAX_PATHS]:
            url = ctx.http.url(candidate.address, port, path, tls=tls)
            reply = await _get(url, ctx)
            if reply is not None and is_picture(reply):
                scheme = "https" if tls else "http"
                found.append(f"{scheme}://{candidate.address}:{port}{path}")
                break
    return tuple(found)


async def _get(url: str, ctx: ProbeContext) -> HttpReply | None:
    try:
        return await ctx.http.request("GET", url, max_body_bytes=MAX_PICTURE_BYTES)
    except DriverError as err:
        logger.debug("%s: %s", url, err)
        return None
