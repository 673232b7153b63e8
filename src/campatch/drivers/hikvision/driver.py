"""The Hikvision driver: fingerprint without credentials, identify over ISAPI.

Fingerprint signals, combined as independent evidence (noisy-or):

- a Hikvision ``Server`` header (``App-webs/``, ``DNVRS-Webs``, ``Hikvision-Webs``,
  ``DVRDVS-Webs``; plain ``Webs`` counts less), the RTSP realm ``Hikvision`` or an RTSP
  ``Server`` naming Hikvision;
- SADP or MAC-OUI vendor observations discovery already made, an open SDK port 8000;
- one unauthenticated ``GET /ISAPI/System/deviceInfo``: a 401 carrying a ``userCheck``
  body is Hikvision's own answer and costs no login attempt (no ``Authorization``).

The audit's read-only security operations (one login on ``userCheck``; accounts,
UPnP and Hik-Connect switches with the owner's credential) are at the end; see
:func:`try_login_isapi` and :func:`read_security_settings`.

Identify spends the host's auth budget, then first asks the same endpoint without
credentials: a ``userCheck`` that says ``lock``, ``unlockTime`` > 0 or
``retryLoginTime`` <= 1 stops it *before* a credential is offered (SAFETY D-02). Only
then does it log in (Digest; Basic only when the device offers Basic and no Digest,
as pyHik does). A refused login is read the same way: near the lock means stop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from campatch.discovery.interface import DiscoverySource
from campatch.drivers.hikvision import upgrade
from campatch.drivers.hikvision.login import (
    ISAPI_SOURCE,
    VENDOR,
    device_info_observations,
    offered_scheme,
    refused,
    stop_if_locked,
    user_check,
)
from campatch.drivers.hikvision.models import (
    DEVICE_INFO,
    EZVIZ,
    UPNP,
    USER_CHECK,
    USERS,
    Decodable,
    DeviceInfo,
    IsapiRequest,
    UserCheck,
)
from campatch.drivers.hikvision.sadp import SadpSource
from campatch.drivers.interface import (
    Banners,
    Fingerprint,
    FirmwareState,
    ProbeContext,
    SecuritySettings,
    UpgradeTarget,
    UploadAccepted,
)
from campatch.errors import AuthError, DeviceResponseError, DriverError, LockoutError
from campatch.model import Candidate, Confidence, Credential, DeviceClass, Field, Observation
from campatch.net.http import AuthScheme, HttpReply
from campatch.net.rtsp import parse_challenge

SDK_PORT = 8000
_SERVERS = {  # Server header (lower case, without "/version") -> device type it implies
    "app-webs": "",
    "hikvision-webs": "",
    "dnvrs-webs": "NVR",
    "dvrdvs-webs": "DVR",
}
_GENERIC_SERVER = "webs"  # also used by other GoAhead-derived firmware: weaker evidence
_DEVICE_CLASSES = {"nvr": DeviceClass.NVR, "dvr": DeviceClass.DVR}
_MAX_SCORE = 0.99
#: The main stream of channel 1, VENDORS.md §1.
RTSP_PATHS = ("/Streaming/Channels/101",)
#: The ISAPI still picture of channel 1's main stream, as public ISAPI clients fetch it
#: (kihamo/boggart ``StreamingPicture``, jvmf1/hikvision ``channel(101).picture``).
SNAPSHOT_PATHS = ("/ISAPI/Streaming/channels/101/picture",)
_T = TypeVar("_T", bound=Decodable)


@dataclass(frozen=True)
class _Signal:
    score: float
    source: str
    device_type: str = ""


class HikvisionDriver:
    """Hikvision cameras, NVRs and DVRs (ISAPI over HTTP, SADP discovery)."""

    name = "hikvision"
    rtsp_paths = RTSP_PATHS
    snapshot_paths = SNAPSHOT_PATHS
    login_path = DEVICE_INFO.path

    async def try_login(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> bool:
        """One ISAPI login, see :func:`try_login_isapi`."""
        return await try_login_isapi(candidate, credential, ctx)

    async def security_settings(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> SecuritySettings:
        """See :func:`read_security_settings`."""
        return await read_security_settings(candidate, credential, ctx)

    # Firmware upgrade (the Upgrader protocol): see upgrade.py.

    async def firmware_state(self, target: UpgradeTarget, ctx: ProbeContext) -> FirmwareState:
        """See :func:`campatch.drivers.hikvision.upgrade.firmware_state`."""
        return await upgrade.firmware_state(target, ctx)

    async def backup_config(self, target: UpgradeTarget, ctx: ProbeContext) -> bytes | None:
        """See :func:`campatch.drivers.hikvision.upgrade.backup_config`."""
        return await upgrade.backup_config(target, ctx)

    async def upload(
        self,
        target: UpgradeTarget,
        image: bytes,
        ctx: ProbeContext,
        progress: Callable[[int, int], None] | None = None,
    ) -> UploadAccepted:
        """See :func:`campatch.drivers.hikvision.upgrade.upload`."""
        return await upgrade.upload(target, image, ctx, progress)

    async def fingerprint(
        self, candidate: Candidate, banners: Banners, ctx: ProbeContext
    ) -> Fingerprint | None:
        """Unauthenticated verdict from banners, discovery facts and one ISAPI probe.

        Returns:
            The verdict, or None when nothing points at Hikvision.
        """
        signals = [*_banner_signals(banners), *_candidate_signals(candidate)]
        observations: list[Observation] = []
        try:
            probe, observations = await _probe_isapi(candidate, banners, ctx)
            signals += probe
        except DriverError:
            pass  # an unreadable probe only means less evidence
        if not signals:
            return None
        observations += _signal_observations(signals)
        return Fingerprint(
            driver=self.name,
            score=_combine(signals),
            device_class=_device_class(signals, candidate, observations),
            observations=tuple(observations),
        )

    async def identify(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> Sequence[Observation]:
        """Log in over ISAPI and read ``/ISAPI/System/deviceInfo``.

        Raises:
            LockoutError: the device is locked or one failure away from it (D-02),
                or the host's auth budget is used up.
            AuthError: the credential was refused.
            TransportError, DeviceResponseError: the device could not be read.

        Returns:
            Vendor, model, serial, MAC, firmware, build, hardware, device type, name.
        """
        host = candidate.address
        ctx.auth.spend(host)
        url = _isapi_url(candidate, ctx)
        first = await ctx.http.request(DEVICE_INFO.method, url)
        if first.status == 200:  # no login configured: the device's own, unauthenticated
            info = DEVICE_INFO.response_type.decode(first.body, host=host)
            return device_info_observations(info, Confidence.UNAUTHENTICATED_API)
        if first.status != 401:
            raise DeviceResponseError(f"{url}: expected 401 or 200, got {first.status}", host=host)
        stop_if_locked(user_check(first, host), host, ctx)
        reply = await ctx.http.request(
            DEVICE_INFO.method, url, credential=credential, scheme=offered_scheme(first, url, host)
        )
        if reply.status == 200:
            info = DEVICE_INFO.response_type.decode(reply.body, host=host)
            return device_info_observations(info, Confidence.AUTHENTICATED)
        if reply.status in (401, 403):
            refused(reply, credential, host, ctx)
        raise DeviceResponseError(f"{url}: unexpected HTTP {reply.status}", host=host)

    def discovery_sources(self) -> Sequence[DiscoverySource]:
        """SADP (UDP 37020)."""
        return [SadpSource()]


# --- fingerprint helpers ------------------------------------------------------------


def _banner_signals(banners: Banners) -> list[_Signal]:
    signals: list[_Signal] = []
    for header in banners.server_headers():
        product = header.split("/", 1)[0].strip().casefold()
        if product in _SERVERS:
            signals.append(_Signal(Confidence.BANNER, "http:server", _SERVERS[product]))
        elif product == _GENERIC_SERVER:
            signals.append(_Signal(0.3, "http:server"))
    if "Hikvision" in banners.realms():  # the RTSP realm (fingerprints.md §3)
        signals.append(_Signal(Confidence.BANNER, "rtsp:realm"))
    if any("hikvision" in r.header("Server").casefold() for r in banners.rtsp.values()):
        signals.append(_Signal(Confidence.BANNER, "rtsp:server"))
    return signals


def _candidate_signals(candidate: Candidate) -> list[_Signal]:
    signals = [
        _Signal(o.confidence, o.source)
        for o in candidate.observations
        if o.field is Field.VENDOR and VENDOR.casefold() in o.value.casefold()
    ]
    if candidate.has_port(SDK_PORT):
        signals.append(_Signal(0.1, "tcp:8000"))
    return signals


async def _probe_isapi(
    candidate: Candidate, banners: Banners, ctx: ProbeContext
) -> tuple[list[_Signal], list[Observation]]:
    """One unauthenticated deviceInfo request: no ``Authorization``, no login attempt."""
    if _http_port(candidate, banners) is None:
        return [], []
    host = candidate.address
    reply = await ctx.http.request(DEVICE_INFO.method, _isapi_url(candidate, ctx, banners))
    if reply.status == 200:
        info = DeviceInfo.decode(reply.body, host=host)
        observations = device_info_observations(info, Confidence.UNAUTHENTICATED_API)
        return [_Signal(0.9, ISAPI_SOURCE, info.device_type)], observations
    if reply.status != 401:
        return [], []
    if user_check(reply, host) is not None:
        return [_Signal(Confidence.UNAUTHENTICATED_API, "isapi:userCheck")], []
    if any(_is_hex_realm(c) for c in reply.all_headers("WWW-Authenticate")):
        return [_Signal(Confidence.BANNER, "isapi:realm")], []
    return [], []


def _is_hex_realm(challenge: str) -> bool:
    scheme, params = parse_challenge(challenge)
    realm = params.get("realm", "")
    return scheme == "digest" and len(realm) >= 16 and all(c in "0123456789abcdef" for c in realm)


def _signal_observations(signals: list[_Signal]) -> list[Observation]:
    found: list[Observation] = []
    for s in signals:
        if s.score >= Confidence.BANNER and not s.source.startswith(("sadp", "oui")):
            found.append(Observation(Field.VENDOR, VENDOR, s.source, s.score))
        if s.device_type and s.source != ISAPI_SOURCE:
            found.append(Observation(Field.DEVICE_TYPE, s.device_type, s.source, s.score))
    return found


def _combine(signals: list[_Signal]) -> float:
    """Noisy-or: each signal is independent evidence; the result stays below 1."""
    doubt = math.prod(1.0 - min(s.score, _MAX_SCORE) for s in signals)
    return round(min(_MAX_SCORE, 1.0 - doubt), 3)


def _device_class(
    signals: list[_Signal], candidate: Candidate, observations: list[Observation]
) -> DeviceClass:
    types = [s.device_type for s in signals if s.device_type]
    types += [
        o.value for o in (*observations, *candidate.observations) if o.field is Field.DEVICE_TYPE
    ]
    for t in types:
        if (found := _DEVICE_CLASSES.get(t.casefold())) is not None:
            return found
    return DeviceClass.CAMERA


# --- identify helpers ---------------------------------------------------------------


def _http_port(candidate: Candidate, banners: Banners | None = None) -> tuple[int, bool] | None:
    """The web port to use and whether it speaks TLS; None when no web port is known."""
    tls_of = {
        s.port: s.protocol == "https"
        for s in candidate.services
        if s.transport == "tcp" and s.protocol in ("http", "https")
    }
    ports = set(tls_of) | set(banners.http if banners else ())
    if not ports:
        return None
    plain = sorted(p for p in ports if not tls_of.get(p, p == 443))
    port = 80 if 80 in ports else (plain[0] if plain else min(ports))
    return port, tls_of.get(port, port == 443)


def _isapi_url(candidate: Candidate, ctx: ProbeContext, banners: Banners | None = None) -> str:
    port, tls = _http_port(candidate, banners) or (80, False)
    return ctx.http.url(candidate.address, port, DEVICE_INFO.path, tls=tls)


# --- security (audit probes; read-only) ---------------------------------------------


def _security_url(candidate: Candidate, ctx: ProbeContext, path: str) -> str:
    port, tls = _http_port(candidate) or (80, False)
    return ctx.http.url(candidate.address, port, path, tls=tls)


async def try_login_isapi(candidate: Candidate, credential: Credential, ctx: ProbeContext) -> bool:
    """One login on ``userCheck``; True when accepted (see the module docstring).

    Raises:
        LockoutError: the device is locked or one failure from it.
        TransportError, DeviceResponseError: the device could not be read.
    """
    host = candidate.address
    url = _security_url(candidate, ctx, USER_CHECK.path)
    first = await ctx.http.request("GET", url)
    if first.status == 200:
        return True  # the device asks no credentials at all
    if first.status != 401:
        raise DeviceResponseError(f"{url}: expected 401 or 200, got {first.status}", host=host)
    stop_if_locked(user_check(first, host), host, ctx)
    reply = await ctx.http.request(
        "GET", url, credential=credential, scheme=offered_scheme(first, url, host)
    )
    return _verdict(reply, url, host, ctx)


def _verdict(reply: HttpReply, url: str, host: str, ctx: ProbeContext) -> bool:
    if reply.status == 200:
        return True
    if reply.status == 403:
        why = "device answered 403 to a login (treated as a lock)"
        ctx.auth.locked(host, why)
        raise LockoutError(f"{host}: {why}", host=host)
    if reply.status != 401:
        raise DeviceResponseError(f"{url}: unexpected HTTP {reply.status}", host=host)
    check = user_check(reply, host)
    if check is not None and (check.locked or check.near_lock):
        ctx.auth.failed(host)
        stop_if_locked(check, host, ctx)
    return False


async def _get_settings(
    candidate: Candidate,
    credential: Credential,
    ctx: ProbeContext,
    request: IsapiRequest[_T],
    scheme: AuthScheme,
) -> _T | None:
    """An authenticated GET decoded; None when the device lacks the endpoint."""
    url = _security_url(candidate, ctx, request.path)
    reply = await ctx.http.request("GET", url, credential=credential, scheme=scheme)
    if reply.status in (401, 403):
        raise AuthError(f"{candidate.address}: {request.path} refused the credential")
    if reply.status != 200:
        return None
    try:
        return request.response_type.decode(reply.body, host=candidate.address)
    except DeviceResponseError:
        return None


async def read_security_settings(
    candidate: Candidate, credential: Credential, ctx: ProbeContext
) -> SecuritySettings:
    """Accounts, UPnP, Hik-Connect and the default-password flags (owner's credential).

    Raises:
        LockoutError: the device signals a lock; AuthError: the credential was refused.
        TransportError, DeviceResponseError: the device could not be read.
    """
    if not await try_login_isapi(candidate, credential, ctx):
        raise AuthError(f"{candidate.address}: ISAPI refused the stored credential")
    scheme = AuthScheme.DIGEST
    check: UserCheck | None = await _get_settings(candidate, credential, ctx, USER_CHECK, scheme)
    users = await _get_settings(candidate, credential, ctx, USERS, scheme)
    upnp = await _get_settings(candidate, credential, ctx, UPNP, scheme)
    ezviz = await _get_settings(candidate, credential, ctx, EZVIZ, scheme)
    flags = (check.is_default_password, check.is_risk_password) if check else (None, None)
    weak = None if flags == (None, None) else any(f for f in flags if f)
    return SecuritySettings(
        accounts=users.names if users else None,
        upnp_enabled=upnp.enabled if upnp else None,
        p2p_enabled=ezviz.enabled if ezviz else None,
        default_password=weak,
    )


DRIVER = HikvisionDriver()
