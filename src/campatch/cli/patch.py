"""``campatch patch``: the upgrade plan and step-by-step instructions (changes nothing).

``--plan`` shows, for the inventory's video devices (or those at TARGETS), the target
release, the path of releases to install, the advisories fixed, the expected downtime
and why a device cannot be upgraded automatically. ``--instructions`` writes the
steps an owner follows by hand, as Markdown or self-contained HTML. Both read the
inventory and the knowledge base only; no device is contacted.

Automatic apply is not part of this version: without ``--plan`` or ``--instructions``
the command says so in one line and exits 2.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, assert_never

import typer
from rich.table import Table
from rich.text import Text

from campatch.audit.auditor import devices_from_inventory
from campatch.audit.interface import DeviceFacts
from campatch.cli._common import DbOption, inventory
from campatch.cli._output import fatal, stdout
from campatch.cli.report import write_atomically
from campatch.discovery.targets import parse_targets
from campatch.inventory.apps import open_owner_apps
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.store import KnowledgeStore
from campatch.model import FirmwareRelease
from campatch.patch.instructions import build_guide, outdated_apps, to_html, to_markdown
from campatch.patch.plan import DevicePlan, Plan, Strategy, plan_upgrades

#: Version of the ``--plan --format json`` document.
PLAN_FORMAT_VERSION = 1
NO_APPLY = (
    "automatic apply is not available in this version of campatch; use --plan to see "
    "what would change or --instructions for step-by-step instructions"
)


class PatchFormat(StrEnum):
    """``campatch patch --format``: table or json with --plan, markdown or html with
    --instructions."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"

    def __str__(self) -> str:
        return self.value


_PLAN_FORMATS = (PatchFormat.TABLE, PatchFormat.JSON)
_GUIDE_FORMATS = (PatchFormat.MARKDOWN, PatchFormat.HTML)


