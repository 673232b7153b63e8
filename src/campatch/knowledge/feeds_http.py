"""The one HTTP client for knowledge feeds (NVD, CISA KEV): bounded, retrying, verified.

Unlike the device client (:mod:`campatch.net.http`), which accepts the self-signed
certificates cameras ship with, feeds are public services: TLS verification stays ON.

Per request, :class:`FeedClient` enforces:

- connect/read timeouts and a wall-clock deadline per attempt (a feed that trickles
  bytes cannot hold a sync);
- a byte cap on the body, counted while streaming and after decompression, so an
  endless or bomb-like body stops at the cap (SAFETY F-05);
- retries for 429, 5xx and connection errors, with exponential backoff and jitter,
  honouring ``Retry-After`` (seconds or HTTP date) up to a ceiling, and a cap on
  attempts;
- one error type: every failure becomes :class:`~campatch.errors.KnowledgeSourceError`
  with one readable line.

Time is injectable (``clock``, ``sleep``, ``rng``) so tests never really wait.

:meth:`FeedClient.fetch` is the shared core: the retry loop, deadlines and status
handling with a caller-supplied body handler and per-attempt headers. Firmware
downloads (:mod:`campatch.patch.fetch`) stream through it to a file and resume with
``Range``; :meth:`FeedClient.get_bytes` reads a capped body into memory.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from campatch.errors import KnowledgeSourceError

__all__ = ["FeedClient", "FeedLimits", "HeadersArg", "ResponseHandler", "RetryableStatus"]

_USER_AGENT = "campatch/0.1 (+knowledge sync)"
#: Statuses worth another attempt: rate-limit refusal and server-side trouble.
RetryableStatus = frozenset({429, 500, 502, 503, 504})

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_T = TypeVar("_T")
#: Consumes the body of one accepted reply (called once per attempt that gets one).
ResponseHandler = Callable[[httpx.Response], Awaitable[_T]]
#: Request headers, fixed or computed afresh for every attempt (e.g. ``Range``).
HeadersArg = Mapping[str, str] | Callable[[], Mapping[str, str]] | None
_OK = frozenset({200})


@dataclass(frozen=True)
class FeedLimits:
    """Bounds of one feed request.

    Args:
        connect_timeout_s: seconds to wait for a TCP/TLS connect.
        read_timeout_s: seconds to wait between two reads.
        attempt_deadline_s: wall-clock seconds for one whole attempt (headers + body).
        total_deadline_s: seconds for all attempts of one request, waits included.
        max_body_bytes: largest body read (bytes, after decompression).
        max_attempts: attempts per request, first one included (>= 1).
        backoff_base_s: first backoff step; doubles per retry.
        backoff_max_s: ceiling of one backoff step.
        max_retry_after_s: longest ``Retry-After`` honoured; a longer one fails the sync.
    """

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    attempt_deadline_s: float = 120.0
    total_deadline_s: float = 600.0
    max_body_bytes: int = 64 * 1024 * 1024
    max_attempts: int = 5
    backoff_base_s: float = 2.0
    backoff_max_s: float = 60.0
    max_retry_after_s: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be positive, got {self.max_body_bytes}")


class _Retry(Exception):
    """One attempt failed in a way worth retrying; ``wait_s`` is the server's wish."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class FeedClient:
    """Bounded, retrying HTTP GET for feeds. Use as an async context manager.

    Args:
        limits: timeouts, byte cap, attempts and backoff.
        transport: an httpx transport instead of the network (tests).
        clock: monotonic seconds (for the total deadline).
        sleep: awaitable sleep (for backoff waits).
        rng: uniform [0, 1) source for jitter.
    """

    def __init__(
        self,
        limits: FeedLimits | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.limits = limits or FeedLimits()
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self._client = httpx.AsyncClient(
            transport=transport,
            verify=True,  # public feeds: certificates are checked (unlike devices)
            timeout=httpx.Timeout(
                connect=self.limits.connect_timeout_s,
                read=self.limits.read_timeout_s,
                write=self.limits.read_timeout_s,
                pool=self.limits.connect_timeout_s,
            ),
            follow_redirects=True,
            max_redirects=5,
            trust_env=False,
            headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "gzip, identity"},
        )

    async def __aenter__(self) -> FeedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> object:
        """GET ``url`` and decode its JSON body (see :meth:`get_bytes` for the bounds).

        Raises:
            KnowledgeSourceError: transport failure after retries, a refusing status,
                the byte cap, or a body that is not JSON (truncated, malformed).

        Returns:
            The decoded JSON value.
        """
        body = await self.get_bytes(url, params=params, headers=headers)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
            raise KnowledgeSourceError(
                f"{_name(url)}: reply is not valid JSON ({_first_line(err)})"
            ) from err

    async def get_bytes(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """GET ``url`` with retries and return at most ``max_body_bytes`` of body.

        Args:
            url: the feed address.
            params: query parameters.
            headers: extra request headers (e.g. NVD's ``apiKey``).

        Raises:
            KnowledgeSourceError: see :meth:`get_json`.

        Returns:
            The body of the first 200 reply.
        """
        cap = self.limits.max_body_bytes

        async def read(response: httpx.Response) -> bytes:
            return await _read_capped(response, url, cap)

        return await self.fetch(url, read, params=params, headers=headers)

    async def fetch(
        self,
        url: str,
        handle: ResponseHandler[_T],
        *,
        params: Mapping[str, str] | None = None,
        headers: HeadersArg = None,
        accept: frozenset[int] = _OK,
    ) -> _T:
        """GET ``url`` with retries; ``handle`` consumes the body of an accepted reply.

        A transport failure while ``handle`` streams the body (a dropped connection) is
        retried like any other; ``headers`` given as a callable is asked again for each
        attempt, so a handler that kept what it received can ask for the rest.
        Exceptions ``handle`` raises itself end the request unchanged.

        Args:
            url: the address.
            handle: reads the reply body (it must bound what it reads).
            params: query parameters.
            headers: extra request headers, or a callable returning them per attempt.
            accept: statuses handed to ``handle``; others retry or fail.

        Raises:
            KnowledgeSourceError: transport failure after retries, or a refusing status.

        Returns:
            What ``handle`` returned for the first accepted reply.
        """
        started = self._clock()
        for attempt in range(1, self.limits.max_attempts + 1):
            try:
                return await self._attempt(url, handle, params, headers, accept)
            except _Retry as retry:
                if attempt == self.limits.max_attempts:
                    raise KnowledgeSourceError(
                        f"{_name(url)}: {retry} (gave up after {attempt} attempts)"
                    ) from retry
                await self._wait(url, attempt, retry, started)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait(self, url: str, attempt: int, retry: _Retry, started: float) -> None:
        delay = self._delay(attempt, retry.wait_s, url)
        if self._clock() - started + delay > self.limits.total_deadline_s:
            raise KnowledgeSourceError(
                f"{_name(url)}: {retry}; no time left within "
                f"{self.limits.total_deadline_s:g} s for another attempt"
            ) from retry
        await self._sleep(delay)

    def _delay(self, attempt: int, wait_s: float | None, url: str) -> float:
        """Seconds before the next attempt: the server's ``Retry-After`` if it gave one,
        else exponential backoff with jitter (between half and all of the step)."""
        if wait_s is not None:
            if wait_s > self.limits.max_retry_after_s:
                raise KnowledgeSourceError(
                    f"{_name(url)}: server asks to retry after {wait_s:g} s, "
                    f"more than the {self.limits.max_retry_after_s:g} s allowed"
                )
            return wait_s
        step = min(self.limits.backoff_max_s, self.limits.backoff_base_s * 2.0 ** (attempt - 1))
        return step * (0.5 + self._rng() / 2)

    async def _attempt(
        self,
        url: str,
        handle: ResponseHandler[_T],
        params: Mapping[str, str] | None,
        headers: HeadersArg,
        accept: frozenset[int],
    ) -> _T:
        try:
            async with asyncio.timeout(self.limits.attempt_deadline_s):
                return await self._exchange(url, handle, params, headers, accept)
        except TimeoutError as err:
            raise _Retry(f"no complete reply within {self.limits.attempt_deadline_s:g} s") from err
        except httpx.TransportError as err:  # connect, read, protocol (truncated body)
            raise _Retry(_first_line(err) or type(err).__name__) from err
        except httpx.HTTPError as err:
            raise KnowledgeSourceError(f"{_name(url)}: {_first_line(err)}") from err

    async def _exchange(
        self,
        url: str,
        handle: ResponseHandler[_T],
        params: Mapping[str, str] | None,
        headers: HeadersArg,
        accept: frozenset[int],
    ) -> _T:
        fixed = headers() if callable(headers) else headers
        request = self._client.build_request("GET", url, params=params, headers=fixed)
        response = await self._client.send(request, stream=True)
        try:
            _check_status(response, url, accept)
            return await handle(response)
        finally:
            await response.aclose()


def _check_status(response: httpx.Response, url: str, accept: frozenset[int] = _OK) -> None:
    status = response.status_code
    if status in accept:
        return
    if status in RetryableStatus:
        raise _Retry(f"HTTP {status}", _retry_after(response.headers.get("Retry-After", "")))
    wanted = " or ".join(str(s) for s in sorted(accept))
    raise KnowledgeSourceError(f"{_name(url)}: HTTP {status}, expected {wanted}")


def _retry_after(value: str) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or HTTP date); None if absent or bad."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, float(when.timestamp()) - time.time())


async def _read_capped(response: httpx.Response, url: str, cap: int) -> bytes:
    """The body, inflated here (not by httpx) so the cap bounds every step."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise KnowledgeSourceError(f"{_name(url)}: reply declares {declared} bytes, cap is {cap}")
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    inflater = zlib.decompressobj(wbits=47) if encoding in ("gzip", "deflate") else None
    body = bytearray()
    try:
        async for raw in response.aiter_raw():
            body += inflater.decompress(raw, cap + 1 - len(body)) if inflater else raw
            if len(body) > cap:
                raise KnowledgeSourceError(f"{_name(url)}: reply body exceeds {cap} bytes")
    except zlib.error as err:
        raise KnowledgeSourceError(f"{_name(url)}: corrupt compressed body ({err})") from err
    return bytes(body)


def _name(url: str) -> str:
    """The feed's address without query string (which may carry filters)."""
    return url.split("?", 1)[0]


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
