"""``campatch``: the command line. Thin: every command calls the library API.

Subcommands live in their own modules (``cli/scan.py``, ``cli/creds.py`` ...); this
module only assembles them and owns the single error exit.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from campatch import __version__
from campatch.cli import (
    apps,
    audit,
    creds,
    devices,
    feed,
    firmware,
    jobs,
    journal,
    patch,
    report,
    scan,
    sim,
)
from campatch.cli._output import ExitCode, Fatal, stderr
from campatch.errors import CampatchError

app = typer.Typer(
    name="campatch",
    help="Find, identify and keep patched the IP cameras, NVRs and DVRs on your networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("scan")(scan.scan_command)
app.command("devices")(devices.devices_command)
app.command("audit")(audit.audit_command)
app.command("report")(report.report_command)
app.command("patch")(patch.patch_command)
app.command("jobs")(jobs.jobs_command)
app.add_typer(creds.app, name="creds")
app.add_typer(apps.app, name="apps")
app.add_typer(feed.app, name="feed")
app.add_typer(firmware.app, name="firmware")
app.add_typer(journal.app, name="journal")
app.add_typer(sim.app, name="sim")


def _version(value: bool) -> None:
    if value:
        print(f"campatch {__version__}")  # noqa: T201 - the CLI's job
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what campatch does to stderr.")
    ] = False,
) -> None:
    """Find, identify and keep patched the IP cameras, NVRs and DVRs on your networks."""
    logging.getLogger("campatch").setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("campatch: %(levelname)s: %(message)s"))
    logging.getLogger("campatch").addHandler(handler)


def main() -> None:
    """Run the CLI; campatch's own errors become one line on stderr and exit code 2."""
    try:
        app()
    except Fatal as err:
        _die(str(err), err.tip)
    except CampatchError as err:
        _die(str(err))
    except KeyboardInterrupt:
        _die("interrupted")
    except Exception as err:
        logging.getLogger("campatch").debug("internal error", exc_info=True)
        _die(
            f"internal error: {type(err).__name__}: {err}",
            "run with --verbose for details, and please report it",
        )


def _die(message: str, tip: str = "") -> None:
    stderr.print(f"campatch: error: {message}", markup=False, highlight=False)
    if tip:
        stderr.print(f"Tip: {tip}", markup=False, highlight=False)
    raise SystemExit(ExitCode.ERROR)
