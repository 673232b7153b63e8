"""How an upgrade plan looks: the table and the versioned JSON document."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from campatch.cli._output import stdout
from campatch.model import FirmwareRelease
from campatch.patch.plan import DevicePlan, Plan

#: Version of the ``--plan --format json`` document.
PLAN_FORMAT_VERSION = 1


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
