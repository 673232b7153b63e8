"""The audit's network probes for one host, and the fleet-level router step.

``probe_security`` (or :func:`assess_host`, which also returns the problems) runs
after identification, per video device, within a wall-clock deadline:

1. RTSP ``DESCRIBE`` without credentials on the vendor's stream paths (at most
   five per port) -> ``rtsp_open``; a ``GET`` without credentials of the vendor's
   snapshot paths on the web ports (at most four per port) -> ``snapshot_open``;
2. ONVIF ``GetDeviceInformation`` without credentials -> ``onvif_open``;
3. the web transport: HTTP only, Basic over HTTP, the HTTPS certificate and
   protocol -> ``web_tls``, ``basic_auth_over_http``;
4. the ONVIF clock (measured by the ONVIF driver) -> ``clock_offset_s``;
5. unless ``credential_checks`` is off (D-04: then no login at all): the factory
   defaults (:mod:`~campatch.audit.probes.credentials`) and, with the owner's stored
   credential, accounts and UPnP/P2P switches (:mod:`~campatch.audit.probes.settings`),
   every login inside the device's :class:`~campatch.audit.probes.budget.LoginBudget`.

Nothing here changes a device. :func:`assess_routers` runs once after all hosts: it
lists the UPnP port mappings of every gateway and attaches them to the devices they
point at (:mod:`~campatch.audit.probes.router`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from campatch.audit.probes import credentials as creds
from campatch.audit.probes.budget import BudgetPolicy, Clock, LoginBudget, Sleep
from campatch.audit.probes.router import attach_forwards, router_forwards
from campatch.audit.probes.rtsp import open_streams, rtsp_login
from campatch.audit.probes.settings import read_settings
from campatch.audit.probes.snapshot import open_snapshots
from campatch.audit.probes.telnet import telnet_login
from campatch.audit.probes.web import basic_over_http, web_tls
from campatch.drivers.identify import CredentialLookup
from campatch.drivers.interface import ProbeContext, SecurityReader
from campatch.drivers.onvif import DRIVER as ONVIF
from campatch.drivers.onvif.driver import OnvifDriver
from campatch.drivers.registry import driver_named
from campatch.errors import DriverError
from campatch.inventory.interface import AttemptLedger
from campatch.knowledge.index import KnowledgeBase
from campatch.model import (
    AuthState,
    Candidate,
    Credential,
    DefaultLogin,
    Field,
    HostReport,
    Problem,
    SecurityFacts,
)

logger = logging.getLogger(__name__)

TELNET_PORTS = (23, 2323)
#: ``DefaultLogin.source`` when the device itself flags the owner's password as a
#: factory default or weak one (Hikvision ``isDefaultPassword``/``isRiskPassword``).
DEVICE_SAYS_DEFAULT = "device:isDefaultPassword"


@dataclass(frozen=True)
class ProbeOptions:
    """How far the probes may go.

    Args:
        credential_checks: try logins at all (False = ``--no-credential-checks``, D-04).
        mirai: also try the Mirai botnet list on telnet (explicit opt-in only).
        policy: lockout-budget pacing and back-off.
        clock: seconds since the epoch (tests pass simulated time).
        sleep: waits between logins (tests move simulated time instead).
        onvif: the ONVIF driver that measured clocks during identification.
    """

    credential_checks: bool = True
    mirai: bool = False
    policy: BudgetPolicy = field(default_factory=BudgetPolicy)
    clock: Clock = time.time
    sleep: Sleep = asyncio.sleep
    onvif: OnvifDriver = ONVIF


def device_key(report: HostReport) -> str:
    """The inventory key of the host (``addr:<ip>`` when identification found none)."""
    return report.identity.key or f"addr:{report.address}"


def readers(report: HostReport, onvif: OnvifDriver) -> list[SecurityReader]:
    """The host's drivers that offer security operations, best first (ONVIF last)."""
    found: list[SecurityReader] = []
    for name in report.drivers:
        try:
            driver = onvif if name == onvif.name else driver_named(name)
        except KeyError:
            continue
        if isinstance(driver, SecurityReader):
            found.append(driver)
    return found


