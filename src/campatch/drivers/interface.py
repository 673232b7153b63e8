"""The identification stage's contract: vendor drivers.

A driver knows one vendor family. Identification runs in two passes:

1. :meth:`Driver.fingerprint` looks, without credentials, at what the host already
   showed (:class:`Banners`: HTTP Server header, realm, title, RTSP Server header,
   open vendor ports, discovery answers) and may make a few unauthenticated calls of
   its own. It says how sure it is that the host is of its family.
2. :meth:`Driver.identify` logs in with a credential and reads the authenticated
   identity. It must call :meth:`AuthBudget.spend` before offering the credential,
   and raise :class:`~campatch.errors.LockoutError` at the first sign of a lockout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from campatch.config import Limits, PortMap
from campatch.discovery.interface import DiscoverySource
from campatch.errors import DriverError, LockoutError
from campatch.model import Candidate, Credential, DeviceClass, Observation
from campatch.net.http import HttpClient, HttpReply
from campatch.net.rtsp import RtspReply


@dataclass(frozen=True)
class Banners:
    """What the host said before anyone logged in, gathered once for all drivers.

    Args:
        http: ``GET /`` reply per HTTP(S) port.
        rtsp: ``OPTIONS`` reply per RTSP port.
        text: the first line(s) a TCP service sent unprompted (telnet, SSH, FTP), per port.
        errors: per port, why a banner could not be read.
    """

    http: Mapping[int, HttpReply] = field(default_factory=dict)
    rtsp: Mapping[int, RtspReply] = field(default_factory=dict)
    text: Mapping[int, str] = field(default_factory=dict)
    errors: Mapping[int, str] = field(default_factory=dict)

    def server_headers(self) -> list[str]:
        """Every HTTP ``Server`` header seen, one per port."""
        return [r.header("Server") for r in self.http.values() if r.header("Server")]

    def realms(self) -> list[str]:
        """Every HTTP and RTSP auth realm seen."""
        challenges = [c for r in self.http.values() for c in r.all_headers("WWW-Authenticate")]
        challenges += [c for r in self.rtsp.values() for c in r.all_headers("WWW-Authenticate")]
        return [realm for c in challenges if (realm := _realm(c)) is not None]


def _realm(challenge: str) -> str | None:
    marker = 'realm="'
    start = challenge.find(marker)
    if start < 0:
        return None
    end = challenge.find('"', start + len(marker))
    return challenge[start + len(marker) : end if end >= 0 else None]


class AuthBudget:
    """Counts credential attempts per host so a scan stays under lockout thresholds.

    Args:
        max_failures_per_host: failed logins allowed per host in this scan. The
            default (2) stays below every vendor threshold in VENDORS.md (5 for
            Hikvision and Dahua) with room for the owner's own mistakes.
    """

    def __init__(self, max_failures_per_host: int = 2) -> None:
        self.max_failures_per_host = max_failures_per_host
        self._failures: dict[str, int] = {}
        self._locked: dict[str, str] = {}

    def spend(self, host: str) -> None:
        """Call before offering a credential to ``host``.

        Raises:
            LockoutError: the host is locked or its failure budget is used up.
        """
        if host in self._locked:
            raise LockoutError(f"{host}: no further logins, {self._locked[host]}", host=host)
        if self._failures.get(host, 0) >= self.max_failures_per_host:
            raise LockoutError(
                f"{host}: {self.max_failures_per_host} failed logins this scan, not trying more",
                host=host,
            )

    def failed(self, host: str) -> None:
        """Record a refused login."""
        self._failures[host] = self._failures.get(host, 0) + 1

    def locked(self, host: str, why: str) -> None:
        """Record a lockout signal: no more attempts on any protocol for this scan."""
        self._locked[host] = why

    def is_locked(self, host: str) -> bool:
        """True once ``host`` signalled a lockout."""
        return host in self._locked

    def failures(self, host: str) -> int:
        """Failed logins recorded for ``host``."""
        return self._failures.get(host, 0)


@dataclass
class ProbeContext:
    """What a driver gets to work with for one host."""

    http: HttpClient
    limits: Limits
    port_map: PortMap
    auth: AuthBudget


@dataclass(frozen=True)
class Fingerprint:
    """A driver's unauthenticated verdict on a host.

    Args:
        driver: the driver's name.
        score: 0..1, how sure the driver is that the host is of its family.
        device_class: what the host is, as far as the driver can tell.
        observations: identity facts learnt without credentials.
        what: for non-cameras, a short description ("printer", "router").
    """

    driver: str
    score: float
    device_class: DeviceClass = DeviceClass.UNKNOWN
    observations: tuple[Observation, ...] = ()
    what: str = ""


@dataclass(frozen=True)
class SecuritySettings:
    """What an authenticated read of a device's security settings found.

    ``None`` means the device did not say (endpoint missing or unreadable).

    Args:
        accounts: user names configured on the device.
        upnp_enabled: the device's own UPnP port-mapping switch.
        p2p_enabled: the vendor's P2P cloud service (Hik-Connect/EZVIZ, Dahua P2P).
        default_password: the device says the credential used is its factory default
            (Hikvision ``isDefaultPassword``) or a weak ("risk") password.
        username: the account the settings were read with (filled in by the caller).
    """

    accounts: tuple[str, ...] | None = None
    upnp_enabled: bool | None = None
    p2p_enabled: bool | None = None
    default_password: bool | None = None
    username: str = ""


@runtime_checkable
class SecurityReader(Protocol):
    """**Protocol**: a driver's read-only security operations, used by the audit's probes.

    None of them changes the device. :meth:`try_login` is one login attempt: the caller
    (the audit's lockout budget) decides whether it may be spent.

    Attributes:
        rtsp_paths: the vendor's stream paths, tried with ``DESCRIBE`` and no credentials.
        snapshot_paths: the vendor's still-picture (JPEG) paths on the web port, fetched
            with a ``GET`` and no credentials.
        login_path: a web path that asks for credentials (probed without any).
    """

    name: str
    rtsp_paths: tuple[str, ...]
    snapshot_paths: tuple[str, ...]
    login_path: str

    async def try_login(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> bool:
        """One login with ``credential`` on the vendor's web API: accepted or refused.

        Raises:
            LockoutError: the device signals a lock (or one failure short of it).
            TransportError, DeviceResponseError: the device could not be read.
        """
        ...

    async def security_settings(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> SecuritySettings:
        """Accounts, UPnP and P2P switches, read with the owner's credential.

        Raises:
            AuthError: the credential was refused (LockoutError on a lock signal).
            TransportError, DeviceResponseError: the device could not be read.
        """
        ...


class Driver(Protocol):
    """**Protocol**: identification (and later upgrade) for one vendor family."""

    name: str

    async def fingerprint(
        self, candidate: Candidate, banners: Banners, ctx: ProbeContext
    ) -> Fingerprint | None:
        """Unauthenticated verdict, or None when the host is not of this family.

        Never raises for device trouble: unreadable replies lower the score instead.
        """
        ...

    async def identify(
        self, candidate: Candidate, credential: Credential, ctx: ProbeContext
    ) -> Sequence[Observation]:
        """Authenticated identity.

        Raises:
            AuthError: the credential was refused (after ``ctx.auth.failed``).
            LockoutError: the device signals a lockout (after ``ctx.auth.locked``).
            TransportError, DeviceResponseError: the device could not be read.
        """
        ...

    def discovery_sources(self) -> Sequence[DiscoverySource]:
        """The vendor's own discovery protocols (SADP, DHIP), if any."""
        ...


# --- firmware upgrade -----------------------------------------------------------------


@dataclass(frozen=True)
class UpgradeTarget:
    """The device an upgrade operation talks to, with the owner's credential."""

    address: str
    credential: Credential


@dataclass(frozen=True)
class FirmwareState:
    """What a device says, right now, about itself and any upgrade under way.

    Args:
        model: model as the device reports it.
        firmware: firmware version text, as identification reads it.
        build: build text where the vendor reports one separately ("build 220112").
        hardware: hardware revision, "" when the device does not say.
        upgrading: the device reports an upgrade in progress (None: it cannot tell).
        percent: the upgrade's progress where the device reports one.
        status: the vendor's own status word ("Upgrading", "Succeeded" ...), "" if none.
    """

    model: str
    firmware: str
    build: str = ""
    hardware: str = ""
    upgrading: bool | None = None
    percent: int | None = None
    status: str = ""


@dataclass(frozen=True)
class UploadAccepted:
    """A device took the image (:meth:`Upgrader.upload`'s answer).

    Args:
        text: the device's acceptance words, for the owner ("OK", "accepted; expected
            downtime PT60S").
        downtime_s: the device's own estimate, seconds, of how long it will be away
            flashing and restarting (ONVIF ``ExpectedDownTime``); None when it gives none.
            A claim, not a promise: the orchestrator bounds it.
    """

    text: str
    downtime_s: float | None = None


class UploadRefused(DriverError):
    """The device refused the image before writing it (wrong model, busy, no space ...).

    Nothing was flashed. ``vendor_message`` is what the device said, for the owner.
    """

    def __init__(self, message: str, *, vendor_message: str = "", host: str = "") -> None:
        super().__init__(message, host=host)
        self.vendor_message = vendor_message


@runtime_checkable
class Upgrader(Protocol):
    """**Protocol**: a driver's firmware-upgrade operations (VENDORS.md, "Firmware upgrade").

    Each call is one exchange with the device; the orchestrator
    (:mod:`campatch.patch.apply`) decides the order, waits and retries. Authentication
    failures raise :class:`~campatch.errors.AuthError`; a lock signal raises
    :class:`~campatch.errors.LockoutError`, after which nothing more is sent.
    """

    name: str

    async def firmware_state(self, target: UpgradeTarget, ctx: ProbeContext) -> FirmwareState:
        """Re-read identity (model, hardware, firmware) and the upgrade status.

        Raises:
            TransportError: the device did not answer (rebooting, gone).
            AuthError, DeviceResponseError: see the class docstring.
        """
        ...

    async def backup_config(self, target: UpgradeTarget, ctx: ProbeContext) -> bytes | None:
        """The device's configuration export, or None where the vendor API has none."""
        ...

    async def upload(
        self,
        target: UpgradeTarget,
        image: bytes,
        ctx: ProbeContext,
        progress: Callable[[int, int], None] | None = None,
    ) -> UploadAccepted:
        """Send the image; once the device took it, return its acceptance words and,
        where the vendor API carries one, its own estimate of its downtime.

        Acceptance is not success: the device still has to flash and reboot, and only
        a re-read version proves anything.

        Raises:
            UploadRefused: the device refused the image; nothing was written.
            TransportError: the connection failed; how much arrived is unknown.
            AuthError, LockoutError, DeviceResponseError: see the class docstring.
        """
        ...
