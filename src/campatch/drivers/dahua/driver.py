"""The Dahua driver (also Amcrest, Lorex and other OEM brands on Dahua firmware).

Fingerprint (no credentials): DHIP answers already in the candidate, the RTSP
``Server`` header (``Rtsp Server/3.0``, ``Dahua Rtsp Server``), the ``Login to ...``
realm, the open private-protocol port 37777, and one unauthenticated
``GET /cgi-bin/magicBox.cgi?action=getDeviceType``: a 401 carries the realm and is no
login attempt, because no ``Authorization`` header is sent.

Identify (one credential, one scheme): an unauthenticated request first shows which
scheme the device challenges with; the credential is then offered with exactly that
scheme, Digest preferred. (python-amcrest tries Basic and then Digest, which spends
two attempts per credential on a device that locks after five.) The first
authenticated call is ``getSystemInfo``; its refusal ends identification with
:class:`~campatch.errors.AuthError`, a lock signal with
:class:`~campatch.errors.LockoutError`. The remaining endpoints are optional: a
missing one lowers what we learn, it does not fail identification.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from campatch.discovery.interface import DiscoverySource
from campatch.drivers.dahua.dhip import SOURCE as DHIP_SOURCE
from campatch.drivers.dahua.dhip import DhipSource
from campatch.drivers.dahua.models import (
    SoftwareVersion,
    SystemInfo,
    brand_of,
    class_prefix,
    decode_enable,
    decode_mac,
    decode_single,
    decode_user_names,
    device_class_of,
    is_error_body,
)
from campatch.drivers.interface import (
    Banners,
    Fingerprint,
    FirmwareState,
    ProbeContext,
    SecuritySettings,
    UpgradeTarget,
)
from campatch.errors import (
    AuthError,
    DeviceResponseError,
    DriverError,
    LockoutError,
    TransportError,
)
from campatch.model import Candidate, Confidence, Credential, DeviceClass, Field, Observation
from campatch.net.http import AuthScheme, HttpReply
from campatch.net.rtsp import parse_challenge

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
HTTP_PORT = 80
SDK_PORT = 37777
_CGI_SOURCE = "dahua-cgi"
_FINGERPRINT_SOURCE = "dahua-fingerprint"


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
#: Main stream of channel 1 (VENDORS.md §10, python-amcrest's default URL).
RTSP_PATHS = ("/cam/realmonitor?channel=1&subtype=0",)
#: Channel 1's still picture: ``snapshot.cgi?channel=<n>`` under ``/cgi-bin/``
#: (python-amcrest ``Snapshot.snapshot``; the Dahua HTTP API "Get a Snapshot" as used by
#: PyIntelbras, channels counted from 1).
SNAPSHOT_PATHS = ("/cgi-bin/snapshot.cgi?channel=1",)


class DahuaDriver:
    """Identification of Dahua-firmware cameras, NVRs and DVRs over the CGI API."""

    name = "dahua"
    rtsp_paths = RTSP_PATHS
    snapshot_paths = SNAPSHOT_PATHS
    login_path = GET_SYSTEM_INFO.path

    async def try_login(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> bool:
        """One CGI login (``getSystemInfo``) with the scheme the device offers.

        Raises:
            LockoutError: the device says the account or address is locked, or 403.
            TransportError, DeviceResponseError: the device could not be read.
        """
        session = await _session(candidate.address, credential, ctx)
        try:
            await session.login(GET_SYSTEM_INFO)
        except LockoutError:
            raise
        except AuthError:
            return False
        return True

    async def security_settings(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> SecuritySettings:
        """Accounts (``getUserInfoAll``), UPnP and P2P (``T2UServer``) switches.

        Raises:
            AuthError, LockoutError: the credential was refused, or a lock signal.
            TransportError, DeviceResponseError: the device could not be read.
        """
        session = await _session(candidate.address, credential, ctx)
        await session.login(GET_SYSTEM_INFO)
        accounts = await session.optional(GET_USERS)
        upnp = await session.optional(GET_UPNP)
        p2p = await session.optional(GET_P2P)
        return SecuritySettings(accounts=accounts, upnp_enabled=upnp, p2p_enabled=p2p)

    async def fingerprint(
        self, candidate: Candidate, banners: Banners, ctx: ProbeContext
    ) -> Fingerprint | None:
        """Unauthenticated verdict (see the module docstring); never raises."""
        evidence: list[float] = []
        observations: list[Observation] = []
        if candidate.found_by & {DHIP_SOURCE} or _dhip_observed(candidate):
            evidence.append(0.9)
        evidence += _banner_evidence(banners, observations)
        if candidate.has_port(SDK_PORT):
            evidence.append(0.3)
        if candidate.has_port(HTTP_PORT) or HTTP_PORT in banners.http:
            evidence += await _cgi_evidence(candidate.address, ctx, observations)
        if not evidence:
            return None
        score = 1.0 - math.prod(1.0 - e for e in evidence)
        # A port number alone is a guess; a realm, banner or DHIP answer is vendor-specific.
        trust = Confidence.BANNER if score >= 0.5 else Confidence.GUESS
        vendor = Observation(Field.VENDOR, "Dahua", _FINGERPRINT_SOURCE, trust)
        return Fingerprint(
            driver=self.name,
            score=round(score, 3),
            device_class=_device_class(candidate, observations),
            observations=(vendor, *observations),
        )

    async def identify(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> Sequence[Observation]:
        """Log in once and read the authenticated identity.

        Raises:
            AuthError: the credential was refused (after ``ctx.auth.failed``).
            LockoutError: the device signals a lockout (after ``ctx.auth.locked``),
                or the scan's failure budget for the host is used up.
            TransportError, DeviceResponseError: the device could not be read.

        Returns:
            Observations at :data:`Confidence.AUTHENTICATED`, strongest first.
        """
        host = candidate.address
        ctx.auth.spend(host)
        scheme = await _offered_scheme(host, ctx)
        session = _CgiSession(host, credential if scheme else None, scheme, ctx)
        info = await session.login(GET_SYSTEM_INFO)
        observations = _system_info_observations(info)
        observations += await _optional_observations(session, info)
        return observations

    def discovery_sources(self) -> Sequence[DiscoverySource]:
        """DHIP (``DHDiscover.search`` on UDP 37810)."""
        return [DhipSource()]

    # Firmware upgrade (Upgrader protocol), in upgrade.py. It builds on this module's
    # CGI session, hence the imports inside the methods (a top-level one would be circular).

    async def firmware_state(self, target: UpgradeTarget, ctx: ProbeContext) -> FirmwareState:
        """Identity as :meth:`identify` reports it, plus ``upgrader.cgi?action=getState``."""
        from campatch.drivers.dahua import upgrade

        return await upgrade.firmware_state(target, ctx)

    async def backup_config(self, target: UpgradeTarget, ctx: ProbeContext) -> bytes | None:
        """``Config.backup?action=All``, or None where the firmware has none."""
        from campatch.drivers.dahua import upgrade

        return await upgrade.backup_config(target, ctx)

    async def upload(
        self,
        target: UpgradeTarget,
        image: bytes,
        ctx: ProbeContext,
        progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """``upgrader.cgi?action=uploadFirmware``, sent once; returns the device's ``OK``."""
        from campatch.drivers.dahua import upgrade

        return await upgrade.upload(target, image, ctx, progress)