class _HostProbe:
    """The probes of one host; collects facts and problems as it goes."""

    def __init__(
        self,
        candidate: Candidate,
        report: HostReport,
        ctx: ProbeContext,
        options: ProbeOptions,
    ) -> None:
        self.candidate, self.report, self.ctx, self.options = candidate, report, ctx, options
        self.readers = readers(report, options.onvif)
        self.facts: dict[str, object] = {}
        self.problems: list[Problem] = []

    def _paths(self) -> tuple[str, ...]:
        paths = [p for r in self.readers for p in r.rtsp_paths]
        return tuple(dict.fromkeys(paths or self.options.onvif.rtsp_paths))

    def _snapshot_paths(self) -> tuple[str, ...]:
        paths = [p for r in self.readers for p in r.snapshot_paths]
        return tuple(dict.fromkeys(paths or self.options.onvif.snapshot_paths))

    async def unauthenticated(self) -> dict[int, str]:
        """RTSP, snapshot, ONVIF, web transport and clock facts; returns protected RTSP
        paths."""
        opened, protected = await open_streams(self.candidate, self._paths(), self.ctx)
        self.facts["rtsp_open"] = opened
        self.facts["snapshot_open"] = await open_snapshots(
            self.candidate, self._snapshot_paths(), self.ctx
        )
        await self._guard("onvif", self._onvif)
        await self._guard("web-tls", self._web)
        self.facts["clock_offset_s"] = await self.options.onvif.measure_clock(
            self.candidate, self.ctx
        )
        return protected

    async def _guard(self, source: str, step: Callable[[], Awaitable[None]]) -> None:
        try:
            await step()
        except DriverError as err:
            self.problems.append(Problem(source, str(err)))

    async def _onvif(self) -> None:
        self.facts["onvif_open"] = await self.options.onvif.open_device_information(
            self.candidate, self.ctx
        )

    async def _web(self) -> None:
        login_path = self.readers[0].login_path if self.readers else "/"
        self.facts["basic_auth_over_http"] = await basic_over_http(
            self.candidate, login_path, self.ctx
        )
        self.facts["web_tls"] = await web_tls(self.candidate, self.ctx)

    # --- logins (only with credential checks on) ----------------------------------------

    def budget(self, ledger: AttemptLedger) -> LoginBudget:
        """The device's lockout budget, counting what identification already spent."""
        return LoginBudget(
            ledger,
            device=device_key(self.report),
            address=self.report.address,
            vendor=self.report.identity.get(Field.VENDOR),
            prior_failures=self.ctx.auth.failures(self.report.address),
            policy=self.options.policy,
            clock=self.options.clock,
            sleep=self.options.sleep,
        )

    def plan(self, knowledge: KnowledgeBase, protected: dict[int, str]) -> creds.CredentialPlan:
        """Which protocols and pairs the default-credential check may use."""
        vendor = self.report.identity.get(Field.VENDOR) or "any"
        plan = creds.CredentialPlan(
            pairs=creds.account_pairs(knowledge, vendor),
            telnet_defaults=creds.telnet_pairs(knowledge, vendor, mirai=self.options.mirai),
        )
        for reader in self.readers:
            service = "onvif" if reader.name == self.options.onvif.name else "http"
            plan.account.append((service, self._reader_login(reader)))
        if protected:
            port, path = next(iter(protected.items()))
            plan.account.append(("rtsp", self._rtsp_login(port, path)))
        telnet = next((p for p in TELNET_PORTS if self.candidate.has_port(p)), None)
        if telnet is not None:
            plan.telnet = self._telnet_login(telnet)
        return plan

    def _reader_login(self, reader: SecurityReader) -> creds.Login:
        async def login(credential: Credential) -> bool:
            return await reader.try_login(self.candidate, credential, self.ctx)

        return login

    def _rtsp_login(self, port: int, path: str) -> creds.Login:
        async def login(credential: Credential) -> bool:
            return await rtsp_login(self.candidate, port, path, credential, self.ctx)

        return login

    def _telnet_login(self, port: int) -> creds.Login:
        async def login(credential: Credential) -> bool:
            return await telnet_login(self.candidate, port, credential, self.ctx)

        return login

    async def logins(
        self,
        knowledge: KnowledgeBase,
        ledger: AttemptLedger,
        owner: Sequence[Credential],
        protected: dict[int, str],
    ) -> None:
        """Default credentials, then the owner-credential settings, in one budget."""
        budget = self.budget(ledger)
        plan = self.plan(knowledge, protected)
        accepted = self.report.auth is AuthState.ACCEPTED
        plan.pairs, shortcuts = creds.owner_shortcuts(plan.pairs, owner, accepted)
        if self.options.mirai:
            logger.warning(
                "%s: trying the Mirai list on telnet (explicit option)", self.report.address
            )
        found, problems = await creds.check_defaults(plan, budget)
        self.problems += problems
        await self._settings(owner, budget, [*shortcuts, *found])
        self.facts["login_attempts"] = budget.refused

    async def _settings(
        self, owner: Sequence[Credential], budget: LoginBudget, found: list[DefaultLogin]
    ) -> None:
        if owner and self.readers and budget.remaining("http") > 0:
            settings, problems = await read_settings(
                self.candidate, self.readers[0], owner, budget, self.ctx
            )
            self.problems += problems
            if settings is not None:
                self.facts["accounts"] = settings.accounts
                self.facts["upnp_enabled"] = settings.upnp_enabled
                self.facts["p2p_enabled"] = settings.p2p_enabled
                if settings.default_password and owner:
                    found.append(
                        DefaultLogin("http", owner[0].username, "device:isDefaultPassword")
                    )
        self.facts["default_logins"] = tuple(found)

    def result(self) -> HostReport:
        """The report with the facts and problems added."""
        security = dataclasses.replace(self.report.security, **self.facts)  # type: ignore[arg-type]
        problems = (*self.report.problems, *self.problems)
        return dataclasses.replace(self.report, security=security, problems=problems)


