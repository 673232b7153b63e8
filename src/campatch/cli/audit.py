"""``campatch audit``: assess the inventory's devices with the current knowledge.

Contacts no device: it re-runs the checks over each device's latest stored report (and
the one before it), so new advisories apply to the fleet as soon as the knowledge is
updated. Exit code 1 when a finding at or above ``--fail-on`` exists.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer

from campatch.audit.auditor import audit, devices_from_inventory, now_utc
from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.audit.result import AuditResult
from campatch.cli._common import DbOption, inventory
from campatch.cli._output import ExitCode, OutputFormat, stdout
from campatch.cli.apps import app_labels
from campatch.inventory.apps import open_owner_apps
from campatch.knowledge.store import KnowledgeStore
from campatch.model import ScanResult, Severity
from campatch.report.findings import label_of, print_findings
from campatch.report.json import scan_to_json

FailOnOption = Annotated[
    Severity,
    typer.Option(
        "--fail-on",
        help="Exit with code 1 when a finding at or above this severity exists.",
        case_sensitive=False,
    ),
]


def exit_code(result: AuditResult, fail_on: Severity) -> ExitCode:
    """FINDINGS when a finding at or above ``fail_on`` exists, else CLEAN."""
    worst = result.worst()
    return ExitCode.FINDINGS if worst is not None and worst.rank <= fail_on.rank else ExitCode.CLEAN


def labels(devices: Sequence[DeviceFacts]) -> dict[str, str]:
    """Device key -> the line naming it above its findings."""
    return {d.key: label_of(d.report) for d in devices}


def _view(devices: Sequence[DeviceFacts]) -> ScanResult:
    """The inventory's latest view as a scan-shaped document (no scan id, no targets)."""
    now = datetime.now(UTC)
    return ScanResult(None, now, now, (), tuple(d.report for d in devices))


def audit_command(
    db: DbOption = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.TABLE,
    fail_on: FailOnOption = Severity.HIGH,
) -> None:
    """Assess the devices in the inventory (from earlier scans; contacts no device)."""
    knowledge = KnowledgeStore().load()
    owner_apps = open_owner_apps().installed()
    store = inventory(db)
    try:
        devices = devices_from_inventory(store)
    finally:
        store.close()
    ctx = AuditContext(knowledge=knowledge, owner_apps=owner_apps, now=now_utc())
    result = audit(devices, ctx)
    if output is OutputFormat.JSON:
        sys.stdout.write(scan_to_json(_view(devices), result, kind="campatch-audit") + "\n")
    else:
        print_findings(result, stdout, labels(devices) | app_labels(owner_apps))
    raise typer.Exit(exit_code(result, fail_on))
