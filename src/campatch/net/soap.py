"""SOAP 1.2 for ONVIF: small fixed envelopes, WS-Security UsernameToken, fault mapping.

Why not zeep for our own client: identifying thousands of devices wants a per-call
cost of one string format and one bounded HTTP exchange, not a WSDL-driven object
model (zeep loads and compiles the ONVIF WSDLs, tens of MB of schema, and parses
replies with lxml, whose ``huge_tree`` the ONVIF library even switches on). Every
request here goes through :class:`~campatch.net.http.HttpClient` (timeouts, deadline,
byte cap) and every reply through :func:`~campatch.net.xml.parse_xml` (no DTD, no
entities). zeep is used only as an independent peer in ``tests/interop``.

Auth is WS-Security UsernameToken with PasswordDigest (VENDORS.md §7)::

    Digest = Base64(SHA1(nonce_raw + created + password))

where ``created`` is our UTC clock *plus the device's clock offset*, learnt from an
unauthenticated ``GetSystemDateAndTime`` (the approach of onvif-zeep-async's
``adjust_time``): devices refuse a ``Created`` too far from their own clock.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from campatch.errors import AuthError, DeviceResponseError
from campatch.model import Credential
from campatch.net.http import HttpClient, HttpReply
from campatch.net.xml import local, parse_xml

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"
NS_TT = "http://www.onvif.org/ver10/schema"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_WSS = "http://docs.oasis-open.org/wss/2004/01"
_TOKEN_PROFILE = f"{_WSS}/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_DIGEST = f"{_TOKEN_PROFILE}#PasswordDigest"
PASSWORD_TEXT = f"{_TOKEN_PROFILE}#PasswordText"
BASE64_BINARY = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

_R_co = TypeVar("_R_co", covariant=True)


class SoapOperation(Protocol[_R_co]):
    """**Protocol**: one typed SOAP request (a device-service operation) and its decoder.

    Attributes:
        name: the operation's local name, e.g. ``"GetDeviceInformation"``.
        namespace: the service namespace the operation lives in.
    """

    @property
    def name(self) -> str:
        """The operation's local name."""
        ...

    @property
    def namespace(self) -> str:
        """The service namespace."""
        ...

    def body_xml(self) -> str:
        """The operation element (``<tds:Op>...</tds:Op>``) with ``tds``/``tt`` prefixes."""
        ...

    def decode(self, response: Element, host: str) -> _R_co:
        """Turn the ``<OpResponse>`` element into the result.

        Raises:
            DeviceResponseError: required fields are missing.
        """
        ...


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security PasswordDigest: ``Base64(SHA1(nonce + created + password))``."""
    raw = nonce + created.encode() + password.encode()
    return base64.b64encode(hashlib.sha1(raw).digest()).decode("ascii")  # noqa: S324 - mandated by WS-Security


def created_timestamp(clock_offset_s: float = 0.0, now: datetime | None = None) -> str:
    """The ``wsu:Created`` value: UTC now plus the device clock offset, Zulu form."""
    moment = (now or datetime.now(UTC)) + timedelta(seconds=clock_offset_s)
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def security_header(
    credential: Credential,
    *,
    clock_offset_s: float = 0.0,
    nonce: bytes | None = None,
    now: datetime | None = None,
) -> str:
    """A ``wsse:Security`` header carrying a PasswordDigest UsernameToken.

    Args:
        credential: user and password (the password only enters the digest).
        clock_offset_s: device clock minus our clock, seconds.
        nonce: 16 random bytes by default (tests pass their own).
        now: our current UTC time (tests pass their own).

    Returns:
        The header element as XML text.
    """
    nonce = nonce if nonce is not None else secrets.token_bytes(16)
    created = created_timestamp(clock_offset_s, now)
    digest = password_digest(nonce, created, credential.password.reveal())
    return (
        f'<wsse:Security xmlns:wsse="{NS_WSSE}" xmlns:wsu="{NS_WSU}" s:mustUnderstand="1">'
        "<wsse:UsernameToken>"
        f"<wsse:Username>{escape(credential.username)}</wsse:Username>"
        f'<wsse:Password Type="{PASSWORD_DIGEST}">{digest}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{BASE64_BINARY}">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
        f"<wsu:Created>{created}</wsu:Created>"
        "</wsse:UsernameToken></wsse:Security>"
    )


def envelope(body_xml: str, header_xml: str = "") -> bytes:
    """A SOAP 1.2 envelope declaring the ``s``, ``tds`` and ``tt`` prefixes."""
    header = f"<s:Header>{header_xml}</s:Header>" if header_xml else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:tds="{NS_TDS}" xmlns:tt="{NS_TT}">'
        f"{header}<s:Body>{body_xml}</s:Body></s:Envelope>"
    ).encode()


@dataclass(frozen=True)
class SoapFault:
    """A SOAP 1.2 fault: code, subcodes (local names, outermost first) and reason."""

    code: str
    subcodes: tuple[str, ...]
    reason: str

    @property
    def not_authorized(self) -> bool:
        """True for ONVIF's ``ter:NotAuthorized`` (the credential was refused)."""
        return "NotAuthorized" in self.subcodes


