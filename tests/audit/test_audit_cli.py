"""``campatch audit``: exit codes 0/1 by ``--fail-on``, and JSON that validates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from auditkit import advisory, context, host, tcp
from typer.testing import CliRunner

from campatch.audit.auditor import assess_scan
from campatch.cli.main import app
from campatch.inventory.store import open_store
from campatch.model import HostReport, ScanResult, SecurityFacts
from campatch.report.json import scan_schema, scan_to_dict

KEV_CAMERA = host("Hikvision", "DS-2CD2032F-I", "V5.3.0", "build 150513")  # CVE-2017-7921 (KEV)
TELNET_CAMERA = host("Milesight", "MS-C2963-PB", "45.7.0.79", None, services=(tcp(23, "telnet"),))


def _scan(*hosts: HostReport) -> ScanResult:
    now = datetime.now(UTC)
    return ScanResult(None, now, now, ("192.0.2.0/24",), hosts)


def audit_cli(tmp_path: Path, *args: str, hosts: tuple[HostReport, ...] = ()) -> tuple[int, str]:
    db = f"sqlite:///{tmp_path / 'inventory.db'}"
    if hosts:
        with open_store(db) as store:
            store.record_scan(_scan(*hosts), [h.address for h in hosts])
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "--db", db, *args], env={"CAMPATCH_HOME": str(tmp_path)})
    return result.exit_code, result.stdout


def test_empty_inventory_exits_0_and_still_lists_coverage(tmp_path: Path) -> None:
    code, out = audit_cli(tmp_path)
    assert code == 0, out
    assert "No findings on 0 device(s)" in out
    assert "cannot be assessed from the network: ETSI 5.4, ETSI 5.7" in out


def test_a_high_finding_exits_1_by_default_and_0_below_fail_on(tmp_path: Path) -> None:
    code, out = audit_cli(tmp_path, hosts=(TELNET_CAMERA,))
    assert code == 1, out
    assert "telnet is open" in out
    assert "Switch telnet off" in out
    code, _ = audit_cli(tmp_path, "--fail-on", "critical")
    assert code == 0
    code, _ = audit_cli(tmp_path, "--fail-on", "LOW")
    assert code == 1


def test_json_output_validates_and_carries_kev_findings_and_coverage(tmp_path: Path) -> None:
    code, out = audit_cli(tmp_path, "--format", "json", hosts=(KEV_CAMERA,))
    assert code == 1
    doc: dict[str, Any] = json.loads(out)
    jsonschema.validate(doc, scan_schema())
    assert doc["format"] == "campatch-audit"
    first = doc["findings"][0]
    assert (first["severity"], first["kev"], first["certainty"]) == ("critical", True, "confirmed")
    assert first["advisory"] in ("CVE-2017-7921", "CVE-2021-36260")
    assert any(f["advisory"] == "CVE-2017-7921" and f["kev"] for f in doc["findings"])
    unassessable = {i["id"] for i in doc["coverage"]["not_assessable"]}
    assert {
        "ETSI 5.4",
        "ETSI 5.7",
        "ETSI 5.8",
        "ETSI 5.11",
        "ETSI 6",
        "OWASP I6",
        "OWASP I10",
    } == unassessable
    assert doc["coverage"]["assessed"]


def test_scan_json_with_and_without_assessment_validates() -> None:
    scan = _scan(KEV_CAMERA)
    plain = scan_to_dict(scan)
    jsonschema.validate(plain, scan_schema())
    assert "findings" not in plain
    assert "coverage" not in plain
    assessed = scan_to_dict(scan, assess_scan(scan, context((advisory(),)).knowledge))
    jsonschema.validate(assessed, scan_schema())
    assert assessed["findings"][0]["advisory"] == "CVE-2099-0001"


def test_schema_rejects_a_possible_finding_without_confirm_by() -> None:
    scan = _scan(host(firmware=None, build=None))
    doc = scan_to_dict(scan, assess_scan(scan, context((advisory(),)).knowledge))
    assert doc["findings"][0]["certainty"] == "possible"
    doc["findings"][0]["confirm_by"] = ""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, scan_schema())


def test_stored_security_facts_reach_the_checks(tmp_path: Path) -> None:
    """What the probes saw during a scan survives the inventory, so ``audit`` sees it."""
    facts = SecurityFacts(rtsp_open=("rtsp://192.0.2.10/live",), upnp_enabled=True)
    watched = host("Milesight", "MS-C2963-PB", "45.7.0.79", None, security=facts)
    code, out = audit_cli(tmp_path, "--format", "json", hosts=(watched,))
    assert code == 1
    checks = {f["check"] for f in json.loads(out)["findings"]}
    assert {"rtsp-open", "upnp-p2p-enabled"} <= checks
