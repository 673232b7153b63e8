"""``campatch firmware``: the local store of verified firmware images (add, fetch, list)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from campatch.cli._output import fatal, stdout
from campatch.knowledge.store import KnowledgeStore
from campatch.model import FirmwareRelease
from campatch.patch.fetch import fetch_release
from campatch.patch.firmware_store import FirmwareStore, StoredImage

app = typer.Typer(
    help="Firmware images, kept by SHA-256 and re-verified before every use.",
    no_args_is_help=True,
)

VendorOpt = Annotated[str, typer.Option("--vendor", help="Vendor, e.g. hikvision.")]
ModelOpt = Annotated[str, typer.Option("--model", help="Model, e.g. DS-2CD2143G2-I.")]
HardwareOpt = Annotated[
    str | None, typer.Option("--hardware", help="Hardware revision the image is for.")
]


@app.command("add")
def add_command(
    file: Annotated[
        Path, typer.Argument(help="The image file (digicap.dav, *.bin, *.pak ...).", exists=True)
    ],
    vendor: VendorOpt,
    model: ModelOpt,
    version: Annotated[
        str | None, typer.Option("--version", help="Firmware version the image installs.")
    ] = None,
    hardware: HardwareOpt = None,
) -> None:
    """Add an image you downloaded yourself; you vouch for it, campatch records its hash."""
    if not file.is_file():
        fatal(f"{file} is not a regular file")
    image = FirmwareStore().add(file, vendor, model, version, hardware)
    _print_added("added", image)


@app.command("fetch")
def fetch_command(
    vendor: VendorOpt,
    model: ModelOpt,
    version: Annotated[str, typer.Option("--version", help="Catalog version to download.")],
    hardware: HardwareOpt = None,
) -> None:
    """Download a release from the knowledge catalog, verified against its SHA-256."""
    release = _one_release(vendor, model, version, hardware)
    image = asyncio.run(fetch_release(release, FirmwareStore()))
    _print_added("stored", image)


def _one_release(vendor: str, model: str, version: str, hardware: str | None) -> FirmwareRelease:
    releases = KnowledgeStore().load().releases_for(vendor, model, hardware)
    found = [r for r in releases if r.version.casefold() == version.strip().casefold()]
    if not found:
        known = ", ".join(sorted({r.version for r in releases})[:10]) or "none"
        fatal(
            f"the catalog has no {vendor} {model} release {version} (known: {known})",
            tip="`campatch feed sync` refreshes the catalog; `campatch firmware add` takes "
            "an image you downloaded yourself",
        )
    if len({r.hardware for r in found}) > 1:
        revisions = ", ".join(sorted(r.hardware or "any" for r in found))
        fatal(f"{vendor} {model} {version} exists for several hardware revisions ({revisions})",
              tip="name one with --hardware")  # fmt: skip
    return found[0]


@app.command("list")
def list_command() -> None:
    """List the stored images (hashes are re-checked when an image is used, not here)."""
    images = FirmwareStore().images()
    table = Table(title=f"Firmware images ({len(images)})", title_justify="left")
    for col in ("sha256", "vendor", "model", "hardware", "version", "bytes", "added", "file",
                "source", "header"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for i in images:
        table.add_row(
            i.sha256[:16], i.info.vendor, i.info.model, i.info.hardware or "any",
            i.info.version or "?", str(i.size), i.added, i.info.file_name,
            i.info.provenance.source, i.header,
        )  # fmt: skip
    stdout.print(table)


def _print_added(verb: str, image: StoredImage) -> None:
    info = image.info
    stdout.print(
        f"{verb} {info.vendor} {info.model} {info.version or '(version unknown)'}: "
        f"{image.size} bytes, sha256 {image.sha256}",
        markup=False,
    )
