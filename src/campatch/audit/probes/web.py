"""Web transport probes: plain-HTTP-only logins, Basic over HTTP, the TLS certificate.

- ``web_tls``: ``"http-only"`` when the web server listens on HTTP but not HTTPS;
  with HTTPS, ``"ok"`` or the problems found, comma-separated, worst first:
  ``"tls1.0"`` (no TLS 1.2 handshake, only 1.0/1.1), ``"rsa-<bits>"`` (RSA key under
  2048 bits), ``"expired"`` (or not yet valid), ``"self-signed"``.
- ``basic_auth_over_http``: a request without credentials to the vendor's login path
  is challenged with ``Basic`` over plain HTTP (no ``Authorization`` is sent, so it
  is no login attempt).

The TLS handshakes accept any certificate and any cipher on purpose: the point is
to read what the device offers, not to trust it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import warnings
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from campatch.drivers.interface import ProbeContext
from campatch.errors import DriverError, TransportError
from campatch.model import Candidate
from campatch.net.rtsp import parse_challenge

HTTPS_PORTS = (443, 8443)
HTTP_PORTS = (80, 8080)
MIN_RSA_BITS = 2048


def _ports(candidate: Candidate, protocol: str, usual: tuple[int, ...]) -> list[int]:
    found = [s.port for s in candidate.services if s.protocol == protocol and s.transport == "tcp"]
    return found or [p for p in usual if candidate.has_port(p)]


def _client_context(*, legacy: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # we judge the certificate, we do not trust it
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # so weak keys can still be read
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 on purpose
        if legacy:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


async def peer_certificate(host: str, port: int, ctx: ProbeContext, *, legacy: bool) -> bytes:
    """The DER certificate the TLS server at ``host:port`` presents.

    Raises:
        ssl.SSLError: the handshake failed (e.g. no common protocol version).
        TransportError: no connection or no handshake in time.
    """
    try:
        async with asyncio.timeout(ctx.limits.request_deadline_s):
            _reader, writer = await asyncio.open_connection(
                host, ctx.port_map.actual(port), ssl=_client_context(legacy=legacy)
            )
    except ssl.SSLError:
        raise
    except (OSError, TimeoutError) as err:
        raise TransportError(f"{host}:{port}: no TLS handshake", host=host) from err
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not der:
        raise TransportError(f"{host}:{port}: TLS server sent no certificate", host=host)
    return bytes(der)


def certificate_problems(der: bytes, now: datetime | None = None) -> list[str]:
    """What is wrong with a certificate: ``rsa-<bits>``, ``expired``, ``self-signed``."""
    cert = x509.load_der_x509_certificate(der)
    now = now or datetime.now(UTC)
    problems: list[str] = []
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        problems.append(f"rsa-{key.key_size}")
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        problems.append("expired")
    if _self_signed(cert):
        problems.append("self-signed")
    return problems


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or cert.signature_hash_algorithm is None:
        return True  # same names; signature not checkable here
    try:
        key.verify(
            cert.signature,
            cert.tbs_certificate_bytes,
            padding.PKCS1v15(),
            cert.signature_hash_algorithm,
        )
    except InvalidSignature:
        return False
    return True


async def tls_verdict(host: str, port: int, ctx: ProbeContext) -> str:
    """``"ok"`` or the comma-separated problems of the TLS server at ``host:port``.

    Raises:
        TransportError: no handshake at all.
    """
    problems: list[str] = []
    try:
        der = await peer_certificate(host, port, ctx, legacy=False)
    except (ssl.SSLError, TransportError) as modern:
        # A TLS 1.0-only server refuses a 1.2 hello with an alert or just a reset.
        try:
            der = await peer_certificate(host, port, ctx, legacy=True)
        except (ssl.SSLError, TransportError) as err:
            raise TransportError(f"{host}:{port}: no TLS handshake ({modern})", host=host) from err
        problems.append("tls1.0")
    problems += certificate_problems(der)
    return ",".join(problems) or "ok"


async def web_tls(candidate: Candidate, ctx: ProbeContext) -> str | None:
    """The ``web_tls`` fact (see the module docstring); None without a web server.

    Raises:
        TransportError: HTTPS is announced but no handshake succeeded.
    """
    https = _ports(candidate, "https", HTTPS_PORTS)
    if https:
        return await tls_verdict(candidate.address, https[0], ctx)
    return "http-only" if _ports(candidate, "http", HTTP_PORTS) else None


async def basic_over_http(candidate: Candidate, login_path: str, ctx: ProbeContext) -> bool | None:
    """True when the plain-HTTP login path challenges with Basic; None without HTTP."""
    ports = _ports(candidate, "http", HTTP_PORTS)
    if not ports:
        return None
    url = ctx.http.url(candidate.address, ports[0], login_path)
    try:
        reply = await ctx.http.request("GET", url)
    except DriverError:
        return None
    if reply.status != 401:
        return False
    return any(parse_challenge(c)[0] == "basic" for c in reply.all_headers("WWW-Authenticate"))
