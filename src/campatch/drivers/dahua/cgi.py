"""Dahua CGI sessions: the requests identification, the audit and upgrades share, the
login (Digest, or Basic where the device offers only Basic), and the lock signals
that stop every further attempt (SAFETY D-02)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from campatch.drivers.dahua.models import (
    SoftwareVersion,
    SystemInfo,
    decode_enable,
    decode_mac,
    decode_single,
    decode_user_names,
    is_error_body,
)
from campatch.drivers.interface import (
    ProbeContext,
)
from campatch.errors import (
    AuthError,
    DeviceResponseError,
    LockoutError,
    TransportError,
)
from campatch.model import Credential
from campatch.net.http import AuthScheme, HttpReply
from campatch.net.rtsp import parse_challenge

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
HTTP_PORT = 80
SDK_PORT = 37777
_CGI_SOURCE = "dahua-cgi"


@dataclass(frozen=True)
class CgiRequest(Generic[_T]):
    """One Dahua CGI endpoint: where it is and how its reply body decodes.

    Args:
        action: short name, used in observation sources (``dahua-cgi:<action>``).
        path: path and query on the web port.
        decode: ``(body, host) -> record``; raises DeviceResponseError.
    """

    action: str
    path: str
    decode: Callable[[str, str], _T]

    @property
    def source(self) -> str:
        """The observation source for facts read from this endpoint."""
        return f"{_CGI_SOURCE}:{self.action}"


def _single(key: str, what: str) -> Callable[[str, str], str]:
    return lambda text, host: decode_single(text, key, what=what, host=host)


_MAGICBOX = "/cgi-bin/magicBox.cgi?action="
GET_SYSTEM_INFO = CgiRequest("getSystemInfo", _MAGICBOX + "getSystemInfo", SystemInfo.decode)
GET_SOFTWARE_VERSION = CgiRequest(
    "getSoftwareVersion", _MAGICBOX + "getSoftwareVersion", SoftwareVersion.decode
)
GET_VENDOR = CgiRequest("getVendor", _MAGICBOX + "getVendor", _single("vendor", "getVendor"))
GET_MACHINE_NAME = CgiRequest(
    "getMachineName", _MAGICBOX + "getMachineName", _single("name", "getMachineName")
)
GET_DEVICE_CLASS = CgiRequest(
    "getDeviceClass", _MAGICBOX + "getDeviceClass", _single("class", "getDeviceClass")
)
GET_DEVICE_TYPE = CgiRequest(
    "getDeviceType", _MAGICBOX + "getDeviceType", _single("type", "getDeviceType")
)
GET_NETWORK = CgiRequest(
    "getConfig.Network", "/cgi-bin/configManager.cgi?action=getConfig&name=Network", decode_mac
)
_CONFIG = "/cgi-bin/configManager.cgi?action=getConfig&name="
GET_USERS = CgiRequest(
    "getUserInfoAll", "/cgi-bin/userManager.cgi?action=getUserInfoAll", decode_user_names
)
GET_UPNP = CgiRequest("getConfig.UPnP", _CONFIG + "UPnP", decode_enable("UPnP"))
GET_P2P = CgiRequest("getConfig.T2UServer", _CONFIG + "T2UServer", decode_enable("T2UServer"))


async def open_session(host: str, credential: Credential, ctx: ProbeContext) -> CgiSession:
    scheme = await offered_scheme(host, ctx)
    return CgiSession(host, credential if scheme else None, scheme, ctx)


async def offered_scheme(host: str, ctx: ProbeContext) -> AuthScheme | None:
    """The scheme the device challenges with (Digest preferred); None if it asks for none.

    Raises:
        DeviceResponseError: a challenge we cannot answer, or an unexpected status.
    """
    reply = await ctx.http.request("GET", ctx.http.url(host, HTTP_PORT, GET_SYSTEM_INFO.path))
    if reply.status == 200:
        return None
    schemes = {parse_challenge(c)[0] for c in reply.all_headers("WWW-Authenticate")}
    if reply.status == 401 and "digest" in schemes:
        return AuthScheme.DIGEST
    if reply.status == 401 and "basic" in schemes:
        return AuthScheme.BASIC
    raise DeviceResponseError(
        f"{host}: getSystemInfo answered {reply.status} without a usable challenge", host=host
    )


def lock_signal(reply: HttpReply) -> str | None:
    """Why ``reply`` signals a lockout, or None. [assumed] wording, see sim.dahua."""
    text = reply.text[:2048].lower()
    if "lock" in text:
        return "device says the account or address is locked"
    if reply.status == 403 and "authority" not in text:
        return "device answered 403 to a login (SAFETY D-02 lock signal)"
    return None


class CgiSession:
    """CGI requests to one host with one credential and one scheme."""

    def __init__(
        self,
        host: str,
        credential: Credential | None,
        scheme: AuthScheme | None,
        ctx: ProbeContext,
    ) -> None:
        self.host = host
        self.credential = credential
        self.scheme = scheme or AuthScheme.DIGEST
        self.ctx = ctx
        self.stopped = False

    async def _get(self, request: CgiRequest[_T]) -> HttpReply:
        url = self.ctx.http.url(self.host, HTTP_PORT, request.path)
        return await self.ctx.http.request(
            "GET", url, credential=self.credential, scheme=self.scheme
        )

    def _refused(self, reply: HttpReply) -> bool:
        if reply.status == 401:
            return True
        if reply.status == 403:  # "Authority:check failure." is missing rights, not a refusal
            return "authority" not in reply.text.lower()
        return reply.status == 200 and is_error_body(reply.text)

    def _refusal(self, reply: HttpReply, action: str) -> AuthError:
        """Record a refusal in the budget and return the error that says so."""
        if why := lock_signal(reply):
            self.ctx.auth.locked(self.host, why)
            return LockoutError(f"{self.host}: {action}: {why}", host=self.host)
        self.ctx.auth.failed(self.host)
        return AuthError(f"{self.host}: {action}: credential refused", host=self.host)

    async def login(self, request: CgiRequest[_T]) -> _T:
        """The first authenticated call: its refusal is the login's refusal.

        Raises:
            AuthError, LockoutError: refused or locked (recorded in ``ctx.auth``).
            DeviceResponseError: a reply that is neither a refusal nor decodable.
        """
        reply = await self._get(request)
        if self._refused(reply):
            raise self._refusal(reply, request.action)
        if reply.status != 200:
            raise DeviceResponseError(
                f"{self.host}: {request.action} answered HTTP {reply.status}", host=self.host
            )
        return request.decode(reply.text, self.host)

    async def optional(self, request: CgiRequest[_T]) -> _T | None:
        """A call after login; None when the device lacks it (or the session stopped).

        Raises:
            LockoutError: the device signals a lockout.
        """
        if self.stopped:
            return None
        try:
            reply = await self._get(request)
        except TransportError as err:
            logger.debug("%s: %s unreadable, stopping: %s", self.host, request.action, err)
            self.stopped = True
            return None
        if reply.status == 401:
            # Accepted a moment ago, refused now: count it and ask nothing more.
            self.stopped = True
            if isinstance(error := self._refusal(reply, request.action), LockoutError):
                raise error
            return None
        if reply.status != 200:
            return None
        try:
            return request.decode(reply.text, self.host)
        except DeviceResponseError as err:
            logger.debug("%s: %s not usable: %s", self.host, request.action, err)
            return None
