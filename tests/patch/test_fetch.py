"""Firmware downloads against a loopback HTTP server: caps (F-05), hashes (F-08), resume."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from campatch.errors import FirmwareError, FirmwareIntegrityError, FirmwareTooLarge
from campatch.knowledge.feeds_http import FeedClient, FeedLimits
from campatch.model import FirmwareRelease, Provenance
from campatch.patch.fetch import fetch_release
from campatch.patch.firmware_store import FirmwareStore
from safety.hostile_support import MIB, memory_peak

IMAGE = bytes(range(256)) * 4096  # 1 MiB that is not all zeros


@dataclass
class ImageServer:
    """A loopback HTTP/1.1 server for one image, with fault knobs.

    Args:
        body: the bytes served.
        etag: the strong ETag it sends ("" = none).
        cut_after: on the next full (200) reply, close after this many body bytes.
        ignore_range: always answer 200 with the whole body.
        endless: no Content-Length; stream zeros until the client hangs up (or 200 MiB).
        extra: bytes sent beyond ``body`` while Content-Length still says ``len(body)``
            is not sent at all (no Content-Length).
    """

    body: bytes = IMAGE
    etag: str = '"v1"'
    cut_after: int | None = None
    ignore_range: bool = False
    endless: bool = False
    extra: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)
    sent: int = 0
    url: str = ""
    handlers: dict[asyncio.StreamWriter, asyncio.Task[None]] = field(default_factory=dict)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one request, then close."""
        task = asyncio.current_task()
        assert task is not None
        self.handlers[writer] = task
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = _headers(head)
            self.requests.append(headers)
            await self._reply(headers, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _reply(self, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        if self.endless:
            await self._endless(writer)
            return
        wanted = headers.get("range", "")
        if_range = headers.get("if-range")
        if wanted and not self.ignore_range and (if_range is None or if_range == self.etag):
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            part = self.body[start:]
            extra = f"Content-Range: bytes {start}-{len(self.body) - 1}/{len(self.body)}\r\n"
            await self._send(writer, "206 Partial Content", extra, part, len(part))
            return
        body = self.body + bytes(self.extra)
        length = None if self.extra else len(body)
        if self.cut_after is not None:
            body, self.cut_after = body[: self.cut_after], None
        await self._send(writer, "200 OK", "", body, length)

    async def _send(
        self, writer: asyncio.StreamWriter, status: str, extra: str, body: bytes, length: int | None
    ) -> None:
        head = f"HTTP/1.1 {status}\r\nConnection: close\r\n{extra}"
        head += f"ETag: {self.etag}\r\n" if self.etag else ""
        head += f"Content-Length: {length}\r\n" if length is not None else ""
        writer.write(head.encode() + b"\r\n")
        for i in range(0, len(body), 65536):
            writer.write(body[i : i + 65536])
            self.sent += len(body[i : i + 65536])
            await writer.drain()

    async def _endless(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        block = bytes(65536)
        while self.sent < 200 * MIB:
            writer.write(block)
            self.sent += len(block)
            await writer.drain()


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)}


@asynccontextmanager
async def serving(server: ImageServer) -> AsyncIterator[ImageServer]:
    """Run ``server`` on 127.0.0.1 (any free port) for the block."""
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}/fw/digicap.dav"
    try:
        yield server
    finally:
        listener.close()
        for writer in server.handlers:
            writer.transport.abort()
        await asyncio.gather(*server.handlers.values(), return_exceptions=True)
        await listener.wait_closed()


async def _no_wait(_s: float) -> None:
    return None


def client(attempts: int = 3) -> FeedClient:
    """A feed client that retries without really waiting."""
    limits = FeedLimits(connect_timeout_s=2, read_timeout_s=5, max_attempts=attempts)
    return FeedClient(limits, sleep=_no_wait)


