"""A fleet of simulated devices on loopback, each on its own 127.x.y.z address.

Usage::

    fleet = Fleet.from_file("demo-fleet.yaml")
    async with fleet:                       # binds every device's ports
        cam = fleet.device("lobby-cam")
        cam.spec.firmware = "V5.7.3"        # the next scan sees the new firmware
        await fleet.move("lobby-cam", "127.20.0.99")   # a DHCP address change

Personalities are found by name: ``personality: hikvision`` loads
``campatch.sim.hikvision`` and uses its ``DEVICE`` class, so adding a vendor touches
only its own module. Ports below 1024 need root (or a network namespace of one's
own); without that right the fleet moves them up by :data:`LOW_PORT_OFFSET` and
exposes the matching :class:`~campatch.config.PortMap` for the scanner.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import logging
import resource
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from campatch.config import PortMap
from campatch.errors import UsageError
from campatch.sim.auth import Clock
from campatch.sim.device import DeviceSpec, SimDevice, TcpHandler, UdpService
from campatch.sim.http import reset_now

logger = logging.getLogger(__name__)

LOW_PORT_OFFSET = 20000
_SPEC_KEYS = {f.name for f in fields(DeviceSpec)} - {"options"}


def load_specs(path: Path) -> list[DeviceSpec]:
    """Read a fleet file (YAML or JSON): ``{"devices": [{name, personality, address, ...}]}``.

    Raises:
        UsageError: unreadable file, bad structure, duplicate names or addresses.
    """
    try:
        raw = (
            yaml.safe_load(path.read_text())
            if path.suffix in (".yaml", ".yml")
            else json.loads(path.read_text())
        )
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise UsageError(f"cannot read fleet file {path}: {err}") from err
    if not isinstance(raw, dict) or not isinstance(raw.get("devices"), list):
        raise UsageError(f"fleet file {path}: expected a mapping with a 'devices' list")
    return specs_from_dicts(raw["devices"], origin=str(path))


def specs_from_dicts(items: Iterable[dict[str, Any]], origin: str = "fleet") -> list[DeviceSpec]:
    """Build specs from plain mappings; unknown keys become ``options``."""
    specs: list[DeviceSpec] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not {"name", "personality", "address"} <= item.keys():
            raise UsageError(f"{origin}: device #{i + 1} needs name, personality and address")
        known = {k: v for k, v in item.items() if k in _SPEC_KEYS}
        options = {
            **item.get("options", {}),
            **{k: v for k, v in item.items() if k not in _SPEC_KEYS and k != "options"},
        }
        specs.append(DeviceSpec(**known, options=options))
    _check_unique(specs, origin)
    return specs


def _check_unique(specs: list[DeviceSpec], origin: str) -> None:
    for attr in ("name", "address"):
        values = [getattr(s, attr) for s in specs]
        dupes = {v for v in values if values.count(v) > 1}
        if dupes:
            raise UsageError(f"{origin}: duplicate device {attr} {sorted(dupes)[0]}")
    for s in specs:
        if not s.address.startswith("127."):
            raise UsageError(
                f"{origin}: device {s.name} must live on loopback (127.x.y.z), got {s.address}"
            )


def create_device(spec: DeviceSpec, clock: Clock) -> SimDevice:
    """Instantiate the personality named by ``spec.personality``."""
    try:
        module = importlib.import_module(f"campatch.sim.{spec.personality}")
        cls: type[SimDevice] = module.DEVICE
    except (ImportError, AttributeError) as err:
        raise UsageError(f"device {spec.name}: unknown personality {spec.personality!r}") from err
    return cls(spec, clock)


def can_bind_low_ports() -> bool:
    """True if this process may bind ports below 1024 on loopback."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.255.255.253", 1))
        except PermissionError:
            return False
        except OSError:
            return True  # in use is fine: we had the right to try
    return True


