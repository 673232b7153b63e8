"""``campatch apps``: the phone and PC viewer apps the owner uses, against the app catalog.

The list is kept in ``apps.json`` in campatch's data directory
(:mod:`campatch.inventory.apps`); ``campatch audit``, ``scan`` and ``report`` check it
with the ``viewer-app-outdated`` check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import typer
from rich.table import Table

from campatch.audit.checks.apps import app_key
from campatch.cli._output import fatal, stderr, stdout
from campatch.inventory.apps import APP_PLATFORMS, OwnerApp, open_owner_apps
from campatch.knowledge.store import KnowledgeStore
from campatch.knowledge.versions import Ordering, Scheme, compare, parse_version
from campatch.model import ViewerApp

app = typer.Typer(
    help="The viewer apps you use (phone and PC), checked against their latest releases.",
    no_args_is_help=True,
)

NameArg = Annotated[
    str, typer.Argument(help='The app\'s name, e.g. "Hik-Connect".', show_default=False)
]
_PLATFORM_HELP = f"Where it runs: {', '.join(APP_PLATFORMS)}."


def catalog() -> dict[tuple[str, str], ViewerApp]:
    """The app catalog (bundle and stored sources), by (name case-folded, platform)."""
    apps = KnowledgeStore().load().apps()
    return {(a.name.casefold(), a.platform.casefold()): a for a in apps}


def status(installed: str, latest: ViewerApp | None) -> str:
    """``current``, ``outdated``, ``cannot compare`` or ``not in catalog``."""
    if latest is None:
        return "not in catalog"
    order = compare(
        parse_version(Scheme.GENERIC, installed),
        parse_version(Scheme.GENERIC, latest.latest_version),
    )
    if order is Ordering.LESS:
        return "outdated"
    return "cannot compare" if order is Ordering.UNKNOWN else "current"


def app_labels(apps: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """Finding key of each declared app -> the line naming it above its findings."""
    return {app_key(n, p): f"{n} on {p}, version {v}" for (n, p), v in apps.items()}


@app.command("add")
def add_command(
    name: NameArg,
    platform: Annotated[str, typer.Option("--platform", "-p", help=_PLATFORM_HELP)],
    version: Annotated[
        str, typer.Option("--version", help="The installed version (see the app's About screen).")
    ],
) -> None:
    """Declare (or update) an app you use and its installed version."""
    entry, replaced = open_owner_apps().add(name, platform, version)
    stdout.print(
        f"{'updated' if replaced else 'added'} {entry.name} on {entry.platform}, version {entry.version}"
    )
    latest = catalog().get((entry.name.casefold(), entry.platform))
    if latest is None:
        stderr.print(
            f"note: campatch's catalog has no verified latest version of {entry.name} on "
            f"{entry.platform}, so it cannot tell whether it is current "
            "(`campatch apps catalog` lists the apps it knows)."
        )
    else:
        stdout.print(f"status: {status(entry.version, latest)} (latest {latest.latest_version})")


@app.command("list")
def list_command() -> None:
    """List the apps you use: installed version, latest known version, status."""
    entries = open_owner_apps().entries()
    known = catalog()
    table = Table(title=f"Viewer apps ({len(entries)})", title_justify="left")
    for col in ("app", "platform", "installed", "latest", "status", "source"):
        table.add_column(col)
    for entry in entries:
        table.add_row(*_row(entry, known.get((entry.name.casefold(), entry.platform))))
    stdout.print(table)
    if not entries:
        stdout.print(
            'Add one with: campatch apps add "Hik-Connect" --platform android --version 6.2.1'
        )


def _row(entry: OwnerApp, latest: ViewerApp | None) -> tuple[str, ...]:
    if latest is None:
        return (entry.name, entry.platform, entry.version, "-", status(entry.version, None), "-")
    when = f" (as of {latest.provenance.retrieved})" if latest.provenance.retrieved else ""
    return (
        entry.name, entry.platform, entry.version, latest.latest_version,
        status(entry.version, latest), latest.provenance.source + when,
    )  # fmt: skip


@app.command("remove")
def remove_command(
    name: NameArg,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform", "-p", help="Only on this platform (default: all).", show_default=False
        ),
    ] = None,
) -> None:
    """Forget an app you no longer use."""
    removed = open_owner_apps().remove(name, platform)
    if not removed:
        fatal(
            f"no app {name!r} declared" + (f" on {platform}" if platform else ""),
            tip="`campatch apps list` shows the declared apps",
        )
    stdout.print(f"removed {removed} entr{'ies' if removed != 1 else 'y'} for {name}")


@app.command("catalog")
def catalog_command() -> None:
    """List the viewer apps whose latest version campatch knows, with their source."""
    apps = sorted(catalog().values(), key=lambda a: (a.name.casefold(), a.platform))
    table = Table(title=f"Viewer app catalog ({len(apps)})", title_justify="left")
    for col in ("app", "vendor", "platform", "latest", "released", "checked", "evidence"):
        table.add_column(col)
    for a in apps:
        table.add_row(
            a.name, a.vendor, a.platform, a.latest_version, a.released or "-",
            a.provenance.retrieved or "-", a.provenance.url or a.provenance.source,
        )  # fmt: skip
    stdout.print(table)
