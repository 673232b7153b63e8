"""Identify one host: banners, every driver's fingerprint, then an authenticated read.

The order for one host, inside its wall-clock deadline:

1. gather banners once (HTTP ``GET /``, RTSP ``OPTIONS``, telnet/SSH/FTP greetings);
2. ask every driver for an unauthenticated fingerprint, concurrently;
3. decide what the host is: a camera/NVR/DVR when a camera driver is sure enough,
   else what a non-camera driver recognised, else unknown;
4. for a video device with credentials on file, log in through the best-scoring
   drivers in turn, each credential spending the host's :class:`AuthBudget`, and stop
   at the first success or the first lockout signal;
5. fold every observation into one :class:`~campatch.model.Identity`.

Nothing here raises for a device's misbehaviour: it becomes a
:class:`~campatch.model.Problem` on the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from campatch.drivers.banners import gather_banners
from campatch.drivers.interface import Banners, Driver, Fingerprint, ProbeContext
from campatch.errors import AuthError, DriverError, LockoutError
from campatch.knowledge.oui import oui_observations
from campatch.model import (
    AuthState,
    Candidate,
    Credential,
    DeviceClass,
    Field,
    HostReport,
    Identity,
    Observation,
    Problem,
)

#: A camera driver must be at least this sure before a host counts as a camera.
CAMERA_SCORE = 0.5

_DEVICE_TYPES = {
    "nvr": DeviceClass.NVR,
    "dvr": DeviceClass.DVR,
    "xvr": DeviceClass.DVR,
    "hvr": DeviceClass.DVR,
    "hcvr": DeviceClass.DVR,
    "ipcamera": DeviceClass.CAMERA,
    "ipc": DeviceClass.CAMERA,
    "camera": DeviceClass.CAMERA,
}


class CredentialLookup(Protocol):
    """**Protocol**: where the credentials for a host come from (the vault)."""

    def for_host(self, address: str, vendor: str | None) -> list[Credential]:
        """Credentials to try on ``address``, most specific first."""
        ...


class NoCredentials:
    """A lookup with nothing in it: identify without logging in."""

    def for_host(self, address: str, vendor: str | None) -> list[Credential]:
        """Always empty."""
        return []


async def identify_host(
    candidate: Candidate,
    drivers: Sequence[Driver],
    ctx: ProbeContext,
    credentials: CredentialLookup,
) -> HostReport:
    """Identify ``candidate`` within ``limits.host_deadline_s``; never raises for the device.

    Args:
        candidate: the host as discovery found it.
        drivers: the drivers to consult (see ``drivers.registry``).
        ctx: HTTP client, limits, port map and the scan's auth budget.
        credentials: where to find credentials for the host.

    Returns:
        The host's report; what could not be learnt is listed in ``problems``.
    """
    state = _HostState(candidate)
    try:
        async with asyncio.timeout(ctx.limits.host_deadline_s):
            await _run(state, drivers, ctx, credentials)
    except TimeoutError:
        state.problems.append(
            Problem("identify", f"gave up after {ctx.limits.host_deadline_s:g} s (host deadline)")
        )
    return state.report()


class _HostState:
    """What is known about one host so far (mutable while identification runs)."""

    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate
        self.banners = Banners()
        self.fingerprints: list[Fingerprint] = []
        self.authenticated: list[Observation] = []
        self.problems: list[Problem] = []
        self.auth = AuthState.NOT_TRIED

    def identity(self) -> Identity:
        unauthenticated = [o for fp in self.fingerprints for o in fp.observations]
        seen = (*self.authenticated, *unauthenticated, *self.candidate.observations)
        return Identity.of((*seen, *oui_observations(seen)))

    def camera_fingerprints(self) -> list[Fingerprint]:
        cams = [fp for fp in self.fingerprints if fp.device_class is not DeviceClass.NOT_CAMERA]
        return sorted(cams, key=lambda fp: -fp.score)

    def report(self) -> HostReport:
        identity = self.identity()
        device_class, what = self._classify(identity)
        problems = [Problem(f"port {p}", msg) for p, msg in sorted(self.banners.errors.items())]
        return HostReport(
            address=self.candidate.address,
            device_class=device_class,
            identity=identity,
            what=what,
            services=self.candidate.services,
            drivers=tuple(fp.driver for fp in self.camera_fingerprints() if fp.score > 0),
            auth=self.auth,
            problems=(*problems, *self.problems),
        )

    def _classify(self, identity: Identity) -> tuple[DeviceClass, str]:
        cams = self.camera_fingerprints()
        best_cam = cams[0].score if cams else 0.0
        others = sorted(
            (fp for fp in self.fingerprints if fp.device_class is DeviceClass.NOT_CAMERA),
            key=lambda fp: -fp.score,
        )
        if best_cam >= CAMERA_SCORE or self.authenticated:
            return _video_class(identity, cams), ""
        if others and others[0].score >= best_cam:
            return DeviceClass.NOT_CAMERA, others[0].what
        if cams and best_cam > 0:
            return _video_class(identity, cams), ""
        return DeviceClass.UNKNOWN, ""


def _video_class(identity: Identity, cams: list[Fingerprint]) -> DeviceClass:
    reported = (identity.get(Field.DEVICE_TYPE) or "").replace(" ", "").casefold()
    for prefix, cls in _DEVICE_TYPES.items():
        if reported.startswith(prefix):
            return cls
    for fp in cams:
        if fp.device_class.is_video_device:
            return fp.device_class
    return DeviceClass.CAMERA


async def _run(
    state: _HostState, drivers: Sequence[Driver], ctx: ProbeContext, credentials: CredentialLookup
) -> None:
    state.banners = await gather_banners(state.candidate, ctx)
    results = await asyncio.gather(
        *(_fingerprint(d, state, ctx) for d in drivers), return_exceptions=False
    )
    state.fingerprints = [fp for fp in results if fp is not None]
    cams = state.camera_fingerprints()
    if not cams or cams[0].score < CAMERA_SCORE:
        return
    await _login(state, {d.name: d for d in drivers}, ctx, credentials)


async def _fingerprint(driver: Driver, state: _HostState, ctx: ProbeContext) -> Fingerprint | None:
    try:
        return await driver.fingerprint(state.candidate, state.banners, ctx)
    except DriverError as err:
        state.problems.append(Problem(f"{driver.name}:fingerprint", str(err)))
        return None


async def _login(
    state: _HostState,
    drivers: dict[str, Driver],
    ctx: ProbeContext,
    credentials: CredentialLookup,
) -> None:
    host = state.candidate.address
    vendor = state.identity().get(Field.VENDOR)
    creds = credentials.for_host(host, vendor)
    if not creds:
        return
    for fp in state.camera_fingerprints():
        driver = drivers.get(fp.driver)
        if driver is None or fp.score <= 0:
            continue
        for credential in creds:
            if await _try_login(driver, credential, state, ctx):
                return
            if state.auth is AuthState.LOCKED:
                return


async def _try_login(
    driver: Driver, credential: Credential, state: _HostState, ctx: ProbeContext
) -> bool:
    try:
        observations = await driver.identify(state.candidate, credential, ctx)
    except LockoutError as err:
        state.auth = AuthState.LOCKED
        state.problems.append(Problem(f"{driver.name}:login", str(err)))
        return False
    except AuthError as err:
        state.auth = AuthState.REJECTED
        state.problems.append(Problem(f"{driver.name}:login", str(err)))
        return False
    except DriverError as err:
        state.problems.append(Problem(f"{driver.name}:identify", str(err)))
        return False
    state.auth = AuthState.ACCEPTED
    state.authenticated = [*observations, *state.authenticated]
    return True
