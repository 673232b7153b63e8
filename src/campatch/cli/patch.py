"""``campatch patch``: plan, instructions, and the staged rollout itself.

- ``--plan`` shows, for the inventory's video devices (or those at TARGETS), the target
  release, the path of releases to install, the advisories fixed, the expected
  downtime and why a device cannot be upgraded automatically. Nothing is contacted.
- ``--instructions`` writes the steps an owner follows by hand (Markdown or HTML).
- Without either, the plan is shown and, once confirmed (``--yes`` for scripts), a job
  is stored and rolled out: canary, waves, failure halt, maintenance window, per-subnet
  upload limit (see :mod:`campatch.patch.rollout`). ``--dry-run`` shows the waves and
  stops. ``--resume`` continues the last unfinished job after a crash, halt, pause or
  closed window. ``--format json`` prints the per-device results.

Exit codes: 0 every device upgraded and verified (or nothing to do), 1 a device did not
end upgraded or the rollout stopped before the end, 2 an error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, assert_never

import typer

from campatch.audit.interface import DeviceFacts
from campatch.cli._common import DbOption, inventory, video_devices
from campatch.cli._output import fatal
from campatch.cli.plan_view import plan_to_dict, print_plan
from campatch.cli.report import write_atomically
from campatch.cli.rollout_run import RolloutRun
from campatch.config import PortMap
from campatch.inventory.apps import open_owner_apps
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.store import KnowledgeStore
from campatch.patch.apply import ApplySettings
from campatch.patch.firmware_store import FirmwareStore
from campatch.patch.instructions import build_guide, outdated_apps, to_html, to_markdown
from campatch.patch.plan import Plan, Strategy
from campatch.patch.planner import plan_upgrades
from campatch.patch.rollout import RolloutSettings
from campatch.patch.window import MaintenanceWindow


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
    plan: Annotated[bool, typer.Option("--plan", help="Show the upgrade plan only.")] = False,
    instructions: Annotated[
        bool, typer.Option("--instructions", help="Write step-by-step upgrade instructions.")
    ] = False,
    strategy: Annotated[
        Strategy, typer.Option("--strategy", help="minimum-fix or latest.")
    ] = Strategy.MINIMUM_FIX,
    output_format: Annotated[
        PatchFormat | None,
        typer.Option(
            "--format", "-f", help="table|json (plan, rollout), markdown|html (--instructions)."
        ),
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
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before starting.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and the waves; change nothing.")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the last unfinished job (or --job).")
    ] = False,
    job_id: Annotated[int | None, typer.Option("--job", help="The job to resume.")] = None,
    canary: Annotated[int, typer.Option("--canary", help="Devices in the first wave.", min=0)] = 1,
    waves: Annotated[
        str, typer.Option("--waves", help="Cumulative percent of devices after each wave.")
    ] = "10,50,100",
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Devices upgraded at once.", min=1, max=500)
    ] = 10,
    per_subnet: Annotated[
        int, typer.Option("--per-subnet", help="Uploads at once per /24.", min=1, max=500)
    ] = 2,
    max_failures: Annotated[
        float,
        typer.Option(
            "--max-failures",
            help="Percent of a wave allowed to fail before halting.",
            min=0,
            max=100,
        ),
    ] = 5.0,
    pause_after_wave: Annotated[
        bool, typer.Option("--pause-after-wave", help="Stop after each wave until --resume.")
    ] = False,
    window: Annotated[
        str | None, typer.Option("--window", help="Daily hours to start devices: HH:MM-HH:MM.")
    ] = None,
    window_tz: Annotated[
        str, typer.Option("--window-tz", help="IANA time zone of --window.")
    ] = "UTC",
    reboot_timeout: Annotated[
        float | None,
        typer.Option(
            "--reboot-timeout",
            help="Seconds a device may take to return (default: the vendor's expected downtime).",
            min=1.0,
        ),
    ] = None,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="Seconds between status reads.", min=0.05)
    ] = 5.0,
    retries: Annotated[
        int,
        typer.Option("--retries", help="Further uploads after a failed transfer.", min=0, max=10),
    ] = 2,
    port_offset: Annotated[
        int,
        typer.Option(
            "--port-offset",
            min=0,
            max=64000,
            help="Ports below 1024 listen this much higher (the simulator without root).",
        ),
    ] = 0,
    db: DbOption = None,
) -> None:
    """Plan firmware upgrades, write instructions, or roll them out."""
    if plan or instructions:
        _plan_or_guide(plan, instructions, output_format, targets, strategy, to_version,
                       allow_downgrade, allow_reinstall, output, db)  # fmt: skip
        return
    json_out = _rollout_format(output_format)
    apply = ApplySettings(poll_interval_s=poll_interval, reboot_timeout_s=reboot_timeout,
                          settle_s=min(30.0, max(1.0, 10 * poll_interval)), retries=retries,
                          allow_downgrade=allow_downgrade, allow_reinstall=allow_reinstall)  # fmt: skip
    settings = RolloutSettings(
        canary=canary, waves=_waves(waves), concurrency=concurrency, per_subnet=per_subnet,
        max_failure_pct=max_failures, pause_after_wave=pause_after_wave,
        window=MaintenanceWindow.parse(window, window_tz) if window else None, apply=apply,
    )  # fmt: skip
    run = RolloutRun(db, PortMap(low_port_offset=port_offset), json_out)
    if resume:
        run.resume(job_id)
        return
    run.start(targets or [], strategy, to_version, settings, yes=yes, dry_run=dry_run)


def _plan_or_guide(
    plan: bool,
    instructions: bool,
    output_format: PatchFormat | None,
    targets: list[str] | None,
    strategy: Strategy,
    to_version: str | None,
    allow_downgrade: bool,
    allow_reinstall: bool,
    output: Path | None,
    db: str | None,
) -> None:
    mode = _mode(plan, instructions, output_format)
    knowledge = KnowledgeStore().load()
    devices = _devices(db, targets or [])
    # With the firmware store, so the plan says "no image" where the rollout would.
    result = plan_upgrades(devices, knowledge, strategy=strategy, version=to_version,
                           allow_downgrade=allow_downgrade, allow_reinstall=allow_reinstall,
                           firmware_store=FirmwareStore().listing())  # fmt: skip
    if mode is PatchFormat.TABLE:
        print_plan(result)
        return
    _emit(_render(mode, result, knowledge), output)


def _rollout_format(chosen: PatchFormat | None) -> bool:
    """True for JSON output of a rollout (table otherwise)."""
    if chosen in _GUIDE_FORMATS:
        fatal(f"--format {chosen} does not go with a rollout", "use table or json")
    return chosen is PatchFormat.JSON


def _waves(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        fatal(f"--waves {text!r}: expected percentages such as 10,50,100")


def _mode(plan: bool, instructions: bool, chosen: PatchFormat | None) -> PatchFormat:
    """The output format, after checking the options make sense together."""
    if plan and instructions:
        fatal("--plan and --instructions cannot be used together", "run them one at a time")
    allowed = _PLAN_FORMATS if plan else _GUIDE_FORMATS
    if chosen is not None and chosen not in allowed:
        names = " or ".join(str(f) for f in allowed)
        fatal(f"--format {chosen} does not go with --{'plan' if plan else 'instructions'}",
              f"use {names}")  # fmt: skip
    return chosen or allowed[0]


def _devices(db: str | None, targets: Sequence[str]) -> list[DeviceFacts]:
    store = inventory(db)
    try:
        return video_devices(store, targets)
    finally:
        store.close()


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
