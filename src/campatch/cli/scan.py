"""``campatch scan``: discover and identify every camera, NVR and DVR in the targets."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from campatch.audit.auditor import assess_scan, devices_from_scan
from campatch.audit.probes.ledger import MemoryLedger
from campatch.audit.probes.security import ProbeOptions
from campatch.audit.result import AuditResult
from campatch.cli._common import DbOption, inventory
from campatch.cli._output import ExitCode, OutputFormat, ProgressBar, stdout
from campatch.cli.apps import app_labels
from campatch.cli.audit import exit_code, labels
from campatch.cli.journal import journal_of, opened_journal
from campatch.config import Limits, PortMap, Settings
from campatch.drivers.identify import CredentialLookup, NoCredentials
from campatch.inventory.apps import open_owner_apps
from campatch.inventory.credentials import open_vault
from campatch.inventory.interface import InventoryStore
from campatch.knowledge.store import KnowledgeStore
from campatch.model import ScanResult, Severity
from campatch.pipeline import SecurityProbing, run_scan
from campatch.report.findings import print_findings
from campatch.report.json import scan_to_json
from campatch.report.table import print_scan


def scan_command(
    targets: Annotated[
        list[str],
        typer.Argument(
            help="CIDR ranges, addresses, ranges (a.b.c.d-e), host names or @file.",
            show_default=False,
        ),
    ],
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.TABLE,
    db: DbOption = None,
    no_credentials: Annotated[
        bool, typer.Option("--no-credentials", help="Identify without logging in to any device.")
    ] = False,
    no_multicast: Annotated[
        bool,
        typer.Option(
            "--no-multicast",
            help="Skip multicast discovery (WS-Discovery, SSDP, mDNS, SADP, DHIP).",
        ),
    ] = False,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not record the scan in the inventory.")
    ] = False,
    port_offset: Annotated[
        int,
        typer.Option(
            "--port-offset",
            help="Ports below 1024 listen this much higher (the simulator without root).",
            min=0,
            max=64000,
        ),
    ] = 0,
    timeout: Annotated[
        float, typer.Option("--host-timeout", help="Seconds allowed per host.", min=1.0)
    ] = 20.0,
    rate: Annotated[
        float, typer.Option("--rate", help="TCP connection attempts per second.", min=1.0)
    ] = 2000.0,
    no_audit: Annotated[
        bool, typer.Option("--no-audit", help="Identify only: do not assess the devices.")
    ] = False,
    no_credential_checks: Annotated[
        bool,
        typer.Option(
            "--no-credential-checks",
            help="Make no login attempt at all: no factory-password check, no login with "
            "stored credentials.",
        ),
    ] = False,
    fail_on: Annotated[
        Severity | None,
        typer.Option(
            "--fail-on",
            help="Exit with code 1 when a finding at or above this severity exists "
            "(default: exit 0 whatever was found).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Discover and identify every camera, NVR and DVR in TARGETS, and record the scan."""
    settings = Settings(
        database_url=db,
        limits=Limits(host_deadline_s=timeout, probe_rate_per_s=rate),
        port_map=PortMap(low_port_offset=port_offset),
    )
    no_logins = no_credentials or no_credential_checks
    store = None if no_store else inventory(db)
    try:
        if store is not None:  # its login attempts are journaled with the scan as actor
            journal_of(store, "scan")
        if no_credential_checks:  # S-03: every override is journaled, even with --no-store
            journal_override(store, db, "--no-credential-checks", targets)
        result, assessment = asyncio.run(
            scan_and_assess(
                targets,
                settings=settings,
                credentials=NoCredentials() if no_logins else open_vault().snapshot(),
                store=store,
                audit=not no_audit,
                credential_checks=not no_credential_checks,
                multicast=not no_multicast,
            )
        )
    finally:
        if store is not None:
            store.close()
    show(result, assessment, output)
    if assessment is not None and fail_on is not None:
        raise typer.Exit(exit_code(assessment, fail_on))
    raise typer.Exit(ExitCode.CLEAN)


def journal_override(
    store: InventoryStore | None, db: str | None, flag: str, targets: Sequence[str]
) -> None:
    """Journal an override flag in the open inventory (or the ``--db`` one, opened for it)."""
    detail = {"flag": flag, "targets": list(targets[:20]), "target_count": len(targets)}
    if store is not None:
        journal_of(store, "scan").append("override", "applied", detail=detail)
        return
    with opened_journal(db, "scan") as journal:
        journal.append("override", "applied", detail=detail)


async def scan_and_assess(
    targets: Sequence[str],
    *,
    settings: Settings,
    credentials: CredentialLookup,
    store: InventoryStore | None,
    audit: bool = True,
    credential_checks: bool = True,
    multicast: bool = True,
) -> tuple[ScanResult, AuditResult | None]:
    """Scan, record in the inventory (when given), and assess: the job behind `scan` and
    `sim demo`.

    Raises:
        UsageError: bad targets.
        InventoryError: the inventory cannot be written.
    """
    knowledge = KnowledgeStore().load() if audit else None
    probing = (
        SecurityProbing(
            knowledge,
            ledger=store if store is not None else MemoryLedger(),
            options=ProbeOptions(credential_checks=credential_checks),
        )
        if knowledge is not None
        else None
    )
    with ProgressBar() as bar:
        result, scope = await run_scan(
            targets, settings=settings, credentials=credentials, observer=bar,
            multicast=multicast, probing=probing,
        )  # fmt: skip
    if store is not None:
        result = store.record_scan(result, [str(a) for a in scope.addresses])
    assessment = (
        assess_scan(result, knowledge, store, owner_apps=open_owner_apps().installed())
        if knowledge is not None
        else None
    )
    return result, assessment


def show(result: ScanResult, assessment: AuditResult | None, output: OutputFormat) -> None:
    """Print a scan (and its assessment) as a table or as versioned JSON."""
    if output is OutputFormat.JSON:
        sys.stdout.write(scan_to_json(result, assessment) + "\n")
        return
    print_scan(result, stdout)
    if assessment is not None:
        apps = app_labels(open_owner_apps().installed())
        print_findings(assessment, stdout, labels(devices_from_scan(result)) | apps)
