"""The generic ONVIF driver: any device with an ONVIF device service.

Fingerprint (no credentials): find the device service, either from the XAddrs the
host announced over WS-Discovery (only those pointing at the host itself) or at
``/onvif/device_service`` on its open HTTP ports, with ``GetSystemDateAndTime``,
which ONVIF allows without credentials. Its answer also gives the device's clock
offset, kept per host so that WS-Security ``Created`` stamps match the device's
clock (:meth:`OnvifDriver.clock_offset` exposes it for the audit's clock check).
Then ``GetScopes`` and ``GetDeviceInformation`` are tried without credentials; many
devices answer them.

Identify: ``GetDeviceInformation`` and ``GetNetworkInterfaces`` signed with a
PasswordDigest UsernameToken, spending the scan's :class:`AuthBudget`.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from campatch.discovery.interface import DiscoverySource
from campatch.discovery.ws_discovery import device_class_of, scope_observations
from campatch.drivers.interface import (
    Banners,
    Fingerprint,
    FirmwareState,
    ProbeContext,
    SecuritySettings,
    UpgradeTarget,
    UploadAccepted,
)
from campatch.drivers.onvif import upgrade
from campatch.drivers.onvif.models import (
    DEVICE_SERVICE_PATH,
    GetDeviceInformation,
    GetNetworkInterfaces,
    GetScopes,
    GetSystemDateAndTime,
    GetUsers,
)
from campatch.errors import AuthError, DeviceResponseError, DriverError
from campatch.model import Candidate, Confidence, Credential, Field, Observation
from campatch.net.soap import SoapClient

logger = logging.getLogger(__name__)

#: Ports an ONVIF device service commonly listens on (8899: XiongMai; 8000: some
#: NVRs, but also Hikvision's binary SDK port, so only when it answered HTTP).
ONVIF_HTTP_PORTS: tuple[int, ...] = (80, 8080, 8899, 8000)
_MAX_TRIES = 4  # device-service URLs tried per host
_MAX_HOSTS_REMEMBERED = 65_536
_BASE_SCORE = 0.5  # ONVIF is the fallback: vendor drivers that recognise a host score higher
#: Stream paths tried on generic ONVIF devices: a handful of common routes from
#: cameradar's route dictionary (MIT, shared/data/rtsp-routes.txt), root first.
RTSP_PATHS = ("/", "/live", "/stream1", "/h264", "/live/ch00_0")
#: Fixed still-picture paths tried on generic ONVIF devices. The standard way is the
#: media service's ``GetSnapshotUri``, but it needs a profile token (``GetProfiles``),
#: which the device hands out only after a login; so a few fixed paths instead:
#: ``/onvif-http/snapshot?Profile_1`` (what Hikvision-based firmware answers to
#: ``GetSnapshotUri`` for the first profile, as public ONVIF clients record it),
#: ``/cgi-bin/snapshot.cgi`` (Dahua-based OEM firmware with the channel left at its
#: default, as in public clients' Dahua/Amcrest path lists) and ``/snapshot.jpg``
#: [assumed: common in clients' fallback lists, no vendor documentation found].
SNAPSHOT_PATHS = ("/onvif-http/snapshot?Profile_1", "/cgi-bin/snapshot.cgi", "/snapshot.jpg")


@dataclass(frozen=True)
class Endpoint:
    """Where a host's device service answered: logical port, path, TLS."""

    port: int
    path: str
    tls: bool = False

    def url(self, host: str, ctx: ProbeContext) -> str:
        """The URL to send to (port-mapped)."""
        return ctx.http.url(host, self.port, self.path, tls=self.tls)


def _xaddr_endpoint(xaddr: str, address: str) -> Endpoint | None:
    """The endpoint an announced XAddr names, if it points at ``address`` itself."""
    try:
        parts = urlsplit(xaddr)
        same = ipaddress.ip_address(parts.hostname or "") == ipaddress.ip_address(address)
        port = parts.port
    except ValueError:
        return None
    if not same or parts.scheme not in ("http", "https"):
        return None
    tls = parts.scheme == "https"
    return Endpoint(port or (443 if tls else 80), parts.path or DEVICE_SERVICE_PATH, tls)


def candidate_endpoints(candidate: Candidate, banners: Banners) -> list[Endpoint]:
    """Device-service URLs to try, announced ones first, at most a few."""
    found = [e for x in candidate.onvif_xaddrs if (e := _xaddr_endpoint(x, candidate.address))]
    http_ports = {s.port for s in candidate.services if s.protocol == "http"} | set(banners.http)
    found += [
        Endpoint(port, DEVICE_SERVICE_PATH)
        for port in ONVIF_HTTP_PORTS
        if candidate.has_port(port) and (port != 8000 or port in http_ports)
    ]
    return list(dict.fromkeys(found))[:_MAX_TRIES]


