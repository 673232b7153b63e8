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

from campatch.discovery.interface import DiscoverySource
from campatch.drivers.dahua import upgrade
from campatch.drivers.dahua.cgi import (
    GET_DEVICE_CLASS,
    GET_DEVICE_TYPE,
    GET_MACHINE_NAME,
    GET_NETWORK,
    GET_P2P,
    GET_SOFTWARE_VERSION,
    GET_SYSTEM_INFO,
    GET_UPNP,
    GET_USERS,
    GET_VENDOR,
    HTTP_PORT,
    SDK_PORT,
    CgiSession,
    offered_scheme,
    open_session,
)
from campatch.drivers.dahua.dhip import SOURCE as DHIP_SOURCE
from campatch.drivers.dahua.dhip import DhipSource
from campatch.drivers.dahua.models import (
    SystemInfo,
    brand_of,
    class_prefix,
    device_class_of,
)
from campatch.drivers.interface import (
    Banners,
    Fingerprint,
    FirmwareState,
    ProbeContext,
    SecuritySettings,
    UpgradeTarget,
    UploadAccepted,
)
from campatch.errors import (
    AuthError,
    DeviceResponseError,
    DriverError,
    LockoutError,
)
from campatch.model import Candidate, Confidence, Credential, DeviceClass, Field, Observation
from campatch.net.rtsp import parse_challenge

logger = logging.getLogger(__name__)

_FINGERPRINT_SOURCE = "dahua-fingerprint"
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
        session = await open_session(candidate.address, credential, ctx)
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
        session = await open_session(candidate.address, credential, ctx)
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
        scheme = await offered_scheme(host, ctx)
        session = CgiSession(host, credential if scheme else None, scheme, ctx)
        info = await session.login(GET_SYSTEM_INFO)
        observations = _system_info_observations(info)
        observations += await _optional_observations(session, info)
        return observations

    def discovery_sources(self) -> Sequence[DiscoverySource]:
        """DHIP (``DHDiscover.search`` on UDP 37810)."""
        return [DhipSource()]

    # Firmware upgrade (the Upgrader protocol): see upgrade.py.

    async def firmware_state(self, target: UpgradeTarget, ctx: ProbeContext) -> FirmwareState:
        """Identity as :meth:`identify` reports it, plus ``upgrader.cgi?action=getState``."""
        return await upgrade.firmware_state(target, ctx)

    async def backup_config(self, target: UpgradeTarget, ctx: ProbeContext) -> bytes | None:
        """``Config.backup?action=All``, or None where the firmware has none."""
        return await upgrade.backup_config(target, ctx)

    async def upload(
        self,
        target: UpgradeTarget,
        image: bytes,
        ctx: ProbeContext,
        progress: Callable[[int, int], None] | None = None,
    ) -> UploadAccepted:
        """``upgrader.cgi?action=uploadFirmware``, sent once; returns the device's ``OK``
        (no downtime estimate)."""
        return await upgrade.upload(target, image, ctx, progress)


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


def _system_info_observations(info: SystemInfo) -> list[Observation]:
    source = GET_SYSTEM_INFO.source
    values = [
        (Field.VENDOR, "Dahua"),
        (Field.MODEL, info.device_type),
        (Field.HARDWARE, info.hardware),
        (Field.SERIAL, info.serial),
    ]
    return [_authenticated(f, v, source) for f, v in values if v]


async def _optional_observations(session: CgiSession, info: SystemInfo) -> list[Observation]:
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
