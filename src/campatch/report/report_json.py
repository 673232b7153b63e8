"""The versioned JSON form of ``campatch report --format json``: devices, findings, coverage.

The shape is described by ``schemas/report-v1.schema.json`` (JSON Schema 2020-12),
which a test validates real output against. Findings and coverage use the same objects
as the audit's JSON (:func:`~campatch.report.findings.finding_to_dict`,
:func:`~campatch.report.findings.coverage_to_dict`). Additive changes keep ``version``
1; anything that removes or renames a key bumps it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from typing import Any

from campatch import __version__
from campatch.audit.baseline import Coverage
from campatch.audit.result import worst_first
from campatch.model import DeviceFindings, Finding, Problem
from campatch.report.findings import coverage_to_dict, finding_to_dict
from campatch.report.fleet import (
    ReportDevice,
    device_label,
    device_status,
    findings_by_key,
    firmware_age_days,
)

__all__ = ["FORMAT_VERSION", "SCHEMA_ID", "report_schema", "to_json"]

SCHEMA_ID = "https://campatch.dev/schemas/report-v1.schema.json"
FORMAT_VERSION = 1


def report_schema() -> dict[str, Any]:
    """The JSON Schema of :func:`to_json` output."""
    path = resources.files("campatch.report").joinpath("schemas/report-v1.schema.json")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def to_json(
    devices: Sequence[ReportDevice],
    groups: Sequence[DeviceFindings],
    coverage: Coverage | None,
    *,
    now: datetime,
    problems: Sequence[Problem] = (),
) -> str:
    """The report as indented JSON text.

    Args:
        devices: the devices reported on.
        groups: the audit's findings, per device (``AuditResult.by_device``); the
            document lists them in one list, worst first.
        coverage: the audit's baseline coverage (None when no audit ran).
        now: when the report was made.
        problems: checks that failed on a device.

    Returns:
        JSON text valid against ``report-v1.schema.json``.
    """
    found = findings_by_key(groups)
    document = {
        "$schema": SCHEMA_ID,
        "format": "campatch-report",
        "version": FORMAT_VERSION,
        "tool": {"name": "campatch", "version": __version__},
        "generated_at": now.isoformat(),
        "devices": [_device(d, found.get(d.row.key, ()), now) for d in devices],
        "findings": [finding_to_dict(g, f) for g, f in worst_first(groups)],
        "coverage": coverage_to_dict(coverage) if coverage is not None else None,
        "problems": [{"source": p.source, "message": p.message} for p in problems],
    }
    return json.dumps(document, indent=2)


def _device(device: ReportDevice, mine: Sequence[Finding], now: datetime) -> dict[str, Any]:
    r = device.row
    return {
        "key": r.key,
        "label": device_label(r),
        "address": r.address,
        "class": r.device_class.value,
        "vendor": r.vendor,
        "model": r.model,
        "hardware": r.hardware,
        "firmware": r.firmware,
        "build": r.build,
        "serial": r.serial,
        "mac": r.mac,
        "firmware_released": device.firmware_released or None,
        "firmware_age_days": firmware_age_days(device, now),
        "status": device_status(mine).name.lower(),
        "findings": len(mine),
        "last_seen": r.last_seen.isoformat(),
        "gone": r.gone,
    }
