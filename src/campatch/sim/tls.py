"""TLS for simulated devices: certificates made on the fly with ``cryptography``.

A camera's HTTPS is one of five variants (option ``https`` of
:class:`~campatch.sim.camera.CameraDevice`), each a case of SAFETY B-05:

- ``"secure"``: RSA 2048, signed by a test CA, valid now, TLS 1.2 or newer;
- ``"self-signed"``: like secure, but the certificate signs itself (factory default);
- ``"expired"``: CA-signed, expired a year ago;
- ``"rsa-1024"``: CA-signed with a 1024-bit RSA key;
- ``"tls1.0"``: CA-signed, but the server speaks TLS 1.0 only.

Keys are generated once per process and size (RSA generation is the slow part).
"""

from __future__ import annotations

import datetime as dt
import functools
import ssl
import tempfile
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

VARIANTS = ("secure", "self-signed", "expired", "rsa-1024", "tls1.0")
_DAY = dt.timedelta(days=1)


@functools.cache
def _key(bits: int, purpose: str) -> rsa.RSAPrivateKey:
    del purpose  # part of the cache key only: the CA and the leaves get different keys
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@functools.cache
def test_ca() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """The simulator's certificate authority (one per process)."""
    key = _key(2048, "ca")
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("campatch simulator test CA"))
        .issuer_name(_name("campatch simulator test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 3650 * _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def certificate(variant: str, host: str) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """The leaf certificate and key of ``variant`` for ``host``.

    Raises:
        ValueError: an unknown variant.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown https variant {variant!r}, expected one of {VARIANTS}")
    key = _key(1024 if variant == "rsa-1024" else 2048, "leaf")
    now = dt.datetime.now(dt.UTC)
    start, end = now - _DAY, now + 365 * _DAY
    if variant == "expired":
        start, end = now - 730 * _DAY, now - 365 * _DAY
    ca_cert, ca_key = test_ca()
    issuer, signer = (_name(host), key) if variant == "self-signed" else (ca_cert.subject, ca_key)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(signer, hashes.SHA256())
    )
    return cert, key


def server_context(variant: str, host: str) -> ssl.SSLContext:
    """A server-side TLS context serving ``variant`` (see the module docstring)."""
    cert, key = certificate(variant, host)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let weak keys and TLS 1.0 through, as old cameras do
    if variant == "tls1.0":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 is the point here
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1
    with tempfile.TemporaryDirectory() as tmp:
        pem = Path(tmp) / "device.pem"
        pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + cert.public_bytes(serialization.Encoding.PEM)
        )
        ctx.load_cert_chain(pem)
    return ctx
