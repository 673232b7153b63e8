"""UDP plumbing shared by every discovery protocol (WS-Discovery, SSDP, SADP, DHIP).

One socket recipe and one paced sender, so that each protocol module only says what
it sends and how it reads the answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable

from campatch.config import Limits

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
