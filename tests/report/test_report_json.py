"""``campatch report --format json``: valid against the schema in the repo."""

from __future__ import annotations

import json

import jsonschema

from campatch.audit.baseline import coverage
from campatch.audit.result import worst_first
from campatch.model import Problem
from campatch.report.report_json import report_schema, to_json
from report.report_fixtures import (
    AXIS,
    HIK,
    NOW,
    NVR,
    app_findings,
    finding_count,
    sample_findings,
    sample_fleet,
)


def test_report_json_validates_against_its_schema() -> None:
    cov = coverage(
        [("known-vulnerability", ("ETSI 5.3-2",)), ("default-credentials", ("ETSI 5.1-1",))]
    )
    text = to_json(
        sample_fleet(), sample_findings(), cov, now=NOW, problems=[Problem("check:x", "boom")]
    )
    document = json.loads(text)
    validator = jsonschema.Draft202012Validator(
        report_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(document)
    devices = {d["key"]: d for d in document["devices"]}
    assert (devices[HIK]["status"], devices[HIK]["findings"]) == ("now", 5)
    assert devices[NVR]["firmware_age_days"] is None
    assert len(document["findings"]) == finding_count(sample_findings())
    assert document["coverage"]["assessed"]


def test_report_json_without_an_audit_has_null_coverage() -> None:
    document = json.loads(to_json(sample_fleet(), [], None, now=NOW))
    jsonschema.validate(document, report_schema())
    assert document["coverage"] is None
    assert {d["status"] for d in document["devices"]} == {"fine"}


def test_report_json_lists_findings_worst_first_with_their_device() -> None:
    groups = [*sample_findings(), app_findings()]
    document = json.loads(to_json(sample_fleet(), groups, None, now=NOW))
    jsonschema.validate(document, report_schema())
    expected = [(g.key, g.address, f.check, f.title) for g, f in worst_first(groups)]
    listed = [(f["device"], f["address"], f["check"], f["title"]) for f in document["findings"]]
    assert listed == expected
    assert listed[-1][:2] == (NVR, "192.0.2.20")
    devices = {d["key"]: d for d in document["devices"]}
    assert (devices[AXIS]["findings"], devices[AXIS]["status"]) == (0, "fine")
    assert "app:hik-connect:android" not in devices
