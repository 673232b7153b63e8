"""The simulated RTSP server against our RTSP client, and our client against hostile servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from campatch.config import Limits
from campatch.errors import DeviceResponseError
from campatch.model import Credential, Secret
from campatch.net.rtsp import RtspReply, rtsp_request
from campatch.sim.auth import Lockout
from campatch.sim.device import DeviceSpec, SimDevice, TcpService
from campatch.sim.rtsp import PUBLIC_METHODS, rtsp_service

ADMIN = Credential("admin", Secret("s3cret-pw"))
WRONG = Credential("admin", Secret("not-it"))


def make_device(**spec: Any) -> SimDevice:
    """A bare simulated device with an admin account (services are bound by the test)."""
    fields: dict[str, Any] = {
        "name": "cam",
        "personality": "test",
        "address": "127.0.0.1",
        "model": "DS-2CD2043G2-I",
        "users": {"admin": "s3cret-pw"},
    }
    return SimDevice(DeviceSpec(**(fields | spec)))


@asynccontextmanager
async def serving(service: TcpService) -> AsyncIterator[int]:
    """Bind ``service`` on 127.0.0.1 at a free port; yields the port."""
    server = await asyncio.start_server(service.handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def request(port: int, method: str, path: str, limits: Limits, **kw: Any) -> RtspReply:
    return await rtsp_request("127.0.0.1", port, method, path, limits=limits, **kw)


async def test_options_lists_methods_and_echoes_server(limits: Limits) -> None:
    device = make_device()
    async with serving(rtsp_service(device, server="Rtsp Server/3.0")) as port:
        reply = await request(port, "OPTIONS", "/", limits)
    assert reply.status == 200
    assert reply.header("Public") == PUBLIC_METHODS
    assert reply.header("Server") == "Rtsp Server/3.0"
    assert reply.header("CSeq") == "1"


async def test_describe_without_auth_returns_h264_sdp(limits: Limits) -> None:
    device = make_device(rtsp_auth=False)
    async with serving(rtsp_service(device, server="Hikvision")) as port:
        reply = await request(port, "DESCRIBE", "/Streaming/Channels/101", limits)
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/sdp"
    sdp = reply.body.decode()
    assert sdp.startswith("v=0\r\n")
    assert "m=video 0 RTP/AVP 96" in sdp
    assert "a=rtpmap:96 H264/90000" in sdp
    assert reply.header("Content-Base").endswith("/Streaming/Channels/101/")


async def test_describe_with_auth_challenges_then_accepts_digest(limits: Limits) -> None:
    device = make_device()
    async with serving(rtsp_service(device, server="Rtsp Server/3.0", realm="Login to X")) as port:
        challenged = await request(port, "DESCRIBE", "/", limits)
        accepted = await request(port, "DESCRIBE", "/", limits, credential=ADMIN)
    assert challenged.status == 401
    [challenge] = challenged.all_headers("WWW-Authenticate")
    assert challenge.startswith('Digest realm="Login to X"')
    assert "nonce=" in challenge
    assert "qop" not in challenge  # RTSP digest has no qop
    assert accepted.status == 200
    assert accepted.header("CSeq") == "2"
    assert b"H264/90000" in accepted.body


async def test_describe_with_wrong_password_is_refused(limits: Limits) -> None:
    device = make_device()
    async with serving(rtsp_service(device, server="Rtsp Server/3.0")) as port:
        reply = await request(port, "DESCRIBE", "/", limits, credential=WRONG)
    assert reply.status == 401
    assert "s3cret-pw" not in " ".join(device.requests)


async def test_basic_scheme_challenges_basic_and_accepts_it(limits: Limits) -> None:
    device = make_device()
    async with serving(rtsp_service(device, server="X", scheme="basic", realm="/")) as port:
        challenged = await request(port, "DESCRIBE", "/", limits)
        accepted = await request(port, "DESCRIBE", "/", limits, credential=ADMIN)
    assert challenged.all_headers("WWW-Authenticate") == ['Basic realm="/"']
    assert accepted.status == 200


async def test_both_schemes_send_digest_then_basic(limits: Limits) -> None:
    device = make_device()
    async with serving(rtsp_service(device, server="X", scheme="both", realm="Hikvision")) as port:
        reply = await request(port, "DESCRIBE", "/", limits)
    first, second = reply.all_headers("WWW-Authenticate")
    assert first.startswith('Digest realm="Hikvision"')
    assert second == 'Basic realm="Hikvision"'


async def test_rtsp_paths_limit_the_accepted_streams(limits: Limits) -> None:
    device = make_device(rtsp_auth=False, options={"rtsp_paths": ["/Streaming/Channels/101"]})
    async with serving(rtsp_service(device, server="X")) as port:
        known = await request(port, "DESCRIBE", "/Streaming/Channels/101", limits)
        unknown = await request(port, "DESCRIBE", "/live.sdp", limits)
    assert known.status == 200
    assert unknown.status == 404


async def test_lockout_counts_rtsp_failures_and_locks_the_client(limits: Limits) -> None:
    device = make_device()
    lockout = Lockout(max_failures=2)
    async with serving(rtsp_service(device, server="X", lockout=lockout)) as port:
        for _ in range(2):
            await request(port, "DESCRIBE", "/", limits, credential=WRONG)
        locked = await request(port, "DESCRIBE", "/", limits, credential=ADMIN)
    assert lockout.lock_events == 1
    assert locked.status == 401


async def test_keep_alive_session_and_cseq_echo_on_one_connection() -> None:
    device = make_device(rtsp_auth=False)
    async with serving(rtsp_service(device, server="X")) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        url = f"rtsp://127.0.0.1:{port}/s"
        try:
            replies = []
            for cseq, method, extra in (
                (7, "OPTIONS", ""),
                (8, "DESCRIBE", ""),
                (9, "SETUP", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"),
            ):
                writer.write(f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\n{extra}\r\n".encode())
                replies.append(await read_raw_reply(reader))
            session = header_of(replies[-1], "Session").split(";")[0]
            writer.write(f"PLAY {url} RTSP/1.0\r\nCSeq: 10\r\nSession: {session}\r\n\r\n".encode())
            replies.append(await read_raw_reply(reader))
            writer.write(f"PLAY {url} RTSP/1.0\r\nCSeq: 11\r\nSession: nope\r\n\r\n".encode())
            replies.append(await read_raw_reply(reader))
        finally:
            writer.close()
    statuses = [r.split(b"\r\n", 1)[0] for r in replies]
    assert statuses == [b"RTSP/1.0 200 OK"] * 4 + [b"RTSP/1.0 454 Session Not Found"]
    assert [header_of(r, "CSeq") for r in replies] == ["7", "8", "9", "10", "11"]


async def test_oversized_request_closes_the_connection() -> None:
    device = make_device()
    async with serving(rtsp_service(device, server="X")) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"OPTIONS / RTSP/1.0\r\nX: " + b"a" * 100_000 + b"\r\n\r\n")
        try:
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 2)
        except ConnectionError:
            data = b""
        writer.close()
    assert data == b""  # closed without an answer


async def test_request_without_cseq_gets_400_and_close() -> None:
    async with serving(rtsp_service(make_device(), server="X")) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"OPTIONS rtsp://127.0.0.1/ RTSP/1.0\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 2)
        writer.close()
    assert data.startswith(b"RTSP/1.0 400 Bad Request\r\n")


async def read_raw_reply(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    length = int(header_of(head, "Content-Length") or 0)
    return head + (await reader.readexactly(length) if length else b"")


def header_of(reply: bytes, name: str) -> str:
    for line in reply.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.decode().partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return ""


# --- SAFETY I-04: our client against hostile RTSP servers -----------------------------

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def answer(*chunks: bytes) -> Reply:
    """A server that reads one request, writes ``chunks`` and closes."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            for chunk in chunks:
                writer.write(chunk)
            await writer.drain()
        finally:
            writer.close()

    return handler