async def _session(host: str, credential: Credential, ctx: ProbeContext) -> _CgiSession:
    scheme = await _offered_scheme(host, ctx)
    return _CgiSession(host, credential if scheme else None, scheme, ctx)


def _dhip_observed(candidate: Candidate) -> bool:
    return any(o.source == DHIP_SOURCE for o in candidate.observations)


def _banner_evidence(banners: Banners, observations: list[Observation]) -> list[float]:
    evidence: list[float] = []
    servers = [r.header("Server") for r in banners.rtsp.values()]
    if any("dahua rtsp server" in s.lower() for s in servers):
        evidence.append(0.9)
    elif any(s.strip() == "Rtsp Server/3.0" for s in servers):
        evidence.append(0.5)
    for realm in banners.realms():
        if realm.startswith("Login to "):
            evidence.append(0.5)
            observations += _realm_serial(realm)
        elif realm == "MediaServer3.0":  # Basic realm of some Dahua RTSP servers
            evidence.append(0.4)
    return evidence


def _realm_serial(realm: str) -> list[Observation]:
    """``Login to 4X7C5A1ZAG21L3F`` names the serial; newer firmware puts a hash there."""
    tail = realm.removeprefix("Login to ").strip()
    looks_like_hash = len(tail) == 32 and all(c in "0123456789abcdef" for c in tail)
    if not (6 <= len(tail) <= 24 and tail.isalnum()) or looks_like_hash:
        return []
    return [Observation(Field.SERIAL, tail, "dahua-realm", Confidence.BANNER)]


