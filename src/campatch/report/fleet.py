"""What the report renderers read about each device: the inventory row, its latest scan.

The renderers (:mod:`~campatch.report.cyclonedx`, :mod:`~campatch.report.csv`,
:mod:`~campatch.report.html`) are pure functions of a sequence of
:class:`ReportDevice` and the audit's :class:`~campatch.model.DeviceFindings`
(``AuditResult.by_device``);
:func:`load_fleet` builds that sequence from an
:class:`~campatch.inventory.interface.InventoryStore` (and, when given, the knowledge
base, for the release date of each device's installed firmware).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING

from campatch.audit.baseline import Coverage
from campatch.inventory.interface import DeviceRow, InventoryStore
from campatch.knowledge.interface import clean_text
from campatch.model import Certainty, DeviceFindings, Finding, HostReport, Problem, Severity

if TYPE_CHECKING:
    from campatch.knowledge.index import KnowledgeBase

__all__ = [
    "APP_KEY_PREFIX",
    "ReportDevice",
    "Status",
    "device_label",
    "device_status",
    "findings_by_key",
    "firmware_age_days",
    "load_fleet",
    "plain",
    "plain_lines",
    "subject_label",
    "web_links",
]

_URL_LIMIT = 2_048
_WEB_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)


@dataclass(frozen=True)
class ReportDevice:
    """One device as the reports show it.

    Args:
        row: the inventory's latest view of the device.
        report: the latest scan's report of it (services, security facts), if any.
        firmware_released: release date (ISO) of the installed firmware, where known.
    """

    row: DeviceRow
    report: HostReport | None = None
    firmware_released: str = ""


def load_fleet(
    store: InventoryStore, knowledge: KnowledgeBase | None = None, *, include_gone: bool = False
) -> list[ReportDevice]:
    """The cameras, NVRs and DVRs of the inventory, each with its latest scan report.

    Args:
        store: the inventory.
        knowledge: firmware releases, to date the installed firmware (optional).
        include_gone: also list devices that did not answer their last scan.

    Returns:
        One entry per video device, ordered by address.

    Raises:
        InventoryError: the inventory cannot be read.
    """
    fleet: list[ReportDevice] = []
    for row in store.devices(include_gone=include_gone):
        if not row.device_class.is_video_device:
            continue
        history = store.history(row.key)
        report = history[-1].report if history else None
        fleet.append(ReportDevice(row, report, _released(row, knowledge)))
    return fleet


def _released(row: DeviceRow, knowledge: KnowledgeBase | None) -> str:
    if knowledge is None or not (row.vendor and row.model and row.firmware):
        return ""
    installed = {row.firmware.casefold(), f"{row.firmware} {row.build or ''}".strip().casefold()}
    for release in knowledge.releases_for(row.vendor, row.model, row.hardware):
        if release.version.casefold() in installed and release.released:
            return release.released
    return ""


def device_label(row: DeviceRow) -> str:
    """``"Hikvision DS-2CD2042WD-I"``; falls back to the address when nothing is known."""
    name = " ".join(plain(part) for part in (row.vendor, row.model) if part)
    return name or f"unknown device at {plain(row.address)}"


#: Key prefix of findings about the owner's viewer apps (``"app:<name>:<platform>"``,
#: see :func:`campatch.audit.checks.apps.app_key`).
APP_KEY_PREFIX = "app:"


def subject_label(group: DeviceFindings) -> str:
    """How to name what a group of findings is about when it is no listed device:
    ``"hik-connect app (android)"`` for a viewer app, ``"device at 192.0.2.9"`` otherwise."""
    if group.key.startswith(APP_KEY_PREFIX):
        name, _, platform = group.key.removeprefix(APP_KEY_PREFIX).rpartition(":")
        return f"{plain(name)} app ({plain(platform)})" if name else f"{plain(platform)} app"
    return f"device at {plain(group.address) or plain(group.key)}"


def findings_by_key(groups: Iterable[DeviceFindings]) -> Mapping[str, tuple[Finding, ...]]:
    """Each device's findings by its key, for looking a device up in one step (groups
    that share a key are joined)."""
    found: dict[str, tuple[Finding, ...]] = {}
    for group in groups:
        found[group.key] = found.get(group.key, ()) + group.findings
    return found


def firmware_age_days(device: ReportDevice, now: datetime) -> int | None:
    """Days between the installed firmware's release and ``now``; None when unknown."""
    if not device.firmware_released:
        return None
    try:
        released = date.fromisoformat(device.firmware_released[:10])
    except ValueError:
        return None
    return max((now.date() - released).days, 0)


def plain(value: str | None, limit: int | None = None) -> str:
    """Device- or feed-supplied text made safe to print: no escape or control
    characters, whitespace collapsed, optionally cut (SAFETY F-12)."""
    return clean_text(value or "", limit)


def plain_lines(value: str, limit: int | None = None) -> list[str]:
    """Like :func:`plain`, but keeps the line structure (remediation steps)."""
    lines = (plain(line, limit) for line in value.splitlines())
    return [line for line in lines if line]


def web_links(urls: Iterable[str]) -> list[str]:
    """The http(s) URLs among ``urls``, cleaned, without duplicates; other schemes
    (``javascript:``, ``file:``) and text that is no URL are left out."""
    cleaned = (plain(u, _URL_LIMIT) for u in urls)
    return list(dict.fromkeys(u for u in cleaned if _WEB_URL.fullmatch(u)))


def coverage_sections(coverage: Coverage, problems: Sequence[Problem] = ()) -> dict[str, list[str]]:
    """The audit's baseline coverage as headed lists for people (the HTML report).

    Args:
        coverage: what the audit assessed, did not assess, and cannot assess.
        problems: checks that failed on a device (listed so nothing looks checked
            that was not).

    Returns:
        Heading -> items; empty headings are left out.
    """
    sections = {
        "Checked": [f"{i.title} ({i.id})" for i, _ in coverage.assessed],
        "Not checked in this run": [f"{i.title} ({i.id})" for i in coverage.not_assessed],
        "Cannot be checked from the network": [
            f"{i.title} ({i.id}): {i.why_not}" if i.why_not else f"{i.title} ({i.id})"
            for i in coverage.not_assessable
        ],
        "Checks that failed": [f"{p.source}: {p.message}" for p in problems],
    }
    return {heading: items for heading, items in sections.items() if items}


class Status(Enum):
    """How urgently a device needs its owner, as the summary counts it."""

    NOW = "needs attention now"
    CHECK = "should be checked"
    FINE = "looks fine"


def device_status(findings: Sequence[Finding]) -> Status:
    """NOW for a confirmed critical/serious or exploited-in-the-wild problem; CHECK for
    anything else but information; FINE otherwise."""
    urgent = (Severity.CRITICAL, Severity.HIGH)
    if any(f.certainty is Certainty.CONFIRMED and f.severity in urgent for f in findings):
        return Status.NOW
    if any(f.certainty is Certainty.CONFIRMED and f.kev for f in findings):
        return Status.NOW
    if any(f.severity is not Severity.INFO for f in findings):
        return Status.CHECK
    return Status.FINE