def challenge_then(header: bytes) -> Reply:
    """A server answering the first request with 401 + ``header`` and the second with 200."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n" + header + b"\r\n\r\n")
            await writer.drain()
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            writer.write(b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            writer.close()

    return handler


HOSTILE = {
    "http-status-line": answer(b"HTTP/1.1 200 OK\r\nCSeq: 1\r\n\r\n"),
    "garbage-status-line": answer(b"RTSP/1.0 2OO OK\r\nCSeq: 1\r\n\r\n"),
    "cseq-mismatch": answer(b"RTSP/1.0 200 OK\r\nCSeq: 99\r\n\r\n"),
    "cseq-missing": answer(b"RTSP/1.0 200 OK\r\nServer: x\r\n\r\n"),
    "negative-content-length": answer(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: -5\r\n\r\n"),
    "huge-content-length": answer(
        b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 99999999999999\r\n\r\n"
    ),
    "binary-junk": answer(bytes(range(256)) * 8),
    "interleaved-frame-first": answer(
        b"$\x00\x00\x08\x80\x60\x00\x01\x00\x00\x00\x00RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"
    ),
    "header-without-colon": answer(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nbroken header\r\n\r\n"),
    "endless-headers": answer(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n" + b"X-Pad: aaaaaaaa\r\n" * 4000),
    "closed-mid-headers": answer(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n"),
    "empty-reply": answer(),
    "truncated-body": answer(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 500\r\n\r\nv=0\r\n"),
    "line-longer-than-stream-limit": answer(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nX: " + b"a" * 70_000),
    "challenge-without-nonce": challenge_then(b'WWW-Authenticate: Digest realm="x"'),
    "challenge-unknown-scheme": challenge_then(b"WWW-Authenticate: \x00\xff\xfe junk"),
}


@asynccontextmanager
async def hostile(handler: Reply) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.safety("I-04")
@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_I04_hostile_rtsp_reply_is_rtsp_unparseable(case: str, limits: Limits) -> None:
    async with hostile(HOSTILE[case]) as port:
        async with asyncio.timeout(limits.request_deadline_s + 1):
            with pytest.raises(DeviceResponseError, match="RTSP unparseable"):
                await request(port, "DESCRIBE", "/", limits, credential=ADMIN)