def release(
    url: str, body: bytes = IMAGE, *, size: int | None = -1, sha256: str | None = None
) -> FirmwareRelease:
    """A catalog record for ``body`` at ``url`` (size -1 = the body's length)."""
    return FirmwareRelease(
        vendor="hikvision", model="DS-2CD2143G2-I", version="V5.7.3",
        provenance=Provenance(source="test-catalog"), url=url,
        sha256=hashlib.sha256(body).hexdigest() if sha256 is None else sha256,
        size=len(body) if size == -1 else size,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> FirmwareStore:
    return FirmwareStore(tmp_path / "firmware")


def leftovers(store: FirmwareStore) -> list[str]:
    """Files in the store's temporary folder (partial downloads, temp copies)."""
    return sorted(p.name for p in store.tmp_dir.iterdir())


Fetch = Callable[..., Awaitable[object]]


async def fetch(rel: FirmwareRelease, store: FirmwareStore, attempts: int = 3) -> object:
    async with client(attempts) as c:
        return await fetch_release(rel, store, client=c)


# --- the good path ----------------------------------------------------------------------


async def test_a_release_is_downloaded_verified_and_stored(store: FirmwareStore) -> None:
    async with serving(ImageServer()) as srv:
        image = await fetch(release(srv.url), store)
    stored = store.get(hashlib.sha256(IMAGE).hexdigest())
    assert stored == image
    assert stored.path.read_bytes() == IMAGE
    assert stored.info.file_name == "digicap.dav"
    assert stored.info.provenance.url == srv.url
    assert srv.requests[0]["accept-encoding"] == "identity"
    assert leftovers(store) == []


async def test_an_image_already_in_the_store_is_not_downloaded_again(store: FirmwareStore) -> None:
    async with serving(ImageServer()) as srv:
        await fetch(release(srv.url), store)
        await fetch(release(srv.url), store)
    assert len(srv.requests) == 1


async def test_a_release_without_sha256_is_refused_and_nothing_is_requested(
    store: FirmwareStore,
) -> None:
    async with serving(ImageServer()) as srv:
        with pytest.raises(FirmwareError, match=r"no SHA-256.*campatch firmware add"):
            await fetch(release(srv.url, sha256=""), store)
    assert srv.requests == []


async def test_a_release_without_a_direct_url_names_the_download_page(store: FirmwareStore) -> None:
    rel = release("")
    rel = FirmwareRelease(**{**rel.__dict__, "download_page": "https://vendor.example/dl"})
    with pytest.raises(FirmwareError, match=r"get it from https://vendor\.example/dl"):
        await fetch(rel, store)


# --- F-05 endless data --------------------------------------------------------------------


@pytest.mark.safety("F-05")
async def test_F05_endless_body_aborts_at_the_declared_size_with_bounded_memory(
    store: FirmwareStore,
) -> None:
    """1. The catalog declares 80 MiB; the server streams zeros without end.
    2. The download stops right after 80 MiB, the partial file is deleted.
    3. Memory grows far less than what was received (it streams to disk)."""
    declared = 80 * MIB
    async with serving(ImageServer(endless=True)) as srv:
        rel = release(srv.url, b"", size=declared, sha256="0" * 64)
        with memory_peak() as peak, pytest.raises(FirmwareTooLarge, match="exceeds the declared"):
            await fetch(rel, store)
    assert declared < srv.sent < 200 * MIB
    assert peak.worst < 64 * MIB
    assert leftovers(store) == []
    assert store.images() == []


@pytest.mark.safety("F-05")
async def test_F05_body_longer_than_declared_without_content_length_is_cut_at_the_cap(
    store: FirmwareStore,
) -> None:
    async with serving(ImageServer(extra=4096)) as srv:
        with pytest.raises(FirmwareTooLarge):
            await fetch(release(srv.url), store)
    assert leftovers(store) == []
    assert store.images() == []


@pytest.mark.safety("F-05")
async def test_F05_content_length_above_the_catalog_size_is_refused_before_reading(
    store: FirmwareStore,
) -> None:
    bigger = IMAGE + b"x"
    async with serving(ImageServer(body=bigger)) as srv:
        with pytest.raises(FirmwareTooLarge, match=f"declares {len(bigger)} bytes"):
            await fetch(release(srv.url), store)
    assert leftovers(store) == []
    assert store.images() == []


# --- F-08 wrong or tampered firmware ------------------------------------------------------


@pytest.mark.safety("F-08")
async def test_F08_one_flipped_byte_is_rejected_and_nothing_is_stored(store: FirmwareStore) -> None:
    flipped = bytearray(IMAGE)
    flipped[len(flipped) // 2] ^= 0x01
    async with serving(ImageServer(body=bytes(flipped))) as srv:
        with pytest.raises(FirmwareIntegrityError, match=r"SHA-256 is .* the catalog's is"):
            await fetch(release(srv.url, IMAGE), store)
    assert store.images() == []
    assert list((store.root / "sha256").iterdir()) == []
    assert leftovers(store) == []


@pytest.mark.safety("F-08")
async def test_F08_the_wrong_file_under_the_right_name_is_rejected(store: FirmwareStore) -> None:
    other = b"another vendor's image " * 1000
    async with serving(ImageServer(body=other)) as srv:
        with pytest.raises(FirmwareIntegrityError, match="nothing was stored"):
            await fetch(release(srv.url, IMAGE, size=None), store)
    assert store.images() == []
    assert leftovers(store) == []


@pytest.mark.safety("F-08")
async def test_F08_a_tampered_cache_entry_is_deleted_and_downloaded_again(
    store: FirmwareStore,
) -> None:
    async with serving(ImageServer()) as srv:
        first = await fetch(release(srv.url), store)
        assert not isinstance(first, BaseException)
        blob = store.blob_path(hashlib.sha256(IMAGE).hexdigest())
        blob.chmod(0o600)
        data = bytearray(blob.read_bytes())
        data[0] ^= 0xFF
        blob.write_bytes(bytes(data))
        again = await fetch(release(srv.url), store)
    assert len(srv.requests) == 2
    assert store.get(hashlib.sha256(IMAGE).hexdigest()).path.read_bytes() == IMAGE
    assert again == store.get(hashlib.sha256(IMAGE).hexdigest())


# --- resume -------------------------------------------------------------------------------


async def test_a_dropped_connection_resumes_with_a_range_from_the_partial_length(
    store: FirmwareStore,
) -> None:
    """1. The first reply is cut after 300,000 bytes.
    2. The next attempt asks for ``bytes=300000-`` with ``If-Range`` and gets a 206.
    3. The image is complete and verified; no byte was sent twice."""
    cut = 300_000
    async with serving(ImageServer(cut_after=cut)) as srv:
        await fetch(release(srv.url), store)
    assert "range" not in srv.requests[0]
    assert srv.requests[1]["range"] == f"bytes={cut}-"
    assert srv.requests[1]["if-range"] == '"v1"'
    assert srv.sent == len(IMAGE)
    assert store.get(hashlib.sha256(IMAGE).hexdigest()).path.read_bytes() == IMAGE


async def test_a_download_resumes_in_a_later_run_after_retries_ran_out(
    store: FirmwareStore,
) -> None:
    cut = 123_457
    async with serving(ImageServer(cut_after=cut)) as srv:
        with pytest.raises(FirmwareError, match="run again to resume"):
            await fetch(release(srv.url), store, attempts=1)
        assert leftovers(store) == [
            f"{hashlib.sha256(IMAGE).hexdigest()}.part",
            f"{hashlib.sha256(IMAGE).hexdigest()}.part.json",
        ]
        await fetch(release(srv.url), store)
    assert srv.requests[1]["range"] == f"bytes={cut}-"
    assert srv.sent == len(IMAGE)
    assert leftovers(store) == []


async def test_a_server_that_ignores_range_restarts_from_zero(store: FirmwareStore) -> None:
    async with serving(ImageServer(cut_after=200_000, ignore_range=True)) as srv:
        await fetch(release(srv.url), store)
    assert srv.requests[1]["range"] == "bytes=200000-"
    assert srv.sent == 200_000 + len(IMAGE)
    assert store.get(hashlib.sha256(IMAGE).hexdigest()).path.read_bytes() == IMAGE


async def test_a_file_changed_on_the_server_is_not_spliced_onto_the_old_part(
    store: FirmwareStore,
) -> None:
    """The ETag changes between the cut and the resume: ``If-Range`` makes the server send
    the whole new file, which then fails the catalog's hash instead of mixing two files."""
    srv_obj = ImageServer(cut_after=100_000)
    async with serving(srv_obj) as srv:
        with pytest.raises(FirmwareError):
            await fetch(release(srv.url), store, attempts=1)
        srv.etag, srv.body = '"v2"', IMAGE[::-1]
        with pytest.raises(FirmwareIntegrityError):
            await fetch(release(srv.url), store)
    assert srv.requests[1]["if-range"] == '"v1"'
    assert store.images() == []
    assert leftovers(store) == []
