"""``campatch sim``: the device simulator (demo fleet and test double)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from campatch.audit.result import AuditResult
from campatch.cli._output import OutputFormat, stderr, stdout
from campatch.cli.scan import scan_and_assess, show
from campatch.config import Settings, data_dir
from campatch.errors import UsageError
from campatch.inventory.credentials import open_vault
from campatch.inventory.interface import InventoryStore
from campatch.inventory.store import open_store
from campatch.knowledge.manual import import_file
from campatch.knowledge.store import KnowledgeStore
from campatch.model import Credential, ScanResult, Secret
from campatch.patch.firmware_store import FirmwareStore
from campatch.report.table import print_devices
from campatch.sim.catalog import SOURCE as CATALOG_SOURCE
from campatch.sim.catalog import write_catalog
from campatch.sim.fleet import Fleet

app = typer.Typer(
    help="Run simulated cameras, NVRs, DVRs and other hosts on loopback.", no_args_is_help=True
)


def demo_fleet_path() -> Path:
    """The built-in demo fleet file."""
    return Path(str(resources.files("campatch.sim").joinpath("fleets/demo.yaml")))


FleetOption = Annotated[
    Path | None,
    typer.Option("--fleet", help="Fleet file (YAML/JSON); default: the built-in demo fleet."),
]


@app.command("run")
def run_command(fleet_file: FleetOption = None) -> None:
    """Start a fleet and keep it running until Ctrl-C (scan it from another shell)."""
    asyncio.run(_serve(fleet_file or demo_fleet_path()))


async def _serve(path: Path) -> None:
    fleet = Fleet.from_file(path)
    async with fleet:
        for dev in fleet.devices.values():
            stdout.print(
                f"{dev.spec.address:<16} {dev.spec.personality:<10} {dev.spec.name}", markup=False
            )
        offset = fleet.port_map.low_port_offset
        hint = f" --port-offset {offset}" if offset else ""
        stdout.print(
            f"\nScan it with:  campatch scan {' '.join(_subnets(fleet))}{hint}", markup=False
        )
        if offset:
            stdout.print(
                f"(no right to bind ports below 1024: they listen {offset} higher)", markup=False
            )
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()


@app.command("setup")
def setup_command(fleet_file: FleetOption = None) -> None:
    """Give campatch what the fleet's owner has: its passwords (into the vault) and the
    firmware images its devices accept, with their release records (simulator data)."""
    path = fleet_file or demo_fleet_path()
    vault = open_vault()
    entries = _demo_credentials(path)
    for scope, username, password in entries:
        vault.add(scope, Credential(username, Secret(password)))
    out = data_dir() / "sim-firmware"
    images = write_catalog(path, out)
    result = import_file(out / "releases.yaml", KnowledgeStore())
    store = FirmwareStore()
    for image in images:
        store.add(image.path, image.vendor, image.model, image.version, image.hardware or None)
    stdout.print(f"added {len(entries)} credential(s); imported {len(result.releases)} "
                 f"simulator firmware release(s) and {len(images)} image(s) "
                 f"(source {CATALOG_SOURCE}, not vendor data)", markup=False)  # fmt: skip


@app.command("demo")
def demo_command(
    fleet_file: FleetOption = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.TABLE,
) -> None:
    """Start the demo fleet, scan it (with the credentials its file gives), print the inventory, stop."""
    path = fleet_file or demo_fleet_path()
    with tempfile.TemporaryDirectory(prefix="campatch-demo-") as home:
        os.environ["CAMPATCH_HOME"] = home  # the demo never touches the real inventory
        store = open_store(None)
        try:
            result, assessment = asyncio.run(_demo(path, store))
            show(result, assessment, output)
            if output is OutputFormat.TABLE:
                print_devices(store.devices(), stdout)
        finally:
            store.close()


async def _demo(path: Path, store: InventoryStore) -> tuple[ScanResult, AuditResult | None]:
    fleet = Fleet.from_file(path)
    vault = open_vault()
    for scope, username, password in _demo_credentials(path):
        vault.add(scope, Credential(username, Secret(password)))
    async with fleet:
        subnets = _subnets(fleet)
        stderr.print(f"demo: {len(fleet.devices)} simulated hosts on {', '.join(subnets)}")
        return await scan_and_assess(
            subnets,
            settings=Settings(port_map=fleet.port_map),
            credentials=vault.snapshot(),
            store=store,
        )


def _subnets(fleet: Fleet) -> list[str]:
    nets = {
        ipaddress.ip_network(f"{d.spec.address}/24", strict=False) for d in fleet.devices.values()
    }
    return [str(n) for n in sorted(nets)]


def _demo_credentials(path: Path) -> list[tuple[str, str, str]]:
    """``credentials:`` entries of a fleet file: what the demo owner has typed in."""
    raw: Any = yaml.safe_load(path.read_text()) if path.suffix in (".yaml", ".yml") else None
    entries = raw.get("credentials", []) if isinstance(raw, dict) else []
    try:
        return [(str(e["scope"]), str(e["username"]), str(e["password"])) for e in entries]
    except (KeyError, TypeError) as err:
        raise UsageError(
            f"fleet file {path}: each credential needs scope, username and password"
        ) from err
