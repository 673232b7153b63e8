"""Download a catalog firmware release into the store: bounded, resumable, verified.

Rules, in order (STYLE C7 after python-tuf's ``download_file``; SAFETY F-05, F-08):

1. Only a release whose catalog record has a SHA-256 is fetched automatically. Without
   one there is nothing to check the bytes against; the user may download the image
   and vouch for it with ``campatch firmware add``.
2. If the store already holds an image with that hash, it is re-verified and reused;
   a tampered entry is deleted and the image downloaded again.
3. The body is streamed (never held in memory) to ``<store>/tmp/<sha256>.part``
   through the feed client (:class:`~campatch.knowledge.feeds_http.FeedClient`: TLS
   verified, timeouts, retries). More than the declared size (or, without one, the
   store's ``max_image_bytes``) aborts the download and deletes the partial file.
4. A dropped connection is resumed with ``Range: bytes=<partial length>-`` (and
   ``If-Range`` with the ETag or Last-Modified seen first). A ``206`` must start
   exactly at that length, for the same total and validator; a ``200`` means the server
   ignored the range and the file restarts from zero; anything else inconsistent
   discards the partial file and starts over once.
5. Only when the body is complete are its size and SHA-256 compared with the catalog's.
   A mismatch (one flipped byte, the wrong file under the right name) raises
   :class:`~campatch.errors.FirmwareIntegrityError`, deletes the partial file, and
   stores nothing. A match enters the store by ``os.replace``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO
from urllib.parse import unquote, urlsplit

import httpx

from campatch.errors import (
    FirmwareError,
    FirmwareIntegrityError,
    FirmwareTooLarge,
    KnowledgeSourceError,
)
from campatch.knowledge.feeds_http import FeedClient, FeedLimits
from campatch.model import FirmwareRelease, Provenance
from campatch.patch.firmware_store import FirmwareStore, ImageInfo, StoredImage, sha256_file
from campatch.patch.headers import check_header

__all__ = ["FIRMWARE_DOWNLOAD_LIMITS", "fetch_release"]

logger = logging.getLogger(__name__)

#: Feed-client bounds for images: larger bodies than feeds, so longer deadlines.
FIRMWARE_DOWNLOAD_LIMITS = FeedLimits(
    connect_timeout_s=10.0,
    read_timeout_s=60.0,
    attempt_deadline_s=1800.0,
    total_deadline_s=3600.0,
    max_attempts=5,
)
_ACCEPT = frozenset({200, 206, 416})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_HEX = re.compile(r"[0-9a-f]{64}")
_PASSES = 2  # a first try, and one fresh start after an inconsistent resume


class _Restart(Exception):
    """The partial file cannot be continued; it was deleted, start again from zero."""


async def fetch_release(
    release: FirmwareRelease, store: FirmwareStore, *, client: FeedClient | None = None
) -> StoredImage:
    """Download ``release`` into ``store`` (see the module docstring for the rules).

    Args:
        release: a catalog record with ``url`` and ``sha256`` (and ideally ``size``).
        store: where the verified image goes.
        client: the feed client to use (default: one with :data:`FIRMWARE_DOWNLOAD_LIMITS`).

    Raises:
        FirmwareError: no URL or no SHA-256 in the catalog, a refusing server, or a
            transfer that failed after retries (the partial file is kept for a resume).
        FirmwareTooLarge: the server sent more than the declared size.
        FirmwareIntegrityError: the complete body's size or SHA-256 is not the catalog's.

    Returns:
        The stored, verified image.
    """
    expected, url = _expected_sha256(release), _checked_url(release)
    reused = _reuse(store, expected)
    if reused is not None:
        return reused
    download = _Download(store, url, expected, release.size)
    try:
        if client is None:
            async with FeedClient(FIRMWARE_DOWNLOAD_LIMITS) as own:
                await _transfer(own, download)
        else:
            await _transfer(client, download)
        return await asyncio.to_thread(download.admit, release)
    except OSError as err:
        raise FirmwareError(
            f"{url}: cannot write the download ({err.strerror or err})", image=url
        ) from err


def _expected_sha256(release: FirmwareRelease) -> str:
    name = f"{release.vendor} {release.model} {release.version}"
    digest = release.sha256.strip().lower()
    if not digest:
        raise FirmwareError(
            f"{name}: the catalog gives no SHA-256 for this image, so it cannot be "
            "verified and is not downloaded automatically; download it yourself from "
            f"{release.download_page or release.url or 'the vendor'} and add it with "
            "`campatch firmware add`",
            image=release.url,
        )
    if not _HEX.fullmatch(digest):
        raise FirmwareError(f"{name}: catalog SHA-256 {digest[:80]!r} is not 64 hex digits")
    return digest


def _checked_url(release: FirmwareRelease) -> str:
    url = release.url.strip()
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        where = f"; get it from {release.download_page}" if release.download_page else ""
        raise FirmwareError(
            f"{release.vendor} {release.model} {release.version}: the catalog has no "
            f"direct http(s) download address (got {url[:200]!r}){where}",
            image=url,
        )
    return url


def _reuse(store: FirmwareStore, expected: str) -> StoredImage | None:
    """The stored image with that hash, verified now; None if absent or tampered."""
    try:
        return store.get(expected)
    except FirmwareIntegrityError:
        logger.warning("stored image %s was tampered with; downloading it again", expected)
        return None
    except FirmwareError:
        return None


async def _transfer(client: FeedClient, download: _Download) -> None:
    for attempt in range(1, _PASSES + 1):
        if download.complete():
            return
        try:
            await client.fetch(
                download.url, download.receive, headers=download.headers, accept=_ACCEPT
            )
            return
        except _Restart as err:
            if attempt == _PASSES:
                raise FirmwareError(f"{download.url}: {err}", image=download.url) from err
            logger.info("%s: %s; starting again from zero", download.url, err)
        except KnowledgeSourceError as err:
            raise FirmwareError(
                f"firmware download failed: {err} (run again to resume)", image=download.url
            ) from err


class _Download:
    """One image's partial file and what is known about it across attempts."""

    def __init__(self, store: FirmwareStore, url: str, expected: str, size: int | None) -> None:
        self.store, self.url, self.expected = store, url, expected
        self.exact = size is not None  # the catalog declares the size: nothing more, nothing less
        self.cap = size if size is not None else store.limits.max_image_bytes
        self.part = store.tmp_dir / f"{expected}.part"
        self._meta_path = store.tmp_dir / f"{expected}.part.json"
        self.validator = self._load_validator()

    # --- partial state ----------------------------------------------------------------

    def _load_validator(self) -> str:
        """The ETag/Last-Modified of the partial file's source; a partial file from
        another URL (or without a record) is discarded."""
        try:
            meta = json.loads(self._meta_path.read_bytes()[:4096])
        except (OSError, ValueError):
            meta = None
        if not isinstance(meta, dict) or meta.get("url") != self.url:
            self.discard()
            return ""
        return str(meta.get("validator", ""))

    def _save_validator(self, validator: str) -> None:
        self.validator = validator
        body = json.dumps({"url": self.url, "validator": validator}).encode()
        fd = os.open(self._meta_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(body)

    def offset(self) -> int:
        """Bytes already received."""
        try:
            return self.part.stat().st_size
        except FileNotFoundError:
            return 0

    def complete(self) -> bool:
        """The partial file already holds the declared size (a previous run's)."""
        return self.offset() == self.cap and self.cap > 0

    def discard(self) -> None:
        """Delete the partial file and its record."""
        self.part.unlink(missing_ok=True)
        self._meta_path.unlink(missing_ok=True)
        self.validator = ""

    # --- one attempt --------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        """Request headers for the next attempt: a range from the partial length."""
        wanted = {"Accept-Encoding": "identity"}
        offset = self.offset()
        if offset > 0:
            wanted["Range"] = f"bytes={offset}-"
            if self.validator:
                wanted["If-Range"] = self.validator
        return wanted

    async def receive(self, response: httpx.Response) -> None:
        """Stream one reply's body into the partial file (the feed client's handler)."""
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FirmwareError(f"{self.url}: server sent {encoding}-encoded bytes, not the image")
        if response.status_code == 416:
            self.discard()
            raise _Restart("the server cannot continue the partial download (HTTP 416)")
        start = self._start(response)
        self._check_length(response, start)
        await self._stream(response, start)

    def _start(self, response: httpx.Response) -> int:
        """Where this body starts in the image; 0 restarts the partial file."""
        validator = _validator(response)
        if response.status_code == 200:
            if self.offset():
                logger.info("%s: server ignored the range; restarting from zero", self.url)
            self._save_validator(validator)
            return 0
        start, total = _content_range(response, self.url)
        if start != self.offset() or not self._total_ok(total):
            self.discard()
            raise _Restart(f"server resumed at byte {start} of {total}, expected {self.offset()}")
        if self.validator and validator and validator != self.validator:
            self.discard()
            raise _Restart("the file changed on the server since the partial download")
        return start

    def _total_ok(self, total: int | None) -> bool:
        if total is None:
            return True
        return total == self.cap if self.exact else total <= self.cap

    def _check_length(self, response: httpx.Response, start: int) -> None:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and start + int(declared) > self.cap:
            self.discard()
            raise FirmwareTooLarge(
                f"{self.url}: server declares {start + int(declared)} bytes, "
                f"the catalog {self.cap}",
                image=self.url,
            )

    async def _stream(self, response: httpx.Response, start: int) -> None:
        written = start
        with self._open(start) as out:
            async for chunk in response.aiter_raw():
                written += len(chunk)
                if written > self.cap:
                    self.discard()
                    raise FirmwareTooLarge(
                        f"{self.url}: body exceeds the declared {self.cap} bytes; "
                        "download aborted and deleted",
                        image=self.url,
                    )
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())

    @contextlib.contextmanager
    def _open(self, start: int) -> Iterator[IO[bytes]]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if start else os.O_TRUNC)
        fd = os.open(self.part, flags, 0o600)
        with os.fdopen(fd, "ab" if start else "wb") as out:
            yield out

    # --- the end ------------------------------------------------------------------------

    def admit(self, release: FirmwareRelease) -> StoredImage:
        """Verify the complete partial file and move it into the store (runs in a thread)."""
        digest, size = sha256_file(self.part, self.store.limits.chunk_bytes)
        problem = self._mismatch(digest, size)
        if problem:
            self.discard()
            raise FirmwareIntegrityError(
                f"{self.url}: {problem}; nothing was stored", image=self.url
            )
        info = ImageInfo(
            release.vendor, release.model, release.version, release.hardware,
            _file_name(self.url),
            Provenance(
                source=release.provenance.source, url=self.url, license=release.provenance.license,
            ),
        )  # fmt: skip
        stored = self.store.admit(self.part, digest, size, info, _header_note(release))
        self._meta_path.unlink(missing_ok=True)
        return stored

    def _mismatch(self, digest: str, size: int) -> str:
        if self.exact and size != self.cap:
            return f"received {size} bytes, the catalog declares {self.cap}"
        if digest != self.expected:
            return f"SHA-256 is {digest}, the catalog's is {self.expected}"
        return ""


def _content_range(response: httpx.Response, url: str) -> tuple[int, int | None]:
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if match is None:
        raise _Restart(f"{url}: 206 reply without a usable Content-Range")
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _validator(response: httpx.Response) -> str:
    """A strong ETag, else Last-Modified: what ``If-Range`` may carry (RFC 9110 13.1.5)."""
    etag = str(response.headers.get("ETag", "")).strip()
    if etag and not etag.startswith("W/"):
        return etag
    return str(response.headers.get("Last-Modified", "")).strip()


def _file_name(url: str) -> str:
    return PurePosixPath(unquote(urlsplit(url).path)).name[:200]


def _header_note(release: FirmwareRelease) -> str:
    return check_header(release.vendor, _file_name(release.url)).note