async def assess_host(
    candidate: Candidate,
    report: HostReport,
    ctx: ProbeContext,
    knowledge: KnowledgeBase,
    attempts: AttemptLedger,
    *,
    credentials: CredentialLookup | None = None,
    options: ProbeOptions | None = None,
) -> HostReport:
    """Run every probe on one host; never raises for the device's misbehaviour.

    Args:
        candidate: the host as discovery found it (its open services).
        report: the host as identification reported it.
        ctx: HTTP client, limits, port map and the scan's auth budget.
        knowledge: where the factory default credentials come from.
        attempts: the login-attempt ledger (the inventory), read and written.
        credentials: the owner's stored credentials (for the authenticated reads).
        options: credential checks on/off, Mirai opt-in, pacing, clock.

    Returns:
        ``report`` with ``security`` filled and what got in the way in ``problems``;
        non-video hosts come back unchanged.
    """
    options = options or ProbeOptions()
    if not report.device_class.is_video_device:
        return report
    probe = _HostProbe(candidate, report, ctx, options)
    deadline = ctx.limits.host_deadline_s * 3
    try:
        async with asyncio.timeout(deadline):
            protected = await probe.unauthenticated()
            if options.credential_checks:
                owner = _owner(credentials, report)
                await probe.logins(knowledge, attempts, owner, protected)
    except TimeoutError:
        probe.problems.append(Problem("audit", f"probes gave up after {deadline:g} s"))
    return probe.result()


def _owner(credentials: CredentialLookup | None, report: HostReport) -> list[Credential]:
    if credentials is None:
        return []
    return credentials.for_host(report.address, report.identity.get(Field.VENDOR))


async def probe_security(
    candidate: Candidate,
    report: HostReport,
    ctx: ProbeContext,
    knowledge: KnowledgeBase,
    attempts: AttemptLedger,
    *,
    credential_checks: bool = True,
) -> SecurityFacts:
    """The security facts of one host (see :func:`assess_host`, which also keeps the
    problems and takes the owner's credentials)."""
    options = ProbeOptions(credential_checks=credential_checks)
    return (
        await assess_host(candidate, report, ctx, knowledge, attempts, options=options)
    ).security


async def assess_routers(
    candidates: Sequence[Candidate], reports: Sequence[HostReport], ctx: ProbeContext
) -> list[HostReport]:
    """The fleet step after every host: attach gateway port forwards (SAFETY B-03).

    Returns:
        The reports, video devices with ``port_forwards`` set when a gateway answered;
        a gateway that could not be read gets a problem on its own report.
    """
    forwards, answered, problems = await router_forwards(candidates, ctx)
    out = attach_forwards(reports, forwards, answered)
    by_router: dict[str, list[Problem]] = {}
    for problem in problems:
        by_router.setdefault(problem.source.split(":", 1)[-1], []).append(problem)
    return [
        dataclasses.replace(r, problems=(*r.problems, *by_router[r.address]))
        if r.address in by_router
        else r
        for r in out
    ]
