"""The one HTTP seam: every HTTP request to a device goes through :class:`HttpClient`.

It enforces, per request: a connect and read timeout, a wall-clock deadline (so a
device trickling one byte every few seconds cannot hold a scan), a cap on the body
(counted after decompression, so a gzip bomb stops at the cap), the header-size cap
of the HTTP parser, and the scan's :class:`~campatch.config.PortMap`. Every foreign
error is mapped here to :class:`~campatch.errors.TransportError` or
:class:`~campatch.errors.DeviceResponseError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from campatch.config import Limits, PortMap
from campatch.errors import AuthError, DeviceResponseError, TransportError
from campatch.model import Credential

_USER_AGENT = "campatch/0.1 (+inventory scan)"
MAX_REPLY_HEADERS = 100  # SAFETY I-02: more than this is not a camera talking


class AuthScheme(StrEnum):
    """How to offer credentials over HTTP."""

    DIGEST = "digest"
    BASIC = "basic"


@dataclass(frozen=True)
class HttpReply:
    """A bounded HTTP reply: status, headers and at most ``max_body_bytes`` of body."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def header(self, name: str) -> str:
        """The first value of header ``name``, or ``""``."""
        return str(self.headers.get(name, ""))

    def all_headers(self, name: str) -> list[str]:
        """Every value of a header that may repeat (``WWW-Authenticate``)."""
        return self.headers.get_list(name)

    @property
    def text(self) -> str:
        """The body decoded leniently (devices lie about charsets)."""
        return self.body.decode("utf-8", errors="replace")


