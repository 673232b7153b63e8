"""``HttpClient.upload``: the image goes out only after the credential check succeeded.

A device that answers the Digest check with anything but 2xx (401 refused, 403 a lock
signal on some vendors, 5xx) must never receive the image.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from campatch.config import Limits
from campatch.errors import AuthError, DeviceResponseError
from campatch.model import Credential, Secret
from campatch.net.http import HttpClient

CHALLENGE = b'WWW-Authenticate: Digest realm="cam", nonce="abc", qop="auth"\r\n'


@asynccontextmanager
async def device(address: str, check_status: int) -> AsyncIterator[list[str]]:
    """A web server that challenges, then answers the authenticated GET with
    ``check_status``; yields the request lines it received."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                seen.append(lines[0])
                authorized = any(line.lower().startswith("authorization:") for line in lines)
                status = check_status if authorized else 401
                extra = CHALLENGE if status == 401 else b""
                writer.write(b"HTTP/1.1 %d X\r\n%sContent-Length: 0\r\n\r\n" % (status, extra))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client hung up
        finally:
            writer.close()
            await writer.wait_closed()

    server = await asyncio.start_server(handle, address, 0)
    try:
        seen.append(str(server.sockets[0].getsockname()[1]))
        yield seen
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthError), (403, AuthError), (500, DeviceResponseError)]
)
async def test_no_image_is_sent_when_the_credential_check_fails(
    subnet: str, status: int, error: type[Exception]
) -> None:
    async with device(f"{subnet}.10", status) as seen, HttpClient(Limits()) as http:
        base = f"http://{subnet}.10:{seen.pop(0)}"
        with pytest.raises(error, match=f"HTTP {status}"):
            await http.upload("PUT", f"{base}/upload", b"\x00" * 4096,
                              credential=Credential("admin", Secret("pw")),
                              auth_url=f"{base}/check")  # fmt: skip
    assert seen == ["GET /check HTTP/1.1", "GET /check HTTP/1.1"]  # challenge, then check
