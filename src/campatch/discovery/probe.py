"""TCP connect sweep: which of the camera ports are open on which hosts in scope.

Only the TCP handshake is made, never a byte sent or read (banners are the identify
stage's job), so a device that accepts and then goes silent costs one connect.
Pairs are walked port by port across hosts, which spreads load over hosts and keeps
the per-host limit from stalling workers; a fixed pool of workers pulls from one
shared iterator, so a /16 never becomes a million tasks at once. Every attempt
passes three gates: the per-host semaphore, the global worker pool (the global
concurrency limit) and the scan-wide token bucket.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from campatch.config import CAMERA_TCP_PORTS
from campatch.discovery.interface import DiscoveryContext, IPAddress, Scope
from campatch.discovery.ratelimit import RateLimiter
from campatch.errors import DiscoveryError, UsageError
from campatch.model import Candidate, Service

__all__ = ["PORT_PROTOCOLS", "TcpProbe", "guess_protocol"]

logger = logging.getLogger(__name__)

#: What usually listens on a port of a camera, NVR or DVR (a guess: identify confirms).
#: 8000 is Hikvision's SDK port, though Reolink puts ONVIF there too.
PORT_PROTOCOLS: Mapping[int, str] = {
    80: "http", 88: "http", 8080: "http", 5000: "http",
    443: "https", 8443: "https",
    554: "rtsp", 8554: "rtsp",
    8000: "hik-sdk", 8899: "onvif", 37777: "dahua-private", 34567: "sofia",
    9000: "reolink-baichuan",
    23: "telnet", 2323: "telnet", 22: "ssh", 21: "ftp",
    631: "ipp", 9100: "jetdirect",
}  # fmt: skip

# Local exhaustion (descriptors, buffers, ephemeral ports): every later connect would
# fail too, so reporting those ports "closed" would be a lie.
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.EADDRNOTAVAIL})
_LINGER_RST = struct.pack("ii", 1, 0)
_BURST_S = 0.01  # the token bucket lets this many seconds' worth of connects go at once


def guess_protocol(port: int) -> str:
    """The protocol a camera usually speaks on ``port``, or ``"unknown"``."""
    return PORT_PROTOCOLS.get(port, "unknown")


@dataclass
class _Sweep:
    """State of one sweep: the gates and what was found."""

    ctx: DiscoveryContext
    rate: RateLimiter
    pairs: Iterator[tuple[IPAddress, int]]
    per_host: dict[IPAddress, asyncio.Semaphore] = field(default_factory=dict)
    open_ports: dict[IPAddress, list[int]] = field(default_factory=dict)

    def host_gate(self, address: IPAddress) -> asyncio.Semaphore:
        gate = self.per_host.get(address)
        if gate is None:
            gate = self.per_host[address] = asyncio.Semaphore(
                self.ctx.limits.max_concurrent_per_host
            )
        return gate


class TcpProbe:
    """Discovery source ``"tcp-probe"``: a rate-limited TCP connect sweep.

    Args:
        ports: logical (well-known) ports to try on every host in scope.

    Raises:
        UsageError: a port outside 1..65535, or no ports.
    """

    name = "tcp-probe"

    def __init__(self, ports: Sequence[int] = CAMERA_TCP_PORTS) -> None:
        bad = [p for p in ports if not 0 < p < 65536]
        if bad or not ports:
            raise UsageError(f"ports must be 1..65535, got {bad or 'none'}")
        self.ports: tuple[int, ...] = tuple(dict.fromkeys(ports))

    async def discover(self, scope: Scope, ctx: DiscoveryContext) -> Sequence[Candidate]:
        """Connect to every port of every host in scope; hosts with open ports return.

        Raises:
            DiscoveryError: this machine ran out of descriptors, buffers or local ports.

        Returns:
            One candidate per host with at least one open port, in scope order.
        """
        limits = ctx.limits
        burst = max(1, round(limits.probe_rate_per_s * _BURST_S))
        sweep = _Sweep(ctx, RateLimiter(limits.probe_rate_per_s, burst=burst), self._pairs(scope))
        workers = min(limits.max_concurrent_probes, len(scope.addresses) * len(self.ports))
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(workers):
                    tg.create_task(self._worker(sweep))
        except ExceptionGroup as group:
            if (err := _first_discovery_error(group)) is None:
                raise
            raise err from group
        return [
            self._candidate(a, sweep.open_ports[a])
            for a in scope.addresses
            if a in sweep.open_ports
        ]

    def _pairs(self, scope: Scope) -> Iterator[tuple[IPAddress, int]]:
        for port in self.ports:
            for address in scope.addresses:
                yield address, port

    async def _worker(self, sweep: _Sweep) -> None:
        # All workers share one iterator; next() never awaits, so no pair is taken twice.
        for address, port in sweep.pairs:
            async with sweep.host_gate(address):
                await sweep.rate.acquire()
                actual = sweep.ctx.port_map.actual(port)
                if await self._connect(address, actual, sweep.ctx.limits.connect_timeout_s):
                    sweep.open_ports.setdefault(address, []).append(port)

    async def _connect(self, address: IPAddress, port: int, timeout_s: float) -> bool:
        """The one I/O seam: True if a TCP handshake with ``address:port`` completes.

        Raises:
            DiscoveryError: no local socket could be created (descriptor exhaustion).
        """
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as err:
            raise DiscoveryError(f"cannot create a socket: {err.strerror or err}") from err
        try:
            sock.setblocking(False)
            # Linger 0: close with RST, so thousands of probes leave no TIME_WAIT behind.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(timeout_s):
                await loop.sock_connect(sock, (str(address), port))
        except TimeoutError:
            return False
        except OSError as err:
            if err.errno in _RESOURCE_ERRNOS:
                raise DiscoveryError(f"out of local resources: {err.strerror}") from err
            logger.debug("probe %s:%d closed: %s", address, port, err)
            return False
        finally:
            sock.close()
        return True

    @staticmethod
    def _candidate(address: IPAddress, ports: list[int]) -> Candidate:
        services = tuple(Service(p, "tcp", guess_protocol(p)) for p in sorted(ports))
        return Candidate(address=str(address), services=services, found_by=frozenset({"tcp-probe"}))


def _first_discovery_error(group: ExceptionGroup[Exception]) -> Exception | None:
    """The first DiscoveryError inside a task group's failure, if any."""
    match: Exception | None = group.split(DiscoveryError)[0]
    while isinstance(match, ExceptionGroup):
        match = match.exceptions[0]
    return match
