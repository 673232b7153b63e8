"""A simulated SSH-only host: it sends its identification string and nothing more.

An SSH server speaks first (RFC 4253 §4.2): ``SSH-2.0-<software> <comments>\\r\\n``.
This one then reads the client's identification line (bounded, with a timeout) and
closes, which is all a banner grab sees. Option: ``ssh_banner``.
"""

from __future__ import annotations

import asyncio
import contextlib

from campatch.sim.device import SimDevice, TcpService

DEFAULT_BANNER = "SSH-2.0-OpenSSH_9.2p1 Debian-2"
MAX_IDENT = 255  # RFC 4253: the identification line is at most 255 bytes
IDLE_TIMEOUT_S = 10.0


class SshDevice(SimDevice):
    """A Linux server with only SSH open."""

    personality = "sshd"

    def tcp_services(self) -> list[TcpService]:
        """SSH on 22."""
        return [TcpService(22, self._ssh)]

    async def _ssh(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        banner = str(self.spec.options.get("ssh_banner", DEFAULT_BANNER))
        try:
            writer.write(banner.encode() + b"\r\n")
            await writer.drain()
            client = await asyncio.wait_for(reader.read(MAX_IDENT), IDLE_TIMEOUT_S)
            ident = client.split(b"\r")[0][:60]
            self.log(f"ssh client {ident!r}")
        except (ConnectionError, TimeoutError):
            self.log("ssh client sent nothing")
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


DEVICE = SshDevice
