"""CycloneDX 1.6: the fleet as device/firmware components, findings as vulnerabilities."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from campatch.errors import ReportError
from campatch.model import DeviceFindings, Finding, Severity
from campatch.report.cyclonedx import firmware_ref, to_cyclonedx, validate_cyclonedx
from report.report_fixtures import (
    AXIS,
    DAHUA,
    HIK,
    HIK_REMEDIATION,
    NOW,
    NVR,
    app_findings,
    finding_count,
    on,
    sample_advisories,
    sample_findings,
    sample_fleet,
)


def bom(groups: list[DeviceFindings] | None = None) -> dict[str, Any]:
    text = to_cyclonedx(
        sample_fleet(),
        sample_findings() if groups is None else groups,
        now=NOW,
        advisories=sample_advisories(),
    )
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document: dict[str, Any] = json.loads(text)
    return document


def vulns(document: dict[str, Any], vuln_id: str) -> list[dict[str, Any]]:
    return [v for v in document["vulnerabilities"] if v["id"] == vuln_id]


def props(item: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in item.get("properties", [])}


def test_the_fleet_validates_as_cyclonedx_1_6_with_the_library_validator() -> None:
    document = bom()
    assert document["bomFormat"] == "CycloneDX"
    assert document["specVersion"] == "1.6"
    assert document["metadata"]["timestamp"].startswith("2026-05-01T12:00:00")
    assert len(document["vulnerabilities"]) == finding_count(sample_findings())


def test_devices_are_device_components_with_firmware_children() -> None:
    components = {c["bom-ref"]: c for c in bom()["components"]}
    assert set(components) == {HIK, DAHUA, AXIS, NVR}
    hik = components[HIK]
    assert (hik["type"], hik["name"]) == ("device", "Hikvision DS-2CD2042WD-I")
    assert hik["manufacturer"] == {"name": "Hikvision"}
    assert props(hik)["campatch:mac"] == "c0:56:e3:11:22:33"
    assert props(hik)["campatch:serial"] == "DS-2CD2042WD-I20170124"
    [firmware] = hik["components"]
    assert firmware["type"] == "firmware"
    assert firmware["bom-ref"] == firmware_ref(HIK)
    assert firmware["version"] == "V5.4.5 build 170124"
    assert "components" not in components[NVR]  # firmware unknown: no firmware child


def test_a_confirmed_kev_cve_is_exploitable_on_the_firmware_with_rating_and_cwe() -> None:
    [vuln] = vulns(bom(), "CVE-2017-7921")
    assert vuln["source"]["url"] == "https://nvd.nist.gov/vuln/detail/CVE-2017-7921"
    assert vuln["affects"] == [
        {
            "ref": firmware_ref(HIK),
            "versions": [{"version": "V5.4.5 build 170124", "status": "affected"}],
        }
    ]
    assert vuln["analysis"]["state"] == "exploitable"
    assert vuln["analysis"]["response"] == ["update"]
    assert vuln["cwes"] == [287]
    nvd = next(r for r in vuln["ratings"] if r["source"]["name"] == "NVD")
    assert (nvd["score"], nvd["severity"], nvd["method"]) == (10.0, "critical", "CVSSv31")
    assert nvd["vector"] == "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert props(vuln)["campatch:kev"] == "true"
    assert props(vuln)["campatch:kev-date-added"] == "2021-11-03"
    assert vuln["recommendation"] == HIK_REMEDIATION


def test_a_possible_finding_is_in_triage_and_says_how_to_confirm() -> None:
    [vuln] = vulns(bom(), "CVE-2021-33044")
    assert vuln["analysis"]["state"] == "in_triage"
    assert "response" not in vuln["analysis"]
    assert "To confirm: add credentials" in vuln["analysis"]["detail"]
    assert vuln["affects"][0]["versions"][0]["status"] == "unknown"
    assert props(vuln)["campatch:certainty"] == "possible"
    assert vuln["cwes"] == [287]  # "NVD-CWE-Other" is not a CWE number


def test_configuration_findings_affect_the_device_itself() -> None:
    [vuln] = vulns(bom(), "CAMPATCH-default-credentials")
    assert vuln["affects"] == [{"ref": HIK}]
    assert vuln["source"] == {"name": "campatch"}
    assert vuln["ratings"] == [
        {"source": {"name": "campatch"}, "severity": "critical", "method": "other"}
    ]


def test_a_finding_about_an_unlisted_device_gets_a_component_rather_than_being_dropped() -> None:
    [hik] = [g for g in sample_findings() if g.key == HIK]
    creds = [f for f in hik.findings if f.check == "default-credentials"]
    stray = replace(hik, key="addr:192.0.2.99", address="192.0.2.99", findings=tuple(creds))
    document = bom([stray])
    refs = {c["bom-ref"]: c for c in document["components"]}
    assert refs["addr:192.0.2.99"]["name"] == "device at 192.0.2.99"
    assert props(refs["addr:192.0.2.99"])["campatch:address"] == "192.0.2.99"
    assert document["vulnerabilities"][0]["affects"] == [{"ref": "addr:192.0.2.99"}]


def test_an_app_finding_affects_an_application_component() -> None:
    document = bom([app_findings()])
    refs = {c["bom-ref"]: c for c in document["components"]}
    app = refs["app:hik-connect:android"]
    assert (app["type"], app["name"]) == ("application", "hik-connect app (android)")
    assert document["vulnerabilities"][0]["id"] == "CAMPATCH-viewer-app-outdated"


def test_hostile_feed_text_is_cleaned_and_bad_links_are_left_out() -> None:
    hostile = Finding(
        check="known-vulnerability", severity=Severity.HIGH,
        title="\x1b[31mred\x1b[0m <script>alert(1)</script>",
        evidence="\x1b]0;pwned\x07evidence", remediation="update\x1b[2J now",
        advisory="CVE-2099-0001", references=("not a url with spaces", "https://ok.example/a"),
    )  # fmt: skip
    text = to_cyclonedx(sample_fleet(), [on(HIK, "192.0.2.10", hostile)], now=NOW)
    assert "\\u001b" not in text
    assert "\x1b" not in text
    [vuln] = json.loads(text)["vulnerabilities"]
    assert vuln["recommendation"] == "update now"
    assert vuln["advisories"] == [{"url": "https://ok.example/a"}]


def test_an_invalid_document_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ReportError, match=r"does not validate against 1\.6"):
        validate_cyclonedx(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "x": 1}))
