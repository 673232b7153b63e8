"""CSV: one row per finding (or per device) that a spreadsheet reads back unchanged."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from campatch.report.csv import DEVICE_COLUMNS, FINDING_COLUMNS, to_csv, to_devices_csv
from report.report_fixtures import (
    HIK,
    HIK_REMEDIATION,
    NOW,
    NVR,
    finding_count,
    on,
    sample_findings,
    sample_fleet,
)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_findings_csv_parses_back_one_row_per_finding_worst_first() -> None:
    text = to_csv(sample_fleet(), sample_findings())
    parsed = rows(text)
    assert tuple(parsed[0]) == FINDING_COLUMNS
    assert len(parsed) == finding_count(sample_findings())
    assert [r["severity"] for r in parsed] == sorted(
        (r["severity"] for r in parsed), key=["critical", "high", "medium", "low", "info"].index
    )
    cve = next(r for r in parsed if r["advisory"] == "CVE-2017-7921")
    assert (cve["device_key"], cve["vendor"], cve["model"]) == (HIK, "Hikvision", "DS-2CD2042WD-I")
    assert (cve["firmware"], cve["kev"], cve["certainty"]) == (
        "V5.4.5 build 170124",
        "yes",
        "confirmed",
    )
    assert cve["remediation"] == HIK_REMEDIATION
    assert cve["address"] == "192.0.2.10"
    assert text.endswith("\r\n")


def test_findings_csv_lists_devices_in_key_order_within_a_severity() -> None:
    parsed = rows(to_csv(sample_fleet(), sample_findings()))
    assert [(r["device_key"], r["check"]) for r in parsed[:3]] == [
        ("mac:3c:ef:8c:44:55:66", "known-vulnerability"),
        (HIK, "known-vulnerability"),
        (HIK, "default-credentials"),
    ]
    assert [r["check"] for r in parsed[3:6]] == ["open-stream", "port-forward", "telnet-open"]
    assert (parsed[-1]["device_key"], parsed[-1]["address"]) == (NVR, "192.0.2.20")


def test_devices_csv_counts_findings_and_firmware_age() -> None:
    parsed = {
        r["device_key"]: r for r in rows(to_devices_csv(sample_fleet(), sample_findings(), now=NOW))
    }
    assert tuple(next(iter(parsed.values()))) == DEVICE_COLUMNS
    hik = parsed[HIK]
    assert (hik["critical_findings"], hik["high_findings"], hik["worst_severity"]) == (
        "2",
        "3",
        "critical",
    )
    assert hik["firmware_age_days"] == "3384"
    assert (parsed[NVR]["firmware"], parsed[NVR]["firmware_age_days"]) == ("", "")


def test_hostile_cells_cannot_run_as_formulas_or_carry_escape_codes() -> None:
    evil = replace(
        sample_findings()[1].findings[0],
        title='=HYPERLINK("http://evil.example","click")',
        evidence='\x1b[31mred\x1b[0m, "quoted"\nsecond line',
        remediation="@SUM(1+1)",
    )
    [row] = rows(to_csv(sample_fleet(), [on(HIK, "192.0.2.10", evil)]))
    assert row["title"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["remediation"] == "'@SUM(1+1)"
    assert row["evidence"] == 'red, "quoted" second line'
