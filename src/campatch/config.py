"""Bounded defaults, with units, for everything that talks to the network.

Every read in campatch has a timeout and a byte cap taken from :class:`Limits`;
every fan-out has a concurrency limit from it. Tests shrink the timeouts through
the same object instead of sleeping.
"""

from __future__ import annotations

import os
from dataclasses import KW_ONLY, dataclass, field, fields
from pathlib import Path

import platformdirs

from campatch.errors import UsageError

#: Ports a camera, NVR or DVR commonly listens on (web, RTSP, vendor SDKs, telnet, ONVIF).
CAMERA_TCP_PORTS: tuple[int, ...] = (
    80, 443, 554, 8000, 8080, 8443, 8554, 8899, 88, 23, 2323, 22, 21,
    37777, 34567, 9000, 5000, 631, 9100,
)  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """Time, size and concurrency bounds for a scan.

    Args:
        connect_timeout_s: seconds to wait for a TCP connect.
        read_timeout_s: seconds to wait between two reads of one reply.
        request_deadline_s: wall-clock seconds for one whole request/reply exchange.
        host_deadline_s: wall-clock seconds for identifying one host, all protocols together.
        max_body_bytes: largest reply body read from a device (bytes).
        max_header_bytes: largest reply header block read from a device (bytes).
        max_datagram_bytes: largest UDP datagram accepted (bytes).
        max_discovery_replies: replies one discovery source keeps before it stops listening.
        probe_rate_per_s: TCP connection attempts per second, whole scan.
        max_concurrent_probes: TCP connects in flight at once, whole scan.
        max_concurrent_hosts: hosts being identified at once.
        max_concurrent_per_host: requests in flight at once to one host.
        discovery_listen_s: seconds a multicast/broadcast discovery listens for replies.
    """

    _: KW_ONLY
    connect_timeout_s: float = 1.5
    read_timeout_s: float = 3.0
    request_deadline_s: float = 6.0
    host_deadline_s: float = 20.0
    max_body_bytes: int = 1_048_576
    max_header_bytes: int = 16_384
    max_datagram_bytes: int = 65_507
    max_discovery_replies: int = 4096
    probe_rate_per_s: float = 2000.0
    max_concurrent_probes: int = 512
    max_concurrent_hosts: int = 64
    max_concurrent_per_host: int = 4
    discovery_listen_s: float = 2.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int | float) and value <= 0:
                raise UsageError(f"limit {f.name} must be positive, got {value!r}")


@dataclass(frozen=True)
class PortMap:
    """Where a service's well-known port really listens.

    Real devices use their vendor's ports. The simulator, when it runs without the
    right to bind ports below 1024, moves each of those up by ``low_port_offset``
    (80 -> 20080, 554 -> 20554); the scanner is told the same offset so it reports
    the vendor's port while connecting to the moved one.

    Args:
        low_port_offset: added to every port below 1024 (0 = no mapping).
    """

    _: KW_ONLY
    low_port_offset: int = 0

    def actual(self, port: int) -> int:
        """Port to connect to for the service that is known to live on ``port``."""
        if self.low_port_offset and port < 1024:
            return port + self.low_port_offset
        return port

    def logical(self, port: int) -> int:
        """The well-known port that the actual ``port`` stands for."""
        off = self.low_port_offset
        if off and off <= port < off + 1024:
            return port - off
        return port


def data_dir() -> Path:
    """campatch's data directory (inventory database, key file), created 0700.

    ``CAMPATCH_HOME`` overrides the platform default (used by tests and demos).
    """
    override = os.environ.get("CAMPATCH_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir("campatch"))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Settings:
    """Top-level settings of one campatch run.

    Args:
        database_url: SQLAlchemy URL of the inventory; ``None`` = SQLite in :func:`data_dir`.
        limits: network bounds.
        port_map: where well-known ports really listen (simulator without root).
    """

    _: KW_ONLY
    database_url: str | None = None
    limits: Limits = field(default_factory=Limits)
    port_map: PortMap = field(default_factory=PortMap)
