"""The scan pipeline: targets -> discovery -> identification -> :class:`ScanResult`.

This is the library API the CLI (and later the web app and service) call; it
prints nothing and stores nothing (the caller hands the result to the inventory).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from campatch.audit.probes.ledger import MemoryLedger
from campatch.audit.probes.security import ProbeOptions, assess_host, assess_routers
from campatch.config import Settings
from campatch.discovery.interface import DiscoveryContext, DiscoverySource, Scope
from campatch.discovery.mdns import MdnsSource
from campatch.discovery.neighbors import learn_macs
from campatch.discovery.probe import TcpProbe
from campatch.discovery.run import discover
from campatch.discovery.ssdp import SsdpSource
from campatch.discovery.targets import resolve_targets
from campatch.discovery.ws_discovery import WsDiscovery
from campatch.drivers.identify import CredentialLookup, NoCredentials, identify_host
from campatch.drivers.interface import AuthBudget, Driver, ProbeContext
from campatch.drivers.registry import all_drivers
from campatch.inventory.interface import AttemptLedger
from campatch.knowledge.index import KnowledgeBase
from campatch.model import Candidate, HostReport, ScanResult
from campatch.net.http import HttpClient


class ScanObserver(Protocol):
    """**Protocol**: told about progress (the CLI shows a bar, tests stay silent)."""

    def stage(self, name: str, total: int) -> None:
        """A new stage starts with ``total`` units of work."""
        ...

    def advance(self, done: int = 1) -> None:
        """``done`` more units of the current stage are finished."""
        ...


@dataclass(frozen=True)
class SecurityProbing:
    """What the scan needs to run the audit's security probes on every host.

    Args:
        knowledge: default credentials (and the rest of the knowledge base).
        ledger: login attempts across scans (the inventory), so the default-credential
            check stays under each vendor's lockout threshold over time.
        options: probe settings (credential checks on or off, the Mirai list ...).
    """

    knowledge: KnowledgeBase
    ledger: AttemptLedger = field(default_factory=MemoryLedger)
    options: ProbeOptions = field(default_factory=ProbeOptions)


class NullObserver:
    """An observer that ignores everything."""

    def stage(self, name: str, total: int) -> None:
        """Ignore."""

    def advance(self, done: int = 1) -> None:
        """Ignore."""


def default_sources(drivers: Sequence[Driver]) -> list[DiscoverySource]:
    """The standard discovery sources plus every driver's own (SADP, DHIP)."""
    sources: list[DiscoverySource] = [TcpProbe(), WsDiscovery(), SsdpSource(), MdnsSource()]
    for driver in drivers:
        sources.extend(driver.discovery_sources())
    return sources


async def run_scan(
    targets: Sequence[str],
    *,
    settings: Settings | None = None,
    credentials: CredentialLookup | None = None,
    observer: ScanObserver | None = None,
    drivers: Sequence[Driver] | None = None,
    sources: Sequence[DiscoverySource] | None = None,
    multicast: bool = True,
    probing: SecurityProbing | None = None,
) -> tuple[ScanResult, Scope]:
    """Discover and identify every device in ``targets`` (and probe its security).

    Args:
        targets: CIDR ranges, addresses, dash ranges, host names or ``@file``.
        settings: limits, port map (defaults: :class:`Settings`).
        credentials: credentials to log in with (default: none).
        observer: progress reporting.
        drivers: drivers to use (default: all installed).
        sources: discovery sources (default: :func:`default_sources`).
        multicast: also use multicast/broadcast discovery on the local link.
        probing: also run the audit's security probes on every host (None = identify only).

    Raises:
        UsageError: a target cannot be parsed or resolved.

    Returns:
        The scan result (not yet stored: ``scan_id`` is None) and the scope it covered.
    """
    settings = settings or Settings()
    observer = observer or NullObserver()
    drivers = tuple(drivers if drivers is not None else all_drivers())
    started = datetime.now(UTC)
    addresses = await resolve_targets(list(targets))
    scope = Scope(tuple(addresses), multicast=multicast)
    dctx = DiscoveryContext(limits=settings.limits, port_map=settings.port_map)
    srcs = list(sources) if sources is not None else default_sources(drivers)
    observer.stage("discover", len(srcs))
    candidates, problems = await discover(
        scope, srcs, dctx, progress=lambda _name, _n: observer.advance()
    )
    candidates = await learn_macs(scope, candidates)  # the kernel's ARP table, after the probe
    observer.stage("identify", len(candidates))
    hosts = await _identify_all(
        candidates, drivers, settings, credentials or NoCredentials(), observer, probing
    )
    result = ScanResult(
        scan_id=None,
        started_at=started,
        finished_at=datetime.now(UTC),
        targets=tuple(targets),
        hosts=tuple(sorted(hosts, key=lambda h: _sort_key(h.address))),
        problems=tuple(problems),
    )
    return result, scope


async def _identify_all(
    candidates: Sequence[Candidate],
    drivers: Sequence[Driver],
    settings: Settings,
    credentials: CredentialLookup,
    observer: ScanObserver,
    probing: SecurityProbing | None,
) -> list[HostReport]:
    gate = asyncio.Semaphore(settings.limits.max_concurrent_hosts)
    budget = AuthBudget()
    reports: list[HostReport] = []
    async with HttpClient(settings.limits, settings.port_map) as http:
        ctx = ProbeContext(
            http=http, limits=settings.limits, port_map=settings.port_map, auth=budget
        )

        async def one(candidate: Candidate) -> None:
            async with gate:
                report = await identify_host(candidate, drivers, ctx, credentials)
                if probing is not None:
                    report = await assess_host(
                        candidate, report, ctx, probing.knowledge, probing.ledger,
                        credentials=credentials, options=probing.options,
                    )  # fmt: skip
                reports.append(report)
                observer.advance()

        async with asyncio.TaskGroup() as tg:
            for candidate in candidates:
                tg.create_task(one(candidate))
        if probing is not None:  # routers' port mappings point at the hosts assessed above
            reports = await assess_routers(candidates, reports, ctx)
    return reports


def _sort_key(address: str) -> tuple[int, ...]:
    ip = ipaddress.ip_address(address)
    return (ip.version, int(ip))
