"""Run the checks over devices: findings worst first, plus what the audit covered.

Checks are found through :data:`CHECK_MODULES`: each listed module defines ``CHECKS``
(device checks) and/or ``APP_CHECKS`` (checks about the owner's viewer apps). A module
that is not installed yet is skipped, so adding a check module is one line here.

Findings are sorted worst first: severity, then CISA KEV before the rest, then device,
then confirmed before possible. A check that raises on one device does not stop the
audit: the error is kept in :attr:`AuditResult.problems` (a skip reason, never silence).

Library entry points:

- :func:`audit` -- devices and a context in, :class:`AuditResult` out;
- :func:`assess_scan` -- the pipeline hook: a fresh :class:`~campatch.model.ScanResult`
  (and optionally the inventory, for each device's previous report);
- :func:`devices_from_inventory` -- every device's latest and previous stored reports,
  for ``campatch audit``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import cast

from campatch.audit.baseline import Coverage, coverage
from campatch.audit.interface import AppCheck, AuditContext, Check, DeviceFacts
from campatch.inventory.interface import InventoryStore
from campatch.knowledge.index import KnowledgeBase
from campatch.model import Certainty, Finding, HostReport, Problem, ScanResult, Severity

__all__ = [
    "CHECK_MODULES",
    "AuditResult",
    "all_app_checks",
    "all_checks",
    "assess_scan",
    "audit",
    "devices_from_inventory",
    "devices_from_scan",
    "now_utc",
    "sort_findings",
]

logger = logging.getLogger(__name__)

#: Modules holding checks, in report order. Each defines ``CHECKS`` and/or ``APP_CHECKS``.
CHECK_MODULES: list[str] = [
    "campatch.audit.checks.vulnerabilities",
    "campatch.audit.checks.firmware",
    "campatch.audit.checks.credentials",
    "campatch.audit.checks.exposure",
    "campatch.audit.checks.upnp",
    "campatch.audit.checks.accounts",
    "campatch.audit.checks.clock",
    "campatch.audit.checks.changes",
    "campatch.audit.checks.apps",
]


def _modules() -> list[ModuleType]:
    found = []
    for name in CHECK_MODULES:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            logger.debug("check module %s is not installed", name)
    return found


def all_checks() -> list[Check]:
    """Every installed device check, in :data:`CHECK_MODULES` order."""
    return [c for m in _modules() for c in cast("Sequence[Check]", getattr(m, "CHECKS", ()))]


def all_app_checks() -> list[AppCheck]:
    """Every installed viewer-app check."""
    return [c for m in _modules() for c in cast("Sequence[AppCheck]", getattr(m, "APP_CHECKS", ()))]


@dataclass(frozen=True)
class AuditResult:
    """The outcome of an audit.

    Args:
        findings: worst first (see the module docstring).
        coverage: baseline items assessed, not assessed and not assessable.
        checks: ids of the checks that ran.
        devices: how many devices were assessed.
        problems: checks that failed on a device, with the reason.
    """

    findings: tuple[Finding, ...]
    coverage: Coverage
    checks: tuple[str, ...]
    devices: int
    problems: tuple[Problem, ...] = ()

    def at_or_above(self, severity: Severity) -> tuple[Finding, ...]:
        """The findings at ``severity`` or worse."""
        return tuple(f for f in self.findings if f.severity.rank <= severity.rank)


_RANK = {severity: severity.rank for severity in Severity}


def _sort_key(f: Finding) -> tuple[int, bool, str, bool, str, str]:
    possible = f.certainty is not Certainty.CONFIRMED
    return (_RANK[f.severity], not f.kev, f.device_key, possible, f.check, f.advisory)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first: severity, KEV first, device, confirmed before possible, check, advisory."""
    return sorted(findings, key=_sort_key)


def _failed(check: Check, device: DeviceFacts, err: Exception) -> Problem:
    """The problem to report for ``check`` raising ``err`` on ``device`` (logged too)."""
    logger.warning("check %s failed on %s", check.id, device.key, exc_info=err)
    return Problem(f"check:{check.id}", f"{device.key}: {type(err).__name__}: {err}")


def _run_apps(check: AppCheck, ctx: AuditContext) -> tuple[list[Finding], Problem | None]:
    try:
        return list(check.run_apps(ctx)), None
    except Exception as err:  # see _failed
        logger.warning("check %s failed", check.id, exc_info=True)
        return [], Problem(f"check:{check.id}", f"apps: {type(err).__name__}: {err}")


