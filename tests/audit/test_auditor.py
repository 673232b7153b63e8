"""The auditor: registry, order of findings, coverage (SAFETY B-06), failure isolation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from auditkit import KEY, advisory, context, device, host, tcp

from campatch.audit import auditor
from campatch.audit.baseline import BASELINE, coverage, item_of
from campatch.audit.interface import (
    AppCheck,
    AuditContext,
    Check,
    DeviceFacts,
    DeviceIdentity,
    IdentityCheck,
)
from campatch.inventory.store import open_store
from campatch.model import (
    Certainty,
    DeviceClass,
    Field,
    Finding,
    HostReport,
    KevEntry,
    ScanResult,
    SecurityFacts,
    Severity,
)

#: SAFETY B-06: what no network audit can assess.
NOT_ASSESSABLE = {
    "ETSI 5.4",
    "ETSI 5.7",
    "ETSI 5.8",
    "ETSI 5.11",
    "ETSI 6",
    "OWASP I6",
    "OWASP I10",
}
#: Every item of the three baselines.
ALL_ITEMS = {
    *(f"ETSI 5.{n}" for n in range(1, 14)), "ETSI 6",
    *(f"OWASP I{n}" for n in range(1, 11)),
    "8259A identification", "8259A configuration", "8259A data-protection",
    "8259A interface-access", "8259A update", "8259A state-awareness",
}  # fmt: skip


def test_registry_lists_my_checks_with_unique_ids() -> None:
    ids = [c.id for c in [*auditor.all_identity_checks(), *auditor.all_checks()]]
    assert len(ids) == len(set(ids))
    assert {c.id for c in auditor.all_identity_checks()} == {
        "known-vulnerability",
        "firmware-outdated",
        "end-of-life",
    }
    for wanted in ("known-vulnerability", "firmware-outdated", "end-of-life", "telnet-open",
                   "rtsp-open", "insecure-web-login", "upnp-p2p-enabled"):  # fmt: skip
        assert wanted in ids
    assert [c.id for c in auditor.all_app_checks()] == ["viewer-app-outdated"]


def test_a_missing_check_module_is_skipped_but_a_broken_one_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auditor, "CHECK_MODULES", ["campatch.audit.checks.not_written_yet"])
    assert auditor.all_checks() == []
    monkeypatch.setattr(auditor, "CHECK_MODULES", ["campatch.audit.checks.exposure", "nope.x"])
    with pytest.raises(ModuleNotFoundError):
        auditor.all_checks()


@pytest.mark.safety("B-06")
def test_coverage_lists_every_baseline_item_once_and_the_unassessable_ones_apart() -> None:
    checks: list[Check | IdentityCheck | AppCheck] = [
        *auditor.all_identity_checks(),
        *auditor.all_checks(),
        *auditor.all_app_checks(),
    ]
    cov = coverage((c.id, c.provisions) for c in checks)
    assessed = {i.id for i, _ in cov.assessed}
    not_assessed = {i.id for i in cov.not_assessed}
    unassessable = {i.id for i in cov.not_assessable}
    assert unassessable == NOT_ASSESSABLE
    assert assessed | not_assessed | unassessable == ALL_ITEMS == {i.id for i in BASELINE}
    assert len(cov.assessed) + len(cov.not_assessed) + len(cov.not_assessable) == len(ALL_ITEMS)
    assert {"ETSI 5.3", "ETSI 5.5", "ETSI 5.6", "OWASP I2", "OWASP I4", "OWASP I7"} <= assessed
    assert cov.unknown_provisions == ()
    assert all(i.why_not for i in cov.not_assessable)


def test_no_check_claims_an_item_the_network_cannot_show() -> None:
    checks: list[Check | IdentityCheck | AppCheck] = [
        *auditor.all_identity_checks(),
        *auditor.all_checks(),
        *auditor.all_app_checks(),
    ]
    for check in checks:
        for provision in check.provisions:
            item = item_of(provision)
            assert item is None or item.network_assessable, (check.id, provision)


def test_provisions_map_to_items() -> None:
    found = {p: getattr(item_of(p), "id", None) for p in ("ETSI 5.3-13", "ETSI 5.13-1", "ETSI 6.1")}
    assert found == {"ETSI 5.3-13": "ETSI 5.3", "ETSI 5.13-1": "ETSI 5.13", "ETSI 6.1": "ETSI 6"}
    assert item_of("ETSI 5.30") is None
    assert coverage([("x", ["ETSI 5.99"])]).unknown_provisions == ("ETSI 5.99",)
    assert coverage([("x", ["CISA TA16-288A"])]).unknown_provisions == ()


def test_findings_come_worst_first_kev_first_then_by_device() -> None:
    kev = KevEntry("2021-01-01", "2021-02-01")
    ctx = context((advisory(id="CVE-1", cvss=9.8), advisory(id="CVE-2", cvss=5.0, kev=kev)))
    devices = [
        DeviceFacts("b", host(services=(tcp(23),))),
        DeviceFacts("a", host(security=SecurityFacts(web_tls="self-signed"))),
    ]
    result = auditor.audit(devices, ctx)
    keys = [(f.severity, f.kev, d.key, f.check) for d, f in result.pairs()]
    assert keys[:4] == [
        (Severity.CRITICAL, True, "a", "known-vulnerability"),
        (Severity.CRITICAL, True, "b", "known-vulnerability"),
        (Severity.CRITICAL, False, "a", "known-vulnerability"),
        (Severity.CRITICAL, False, "b", "known-vulnerability"),
    ]
    assert keys[4] == (Severity.HIGH, False, "b", "telnet-open")
    assert keys[-1] == (Severity.LOW, False, "a", "insecure-web-login")
    assert result.devices == 2
    assert result.count == len(keys)
    assert result.worst() is Severity.CRITICAL


def test_each_device_worst_first_and_the_worst_device_first() -> None:
    kev = KevEntry("2021-01-01", "2021-02-01")
    ctx = context((advisory(id="CVE-2", cvss=5.0), advisory(id="CVE-1", cvss=9.8, kev=kev)))
    devices = [
        DeviceFacts("a", host(model="Other-1", services=(tcp(23),))),  # no advisory, telnet
        DeviceFacts("c", host(services=(tcp(8000),))),
        DeviceFacts("b", host(security=SecurityFacts(web_tls="self-signed"))),
    ]
    result = auditor.audit(devices, ctx)

    assert [d.key for d in result.by_device] == ["b", "c", "a"]
    found = {
        d.key: [(f.severity, f.kev, f.check, f.advisory) for f in d.findings]
        for d in result.by_device
    }
    assert found["c"] == [
        (Severity.CRITICAL, True, "known-vulnerability", "CVE-1"),
        (Severity.MEDIUM, False, "known-vulnerability", "CVE-2"),
        (Severity.LOW, False, "vendor-sdk-port", ""),
    ]
    assert found["b"][-1] == (Severity.LOW, False, "insecure-web-login", "")
    assert found["a"] == [(Severity.HIGH, False, "telnet-open", "")]
    assert result.by_device[0].findings[0] is result.by_device[1].findings[0]  # one identity


def test_a_clean_audit_has_no_worst_severity() -> None:
    result = auditor.audit([device()], context(), checks=[], identity_checks=[], app_checks=[])
    assert (result.by_device, result.count, result.worst(), result.pairs()) == ((), 0, None, [])


class Broken:
    id = "broken"
    title = "raises"
    severity = Severity.LOW
    provisions: tuple[str, ...] = ()

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        raise ValueError("bad record")


def test_a_failing_check_is_a_problem_not_a_crash() -> None:
    result = auditor.audit([device()], context(), checks=[Broken()], app_checks=[])
    assert result.by_device == ()
    assert result.problems[0].source == "check:broken"
    assert "bad record" in result.problems[0].message


class BrokenIdentity:
    id = "broken-identity"
    title = "raises"
    severity = Severity.LOW
    provisions: tuple[str, ...] = ()

    def run_identity(self, identity: DeviceIdentity, ctx: AuditContext) -> Iterator[Finding]:
        raise ValueError("bad record")


def test_a_failing_identity_check_is_a_problem_on_each_device_of_the_identity() -> None:
    devices = [device(), DeviceFacts("other", host(address="192.0.2.11"))]
    result = auditor.audit(
        devices, context(), checks=[], identity_checks=[BrokenIdentity()], app_checks=[]
    )
    assert result.by_device == ()
    assert [p.source for p in result.problems] == ["check:broken-identity"] * 2
    assert result.problems[0].message == f"{KEY}: ValueError: bad record"
    assert result.problems[1].message.startswith("other: ValueError")


def _scan(scan_id: int | None, *hosts: HostReport) -> ScanResult:
    now = datetime.now(UTC)
    return ScanResult(scan_id, now, now, ("192.0.2.0/24",), hosts)


def test_assess_scan_uses_the_inventory_for_the_previous_report(tmp_path: Path) -> None:
    printer = host(address="192.0.2.99", mac="00:11:22:33:44:99")
    printer = type(printer)(printer.address, DeviceClass.NOT_CAMERA, printer.identity)
    with open_store(f"sqlite:///{tmp_path / 'inv.db'}") as store:
        store.record_scan(_scan(None, host(firmware="V5.2.0")), ["192.0.2.10"])
        second = store.record_scan(_scan(None, host(), printer), ["192.0.2.10", "192.0.2.99"])
        facts = auditor.devices_from_scan(second, store)
        [latest] = auditor.devices_from_inventory(store)
        result = auditor.assess_scan(second, context((advisory(),)).knowledge, store)
    [only] = facts  # the printer is not assessed
    assert only.key == KEY
    assert only.previous is not None
    assert only.previous.identity.get(Field.FIRMWARE) == "V5.2.0"
    assert latest.report.identity.get(Field.FIRMWARE) == "V5.3.0"
    assert latest.previous is not None
    [vulnerable] = [f for _, f in result.pairs() if f.check == "known-vulnerability"]
    assert vulnerable.advisory == "CVE-2099-0001"
    assert vulnerable.certainty is Certainty.CONFIRMED