async def _cgi_evidence(
    host: str, ctx: ProbeContext, observations: list[Observation]
) -> list[float]:
    """One unauthenticated CGI request; no credentials, so no login attempt is spent."""
    url = ctx.http.url(host, HTTP_PORT, GET_DEVICE_TYPE.path)
    try:
        reply = await ctx.http.request("GET", url)
    except DriverError as err:
        logger.debug("%s: dahua CGI probe failed: %s", host, err)
        return []
    if reply.status == 200:
        try:
            model = GET_DEVICE_TYPE.decode(reply.text, host)
        except DeviceResponseError:
            return []
        source = f"{GET_DEVICE_TYPE.source}(unauthenticated)"
        observations.append(Observation(Field.MODEL, model, source, Confidence.UNAUTHENTICATED_API))
        return [0.8]
    if reply.status == 401:
        realms = [
            parse_challenge(c)[1].get("realm", "") for c in reply.all_headers("WWW-Authenticate")
        ]
        if any(r.startswith(("Login to ", "DH_")) for r in realms):
            return [0.6]
    return []


def _device_class(candidate: Candidate, observations: list[Observation]) -> DeviceClass:
    hints = [candidate.notes.get("dhip_device_class", "")]
    hints += [o.value for o in (*candidate.observations, *observations) if o.field is Field.MODEL]
    for hint in hints:
        if (found := device_class_of(hint)) is not DeviceClass.UNKNOWN:
            return found
    return DeviceClass.UNKNOWN


async def _offered_scheme(host: str, ctx: ProbeContext) -> AuthScheme | None:
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


def _lock_signal(reply: HttpReply) -> str | None:
    """Why ``reply`` signals a lockout, or None. [assumed] wording, see sim.dahua."""
    text = reply.text[:2048].lower()
    if "lock" in text:
        return "device says the account or address is locked"
    if reply.status == 403 and "authority" not in text:
        return "device answered 403 to a login (SAFETY D-02 lock signal)"
    return None


class _CgiSession:
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
        if why := _lock_signal(reply):
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


def _system_info_observations(info: SystemInfo) -> list[Observation]:
    source = GET_SYSTEM_INFO.source
    values = [
        (Field.VENDOR, "Dahua"),
        (Field.MODEL, info.device_type),
        (Field.HARDWARE, info.hardware),
        (Field.SERIAL, info.serial),
    ]
    return [_authenticated(f, v, source) for f, v in values if v]


async def _optional_observations(session: _CgiSession, info: SystemInfo) -> list[Observation]:
    found: list[Observation] = []
    if version := await session.optional(GET_SOFTWARE_VERSION):
        found.append(_authenticated(Field.FIRMWARE, version.firmware, GET_SOFTWARE_VERSION.source))
        if version.build:
            found.append(_authenticated(Field.BUILD, version.build, GET_SOFTWARE_VERSION.source))
    if (vendor := await session.optional(GET_VENDOR)) and (brand := brand_of(vendor)):
        found.append(_authenticated(Field.BRAND, brand, GET_VENDOR.source))
    if name := await session.optional(GET_MACHINE_NAME):
        found.append(_authenticated(Field.NAME, name, GET_MACHINE_NAME.source))
    if kind := await session.optional(GET_DEVICE_CLASS):
        found.append(_authenticated(Field.DEVICE_TYPE, kind, GET_DEVICE_CLASS.source))
    elif kind := class_prefix(info.device_type):
        found.append(_authenticated(Field.DEVICE_TYPE, kind, GET_SYSTEM_INFO.source))
    if mac := await session.optional(GET_NETWORK):
        found.append(_authenticated(Field.MAC, mac, GET_NETWORK.source))
    return found


def _authenticated(field: Field, value: str, source: str) -> Observation:
    return Observation(field, value, source, Confidence.AUTHENTICATED)