def _insecure_tls() -> ssl.SSLContext:
    # Cameras ship self-signed certificates; identification must still work.
    # Certificate quality is judged by the audit, not enforced here.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class HttpClient:
    """Bounded async HTTP client for talking to devices. Use as an async context manager.

    Args:
        limits: timeouts, byte caps and concurrency.
        port_map: where well-known ports really listen.
        transport: an httpx transport to use instead of the network (tests).
    """

    def __init__(
        self,
        limits: Limits,
        port_map: PortMap | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.limits = limits
        self.port_map = port_map or PortMap()
        self._client = httpx.AsyncClient(
            transport=transport,
            verify=_insecure_tls(),
            timeout=httpx.Timeout(
                connect=limits.connect_timeout_s,
                read=limits.read_timeout_s,
                write=limits.read_timeout_s,
                pool=limits.request_deadline_s,
            ),
            limits=httpx.Limits(
                max_connections=limits.max_concurrent_hosts * limits.max_concurrent_per_host,
                max_keepalive_connections=limits.max_concurrent_hosts,
            ),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"},
        )

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    def url(self, host: str, port: int, path: str, *, tls: bool = False) -> str:
        """URL for ``path`` on the service that is known to live on ``port``."""
        scheme = "https" if tls else "http"
        bracketed = f"[{host}]" if ":" in host else host
        return f"{scheme}://{bracketed}:{self.port_map.actual(port)}{path}"

    async def request(
        self,
        method: str,
        url: str,
        *,
        credential: Credential | None = None,
        scheme: AuthScheme = AuthScheme.DIGEST,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        max_body_bytes: int | None = None,
    ) -> HttpReply:
        """Send one request and read a bounded reply.

        Args:
            method: HTTP method.
            url: full URL (see :meth:`url`).
            credential: offered with ``scheme`` when the device challenges.
            scheme: digest or basic.
            headers: extra request headers.
            content: request body.
            max_body_bytes: body cap for this request (default: ``limits.max_body_bytes``).

        Raises:
            TransportError: connect/read failure, timeout, deadline or body cap.
            DeviceResponseError: a reply that is not valid HTTP (or a broken challenge).

        Returns:
            The reply, whatever its status.
        """
        cap = max_body_bytes or self.limits.max_body_bytes
        auth = _auth(credential, scheme)
        host = httpx.URL(url).host
        deadline = self.limits.request_deadline_s
        with _device_errors(url, host, f"no complete reply within {deadline:g} s"):
            async with asyncio.timeout(deadline):
                return await self._exchange(method, url, auth, headers, content, cap)

    async def upload(
        self,
        method: str,
        url: str,
        body: bytes,
        *,
        credential: Credential | None,
        scheme: AuthScheme = AuthScheme.DIGEST,
        auth_url: str | None = None,
        content_type: str = "application/octet-stream",
        progress: Callable[[int, int], None] | None = None,
        deadline_s: float | None = None,
    ) -> HttpReply:
        """Send a large body (a firmware image) exactly once and read a short reply.

        With a Digest credential the challenge is first learnt from a ``GET`` of
        ``auth_url`` (which must ask for the same credential); the upload then carries
        its ``Authorization`` from the first byte, so the image never travels twice
        and a refused credential costs one failed login, not two.

        Args:
            method: ``PUT`` or ``POST``.
            url: where the image goes.
            body: the bytes to send (built by the driver: raw image or multipart).
            credential, scheme: the owner's login; None when the URL needs none.
            auth_url: an authenticated ``GET`` endpoint of the same device (Digest only).
            content_type: the ``Content-Type`` of ``body``.
            progress: called with (bytes sent, total) as the body goes out.
            deadline_s: wall-clock limit for the whole upload (default: the request
                deadline plus one second per 64 KiB, a very slow LAN).

        Raises:
            AuthError: the device refused the credential (before or during the upload;
                a 401 or 403 to the ``auth_url`` check: nothing was sent).
            TransportError: connect/write/read failure, timeout or deadline: the caller
                cannot tell how much the device received and must re-read its state.
            DeviceResponseError: a reply that is not valid HTTP, or any other answer
                than 2xx to the ``auth_url`` check (nothing was sent).
        """
        auth = _auth(credential, scheme)
        host = httpx.URL(url).host
        deadline = deadline_s or self.limits.request_deadline_s + len(body) / 65_536
        headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        with _device_errors(url, host, f"upload not answered within {deadline:g} s"):
            async with asyncio.timeout(deadline):
                if isinstance(auth, httpx.DigestAuth) and auth_url is not None:
                    check = await self._exchange("GET", auth_url, auth, None, None, 65_536)
                    _expect_accepted(check, host)
                chunks = _chunks(body, progress)
                return await self._exchange(method, url, auth, headers, chunks, 65_536)

    async def _exchange(
        self,
        method: str,
        url: str,
        auth: httpx.Auth | None,
        headers: Mapping[str, str] | None,
        content: bytes | AsyncIterator[bytes] | None,
        cap: int,
    ) -> HttpReply:
        request = self._client.build_request(method, url, headers=headers, content=content)
        host = request.url.host
        response = await self._client.send(request, auth=auth, stream=True)
        try:
            _check_headers(response.headers, url, host, self.limits.max_header_bytes)
            declared = response.headers.get("Content-Length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > cap:
                raise TransportError(
                    f"{url}: reply declares {declared} bytes, cap is {cap}", host=host
                )
            body = await _read_body(response, url, host, cap)
        finally:
            await response.aclose()
        return HttpReply(response.status_code, response.headers, body, url)


def _expect_accepted(check: HttpReply, host: str) -> None:
    """The image goes out only after the credential check succeeded: a refusal (401,
    or 403, which some vendors use for a lock) or any other answer stops it."""
    if check.status in (401, 403):
        raise AuthError(
            f"{check.url}: the device refused the credential (HTTP {check.status})", host=host
        )
    if not 200 <= check.status < 300:
        raise DeviceResponseError(
            f"{check.url}: HTTP {check.status} to the credential check; the image was not sent",
            host=host,
        )


async def _read_body(response: httpx.Response, url: str, host: str, cap: int) -> bytes:
    """The body, decompressed here rather than by httpx so the cap bounds the output
    of every step (httpx would inflate a whole network read at once: a gzip bomb)."""
    decoder = _decoder(response.headers.get("Content-Encoding", ""), url, host)
    body = bytearray()
    try:
        async for raw in response.aiter_raw():
            body += decoder.decompress(raw, cap + 1 - len(body)) if decoder else raw
            if len(body) > cap:
                raise TransportError(f"{url}: reply body exceeds {cap} bytes", host=host)
    except zlib.error as err:
        raise DeviceResponseError(f"{url}: corrupt compressed body ({err})", host=host) from err
    return bytes(body)


def _decoder(encoding: str, url: str, host: str) -> Any:
    """A zlib decompressor for ``gzip``/``deflate``, None for no encoding."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # 32: accept a gzip or zlib header
    raise DeviceResponseError(f"{url}: unsupported Content-Encoding {encoding[:40]!r}", host=host)


def _check_headers(headers: httpx.Headers, url: str, host: str, max_bytes: int) -> None:
    raw = headers.raw
    if len(raw) > MAX_REPLY_HEADERS:
        raise DeviceResponseError(
            f"{url}: {len(raw)} reply headers, at most {MAX_REPLY_HEADERS} accepted", host=host
        )
    size = sum(len(k) + len(v) + 4 for k, v in raw)
    if size > max_bytes:
        raise DeviceResponseError(
            f"{url}: {size} bytes of reply headers exceed {max_bytes}", host=host
        )


def _auth(credential: Credential | None, scheme: AuthScheme) -> httpx.Auth | None:
    # A fresh auth object per request, on purpose: a cached Digest challenge would make
    # httpx answer a refusal with a second try, costing the device two failed logins
    # (lockout budgets count on one). The price is one extra 401 round trip per call.
    if credential is None:
        return None
    if scheme is AuthScheme.BASIC:
        return httpx.BasicAuth(credential.username, credential.password.reveal())
    return httpx.DigestAuth(credential.username, credential.password.reveal())


@contextlib.contextmanager
def _device_errors(url: str, host: str, too_slow: str) -> Iterator[None]:
    """Map every foreign error of one exchange to campatch's own (see the module doc)."""
    try:
        yield
    except TimeoutError as err:
        raise TransportError(f"{url}: {too_slow}", host=host) from err
    except httpx.StreamConsumed as err:
        # httpx wanted to resend a streamed body after a 401: the credential was refused.
        raise AuthError(f"{url}: the device refused the credential for the upload",
                        host=host) from err  # fmt: skip
    except (httpx.TimeoutException, httpx.NetworkError) as err:
        raise TransportError(f"{url}: {_describe(err)}", host=host) from err
    except (httpx.HTTPError, ValueError, KeyError, IndexError) as err:
        # ValueError/KeyError/IndexError come out of httpx's digest-challenge parser.
        raise DeviceResponseError(f"{url}: invalid HTTP reply ({_describe(err)})",
                                  host=host) from err  # fmt: skip


def _describe(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return text[:200] or type(err).__name__


async def _chunks(
    body: bytes, progress: Callable[[int, int], None] | None, size: int = 65_536
) -> AsyncIterator[bytes]:
    """``body`` in chunks, reporting progress as each is handed to the socket."""
    view = memoryview(body)
    for start in range(0, len(body), size):
        yield bytes(view[start : start + size])
        if progress is not None:
            progress(min(start + size, len(body)), len(body))
