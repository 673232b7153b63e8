"""One telnet login (BusyBox ``login``), for the default-credential check.

The client answers option negotiation with refusals (RFC 854: WONT/DONT), waits for
a ``login:`` prompt, sends the user, waits for ``Password:``, sends the password and
reads what follows: a shell prompt means accepted, ``incorrect`` or a new login
prompt means refused. It then disconnects; it never runs a command.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from campatch.drivers.interface import ProbeContext
from campatch.errors import DeviceResponseError, TransportError
from campatch.model import Candidate, Credential

IAC, DONT, DO, WONT, WILL = 255, 254, 253, 252, 251
MAX_READ = 4096  # bytes read while waiting for one prompt
_LOGIN = re.compile(rb"(login|username)\s*:\s*$", re.IGNORECASE)
_PASSWORD = re.compile(rb"password\s*:\s*$", re.IGNORECASE)
_SHELL = re.compile(rb"[#$>]\s*$")
_REFUSED = re.compile(rb"incorrect|failed|denied|invalid", re.IGNORECASE)


def _negotiate(data: bytes) -> tuple[bytes, bytes]:
    """Strip telnet commands from ``data``; return (text, our refusals to send)."""
    text, reply, i = bytearray(), bytearray(), 0
    while i < len(data):
        if data[i] == IAC and i + 2 < len(data) and data[i + 1] in (DO, DONT, WILL, WONT):
            answer = WONT if data[i + 1] in (DO, DONT) else DONT
            reply += bytes([IAC, answer, data[i + 2]])
            i += 3
        elif data[i] == IAC and i + 1 < len(data):
            i += 2
        else:
            text.append(data[i])
            i += 1
    return bytes(text), bytes(reply)


async def _until(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *patterns: re.Pattern[bytes]
) -> bytes:
    """Read until the text so far ends with one of ``patterns`` (or the cap is hit)."""
    seen = b""
    while len(seen) < MAX_READ:
        chunk = await reader.read(512)
        if not chunk:
            return seen
        text, reply = _negotiate(chunk)
        if reply:
            writer.write(reply)
        seen += text
        if any(p.search(seen.rstrip(b"\x00")) for p in patterns):
            return seen
    return seen


async def telnet_login(
    candidate: Candidate, port: int, credential: Credential, ctx: ProbeContext
) -> bool:
    """One login on ``port``; True when a shell prompt follows the password.

    Raises:
        TransportError: no connection, or no prompt in time.
        DeviceResponseError: no login prompt (not a login service).
    """
    host = candidate.address
    try:
        async with asyncio.timeout(ctx.limits.request_deadline_s):
            reader, writer = await asyncio.open_connection(host, ctx.port_map.actual(port))
            try:
                return await _dialogue(reader, writer, credential, host)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError) as err:
        raise TransportError(f"{host}:{port}: telnet login not completed", host=host) from err


async def _dialogue(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    credential: Credential,
    host: str,
) -> bool:
    if not _LOGIN.search(await _until(reader, writer, _LOGIN)):
        raise DeviceResponseError(f"{host}: telnet shows no login prompt", host=host)
    writer.write(credential.username.encode() + b"\r\n")
    if not _PASSWORD.search(await _until(reader, writer, _PASSWORD)):
        return False
    writer.write(credential.password.reveal().encode() + b"\r\n")
    after = await _until(reader, writer, _SHELL, _LOGIN, _REFUSED)
    return bool(_SHELL.search(after)) and not _REFUSED.search(after)
