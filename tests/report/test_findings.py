"""The terminal form and the scan JSON form of an audit: one device's findings together."""

from __future__ import annotations

from datetime import UTC, datetime

import jsonschema
from rich.console import Console

from campatch.audit.baseline import coverage
from campatch.audit.result import AuditResult
from campatch.model import ScanResult
from campatch.report.findings import print_findings
from campatch.report.json import scan_schema, scan_to_dict
from report.report_fixtures import HIK, NVR, app_findings, finding_count, sample_findings


def result() -> AuditResult:
    return AuditResult(
        by_device=(*sample_findings(), app_findings()),
        coverage=coverage([("known-vulnerability", ("ETSI 5.3-2",))]),
        checks=("known-vulnerability",),
        devices=4,
    )


def printed(audit: AuditResult, labels: dict[str, str] | None = None) -> str:
    console = Console(record=True, width=200, color_system=None)
    print_findings(audit, console, labels)
    return console.export_text()


def test_each_device_is_printed_once_with_its_address_and_findings() -> None:
    text = printed(result(), {HIK: "192.0.2.10  Hikvision DS-2CD2042WD-I"})
    assert "192.0.2.10  Hikvision DS-2CD2042WD-I: 5 finding(s)" in text
    assert f"192.0.2.20 ({NVR}): 1 finding(s)" in text
    assert " (app:hik-connect:android): 1 finding(s)" in text
    assert text.index("192.0.2.11") < text.index("Hikvision") < text.index("192.0.2.20")
    assert "to be sure: campatch creds add <address>" in text


def test_no_findings_says_so() -> None:
    empty = AuditResult(by_device=(), coverage=coverage([]), checks=(), devices=3)
    assert "No findings on 3 device(s)." in printed(empty)


def test_scan_json_lists_every_finding_with_its_device_worst_first() -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    audit = result()
    document = scan_to_dict(ScanResult(None, now, now, ("192.0.2.0/24",), ()), audit)
    jsonschema.validate(document, scan_schema())
    assert len(document["findings"]) == finding_count(list(audit.by_device))
    listed = [(f["device"], f["address"], f["check"]) for f in document["findings"]]
    assert listed == [(d.key, d.address, f.check) for d, f in audit.pairs()]
    assert listed[0] == ("mac:3c:ef:8c:44:55:66", "192.0.2.11", "known-vulnerability")
