"""CSV for spreadsheets: one row per finding (:func:`to_csv`) or per device
(:func:`to_devices_csv`).

RFC 4180 text (comma-separated, ``\\r\\n`` line ends, a header row). Device- and
feed-supplied text is cleaned of escape and control characters, and a cell that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``) is
prefixed with ``'`` (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from campatch.audit.result import worst_first
from campatch.model import DeviceFindings, Finding, Severity
from campatch.report.fleet import ReportDevice, findings_by_key, firmware_age_days, plain

__all__ = ["DEVICE_COLUMNS", "FINDING_COLUMNS", "to_csv", "to_devices_csv"]

FINDING_COLUMNS = (
    "device_key", "address", "vendor", "model", "firmware", "severity", "certainty", "kev",
    "check", "advisory", "title", "evidence", "remediation", "confirm_by", "references",
)  # fmt: skip
DEVICE_COLUMNS = (
    "device_key", "address", "class", "vendor", "model", "hardware", "firmware", "build",
    "serial", "mac", "firmware_released", "firmware_age_days", "worst_severity",
    *(f"{s.value}_findings" for s in Severity), "last_seen", "gone",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@")
_CELL_LIMIT = 4_000


def to_csv(devices: Sequence[ReportDevice], groups: Sequence[DeviceFindings]) -> str:
    """One row per finding, worst first, with the device's vendor, model and firmware.

    Args:
        devices: the devices the findings are about (for vendor/model/firmware columns).
        groups: the audit's findings, per device (``AuditResult.by_device``).

    Returns:
        CSV text with a header row (:data:`FINDING_COLUMNS`).
    """
    by_key = {d.row.key: d for d in devices}
    rows = (_finding_row(g, f, by_key.get(g.key)) for g, f in worst_first(groups))
    return _write(FINDING_COLUMNS, rows)


def to_devices_csv(
    devices: Sequence[ReportDevice], groups: Sequence[DeviceFindings], *, now: datetime
) -> str:
    """One row per device: identity, firmware age and finding counts per severity.

    Args:
        devices: the devices to list.
        groups: the audit's findings, per device (``AuditResult.by_device``).
        now: the date firmware age is measured to.

    Returns:
        CSV text with a header row (:data:`DEVICE_COLUMNS`).
    """
    found = findings_by_key(groups)
    return _write(DEVICE_COLUMNS, (_device_row(d, found.get(d.row.key, ()), now) for d in devices))


def _write(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def _cell(value: str) -> str:
    text = plain(value, _CELL_LIMIT)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _firmware(device: ReportDevice | None) -> str:
    if device is None:
        return ""
    return " ".join(v for v in (device.row.firmware, device.row.build) if v)


def _finding_row(group: DeviceFindings, f: Finding, device: ReportDevice | None) -> list[str]:
    row = device.row if device else None
    return [
        group.key, group.address, (row.vendor or "") if row else "", (row.model or "") if row else "",
        _firmware(device), f.severity.value, f.certainty.value, "yes" if f.kev else "no",
        f.check, f.advisory, f.title, f.evidence, f.remediation, f.confirm_by,
        " ".join(f.references),
    ]  # fmt: skip


def _device_row(device: ReportDevice, mine: Sequence[Finding], now: datetime) -> list[str]:
    r = device.row
    counts = [str(sum(1 for f in mine if f.severity is s)) for s in Severity]
    worst = min((f.severity for f in mine), key=lambda s: s.rank, default=None)
    age = firmware_age_days(device, now)
    return [
        r.key, r.address, r.device_class.value, r.vendor or "", r.model or "", r.hardware or "",
        r.firmware or "", r.build or "", r.serial or "", r.mac or "", device.firmware_released,
        "" if age is None else str(age), worst.value if worst else "", *counts,
        r.last_seen.isoformat(), "yes" if r.gone else "no",
    ]  # fmt: skip
