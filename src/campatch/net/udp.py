"""UDP plumbing shared by every discovery protocol (WS-Discovery, SSDP, SADP, DHIP).

One socket recipe, one paced sender, one reply collector and one probe sequence, so
that each protocol module only says what it sends and how it reads the answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from campatch.config import Limits
from campatch.errors import DeviceResponseError, DiscoveryError

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Receive buffer for discovery sockets (bytes). A multicast probe on a busy link draws
#: hundreds of answers within milliseconds; the kernel's default (~200 KB) drops the
#: overflow silently, which loses devices at random.
RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024
_TICK_S = 0.01  # pacing granularity of unicast bursts


def discovery_socket(*, multicast_ttl: int = 1) -> socket.socket:
    """A non-blocking UDP client socket: ephemeral port, large receive buffer, link-local multicast.

    Args:
        multicast_ttl: hops a multicast probe may travel (1 = this link; UPnP says 2).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    with contextlib.suppress(OSError):  # the kernel caps it at rmem_max; best effort
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, multicast_ttl)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    sock.bind(("0.0.0.0", 0))  # noqa: S104 - replies come from any device on the link
    sock.setblocking(False)
    return sock


async def send_paced(
    transport: asyncio.DatagramTransport,
    addresses: Iterable[str],
    port: int,
    payload: bytes | Callable[[str], bytes],
    limits: Limits,
    *,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Send one datagram to each address, in bursts that keep ``limits.probe_rate_per_s``.

    Args:
        transport: the discovery socket's transport.
        addresses: IPv4 addresses to probe.
        port: destination port (already mapped through the port map).
        payload: the datagram, or a function of the address giving it.
        limits: rate and burst bounds.
        stop: checked between bursts; True ends sending early (reply cap reached).

    Returns:
        How many datagrams were handed to the kernel.
    """
    burst = max(1, min(limits.max_concurrent_probes, int(limits.probe_rate_per_s * _TICK_S)))
    sent = 0
    for address in addresses:
        if sent and sent % burst == 0:
            if stop():
                break
            await asyncio.sleep(burst / limits.probe_rate_per_s)
        data = payload(address) if callable(payload) else payload
        with contextlib.suppress(OSError):  # one unreachable address must not end the sweep
            transport.sendto(data, (address, port))
        sent += 1
    return sent


class ReplyCollector(asyncio.DatagramProtocol, Generic[T], ABC):
    """Collects the replies to one discovery probe: in-scope senders only, bounded work.

    A datagram from outside ``scope`` is dropped unread and counted (SAFETY I-05).
    Every other one is size-checked, then read by :meth:`parse` and kept by
    :meth:`accept`. Listening stops (``full`` is set) once ``max_discovery_replies``
    senders have answered, or once ``parse_budget_factor`` times as many datagrams
    were read: a flood of junk ends the window instead of filling it.

    Subclasses give ``name`` (for the log) and the two hooks; they keep their own
    per-sender results.
    """

    name: ClassVar[str]
    #: In-scope datagrams read per reply slot before listening stops.
    parse_budget_factor: ClassVar[int] = 1

    def __init__(self, scope: Container[str], limits: Limits) -> None:
        self.scope = scope
        self.limits = limits
        self.full = asyncio.Event()
        self.dropped_off_scope = 0
        self._answered: set[str] = set()
        self._budget = limits.max_discovery_replies * self.parse_budget_factor

    @abstractmethod
    def parse(self, data: bytes, sender: str) -> T | None:
        """Read one datagram from ``sender``; None when it holds nothing to keep.

        Raises:
            DeviceResponseError: malformed or hostile.
        """

    @abstractmethod
    def accept(self, sender: str, item: T) -> None:
        """Keep what :meth:`parse` read (merge it into ``sender``'s results)."""

    def wants(self, sender: str) -> bool:
        """False to drop a datagram from ``sender`` unread, without using up the budget."""
        return True

    async def wait(self, seconds: float) -> None:
        """Listen ``seconds``, or less when the collector is full first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.full.wait(), seconds)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        sender = str(addr[0])
        if self.full.is_set():
            return
        if sender not in self.scope:
            self.dropped_off_scope += 1
            return
        if not self.wants(sender):
            return
        self._budget -= 1
        if self._budget <= 0:
            self.full.set()
        item = self._read(data, sender)
        if item is None:
            return
        self.accept(sender, item)
        self._answered.add(sender)
        if len(self._answered) >= self.limits.max_discovery_replies:
            self.full.set()

    def _read(self, data: bytes, sender: str) -> T | None:
        if len(data) > self.limits.max_datagram_bytes:
            logger.debug("%s: ignored a %d-byte reply from %s", self.name, len(data), sender)
            return None
        try:
            return self.parse(data, sender)
        except DeviceResponseError as err:
            logger.debug("%s: ignored reply from %s: %s", self.name, sender, err)
            return None

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a host without the protocol: expected, not an error.
        logger.debug("%s: socket error %s", self.name, exc)


class FirstReplyCollector(ReplyCollector[T]):
    """A collector that keeps the first well-formed reply of each sender in ``found``."""

    def __init__(self, scope: Container[str], limits: Limits) -> None:
        super().__init__(scope, limits)
        self.found: dict[str, T] = {}

    def wants(self, sender: str) -> bool:
        return sender not in self.found

    def accept(self, sender: str, item: T) -> None:
        self.found[sender] = item


@dataclass(frozen=True)
class Multicast:
    """A multicast probe: ``payload`` to ``group:port``, once out of each interface.

    Attributes:
        interfaces: local IPv4 addresses to send from (``IP_MULTICAST_IF``); empty
            leaves the choice to the kernel.
    """

    group: str
    port: int
    payload: bytes
    interfaces: Sequence[str] = ()


@dataclass(frozen=True)
class Unicast:
    """A unicast probe of every address (paced, see :func:`send_paced`)."""

    addresses: Sequence[str]
    port: int
    payload: bytes | Callable[[str], bytes]


async def probe_and_collect(
    collector: ReplyCollector[Any],
    *,
    multicast: Multicast | None,
    unicast: Unicast | None,
    multicast_ttl: int = 1,
) -> None:
    """Open a discovery socket, send the probes, listen, close.

    The listen window (``limits.discovery_listen_s``, less once ``collector`` is full)
    starts after the last unicast probe: a large scope paced by the probe rate must
    not eat the time its last hosts have to answer.

    Raises:
        DiscoveryError: no UDP socket could be opened.
    """
    loop = asyncio.get_running_loop()
    try:
        sock = discovery_socket(multicast_ttl=multicast_ttl)
    except OSError as err:
        raise DiscoveryError(f"{collector.name}: cannot open a udp socket: {err}") from err
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: collector, sock=sock)
    except OSError as err:
        sock.close()
        raise DiscoveryError(f"{collector.name}: cannot open a udp socket: {err}") from err
    try:
        if multicast is not None:
            _send_multicast(sock, transport, multicast, collector.name)
        if unicast is not None:
            await send_paced(
                transport,
                unicast.addresses,
                unicast.port,
                unicast.payload,
                collector.limits,
                stop=collector.full.is_set,
            )
        await collector.wait(collector.limits.discovery_listen_s)
    finally:
        transport.close()


def _send_multicast(
    sock: socket.socket, transport: asyncio.DatagramTransport, probe: Multicast, name: str
) -> None:
    for iface in probe.interfaces or [""]:
        try:
            if iface:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
            transport.sendto(probe.payload, (probe.group, probe.port))
        except OSError as err:
            logger.info("%s: multicast probe via %s not sent (%s)", name, iface or "default", err)
