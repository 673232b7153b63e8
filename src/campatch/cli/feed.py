"""``campatch feed``: the knowledge campatch assesses devices with (status, sync, import)."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from campatch.cli._common import DbOption
from campatch.cli._output import ExitCode, fatal, stdout
from campatch.cli.journal import opened_journal
from campatch.errors import KnowledgeSourceError
from campatch.knowledge.bundle import load_bundle
from campatch.knowledge.kev import KEV_URL
from campatch.knowledge.manual import import_file
from campatch.knowledge.nvd import NVD_URL, NvdQuery
from campatch.knowledge.store import KnowledgeStore
from campatch.knowledge.sync import sync

app = typer.Typer(
    help="Advisories and firmware knowledge: status, sync, import.", no_args_is_help=True
)

#: What a sync asks NVD for when the user names nothing: the camera vendors campatch knows.
DEFAULT_KEYWORDS = ("Hikvision", "Dahua", "Amcrest", "Axis Communications", "Foscam", "Reolink")


@app.command("status")
def status_command() -> None:
    """Show every knowledge source: records, last sync, last error."""
    bundle = load_bundle()
    table = Table(title="Knowledge sources", title_justify="left")
    for col in (
        "source",
        "advisories",
        "releases",
        "credentials",
        "apps",
        "last sync",
        "last error",
    ):
        table.add_column(col, overflow="fold")
    table.add_row(
        "bundle (shipped)", str(len(bundle.advisories)), "0",
        str(len(bundle.credentials)), str(len(bundle.apps)), f"built {bundle.built}", "",
    )  # fmt: skip
    for st in KnowledgeStore().status():
        c = st.counts
        table.add_row(
            st.source, str(c.get("advisories", 0)), str(c.get("releases", 0)),
            str(c.get("credentials", 0)), str(c.get("apps", 0)), st.last_sync or "never",
            f"{st.last_error_at} {st.last_error}".strip(),
        )  # fmt: skip
    stdout.print(table)


@app.command("sync")
def sync_command(
    keyword: Annotated[
        list[str] | None, typer.Option("--keyword", "-k", help="NVD keyword search (repeatable).")
    ] = None,
    cpe: Annotated[
        list[str] | None, typer.Option("--cpe", help="NVD CPE 2.3 match string (repeatable).")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option("--since", help="Only CVEs modified since (default: last sync)."),
    ] = None,
    nvd_url: Annotated[
        str, typer.Option("--nvd-url", help="NVD CVE API 2.0 address (a mirror).")
    ] = NVD_URL,
    kev_url: Annotated[
        str, typer.Option("--kev-url", help="CISA KEV JSON address (a mirror).")
    ] = KEV_URL,
    db: DbOption = None,
) -> None:
    """Refresh CISA KEV and NVD advisories. A failed sync keeps the knowledge already stored.

    The NVD API key, if you have one, is read from the NVD_API_KEY environment variable.
    """
    try:
        filters = [NvdQuery(keyword=k) for k in keyword or ()]
        filters += [NvdQuery(virtual_match=c) for c in cpe or ()]
    except ValueError as err:
        fatal(str(err))
    if not filters:
        filters = [NvdQuery(keyword=k) for k in DEFAULT_KEYWORDS]
    if since is not None and since.tzinfo is None:
        fatal("--since needs a time zone, e.g. 2026-01-01T00:00:00+00:00")
    with opened_journal(db, "feed sync") as journal:
        report = asyncio.run(
            sync(
                KnowledgeStore(),
                nvd_filters=filters,
                since=since,
                api_key=os.environ.get("NVD_API_KEY"),
                nvd_url=nvd_url,
                kev_url=kev_url,
            )
        )
        sources = [
            {"source": o.source, "ok": o.ok, "fetched": o.fetched, "stored": o.stored,
             "rejected": len(o.rejected), "error": o.error[:500]}
            for o in report.outcomes
        ]  # fmt: skip
        journal.append("feed-sync", "ok" if report.ok else "failed", detail={"sources": sources})
    for o in report.outcomes:
        line = f"{o.source}: " + (
            f"failed, kept what was stored ({o.error})"
            if o.error
            else f"{o.fetched} fetched, {o.stored} stored"
        )
        if o.rejected:
            line += f", {len(o.rejected)} malformed record(s) set aside"
        stdout.print(line)
    raise typer.Exit(ExitCode.CLEAN if report.ok else ExitCode.ERROR)


@app.command("import")
def import_command(
    path: Annotated[
        Path, typer.Argument(help="A JSON or YAML file of advisories and/or firmware releases.")
    ],
    db: DbOption = None,
) -> None:
    """Add advisories or firmware releases you have (vendor bulletins) to the knowledge."""
    with opened_journal(db, "feed import") as journal:
        try:
            result = import_file(path, KnowledgeStore())
        except KnowledgeSourceError as err:
            error = str(err).splitlines()[0][:500]
            journal.append("feed-import", "failed", detail={"file": str(path), "error": error})
            raise
        counts = {"advisories": len(result.advisories), "releases": len(result.releases)}
        journal.append("feed-import", "ok", detail={"file": str(path), **counts})
    stdout.print(
        f"imported {len(result.advisories)} advisories and {len(result.releases)} firmware releases"
    )
