"""Findings for people (terminal) and for machines (the ``findings``/``coverage`` JSON keys).

The terminal form groups findings by device, devices in the order of their worst
finding, each finding with its evidence and its one remediation; possible findings say
how to confirm them. The coverage section follows: what was assessed, what was not, and
what no network audit can assess (SAFETY B-06).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.text import Text

from campatch.audit.baseline import Coverage
from campatch.audit.result import AuditResult
from campatch.model import Certainty, DeviceFindings, Field, Finding, HostReport, Severity

__all__ = [
    "coverage_to_dict",
    "finding_to_dict",
    "label_of",
    "print_findings",
]

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def finding_to_dict(device: DeviceFindings, f: Finding) -> dict[str, Any]:
    """One finding of ``device`` as a JSON object (``$defs/finding`` in scan-v1)."""
    return {
        "check": f.check,
        "severity": f.severity.value,
        "certainty": f.certainty.value,
        "device": device.key,
        "address": device.address,
        "title": f.title,
        "evidence": f.evidence,
        "remediation": f.remediation,
        "confirm_by": f.confirm_by,
        "advisory": f.advisory,
        "kev": f.kev,
        "references": list(f.references),
        "provisions": list(f.provisions),
    }


def coverage_to_dict(cov: Coverage) -> dict[str, Any]:
    """The baseline coverage as a JSON object (``$defs/coverage`` in scan-v1)."""
    return {
        "assessed": [
            {"id": i.id, "baseline": i.baseline, "title": i.title, "checks": list(checks)}
            for i, checks in cov.assessed
        ],
        "not_assessed": [
            {"id": i.id, "baseline": i.baseline, "title": i.title} for i in cov.not_assessed
        ],
        "not_assessable": [
            {"id": i.id, "baseline": i.baseline, "title": i.title, "why": i.why_not}
            for i in cov.not_assessable
        ],
    }


def _finding(f: Finding) -> Text:
    text = Text("  ")
    text.append(f"{f.severity.value.upper():<8}", style=_STYLE[f.severity])
    text.append(" KEV " if f.kev else " ", style="bold red")
    text.append(f.title)
    if f.certainty is Certainty.POSSIBLE:
        text.append(" (possible)", style="yellow")
    text.append(f"\n           seen: {f.evidence}", style="dim")
    text.append(f"\n           do:   {f.remediation}")
    if f.confirm_by:
        text.append(f"\n           to be sure: {f.confirm_by}", style="yellow")
    return text


def _coverage(cov: Coverage) -> Text:
    text = Text("Baseline coverage\n", style="bold")
    assessed = ", ".join(i.id for i, _ in cov.assessed) or "nothing"
    text.append(f"  assessed: {assessed}\n")
    if cov.not_assessed:
        text.append(
            f"  not assessed by these checks: {', '.join(i.id for i in cov.not_assessed)}\n"
        )
    gaps = ", ".join(i.id for i in cov.not_assessable)
    text.append(f"  cannot be assessed from the network: {gaps}", style="dim")
    return text


def print_findings(
    result: AuditResult, console: Console, labels: Mapping[str, str] | None = None
) -> None:
    """Print the findings grouped by device, worst device first, then the coverage.

    Args:
        result: the audit result.
        console: where to print.
        labels: device key -> how to name it ("192.0.2.5 Hikvision DS-2CD2143G2-I").
    """
    labels = labels or {}
    if not result.count:
        console.print(f"No findings on {result.devices} device(s).", style="green")
    for group in result.by_device:
        label = labels.get(group.key) or f"{group.address} ({group.key})"
        console.print(Text(f"{label}: {len(group.findings)} finding(s)", style="bold"))
        for f in group.findings:
            console.print(_finding(f))
    for problem in result.problems:
        console.print(Text(f"not checked: {problem.source}: {problem.message}", style="yellow"))
    console.print(_coverage(result.coverage))


def label_of(report: HostReport) -> str:
    """How a device is named above its findings: address, vendor, model, firmware."""
    ident = report.identity
    name = " ".join(v for v in (ident.get(Field.VENDOR), ident.get(Field.MODEL)) if v)
    firmware = " ".join(v for v in (ident.get(Field.FIRMWARE), ident.get(Field.BUILD)) if v)
    label = f"{report.address}  {name or 'unidentified device'}"
    return f"{label}, firmware {firmware}" if firmware else label
