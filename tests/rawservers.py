"""Sim-free TCP listeners on loopback for discovery tests.

- ``"close"``: accepts and closes at once (an ordinary open port);
- ``"silent"``: accepts and never sends a byte (SAFETY I-03's hung device);
- ``"blackhole"``: a listener whose accept queue is full, so the kernel drops every
  further SYN and connects hang until the client's timeout (a filtered port,
  without firewall rules). Only the one filler connection ever completes.

Every listener counts the connections it accepted. Use as::

    async with Listeners() as net:
        await net.add("127.77.5.10", 20080, "silent")
        ...
        assert net.accepted[("127.77.5.10", 20080)] == 1
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from typing import Literal

Behaviour = Literal["close", "silent", "blackhole"]


class Listeners:
    """A set of raw TCP listeners, all closed on exit (including held connections)."""

    def __init__(self) -> None:
        self.accepted: collections.Counter[tuple[str, int]] = collections.Counter()
        self._servers: list[asyncio.Server] = []
        self._sockets: list[socket.socket] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._stop = asyncio.Event()

    async def __aenter__(self) -> Listeners:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        for writer in list(self._writers):
            writer.close()
        for server in self._servers:
            server.close()
            await server.wait_closed()
        for sock in self._sockets:
            sock.close()

    async def add(self, address: str, port: int, behaviour: Behaviour = "close") -> None:
        """Listen on ``address:port`` with the given behaviour."""
        if behaviour == "blackhole":
            await self._blackhole(address, port)
            return
        key = (address, port)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted[key] += 1
            self._writers.add(writer)
            try:
                if behaviour == "silent":
                    await self._stop.wait()
            finally:
                self._writers.discard(writer)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

        server = await asyncio.start_server(handle, address, port, reuse_address=True)
        self._servers.append(server)

    async def _blackhole(self, address: str, port: int) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((address, port))
        srv.listen(0)  # queue of one: the filler below takes it
        filler = socket.socket()
        filler.setblocking(False)
        self._sockets += [srv, filler]
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(filler, (address, port)), 1)
