"""``campatch scan``: discover and identify every camera, NVR and DVR in the targets."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from campatch.cli._common import DbOption, inventory
from campatch.cli._output import ExitCode, OutputFormat, ProgressBar, stdout
from campatch.config import Limits, PortMap, Settings
from campatch.drivers.identify import CredentialLookup, NoCredentials
from campatch.inventory.credentials import open_vault
from campatch.pipeline import run_scan
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
) -> None:
    """Discover and identify every camera, NVR and DVR in TARGETS, and record the scan."""
    settings = Settings(
        database_url=db,
        limits=Limits(host_deadline_s=timeout, probe_rate_per_s=rate),
        port_map=PortMap(low_port_offset=port_offset),
    )
    store = None if no_store else inventory(db)
    credentials: CredentialLookup = NoCredentials() if no_credentials else open_vault()
    try:
        with ProgressBar() as bar:
            result, scope = asyncio.run(
                run_scan(
                    targets,
                    settings=settings,
                    credentials=credentials,
                    observer=bar,
                    multicast=not no_multicast,
                )
            )
        if store is not None:
            result = store.record_scan(result, [str(a) for a in scope.addresses])
    finally:
        if store is not None:
            store.close()
    if output is OutputFormat.JSON:
        sys.stdout.write(scan_to_json(result) + "\n")
    else:
        print_scan(result, stdout)
    raise typer.Exit(ExitCode.CLEAN)
