"""RTSP probes: streams anyone can watch, and one RTSP login for the credential check.

``DESCRIBE`` without credentials carries no ``Authorization`` header, so it is no
login attempt. Only a 200 with an SDP body counts as an open stream; a 401, a 404 or
an unparseable reply (SAFETY I-04) does not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from campatch.drivers.interface import ProbeContext
from campatch.errors import DriverError, LockoutError
from campatch.model import Candidate, Credential
from campatch.net.rtsp import RtspReply, rtsp_request

logger = logging.getLogger(__name__)

MAX_PATHS = 5  # stream paths tried per port: a handful, never a dictionary attack
RTSP_PORTS = (554, 8554)


def rtsp_ports(candidate: Candidate) -> list[int]:
    """The host's RTSP ports: announced ``rtsp`` services, else the usual ones seen open."""
    ports = [s.port for s in candidate.services if s.protocol == "rtsp" and s.transport == "tcp"]
    return ports or [p for p in RTSP_PORTS if candidate.has_port(p)]


def _is_stream(reply: RtspReply) -> bool:
    sdp = "application/sdp" in reply.header("Content-Type").lower()
    return reply.status == 200 and sdp and reply.body.lstrip().startswith(b"v=")


async def open_streams(
    candidate: Candidate, paths: Sequence[str], ctx: ProbeContext
) -> tuple[tuple[str, ...], dict[int, str]]:
    """Stream URLs that answer ``DESCRIBE`` with an SDP and no credentials.

    Returns:
        The open URLs, and per port the first path that asked for credentials (where
        the credential check may try an RTSP login).
    """
    found: list[str] = []
    protected: dict[int, str] = {}
    for port in rtsp_ports(candidate):
        for path in paths[:MAX_PATHS]:
            reply = await _describe(candidate.address, port, path, ctx)
            if reply is None:
                continue
            if _is_stream(reply):
                found.append(f"rtsp://{candidate.address}:{port}{path}")
                break
            if reply.status == 401:
                protected.setdefault(port, path)
    return tuple(found), protected


async def _describe(
    host: str, port: int, path: str, ctx: ProbeContext, credential: Credential | None = None
) -> RtspReply | None:
    try:
        return await rtsp_request(
            host,
            port,
            "DESCRIBE",
            path,
            limits=ctx.limits,
            port_map=ctx.port_map,
            credential=credential,
        )
    except DriverError as err:
        logger.debug("%s:%d%s: %s", host, port, path, err)
        return None


async def rtsp_login(
    candidate: Candidate, port: int, path: str, credential: Credential, ctx: ProbeContext
) -> bool:
    """One RTSP login (``DESCRIBE`` answering the challenge once): True when accepted.

    Raises:
        LockoutError: the server answered 403 (treated as a lock, SAFETY D-02).
        DriverError: the server could not be read.
    """
    host = candidate.address
    reply = await rtsp_request(
        host,
        port,
        "DESCRIBE",
        path,
        limits=ctx.limits,
        port_map=ctx.port_map,
        credential=credential,
    )
    if reply.status == 403:
        raise LockoutError(f"{host}: rtsp answered 403 to a login", host=host)
    return reply.status == 200
