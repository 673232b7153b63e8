"""The base of every simulated device: its spec, its state, and the services it offers.

A personality (``sim/<vendor>.py``) subclasses :class:`SimDevice` and lists the TCP
and UDP services it answers on, each a plain callback. :mod:`campatch.sim.fleet`
binds them to the device's own loopback address.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from campatch.sim.auth import Clock

if TYPE_CHECKING:
    from campatch.sim.flash import Flash
    from campatch.sim.http import HttpRequest

TcpHandler = Callable[[Any, Any], Awaitable[None]]  # (StreamReader, StreamWriter)
UdpHandler = Callable[[bytes, tuple[str, int]], list[bytes]]


@dataclass(frozen=True)
class TcpService:
    """A TCP port the device listens on (its vendor's real port); TLS when ``ssl`` is set."""

    port: int
    handler: TcpHandler
    ssl: ssl.SSLContext | None = None


@dataclass(frozen=True)
class UdpService:
    """A UDP port the device answers on.

    Args:
        port: the vendor's port.
        handler: datagram in, replies out (sent back from the device's own address).
        multicast_group: also answer datagrams sent to this group on ``port``.
    """

    port: int
    handler: UdpHandler
    multicast_group: str | None = None


@dataclass
class DeviceSpec:
    """One device of a fleet file. Unknown keys go to ``options`` for the personality.

    Args:
        name: unique name in the fleet.
        personality: module under ``campatch.sim`` that implements it ("hikvision").
        address: its loopback address (127.x.y.z).
        vendor, brand, model, hardware, firmware, build, serial, mac: what it reports.
        device_type: "IPCamera", "NVR", "DVR" (vendor spelling is up to the personality).
        users: account name -> password.
        telnet: run a BusyBox-style telnet login on port 23.
        rtsp_auth: RTSP asks for credentials (False = anyone can watch).
        ws_discovery: answer ONVIF WS-Discovery probes.
        ssdp: answer SSDP M-SEARCH.
        onvif: offer the ONVIF device service.
        options: personality-specific settings (clock offset, lockout, faults ...).
    """

    name: str
    personality: str
    address: str
    vendor: str = ""
    brand: str = ""
    model: str = ""
    hardware: str = ""
    firmware: str = ""
    build: str = ""
    serial: str = ""
    mac: str = ""
    device_type: str = ""
    users: dict[str, str] = field(default_factory=dict)
    telnet: bool = False
    rtsp_auth: bool = True
    ws_discovery: bool = True
    ssdp: bool = False
    onvif: bool = True
    options: dict[str, Any] = field(default_factory=dict)


class SimDevice:
    """A running simulated device. Tests change its state; the services read it live.

    Attributes:
        spec: what the device is and reports (mutable: ``spec.firmware = ...``).
        clock: time source shared with lockouts (tests move it instead of sleeping).
        requests: a log line per request served, for tests and debugging.
    """

    personality: ClassVar[str] = ""
    #: The device's flash memory, for personalities that take firmware uploads.
    flash: Flash | None = None

    def __init__(self, spec: DeviceSpec, clock: Clock = time.monotonic) -> None:
        self.spec = spec
        self.clock = clock
        self.requests: list[str] = []

    def tcp_services(self) -> list[TcpService]:
        """The TCP services to bind; personalities extend this."""
        return []

    def udp_services(self) -> list[UdpService]:
        """The UDP services to bind; personalities extend this."""
        return []

    def offline(self) -> bool:
        """True while the device answers nothing at all (flash reboot, bricked)."""
        return self.flash is not None and self.flash.offline()

    def rtsp_offline(self) -> bool:
        """True while the RTSP service answers nothing (offline, or the
        ``fault_rtsp_down_after`` fault after an upgrade)."""
        return self.flash is not None and self.flash.rtsp_offline()

    def is_upload(self, request: HttpRequest) -> bool:
        """True for a request to one of the device's firmware upload endpoints."""
        return False

    def cut_upload(self, request: HttpRequest) -> float | None:
        """The web server's ``cut_body`` hook: counts upload requests and says where a
        ``fault_upload_reset_at`` fault drops the connection."""
        if self.flash is None or not self.is_upload(request):
            return None
        self.flash.upload_started()
        return self.flash.cut_upload_at()

    def dropped_upload(self) -> None:
        """The web server's ``on_dropped`` hook (see :meth:`Flash.dropped_upload`)."""
        if self.flash is not None:
            self.flash.dropped_upload()

    def log(self, line: str) -> None:
        """Record one served request (bounded, so a long benchmark cannot grow it forever)."""
        if len(self.requests) >= 10_000:
            del self.requests[:5_000]
        self.requests.append(line)

    def state(self) -> dict[str, Any]:
        """A JSON-able dump of what the device reports, for debugging and tests."""
        s = self.spec
        return {
            "name": s.name, "personality": s.personality, "address": s.address,
            "vendor": s.vendor, "model": s.model, "firmware": s.firmware, "serial": s.serial,
            "mac": s.mac, "requests": len(self.requests),
        }  # fmt: skip