class Fleet:
    """Simulated devices bound to loopback. Use as an async context manager.

    Args:
        specs: the devices.
        port_map: force a port mapping (default: offset low ports only without the right).
        clock: time source shared by all devices.
        multicast: also join multicast groups on loopback (needs lo with MULTICAST).
    """

    def __init__(
        self,
        specs: Iterable[DeviceSpec],
        *,
        port_map: PortMap | None = None,
        clock: Clock = time.monotonic,
        multicast: bool = True,
    ) -> None:
        self.clock = clock
        self.devices: dict[str, SimDevice] = {s.name: create_device(s, clock) for s in specs}
        self._forced_port_map = port_map
        self.port_map = port_map or PortMap()
        self.multicast = multicast
        self.multicast_ok = False
        self._servers: dict[str, list[asyncio.AbstractServer]] = {}
        self._udp: dict[str, list[asyncio.DatagramTransport]] = {}
        self._group_transports: list[asyncio.DatagramTransport] = []

    @classmethod
    def from_file(cls, path: str | Path, **kw: Any) -> Fleet:
        """A fleet from a YAML/JSON fleet file (see :func:`load_specs`)."""
        return cls(load_specs(Path(path)), **kw)

    def device(self, name: str) -> SimDevice:
        """The device called ``name``."""
        return self.devices[name]

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind every device's services (and the shared multicast listeners)."""
        _raise_fd_limit()
        if self._forced_port_map is None:
            self.port_map = PortMap(low_port_offset=0 if can_bind_low_ports() else LOW_PORT_OFFSET)
        for dev in self.devices.values():
            await self._bind(dev)
        if self.multicast:
            await self._bind_groups()

    async def stop(self) -> None:
        """Close every listener."""
        for name in list(self._servers):
            await self._unbind(name)
        for t in self._group_transports:
            t.close()
        self._group_transports.clear()

    async def move(self, name: str, address: str) -> None:
        """Give device ``name`` a new address (a DHCP change), rebinding its services."""
        if any(d.spec.address == address for d in self.devices.values()):
            raise UsageError(f"address {address} is taken")
        dev = self.devices[name]
        await self._unbind(name)
        dev.spec.address = address
        await self._bind(dev)

    async def _bind(self, dev: SimDevice) -> None:
        loop = asyncio.get_running_loop()
        servers: list[asyncio.AbstractServer] = []
        for svc in dev.tcp_services():
            port = self.port_map.actual(svc.port)
            try:
                servers.append(
                    await asyncio.start_server(
                        _unless_offline(dev, svc.handler),
                        dev.spec.address,
                        port,
                        reuse_address=True,
                        backlog=64,
                        ssl=svc.ssl,
                    )
                )
            except OSError as err:
                raise UsageError(
                    f"device {dev.spec.name}: cannot listen on {dev.spec.address}:{port}: {err.strerror}"
                ) from err
        udp: list[asyncio.DatagramTransport] = []
        for usvc in dev.udp_services():
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(_UdpProtocol, usvc),
                local_addr=(dev.spec.address, usvc.port),
                reuse_port=True,
            )
            udp.append(transport)
        self._servers[dev.spec.name] = servers
        self._udp[dev.spec.name] = udp

    async def _unbind(self, name: str) -> None:
        for server in self._servers.pop(name, []):
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        for t in self._udp.pop(name, []):
            t.close()

    async def _bind_groups(self) -> None:
        groups = {
            (s.multicast_group, s.port)
            for d in self.devices.values()
            for s in d.udp_services()
            if s.multicast_group
        }
        loop = asyncio.get_running_loop()
        try:
            for group, port in sorted(groups, key=str):
                sock = _multicast_socket(str(group), port)
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(_GroupProtocol, self, str(group), port), sock=sock
                )
                self._group_transports.append(transport)
            self.multicast_ok = bool(groups)
        except OSError as err:
            logger.info(
                "multicast on loopback unavailable (%s): only unicast discovery will answer", err
            )
            for t in self._group_transports:
                t.close()
            self._group_transports.clear()

    def _reply_transport(self, dev: SimDevice, port: int) -> asyncio.DatagramTransport | None:
        for t in self._udp.get(dev.spec.name, []):
            if t.get_extra_info("sockname")[1] == port:
                return t
        return None


def _unless_offline(dev: SimDevice, handler: TcpHandler) -> TcpHandler:
    """``handler``, except that a device that is offline (rebooting) resets the
    connection at once, as a host whose services are not running does."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if dev.offline():
            reset_now(writer)
            return
        await handler(reader, writer)

    return serve


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, service: UdpService) -> None:
        self.service = service
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self.transport is None:
            return
        for reply in self.service.handler(data, (str(addr[0]), int(addr[1]))):
            self.transport.sendto(reply, addr)


class _GroupProtocol(asyncio.DatagramProtocol):
    """One listener per multicast group; every device answers from its own address."""

    def __init__(self, fleet: Fleet, group: str, port: int) -> None:
        self.fleet, self.group, self.port = fleet, group, port

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        client = (str(addr[0]), int(addr[1]))
        for dev in self.fleet.devices.values():
            for svc in dev.udp_services():
                if svc.multicast_group == self.group and svc.port == self.port:
                    out = self.fleet._reply_transport(dev, self.port)
                    for reply in svc.handler(data, client):
                        if out is not None:
                            out.sendto(reply, client)


def _multicast_socket(group: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((group, port))
    mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("127.0.0.1"))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    sock.setblocking(False)
    return sock


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(
                resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard)
            )