class OnvifDriver:
    """Identification over the ONVIF device service (the generic fallback driver)."""

    name = "onvif"
    rtsp_paths = RTSP_PATHS
    snapshot_paths = SNAPSHOT_PATHS
    login_path = "/"

    def __init__(self) -> None:
        self._hosts: OrderedDict[str, tuple[Endpoint, float | None]] = OrderedDict()

    def clock_offset(self, host: str) -> float | None:
        """Device clock minus ours in seconds, as last measured; None if unknown."""
        known = self._hosts.get(host)
        return known[1] if known else None

    def _remember(self, host: str, endpoint: Endpoint, offset: float | None) -> None:
        self._hosts[host] = (endpoint, offset)
        self._hosts.move_to_end(host)
        while len(self._hosts) > _MAX_HOSTS_REMEMBERED:
            self._hosts.popitem(last=False)

    async def _locate(
        self, candidate: Candidate, banners: Banners, ctx: ProbeContext
    ) -> Endpoint | None:
        """The first endpoint whose device service answers; remembers it and the clock offset."""
        soap = SoapClient(ctx.http)
        for endpoint in candidate_endpoints(candidate, banners):
            try:
                device_now = await soap.call(
                    endpoint.url(candidate.address, ctx), GetSystemDateAndTime()
                )
            except AuthError:
                # Against the ONVIF access policy some devices want credentials even for
                # the clock; a NotAuthorized fault still proves the device service is here.
                self._remember(candidate.address, endpoint, None)
                return endpoint
            except DriverError as err:
                logger.debug("onvif: %s%s: %s", candidate.address, endpoint.path, err)
                continue
            offset = (device_now - datetime.now(UTC)).total_seconds()
            self._remember(candidate.address, endpoint, offset)
            return endpoint
        return None

    async def fingerprint(
        self, candidate: Candidate, banners: Banners, ctx: ProbeContext
    ) -> Fingerprint | None:
        """ONVIF verdict without credentials, or None if no device service answered."""
        endpoint = await self._locate(candidate, banners, ctx)
        if endpoint is None:
            return None
        url = endpoint.url(candidate.address, ctx)
        soap = SoapClient(ctx.http)
        observations: list[Observation] = []
        score = _BASE_SCORE
        scopes: tuple[str, ...] = ()
        try:
            scopes = await soap.call(url, GetScopes())
            observations += scope_observations(scopes, "onvif:GetScopes")
            score += 0.1
        except DriverError as err:
            logger.debug("onvif: %s GetScopes without credentials: %s", candidate.address, err)
        try:
            info = await soap.call(url, GetDeviceInformation())
            observations = [
                *info.observations("onvif:GetDeviceInformation", Confidence.UNAUTHENTICATED_API),
                *observations,
            ]
            score += 0.1
        except DriverError as err:
            logger.debug(
                "onvif: %s GetDeviceInformation without credentials: %s", candidate.address, err
            )
        types = candidate.notes.get("onvif_types", "").split()
        announced = candidate.notes.get("onvif_scopes", "").split()
        return Fingerprint(
            driver=self.name,
            score=score,
            device_class=device_class_of(types, [*announced, *scopes]),
            observations=tuple(observations),
        )

    async def identify(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> Sequence[Observation]:
        """Authenticated identity: device information plus the interfaces' MACs.

        Raises:
            AuthError: the credential was refused (recorded with ``ctx.auth.failed``).
            LockoutError: the scan's budget for this host is used up.
            TransportError, DeviceResponseError: no device service, or unreadable replies.
        """
        host = candidate.address
        known = self._hosts.get(host)
        endpoint = known[0] if known else await self._locate(candidate, Banners(), ctx)
        if endpoint is None:
            raise DeviceResponseError(f"{host}: no onvif device service answered", host=host)
        url, offset = endpoint.url(host, ctx), self.clock_offset(host) or 0.0
        soap = SoapClient(ctx.http)
        ctx.auth.spend(host)
        try:
            info = await soap.call(
                url, GetDeviceInformation(), credential=credential, clock_offset_s=offset
            )
        except AuthError:
            ctx.auth.failed(host)
            raise
        observations = info.observations("onvif:GetDeviceInformation", Confidence.AUTHENTICATED)
        observations += await self._macs(soap, url, credential, offset, ctx, host)
        return observations

    async def _macs(
        self,
        soap: SoapClient,
        url: str,
        credential: Credential,
        offset: float,
        ctx: ProbeContext,
        host: str,
    ) -> list[Observation]:
        """MAC observations; a device without GetNetworkInterfaces just gives none."""
        ctx.auth.spend(host)
        try:
            macs = await soap.call(
                url, GetNetworkInterfaces(), credential=credential, clock_offset_s=offset
            )
        except (AuthError, DeviceResponseError) as err:
            # The login already succeeded: a refusal here is a missing right, not a failed login.
            logger.debug("onvif: %s GetNetworkInterfaces: %s", host, err)
            return []
        source = "onvif:GetNetworkInterfaces"
        return [Observation(Field.MAC, m, source, Confidence.AUTHENTICATED) for m in macs]

    def discovery_sources(self) -> Sequence[DiscoverySource]:
        """None: WS-Discovery is a discovery-stage source of its own."""
        return []

    # --- security (audit probes; read-only) -----------------------------------------

    async def _endpoint(self, candidate: Candidate, ctx: ProbeContext) -> Endpoint | None:
        known = self._hosts.get(candidate.address)
        return known[0] if known else await self._locate(candidate, Banners(), ctx)

    async def measure_clock(self, candidate: Candidate, ctx: ProbeContext) -> float | None:
        """Device clock minus ours (seconds): the value fingerprinting measured, else
        a fresh unauthenticated ``GetSystemDateAndTime``; None without a device service."""
        if (offset := self.clock_offset(candidate.address)) is not None:
            return offset
        self._hosts.pop(candidate.address, None)
        await self._locate(candidate, Banners(), ctx)
        return self.clock_offset(candidate.address)

    async def open_device_information(self, candidate: Candidate, ctx: ProbeContext) -> bool | None:
        """Does ``GetDeviceInformation`` answer without credentials? None: no device service.

        Raises:
            TransportError, DeviceResponseError: the service answered something unusable.
        """
        endpoint = await self._endpoint(candidate, ctx)
        if endpoint is None:
            return None
        try:
            await SoapClient(ctx.http).call(
                endpoint.url(candidate.address, ctx), GetDeviceInformation()
            )
        except AuthError:
            return False
        return True

    async def try_login(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> bool:
        """One signed ``GetUsers`` (every device checks the token on it); a device
        without GetUsers is asked ``GetDeviceInformation`` instead.

        Raises:
            TransportError, DeviceResponseError: no device service, or unusable replies.
        """
        host = candidate.address
        endpoint = await self._endpoint(candidate, ctx)
        if endpoint is None:
            raise DeviceResponseError(f"{host}: no onvif device service answered", host=host)
        try:
            await self._signed(candidate, endpoint, credential, ctx, GetUsers())
        except AuthError:
            return False
        except DeviceResponseError:
            try:
                await self._signed(candidate, endpoint, credential, ctx, GetDeviceInformation())
            except AuthError:
                return False
        return True

    async def _signed(
        self,
        candidate: Candidate,
        endpoint: Endpoint,
        credential: Credential,
        ctx: ProbeContext,
        operation: GetUsers | GetDeviceInformation,
    ) -> object:
        offset = self.clock_offset(candidate.address) or 0.0
        url = endpoint.url(candidate.address, ctx)
        return await SoapClient(ctx.http).call(
            url, operation, credential=credential, clock_offset_s=offset
        )

    async def security_settings(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> SecuritySettings:
        """The ONVIF accounts (``GetUsers``); ONVIF has no UPnP or P2P switch.

        Raises:
            AuthError: the credential was refused.
            TransportError, DeviceResponseError: no device service, or unusable replies.
        """
        host = candidate.address
        endpoint = await self._endpoint(candidate, ctx)
        if endpoint is None:
            raise DeviceResponseError(f"{host}: no onvif device service answered", host=host)
        users = await self._signed(candidate, endpoint, credential, ctx, GetUsers())
        return SecuritySettings(accounts=users if isinstance(users, tuple) else None)

    # --- firmware upgrade (see campatch.drivers.onvif.upgrade) ---------------------------

    def _known_url(self, host: str, ctx: ProbeContext) -> str | None:
        known = self._hosts.get(host)
        return known[0].url(host, ctx) if known else None

    async def firmware_state(self, target: UpgradeTarget, ctx: ProbeContext) -> FirmwareState:
        """See :func:`campatch.drivers.onvif.upgrade.firmware_state`."""
        known = self._known_url(target.address, ctx)
        return await upgrade.firmware_state(target, ctx, known)

    async def backup_config(self, target: UpgradeTarget, ctx: ProbeContext) -> bytes | None:
        """None: see :func:`campatch.drivers.onvif.upgrade.backup_config`."""
        return await upgrade.backup_config(target, ctx)

    async def upload(
        self,
        target: UpgradeTarget,
        image: bytes,
        ctx: ProbeContext,
        progress: Callable[[int, int], None] | None = None,
    ) -> UploadAccepted:
        """See :func:`campatch.drivers.onvif.upgrade.upload`."""
        known = self._known_url(target.address, ctx)
        return await upgrade.upload(target, image, ctx, progress, known)


__all__ = ["ONVIF_HTTP_PORTS", "RTSP_PATHS", "Endpoint", "OnvifDriver", "candidate_endpoints"]
