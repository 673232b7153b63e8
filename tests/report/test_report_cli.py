"""``campatch report`` end to end: a stored scan, re-assessed, in every format."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from campatch.inventory import open_store
from campatch.model import (
    DefaultLogin,
    DeviceClass,
    Field,
    HostReport,
    Identity,
    Observation,
    ScanResult,
    SecurityFacts,
    Service,
)
from campatch.report.report_json import report_schema

ADDRESS = "192.0.2.10"
KEY = "mac:c0:56:e3:00:00:10"
SOURCE = "isapi:/ISAPI/System/deviceInfo"


def vulnerable_camera() -> HostReport:
    """A Hikvision camera on firmware that CVE-2017-7921 (KEV) affects, password unchanged."""
    facts = {
        Field.VENDOR: "Hikvision", Field.MODEL: "DS-2CD2142FWD-I", Field.FIRMWARE: "V5.4.0",
        Field.BUILD: "build 160530", Field.MAC: KEY.removeprefix("mac:"),
        Field.SERIAL: "DS-2CD2142FWD-I20160601AAWR000000010",
    }  # fmt: skip
    identity = Identity.of(Observation(f, v, SOURCE, 0.95) for f, v in facts.items())
    security = SecurityFacts(
        rtsp_open=(f"rtsp://{ADDRESS}:554/Streaming/Channels/101",),
        default_logins=(DefaultLogin("http", "admin", "bundle:default-credentials"),),
        port_forwards=(),
    )
    services = (
        Service(80, "tcp", "http"),
        Service(554, "tcp", "rtsp"),
        Service(23, "tcp", "telnet"),
    )
    return HostReport(ADDRESS, DeviceClass.CAMERA, identity, services=services, security=security)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A campatch home whose inventory holds one scan of the vulnerable camera."""
    now = datetime.now(UTC)
    with open_store(f"sqlite:///{tmp_path / 'inventory.db'}") as store:
        store.record_scan(ScanResult(None, now, now, (ADDRESS,), (vulnerable_camera(),)), [ADDRESS])
    return tmp_path


def campatch(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAMPATCH_HOME": str(home)}
    db = f"sqlite:///{home / 'inventory.db'}"
    return subprocess.run(
        [sys.executable, "-m", "campatch", "report", "--db", db, *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_cyclonedx_report_validates_and_names_the_kev_cve(home: Path) -> None:
    run = campatch(home, "--format", "cyclonedx")
    assert run.returncode == 0, run.stderr
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(run.stdout) is None
    document = json.loads(run.stdout)
    [device] = document["components"]
    assert (device["bom-ref"], device["type"]) == (KEY, "device")
    cve = next(v for v in document["vulnerabilities"] if v["id"] == "CVE-2017-7921")
    assert cve["affects"][0]["ref"] == f"{KEY}#firmware"
    assert cve["analysis"]["state"] == "exploitable"
    assert {"name": "campatch:kev", "value": "true"} in cve["properties"]


def test_json_report_validates_against_the_schema(home: Path) -> None:
    run = campatch(home, "--format", "json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    jsonschema.validate(document, report_schema())
    assert document["devices"][0]["status"] == "now"
    assert any(f["advisory"] == "CVE-2017-7921" for f in document["findings"])


def test_csv_reports_parse_back(home: Path) -> None:
    findings = campatch(home, "--format", "csv")
    devices = campatch(home, "--format", "devices-csv")
    assert findings.returncode == devices.returncode == 0, findings.stderr + devices.stderr
    rows = list(csv.DictReader(io.StringIO(findings.stdout, newline="")))
    assert {r["device_key"] for r in rows} == {KEY}
    assert "CVE-2017-7921" in {r["advisory"] for r in rows}
    [device] = csv.DictReader(io.StringIO(devices.stdout, newline=""))
    assert device["model"] == "DS-2CD2142FWD-I"


def test_html_report_is_written_atomically_to_the_output_file(home: Path) -> None:
    target = home / "report.html"
    target.write_text("old report")
    run = campatch(home, "--format", "html", "--output", str(target))
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "1 device needs attention now" in page
    assert "CVE-2017-7921" in page
    assert [p.name for p in home.iterdir() if p.name.startswith(".report.html")] == []


def test_an_unwritable_output_is_one_error_line_and_exit_code_2(home: Path) -> None:
    run = campatch(home, "--format", "csv", "--output", str(home / "missing" / "r.csv"))
    assert run.returncode == 2
    assert run.stderr.startswith("campatch: error: cannot write")
    assert "Traceback" not in run.stderr
