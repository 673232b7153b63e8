"""``campatch devices``: what the inventory knows."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from campatch.cli._common import DbOption, inventory
from campatch.cli._output import OutputFormat, stdout
from campatch.report.table import print_devices


def devices_command(
    db: DbOption = None,
    include_gone: Annotated[
        bool, typer.Option("--all", help="Also list devices that have gone.")
    ] = False,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.TABLE,
) -> None:
    """List the devices in the inventory (from earlier scans; contacts no device)."""
    store = inventory(db)
    try:
        rows = store.devices(include_gone=include_gone)
    finally:
        store.close()
    if output is OutputFormat.JSON:
        items = [
            {
                "key": r.key,
                "address": r.address,
                "class": r.device_class.value,
                "what": r.what,
                "vendor": r.vendor,
                "model": r.model,
                "hardware": r.hardware,
                "firmware": r.firmware,
                "build": r.build,
                "serial": r.serial,
                "mac": r.mac,
                "gone": r.gone,
                "first_seen": r.first_seen.isoformat(),
                "last_seen": r.last_seen.isoformat(),
            }
            for r in rows
        ]
        sys.stdout.write(
            json.dumps({"format": "campatch-devices", "version": 1, "devices": items}, indent=2)
            + "\n"
        )
    else:
        print_devices(rows, stdout)
