"""``campatch journal``: the tamper-evident record of what campatch did (SAFETY S-03).

Also the helpers other commands journal through: :func:`opened_journal` for commands
that keep no inventory open, :func:`journal_of` for those that do.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from campatch.cli._common import DbOption, inventory
from campatch.cli._output import ExitCode, OutputFormat, stderr, stdout
from campatch.errors import InventoryError
from campatch.inventory.interface import InventoryStore
from campatch.inventory.journal import SqlJournal, actor_for
from campatch.inventory.store import SqlInventoryStore
from campatch.patch.jobs import JournalEntry

app = typer.Typer(
    help="The tamper-evident journal: logins, credential changes, feed refreshes, "
    "overrides, upgrades.",
    no_args_is_help=True,
)


def journal_of(store: InventoryStore, command: str) -> SqlJournal:
    """The journal of an open inventory, with ``campatch <command>@<user>`` as actor.

    Raises:
        InventoryError: the store keeps no journal.
    """
    if not isinstance(store, SqlInventoryStore):
        raise InventoryError(f"inventory {type(store).__name__} keeps no journal")
    return store.journal(actor_for(command))


@contextmanager
def opened_journal(db: str | None, command: str) -> Iterator[SqlJournal]:
    """Open the inventory (``--db`` or the default) for its journal; closed on exit.

    Raises:
        InventoryError: the inventory cannot be opened.
    """
    store = inventory(db)
    try:
        yield journal_of(store, command)
    finally:
        store.close()


@app.command("show")
def show_command(
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Last N records.", min=1)] = 50,
    device: Annotated[
        str | None,
        typer.Option("--device", help="Only records about this device key or address."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.TABLE,
) -> None:
    """Show the last records of the journal, oldest first."""
    with opened_journal(db, "journal show") as journal:
        entries = journal.entries(limit, device=device)
    if output is OutputFormat.JSON:
        doc = {"format": "campatch-journal", "version": 1, "records": [_json(e) for e in entries]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Journal ({len(entries)} records)", title_justify="left")
    for col in ("seq", "time (UTC)", "actor", "action", "device", "result", "detail"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.device,
            e.result, json.dumps(dict(e.detail), sort_keys=True, ensure_ascii=False),
        )  # fmt: skip
    stdout.print(table)


@app.command("verify")
def verify_command(db: DbOption = None) -> None:
    """Check the hash chain and its head: exit 0 when whole, 1 when tampered with."""
    with opened_journal(db, "journal verify") as journal:
        check = journal.verify()
    if check.ok:
        stdout.print(
            f"journal ok: {check.records} records, head seq {check.head_seq} "
            f"hash {check.head_hash[:16]}"
        )
        raise typer.Exit(ExitCode.CLEAN)
    where = f" at seq {check.bad_seq}" if check.bad_seq is not None else ""
    stderr.print(f"campatch: journal tampered with{where}: {check.reason}")
    raise typer.Exit(ExitCode.FINDINGS)


def _json(e: JournalEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "device": e.device,
        "result": e.result,
        "detail": dict(e.detail),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }
