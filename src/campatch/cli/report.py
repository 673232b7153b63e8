"""``campatch report``: the inventory, re-assessed with current knowledge, as a file.

Contacts no device: the latest stored scan of every device is audited again with the
knowledge base (bundle plus synced feeds), then rendered as JSON, CycloneDX 1.6, CSV
or a self-contained HTML page. Without ``--output`` the report goes to stdout; with it,
the file is written atomically (a temporary file renamed over the target), so a failed
run never leaves half a report.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, assert_never

import typer

from campatch.audit.auditor import audit, devices_from_inventory, now_utc
from campatch.audit.interface import AuditContext
from campatch.audit.result import AuditResult
from campatch.cli._common import DbOption, inventory
from campatch.cli._output import fatal
from campatch.inventory.apps import open_owner_apps
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.store import KnowledgeStore
from campatch.report.csv import to_csv, to_devices_csv
from campatch.report.fleet import ReportDevice, coverage_sections, load_fleet
from campatch.report.html import to_html
from campatch.report.report_json import to_json


class ReportFormat(StrEnum):
    """``campatch report --format`` choices."""

    JSON = "json"
    CYCLONEDX = "cyclonedx"
    CSV = "csv"
    DEVICES_CSV = "devices-csv"
    HTML = "html"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class _Inputs:
    devices: list[ReportDevice]
    result: AuditResult
    knowledge: KnowledgeBase
    now: datetime


def report_command(
    output_format: Annotated[
        ReportFormat,
        typer.Option(
            "--format", "-f", help="json, cyclonedx (1.6), csv (findings), devices-csv or html."
        ),
    ] = ReportFormat.HTML,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout."),
    ] = None,
    db: DbOption = None,
    include_gone: Annotated[
        bool, typer.Option("--all", help="Also report devices that have gone.")
    ] = False,
) -> None:
    """Write a report of the inventory's devices and what is wrong with them.

    Re-assesses the latest stored scan of each device with current knowledge; contacts
    no device.
    """
    text = render(output_format, _gather(db, include_gone))
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomically(output, text)
    except OSError as err:
        fatal(f"cannot write {output}: {err.strerror or err}", "check the folder exists")


def _gather(db: str | None, include_gone: bool) -> _Inputs:
    knowledge = KnowledgeStore().load()
    store = inventory(db)
    try:
        devices = load_fleet(store, knowledge, include_gone=include_gone)
        facts = devices_from_inventory(store)
    finally:
        store.close()
    owner_apps = open_owner_apps().installed()
    result = audit(facts, AuditContext(knowledge=knowledge, owner_apps=owner_apps, now=now_utc()))
    return _Inputs(devices, result, knowledge, datetime.now(UTC))


def render(output_format: ReportFormat, inputs: _Inputs) -> str:
    """The report text in ``output_format`` (see :class:`ReportFormat`)."""
    devices, result, now = inputs.devices, inputs.result, inputs.now
    groups = result.by_device
    match output_format:
        case ReportFormat.JSON:
            return to_json(devices, groups, result.coverage, now=now, problems=result.problems)
        case ReportFormat.CYCLONEDX:
            # Only the advisories the findings name: an NVD-sized store keeps most
            # records on disk, and reading all of them back would take seconds.
            named = {f.advisory for g in groups for f in g.findings if f.advisory}
            found = (inputs.knowledge.advisory(i) for i in sorted(named))
            advisories = {a.id.upper(): a for a in found if a is not None}
            # Imported here: the CycloneDX validator's dependencies take ~1.5 s to import,
            # which every other command would otherwise pay at start-up.
            from campatch.report.cyclonedx import to_cyclonedx

            return to_cyclonedx(devices, groups, now=now, advisories=advisories)
        case ReportFormat.CSV:
            return to_csv(devices, groups)
        case ReportFormat.DEVICES_CSV:
            return to_devices_csv(devices, groups, now=now)
        case ReportFormat.HTML:
            coverage = coverage_sections(result.coverage, result.problems)
            return to_html(devices, groups, coverage, now=now)
        case _:
            assert_never(output_format)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync, then rename it over.

    Raises:
        OSError: the folder is missing or not writable; ``path`` is left as it was.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