def _qname_local(text: str) -> str:
    return text.strip().rsplit(":", 1)[-1]


def parse_fault(fault: Element) -> SoapFault:
    """Read a ``<s:Fault>`` element into a :class:`SoapFault`."""
    code_el = next((c for c in fault if local(c.tag) == "Code"), None)
    code, subcodes = "", []
    node = code_el
    while node is not None:
        value = next((c for c in node if local(c.tag) == "Value"), None)
        text = _qname_local(value.text or "") if value is not None else ""
        if node is code_el:
            code = text
        elif text:
            subcodes.append(text)
        node = next((c for c in node if local(c.tag) == "Subcode"), None)
    reason = next(((t.text or "").strip() for t in fault.iter() if local(t.tag) == "Text"), "")
    return SoapFault(code, tuple(subcodes), reason[:200])


def soap_body(root: Element, *, what: str, host: str) -> Element:
    """The first child of the envelope's Body.

    Raises:
        DeviceResponseError: not a SOAP 1.2 envelope, or an empty Body.
    """
    if root.tag != f"{{{NS_SOAP}}}Envelope":
        raise DeviceResponseError(f"{what}: not a SOAP 1.2 envelope ({local(root.tag)})", host=host)
    body = root.find(f"{{{NS_SOAP}}}Body")
    if body is None or len(body) == 0:
        raise DeviceResponseError(f"{what}: SOAP envelope without a body element", host=host)
    return body[0]


class SoapClient:
    """Sends typed SOAP operations over the one HTTP seam.

    Args:
        http: the bounded HTTP client (timeouts, byte caps, port map).
    """

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    async def call(
        self,
        url: str,
        operation: SoapOperation[_R_co],
        *,
        credential: Credential | None = None,
        clock_offset_s: float = 0.0,
    ) -> _R_co:
        """Send ``operation`` to ``url`` and decode its reply.

        Args:
            url: the service address (already port-mapped).
            operation: the typed request.
            credential: sign with a WS-Security UsernameToken when given.
            clock_offset_s: device clock minus ours, for ``wsu:Created``.

        Raises:
            AuthError: a ``ter:NotAuthorized`` fault, or HTTP 401/403.
            DeviceResponseError: any other fault, a non-SOAP or hostile reply.
            TransportError: the device could not be reached or read in time.

        Returns:
            What ``operation.decode`` makes of the reply.
        """
        header = security_header(credential, clock_offset_s=clock_offset_s) if credential else ""
        reply = await self.http.request(
            "POST",
            url,
            content=envelope(operation.body_xml(), header),
            headers={
                "Content-Type": f'{SOAP_CONTENT_TYPE}; action="{operation.namespace}/{operation.name}"'
            },
        )
        response = self._response(reply, operation.name)
        return operation.decode(response, _host(reply))

    def _response(self, reply: HttpReply, name: str) -> Element:
        host, what = _host(reply), f"onvif {name}"
        if reply.status in (401, 403) and not reply.body.lstrip().startswith(b"<"):
            # An HTTP-level refusal (empty, or a text/HTML page): no SOAP fault to read.
            raise AuthError(f"{what}: refused with http {reply.status}", host=host)
        root = parse_xml(
            reply.body, what=what, host=host, max_bytes=self.http.limits.max_body_bytes
        )
        element = soap_body(root, what=what, host=host)
        if local(element.tag) == "Fault":
            fault = parse_fault(element)
            if fault.not_authorized or reply.status in (401, 403):
                raise AuthError(
                    f"{what}: credential refused ({fault.reason or 'NotAuthorized'})", host=host
                )
            detail = "/".join((fault.code, *fault.subcodes))
            raise DeviceResponseError(f"{what}: soap fault {detail}: {fault.reason}", host=host)
        if reply.status != 200:
            raise DeviceResponseError(f"{what}: http {reply.status} without a fault", host=host)
        if local(element.tag) != f"{name}Response":
            raise DeviceResponseError(
                f"{what}: unexpected reply element {local(element.tag)}", host=host
            )
        return element


def _host(reply: HttpReply) -> str:
    return reply.url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
