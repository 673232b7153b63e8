"""Run the checks over devices: each device's findings worst first, plus what was covered.

Checks are found through :data:`CHECK_MODULES`: each listed module defines ``CHECKS``
(device checks), ``IDENTITY_CHECKS`` (checks of the firmware identity alone) and/or
``APP_CHECKS`` (checks about the owner's viewer apps). A module that is not installed
yet is skipped, so adding a check module is one line here.

Identity checks run once per identity and :class:`AuditContext`; every device of the
identity gets the same :class:`~campatch.model.Finding` objects (an inventory of
10,000 devices holds about a thousand identities, and most findings come from them).

The result and its order are in :mod:`campatch.audit.result`. A check that raises on
one device does not stop the audit: the error is kept in
:attr:`~campatch.audit.result.AuditResult.problems` (a skip reason, never silence).

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

from campatch.audit.baseline import coverage
from campatch.audit.interface import (
    AppCheck,
    AuditContext,
    Check,
    DeviceFacts,
    DeviceIdentity,
    IdentityCheck,
)
from campatch.audit.result import AuditResult, InOrder, device_order
from campatch.inventory.interface import InventoryStore
from campatch.knowledge.index import KnowledgeBase
from campatch.model import DeviceFindings, Finding, HostReport, Problem, ScanResult

__all__ = [
    "CHECK_MODULES",
    "all_app_checks",
    "all_checks",
    "all_identity_checks",
    "assess_scan",
    "audit",
    "devices_from_inventory",
    "devices_from_scan",
    "now_utc",
]

logger = logging.getLogger(__name__)

#: Modules holding checks, in report order. Each defines ``CHECKS``,
#: ``IDENTITY_CHECKS`` and/or ``APP_CHECKS``.
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


def all_identity_checks() -> list[IdentityCheck]:
    """Every installed identity check, in :data:`CHECK_MODULES` order."""
    return [
        c
        for m in _modules()
        for c in cast("Sequence[IdentityCheck]", getattr(m, "IDENTITY_CHECKS", ()))
    ]


def all_app_checks() -> list[AppCheck]:
    """Every installed viewer-app check."""
    return [c for m in _modules() for c in cast("Sequence[AppCheck]", getattr(m, "APP_CHECKS", ()))]


@dataclass
class _Shared:
    """An identity's findings, and the identity checks that failed on it."""

    findings: InOrder
    failed: list[tuple[IdentityCheck, Exception]]


def _run_identity(
    identity: DeviceIdentity, checks: Sequence[IdentityCheck], ctx: AuditContext
) -> _Shared:
    found: list[Finding] = []
    failed: list[tuple[IdentityCheck, Exception]] = []
    for check in checks:
        try:
            found.extend(check.run_identity(identity, ctx))
        except Exception as err:  # a broken check or record must not end the audit
            logger.warning("check %s failed on %s", check.id, identity, exc_info=err)
            failed.append((check, err))
    return _Shared(InOrder(found), failed)


def _problem(check: Check | IdentityCheck, key: str, err: Exception) -> Problem:
    return Problem(f"check:{check.id}", f"{key}: {type(err).__name__}: {err}")


def _run_apps(check: AppCheck, ctx: AuditContext) -> tuple[list[DeviceFindings], Problem | None]:
    try:
        return list(check.run_apps(ctx)), None
    except Exception as err:  # a broken check or record must not end the audit
        logger.warning("check %s failed", check.id, exc_info=True)
        return [], Problem(f"check:{check.id}", f"apps: {type(err).__name__}: {err}")


def audit(
    devices: Iterable[DeviceFacts],
    ctx: AuditContext,
    checks: Sequence[Check] | None = None,
    identity_checks: Sequence[IdentityCheck] | None = None,
    app_checks: Sequence[AppCheck] | None = None,
) -> AuditResult:
    """Run every check over every device (identity checks once per identity, app checks once).

    Args:
        devices: what to assess.
        ctx: knowledge base, owner declarations, assessment time.
        checks: device checks (default: :func:`all_checks`).
        identity_checks: identity checks (default: :func:`all_identity_checks`).
        app_checks: viewer-app checks (default: :func:`all_app_checks`).

    Returns:
        Each device's findings worst first, the baseline coverage of the checks that
        ran, and problems.
    """
    checks = all_checks() if checks is None else checks
    identity_checks = all_identity_checks() if identity_checks is None else identity_checks
    app_checks = all_app_checks() if app_checks is None else app_checks
    problems: list[Problem] = []
    with _collector_paused():
        groups, count = _assess_devices(devices, checks, identity_checks, ctx, problems)
        apps: list[DeviceFindings] = []
        for app_check in app_checks:
            found_apps, problem = _run_apps(app_check, ctx)
            apps.extend(found_apps)
            if problem is not None:
                problems.append(problem)
        groups.extend(_joined(apps))
        groups.sort(key=device_order)
    ran: list[Check | IdentityCheck | AppCheck] = [*identity_checks, *checks, *app_checks]
    return AuditResult(
        by_device=tuple(groups),
        coverage=coverage((c.id, c.provisions) for c in ran),
        checks=tuple(c.id for c in ran),
        devices=count,
        problems=tuple(problems),
    )


def _assess_devices(
    devices: Iterable[DeviceFacts],
    checks: Sequence[Check],
    identity_checks: Sequence[IdentityCheck],
    ctx: AuditContext,
    problems: list[Problem],
) -> tuple[list[DeviceFindings], int]:
    """Each device's findings (unordered across devices), and how many devices there were.

    The per-identity results are dropped on return, before the collector comes back on,
    so it never has to look at them.
    """
    groups: list[DeviceFindings] = []
    shared_by_identity: dict[DeviceIdentity, _Shared] = {}
    count = 0
    for device in devices:
        count += 1
        identity = device.identity
        shared = shared_by_identity.get(identity)
        if shared is None:
            shared = shared_by_identity[identity] = _run_identity(identity, identity_checks, ctx)
        if shared.failed:
            problems.extend(_problem(c, device.key, err) for c, err in shared.failed)
        own: list[Finding] = []
        for check in checks:
            try:
                own.extend(check.run(device, ctx))
            except Exception as err:  # a broken check or record must not end the audit
                logger.warning("check %s failed on %s", check.id, device.key, exc_info=err)
                problems.append(_problem(check, device.key, err))
        found = shared.findings.merged(own)
        if found:
            groups.append(DeviceFindings(device.key, device.report.address, found))
    return groups, count


def _joined(groups: list[DeviceFindings]) -> list[DeviceFindings]:
    """One group per app: the groups of two app checks about one app merged."""
    by_key: dict[str, DeviceFindings] = {}
    for group in groups:
        if not group.findings:
            continue
        seen = by_key.get(group.key)
        if seen is None:
            by_key[group.key] = group
        else:
            joined = InOrder(seen.findings).merged(list(group.findings))
            by_key[group.key] = DeviceFindings(group.key, seen.address, joined)
    return list(by_key.values())


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Switch CPython's cycle collector off while the audit builds its findings.

    An audit of 10,000 devices makes tens of thousands of findings and groups that
    outlive it. With the collector on, each batch of new objects sets off another
    pass, and every few batches a pass over the whole heap, which keeps growing.
    Paused, the collector looks at the new objects once, after the audit. Findings
    form no reference cycles; other garbage made meanwhile is collected then.
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
