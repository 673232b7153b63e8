"""A simulated BusyBox ``telnetd`` + ``login``, as found on many cheap cameras and DVRs.

The session: the server's option negotiation (``IAC DO ECHO, DO NAWS, WILL ECHO,
WILL SGA``), an optional banner (``/etc/issue``), ``(none) login: ``, ``Password: ``
and then either a root shell prompt ``# `` or ``Login incorrect`` and a new login
prompt; after three failures the connection closes (VENDORS.md §8). The shell
only knows ``exit``/``logout``; anything else is "not found".

Accounts: ``device.spec.users`` plus ``device.spec.options["telnet_users"]`` (the
Mirai-style root/xc3511 accounts that are not web users). Other options:
``telnet_banner`` (text before the first prompt) and ``telnet_idle_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

from campatch.sim.device import SimDevice, TcpService

MAX_LINE = 256
MAX_TRIES = 3
IDLE_TIMEOUT_S = 60.0
IAC, SB, SE, WILL, WONT, DO, DONT = 255, 250, 240, 251, 252, 253, 254
OPT_ECHO, OPT_SGA, OPT_NAWS = 1, 3, 31
NEGOTIATION = bytes([IAC, DO, OPT_ECHO, IAC, DO, OPT_NAWS, IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA])
LOGIN_PROMPT = b"(none) login: "
PASSWORD_PROMPT = b"Password: "
SHELL_PROMPT = b"# "


class TelnetLineReader:
    """Reads CR/LF-terminated lines from a telnet stream, dropping IAC commands.

    Args:
        reader: the connection.
        idle_timeout_s: longest wait for more bytes.
        max_line: longest line kept; longer input ends the session.
    """

    def __init__(
        self, reader: asyncio.StreamReader, idle_timeout_s: float, max_line: int = MAX_LINE
    ) -> None:
        self.reader = reader
        self.idle_timeout_s = idle_timeout_s
        self.max_line = max_line
        self._buf = bytearray()

    async def readline(self) -> str | None:
        """The next line without its terminator, or None on EOF, timeout or overflow."""
        while True:
            line = self._take_line()
            if line is not None:
                return line
            if len(self._buf) > self.max_line:
                return None
            try:
                chunk = await asyncio.wait_for(self.reader.read(512), self.idle_timeout_s)
            except TimeoutError:
                return None
            if not chunk:
                return None
            self._buf += _strip_iac(chunk)

    def _take_line(self) -> str | None:
        for i, byte in enumerate(self._buf):
            if byte in b"\r\n":
                line = bytes(self._buf[:i])
                end = i + 1
                if byte == 13 and end < len(self._buf) and self._buf[end] in (0, 10):
                    end += 1  # telnet sends CR LF or CR NUL
                del self._buf[:end]
                return line.decode("latin-1")
        return None


def _strip_iac(data: bytes) -> bytes:
    """``data`` without telnet commands (IAC IAC is a literal 0xFF)."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b != IAC:
            out.append(b)
            i += 1
        elif i + 1 < len(data) and data[i + 1] == IAC:
            out.append(IAC)
            i += 2
        elif i + 1 < len(data) and data[i + 1] == SB:
            end = data.find(bytes([IAC, SE]), i + 2)
            i = len(data) if end < 0 else end + 2
        elif i + 1 < len(data) and data[i + 1] in (WILL, WONT, DO, DONT):
            i += 3
        else:
            i += 2
    return bytes(out)


def telnet_accounts(device: SimDevice) -> dict[str, str]:
    """Every account the telnet login accepts (spec users, then telnet-only users)."""
    extra = device.spec.options.get("telnet_users") or {}
    return {**device.spec.users, **{str(k): str(v) for k, v in dict(extra).items()}}


class _TelnetSession:
    def __init__(
        self, device: SimDevice, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.device = device
        self.writer = writer
        idle = float(device.spec.options.get("telnet_idle_timeout_s", IDLE_TIMEOUT_S))
        self.lines = TelnetLineReader(reader, idle)

    async def run(self) -> None:
        banner = str(self.device.spec.options.get("telnet_banner", ""))
        await self._send(NEGOTIATION + (banner.replace("\n", "\r\n").encode() if banner else b""))
        for _ in range(MAX_TRIES):
            outcome = await self._login()
            if outcome is None:
                return
            if outcome:
                await self._shell()
                return
        self.device.log("telnet: too many failures, closing")

    async def _login(self) -> bool | None:
        """True on success, False on a wrong login, None when the client went away."""
        await self._send(b"\r\n" + LOGIN_PROMPT)
        user = await self.lines.readline()
        if user is None:
            return None
        await self._send(user.encode("latin-1") + b"\r\n" + PASSWORD_PROMPT)
        password = await self.lines.readline()
        if password is None:
            return None
        await self._send(b"\r\n")
        known = telnet_accounts(self.device).get(user.strip())
        ok = known is not None and secrets.compare_digest(known, password)
        self.device.log(f"telnet login {user.strip()!r} {'ok' if ok else 'bad'}")
        if not ok:
            await self._send(b"Login incorrect\r\n")
        return ok

    async def _shell(self) -> None:
        await self._send(b"\r\n\r\nBusyBox v1.19.3 built-in shell (ash)\r\n\r\n" + SHELL_PROMPT)
        while (line := await self.lines.readline()) is not None:
            command = line.strip()
            await self._send(line.encode("latin-1") + b"\r\n")
            if command in ("exit", "logout"):
                return
            if command:
                name = command.split()[0][:64]
                await self._send(f"-sh: {name}: not found\r\n".encode("latin-1"))
            await self._send(SHELL_PROMPT)

    async def _send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


def telnet_service(device: SimDevice, *, port: int = 23) -> TcpService:
    """The BusyBox-style telnet login of ``device`` (accounts read live per login)."""

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _TelnetSession(device, reader, writer).run()
        except (ConnectionError, TimeoutError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    return TcpService(port, on_connection)
