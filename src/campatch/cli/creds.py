"""``campatch creds``: device credentials, per host, range or vendor, encrypted at rest."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from campatch.cli._common import DbOption
from campatch.cli._output import fatal, stdout
from campatch.cli.journal import opened_journal
from campatch.inventory.credentials import open_vault
from campatch.model import Credential, Secret

app = typer.Typer(
    help="Manage device credentials (encrypted at rest, never printed).", no_args_is_help=True
)

ScopeArg = Annotated[
    str,
    typer.Argument(
        help="An address (192.0.2.7), a range (192.0.2.0/24) or a vendor (hikvision).",
        show_default=False,
    ),
]


@app.command("add")
def add_command(
    scope: ScopeArg,
    username: Annotated[
        str, typer.Option("--username", "-u", help="Account name on the device.")
    ] = "admin",
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from standard input (for scripts)."
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Add (or replace) the credential for SCOPE; the password is asked for, never an argument."""
    if password_stdin:
        password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        fatal("empty password", tip="devices with no password are found by `campatch scan` as such")
    with opened_journal(db, "creds add") as journal:
        replaced = open_vault().add(scope, Credential(username, Secret(password)))
        result = "replaced" if replaced else "added"
        journal.append("credential-add", result, device=scope, detail={"username": username})
    stdout.print(f"{result} {username} for {scope}", markup=False)


@app.command("list")
def list_command() -> None:
    """List the stored credentials (scope and user name only)."""
    entries = open_vault().entries()
    table = Table(title=f"Credentials ({len(entries)})", title_justify="left")
    for col in ("scope", "kind", "username", "added"):
        table.add_column(col)
    for e in entries:
        table.add_row(
            e.scope.value, e.scope.kind.value, e.username, e.added_at.strftime("%Y-%m-%d %H:%M")
        )
    stdout.print(table)


@app.command("remove")
def remove_command(
    scope: ScopeArg,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Only this account (default: all).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Remove the credentials stored for SCOPE."""
    with opened_journal(db, "creds remove") as journal:
        removed = open_vault().remove(scope, username)
        if removed:
            detail = {"username": username, "removed": removed}
            journal.append("credential-remove", "removed", device=scope, detail=detail)
    if not removed:
        fatal(f"no credential stored for {scope}" + (f" and user {username}" if username else ""))
    stdout.print(
        f"removed {removed} credential{'s' if removed != 1 else ''} for {scope}", markup=False
    )