def patch_command(
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="Addresses, networks or ranges to include (default: every device)."),
    ] = None,
    plan: Annotated[bool, typer.Option("--plan", help="Show the upgrade plan.")] = False,
    instructions: Annotated[
        bool, typer.Option("--instructions", help="Write step-by-step upgrade instructions.")
    ] = False,
    strategy: Annotated[
        Strategy, typer.Option("--strategy", help="minimum-fix or latest.")
    ] = Strategy.MINIMUM_FIX,
    output_format: Annotated[
        PatchFormat | None,
        typer.Option("--format", "-f", help="table|json (--plan), markdown|html (--instructions)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    to_version: Annotated[
        str | None, typer.Option("--to", help="Plan this firmware version instead.")
    ] = None,
    allow_downgrade: Annotated[
        bool, typer.Option("--allow-downgrade", help="Allow --to an older version.")
    ] = False,
    allow_reinstall: Annotated[
        bool, typer.Option("--allow-reinstall", help="Allow --to the installed version.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Plan firmware upgrades or write instructions (changes no device)."""
    mode = _mode(plan, instructions, output_format)
    knowledge = KnowledgeStore().load()
    devices = _devices(db, targets or [])
    result = plan_upgrades(devices, knowledge, strategy=strategy, version=to_version,
                           allow_downgrade=allow_downgrade, allow_reinstall=allow_reinstall)  # fmt: skip
    if mode is PatchFormat.TABLE:
        print_plan(result)
        return
    _emit(_render(mode, result, knowledge), output)


def _mode(plan: bool, instructions: bool, chosen: PatchFormat | None) -> PatchFormat:
    """The output format, after checking the options make sense together."""
    if plan and instructions:
        fatal("--plan and --instructions cannot be used together", "run them one at a time")
    if not plan and not instructions:
        fatal(NO_APPLY)
    allowed = _PLAN_FORMATS if plan else _GUIDE_FORMATS
    if chosen is not None and chosen not in allowed:
        names = " or ".join(str(f) for f in allowed)
        fatal(f"--format {chosen} does not go with --{'plan' if plan else 'instructions'}",
              f"use {names}")  # fmt: skip
    return chosen or allowed[0]


def _devices(db: str | None, targets: Sequence[str]) -> list[DeviceFacts]:
    """The inventory's video devices, only those at ``targets`` when given."""
    wanted = {str(a) for a in parse_targets(targets)} if targets else None
    store = inventory(db)
    try:
        devices = devices_from_inventory(store)
    finally:
        store.close()
    if wanted is None:
        return devices
    return [d for d in devices if _normal(d.report.address) in wanted]


def _normal(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def _render(mode: PatchFormat, result: Plan, knowledge: KnowledgeBase) -> str:
    match mode:
        case PatchFormat.JSON:
            return json.dumps(plan_to_dict(result), indent=2) + "\n"
        case PatchFormat.MARKDOWN | PatchFormat.HTML:
            apps = outdated_apps(knowledge, open_owner_apps().installed())
            guide = build_guide(result, apps, include_automatic=True)
            return to_markdown(guide) if mode is PatchFormat.MARKDOWN else to_html(guide)
        case PatchFormat.TABLE:
            raise ValueError("the table is printed, not rendered")
        case _:
            assert_never(mode)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomically(output, text)
    except OSError as err:
        fatal(f"cannot write {output}: {err.strerror or err}", "check the folder exists")


# --- JSON ---------------------------------------------------------------------------


def _release(release: FirmwareRelease) -> dict[str, Any]:
    return {
        "version": release.version,
        "hardware": release.hardware,
        "region": release.region,
        "download_page": release.download_page or release.provenance.url,
        "url": release.url,
        "sha256": release.sha256,
        "size": release.size,
        "source": release.provenance.source,
    }


def _device(item: DevicePlan) -> dict[str, Any]:
    return {
        "key": item.key,
        "address": item.address,
        "vendor": item.vendor,
        "model": item.model,
        "hardware": item.hardware,
        "region": item.region,
        "current": item.current,
        "target": _release(item.target) if item.target else None,
        "path": [_release(r) for r in item.path],
        "fixes": list(item.fixes),
        "unfixed": list(item.unfixed),
        "downtime_s": item.downtime_s,
        "flags": [str(f) for f in item.flags],
        "ready": item.ready,
        "skips": [
            {"reason": str(s.reason), "detail": s.detail, "safety_case": s.safety_case}
            for s in item.skips
        ],
    }


def plan_to_dict(result: Plan) -> dict[str, Any]:
    """The plan as the versioned ``campatch-patch-plan`` JSON document."""
    return {
        "format": "campatch-patch-plan",
        "version": PLAN_FORMAT_VERSION,
        "strategy": str(result.strategy),
        "devices": [_device(d) for d in result.devices],
    }


# --- table --------------------------------------------------------------------------


def _minutes(seconds: int | None) -> str:
    return "" if seconds is None else f"~{max(1, round(seconds / 60))} min"


def _status(item: DevicePlan) -> Text:
    if item.ready:
        flags = ", ".join(str(f) for f in item.flags)
        return Text("ready" + (f" ({flags})" if flags else ""), style="green")
    return Text("\n".join(f"{s.reason}: {s.detail}" for s in item.skips), style="yellow")


def print_plan(result: Plan) -> None:
    """Print the plan as a table: one row per device, the reasons in full."""
    table = Table(title=f"Upgrade plan ({result.strategy}); nothing has been changed",
                  title_justify="left", show_lines=True)  # fmt: skip
    for column in ("device", "installed", "target", "path", "fixes", "downtime", "status"):
        table.add_column(column)
    for item in result.devices:
        table.add_row(
            Text(f"{item.address}\n{item.name}"),
            Text(item.current or "?"),
            Text(item.target.version if item.target else "-"),
            Text(" -> ".join(r.version for r in item.path)),
            Text(", ".join(item.fixes)),
            Text(_minutes(item.downtime_s)),
            _status(item),
        )
    stdout.print(table)
    ready = len(result.ready)
    stdout.print(f"{ready} of {len(result.devices)} device(s) could be upgraded automatically.")
