"""Readable terminal tables (rich) for scans and the inventory."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from campatch.inventory.interface import DeviceRow
from campatch.model import DeviceClass, Field, HostReport, ScanResult

_CLASS_LABEL = {
    DeviceClass.CAMERA: "camera",
    DeviceClass.NVR: "NVR",
    DeviceClass.DVR: "DVR",
    DeviceClass.NOT_CAMERA: "not a camera",
    DeviceClass.UNKNOWN: "unknown",
}


def _cell(value: str | None) -> Text:
    return Text(value) if value else Text("?", style="dim")


def _disputed(host: HostReport, f: Field) -> Text:
    fv = host.identity.fields.get(f)
    if fv is None:
        return Text("?", style="dim")
    text = Text(fv.value)
    if fv.disagreements:
        others = ", ".join(f"{o.value} ({o.source})" for o in fv.disagreements)
        text.append(f"  ≠ {others}", style="yellow")
    return text


def print_scan(result: ScanResult, console: Console) -> None:
    """Print a scan: video devices, other hosts, changes and problems."""
    video = [h for h in result.hosts if h.device_class.is_video_device]
    others = [h for h in result.hosts if not h.device_class.is_video_device]
    console.print(_video_table(video, title=f"Cameras, NVRs and DVRs ({len(video)})"))
    if others:
        console.print(_other_table(others))
    if result.changes:
        console.print(_changes_table(result))
    problems = [(h.address, p.source, p.message) for h in result.hosts for p in h.problems]
    problems += [("-", p.source, p.message) for p in result.problems]
    if problems:
        table = Table(title="What could not be checked", title_justify="left")
        for col in ("host", "where", "why"):
            table.add_column(col)
        for row in problems:
            table.add_row(*row)
        console.print(table)


_IDENTITY_COLUMNS = ("address", "kind", "vendor", "model", "hardware", "firmware", "serial", "MAC")


def _identity_table(title: str, last_column: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in (*_IDENTITY_COLUMNS, last_column):
        table.add_column(col, overflow="fold")
    return table


def _firmware(version: str | None, build: str | None) -> str | None:
    return " ".join(v for v in (version, build) if v) or None


def _video_table(hosts: Sequence[HostReport], title: str) -> Table:
    table = _identity_table(title, "login")
    for h in hosts:
        firmware = _firmware(h.identity.get(Field.FIRMWARE), h.identity.get(Field.BUILD))
        vendor = h.identity.get(Field.VENDOR)
        brand = h.identity.get(Field.BRAND)
        shown = (
            f"{brand} ({vendor})"
            if brand and vendor and brand.casefold() != vendor.casefold()
            else vendor
        )
        table.add_row(
            h.address,
            _CLASS_LABEL[h.device_class],
            _cell(shown),
            _disputed(h, Field.MODEL),
            _cell(h.identity.get(Field.HARDWARE)),
            _cell(firmware),
            _disputed(h, Field.SERIAL),
            _disputed(h, Field.MAC),
            h.auth.value.replace("_", " "),
        )
    return table


def _other_table(hosts: Sequence[HostReport]) -> Table:
    table = Table(title=f"Other hosts ({len(hosts)}, not counted as cameras)", title_justify="left")
    for col in ("address", "is", "open ports"):
        table.add_column(col)
    for h in hosts:
        ports = ", ".join(f"{s.port}/{s.transport}" for s in h.services)
        table.add_row(h.address, h.what or _CLASS_LABEL[h.device_class], ports)
    return table


def _changes_table(result: ScanResult) -> Table:
    table = Table(title="Changes since the last scan", title_justify="left")
    for col in ("change", "device", "address", "before", "after"):
        table.add_column(col)
    for c in result.changes:
        table.add_row(c.kind.value.replace("_", " "), c.device_key, c.address, c.before, c.after)
    return table


def print_devices(rows: Sequence[DeviceRow], console: Console) -> None:
    """Print the inventory."""
    table = _identity_table(f"Inventory ({len(rows)} devices)", "last seen")
    for r in rows:
        firmware = _firmware(r.firmware, r.build)
        kind = r.what or _CLASS_LABEL[r.device_class]
        if r.gone:
            kind += " (gone)"
        table.add_row(
            r.address, kind, _cell(r.vendor), _cell(r.model), _cell(r.hardware),
            _cell(firmware), _cell(r.serial), _cell(r.mac),
            r.last_seen.strftime("%Y-%m-%d %H:%M"),
        )  # fmt: skip
    console.print(table)
