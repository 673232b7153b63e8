"""The simulated BusyBox telnet login, driven over a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from campatch.sim.device import DeviceSpec, SimDevice
from campatch.sim.telnet import (
    IAC,
    LOGIN_PROMPT,
    NEGOTIATION,
    PASSWORD_PROMPT,
    SHELL_PROMPT,
    telnet_accounts,
    telnet_service,
)

READ_S = 2.0


def make_device(**options: Any) -> SimDevice:
    spec = DeviceSpec(
        name="dvr",
        personality="test",
        address="127.0.0.1",
        users={"admin": "web-pass"},
        options={"telnet_users": {"root": "xc3511"}, **options},
    )
    return SimDevice(spec)


class Session:
    """A minimal telnet client: reads until a prompt, sends lines."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seen = b""
        self.pos = 0  # how far the test has consumed ``seen``

    async def until(self, marker: bytes) -> bytes:
        """Everything after the last marker up to and including ``marker``."""
        async with asyncio.timeout(READ_S):
            while marker not in self.seen[self.pos :]:
                chunk = await self.reader.read(1024)
                if not chunk:
                    raise ConnectionResetError(f"closed before {marker!r}")
                self.seen += chunk
        end = self.seen.index(marker, self.pos) + len(marker)
        part, self.pos = self.seen[self.pos : end], end
        return part

    def send(self, line: bytes, end: bytes = b"\r\n") -> None:
        self.writer.write(line + end)

    async def closed(self) -> bool:
        async with asyncio.timeout(READ_S):
            while chunk := await self.reader.read(1024):
                self.seen += chunk
        return True


@asynccontextmanager
async def session(device: SimDevice) -> AsyncIterator[Session]:
    server = await asyncio.start_server(telnet_service(device).handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield Session(reader, writer)
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


async def test_greeting_negotiates_options_and_shows_banner_and_login_prompt() -> None:
    async with session(make_device(telnet_banner="Welcome to HiLinux.")) as s:
        greeting = await s.until(LOGIN_PROMPT)
    assert greeting.startswith(NEGOTIATION)
    assert b"Welcome to HiLinux." in greeting
    assert greeting.endswith(b"(none) login: ")


async def test_mirai_style_telnet_account_gets_a_root_shell_and_exit_closes() -> None:
    device = make_device()
    async with session(device) as s:
        await s.until(LOGIN_PROMPT)
        s.send(b"root")
        await s.until(PASSWORD_PROMPT)
        s.send(b"xc3511", end=b"\r\x00")  # telnet clients may end a line with CR NUL
        await s.until(SHELL_PROMPT)
        s.send(b"cat /etc/passwd")
        assert b"not found" in await s.until(SHELL_PROMPT)
        s.send(b"exit")
        assert await s.closed()
    assert "telnet login 'root' ok" in device.requests
    assert not any("xc3511" in line for line in device.requests)


async def test_web_user_is_accepted_too_and_client_iac_commands_are_ignored() -> None:
    async with session(make_device()) as s:
        await s.until(LOGIN_PROMPT)
        s.writer.write(bytes([IAC, 251, 31, IAC, 250, 31, 0, 80, 0, 24, IAC, 240]))  # WILL/SB NAWS
        s.send(b"admin")
        await s.until(PASSWORD_PROMPT)
        s.send(b"web-pass")
        await s.until(SHELL_PROMPT)


async def test_wrong_password_says_login_incorrect_and_three_failures_close() -> None:
    device = make_device()
    async with session(device) as s:
        for _ in range(3):
            await s.until(LOGIN_PROMPT)
            s.send(b"root")
            await s.until(PASSWORD_PROMPT)
            s.send(b"vizxv")
            await s.until(b"Login incorrect")
        assert await s.closed()
    assert SHELL_PROMPT not in s.seen.split(b"Login incorrect")[-1]
    assert device.requests.count("telnet login 'root' bad") == 3


async def test_spec_users_changed_at_runtime_are_used_at_the_next_login() -> None:
    device = make_device()
    device.spec.users = {"admin": "rotated"}
    assert telnet_accounts(device) == {"admin": "rotated", "root": "xc3511"}
    async with session(device) as s:
        await s.until(LOGIN_PROMPT)
        s.send(b"admin")
        await s.until(PASSWORD_PROMPT)
        s.send(b"web-pass")
        await s.until(b"Login incorrect")


async def test_idle_client_is_disconnected() -> None:
    async with session(make_device(telnet_idle_timeout_s=0.2)) as s:
        await s.until(LOGIN_PROMPT)
        assert await s.closed()


async def test_endless_line_is_cut_off() -> None:
    async with session(make_device()) as s:
        await s.until(LOGIN_PROMPT)
        s.writer.write(b"a" * 10_000)
        assert await s.closed()