def audit(
    devices: Iterable[DeviceFacts],
    ctx: AuditContext,
    checks: Sequence[Check] | None = None,
    app_checks: Sequence[AppCheck] | None = None,
) -> AuditResult:
    """Run every check over every device (and the app checks once).

    Args:
        devices: what to assess.
        ctx: knowledge base, owner declarations, assessment time.
        checks: device checks (default: :func:`all_checks`).
        app_checks: viewer-app checks (default: :func:`all_app_checks`).

    Returns:
        Findings worst first, the baseline coverage of the checks that ran, and problems.
    """
    checks = all_checks() if checks is None else checks
    app_checks = all_app_checks() if app_checks is None else app_checks
    findings: list[Finding] = []
    problems: list[Problem] = []
    count = 0
    with _collector_paused():
        for device in devices:
            count += 1
            for check in checks:
                try:
                    found = list(check.run(device, ctx))
                except Exception as err:  # a broken check or record must not end the audit
                    problems.append(_failed(check, device, err))
                else:
                    findings.extend(found)
        for app_check in app_checks:
            _collect(_run_apps(app_check, ctx), findings, problems)
        ran: list[Check | AppCheck] = [*checks, *app_checks]
        return AuditResult(
            findings=tuple(sort_findings(findings)),
            coverage=coverage((c.id, c.provisions) for c in ran),
            checks=tuple(c.id for c in ran),
            devices=count,
            problems=tuple(problems),
        )


def _collect(
    run: tuple[list[Finding], Problem | None], findings: list[Finding], problems: list[Problem]
) -> None:
    found, problem = run
    findings.extend(found)
    if problem is not None:
        problems.append(problem)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Switch CPython's cycle collector off while the audit builds its findings.

    An audit of 10,000 devices makes about half a million findings that outlive it.
    With the collector on, each batch of new objects sets off another pass, and every
    few batches a pass over the whole heap, which keeps growing (more than a second in
    the benchmark). Paused, the collector looks at the new objects once, after the
    audit. Findings form no reference cycles; other garbage made meanwhile is
    collected then.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _assessed(report: HostReport) -> bool:
    """Only cameras, NVRs and DVRs are assessed (other hosts are listed by the scan)."""
    return report.device_class.is_video_device


def _previous(store: InventoryStore, key: str, scan_id: int | None) -> HostReport | None:
    earlier = [s.report for s in store.history(key) if s.scan_id != scan_id]
    return earlier[-1] if earlier else None


def devices_from_scan(result: ScanResult, store: InventoryStore | None = None) -> list[DeviceFacts]:
    """The video devices of a scan, each with its previous report from ``store``.

    Args:
        result: the scan (stored already when ``store`` is given, so keys match).
        store: the inventory, for device keys of hosts without MAC/serial and for the
            previous report; None assesses without history.

    Raises:
        InventoryError: the inventory cannot be read.
    """
    keys = {row.address: row.key for row in store.devices()} if store else {}
    facts = []
    for host in filter(_assessed, result.hosts):
        key = host.identity.key or keys.get(host.address) or f"addr:{host.address}"
        previous = _previous(store, key, result.scan_id) if store else None
        facts.append(DeviceFacts(key, host, previous))
    return facts


def devices_from_inventory(store: InventoryStore) -> list[DeviceFacts]:
    """Every present video device's latest stored report and the one before it.

    Raises:
        InventoryError: the inventory cannot be read.
    """
    facts = []
    for row in store.devices():
        history = store.history(row.key)
        if history and _assessed(history[-1].report):
            previous = history[-2].report if len(history) > 1 else None
            facts.append(DeviceFacts(row.key, history[-1].report, previous))
    return facts


def now_utc() -> str:
    """The current time as ISO 8601 UTC (``AuditContext.now``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assess_scan(
    result: ScanResult,
    knowledge: KnowledgeBase,
    store: InventoryStore | None = None,
    *,
    owner_apps: Mapping[tuple[str, str], str] | None = None,
    declared_accounts: Mapping[str, tuple[str, ...]] | None = None,
) -> AuditResult:
    """The pipeline hook: assess the video devices a scan just identified.

    Args:
        result: the scan (recorded in ``store`` first, when a store is given).
        knowledge: the loaded knowledge base.
        store: the inventory, for each device's previous report (None = no history).
        owner_apps: viewer apps the owner uses, (name, platform) -> version.
        declared_accounts: per device key (or ``"*"``), the accounts the owner declared.

    Raises:
        InventoryError: the inventory cannot be read.

    Returns:
        The audit result.
    """
    ctx = AuditContext(
        knowledge=knowledge,
        declared_accounts=declared_accounts or {},
        owner_apps=owner_apps or {},
        now=now_utc(),
    )
    return audit(devices_from_scan(result, store), ctx)
