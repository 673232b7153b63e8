"""``known-vulnerability``: confirmed, possible and clean devices (SAFETY B-04)."""

from __future__ import annotations

from auditkit import advisory, context, device, release, run

from campatch.audit.checks.vulnerabilities import KnownVulnerability, describe_range
from campatch.model import Certainty, KevEntry, Severity, VersionRange

CHECK = KnownVulnerability()
KEV = KevEntry(date_added="2021-11-03", due_date="2022-05-03")


def test_firmware_in_range_is_a_confirmed_finding_with_the_fixed_version() -> None:
    [found] = run(CHECK, device(), context((advisory(),)))
    assert found.certainty is Certainty.CONFIRMED
    assert found.advisory == "CVE-2099-0001"
    assert found.severity is Severity.HIGH  # CVSS 8.8
    assert not found.kev
    assert "V5.4.41 or later" in found.remediation
    assert "DS-2CD2032F-I" in found.remediation
    assert "V5.3.0 build 150513" in found.evidence
    assert "ETSI 5.3-2" in found.provisions
    assert "OWASP I5" in found.provisions


def test_kev_listed_advisory_is_critical_with_its_due_date() -> None:
    [found] = run(CHECK, device(), context((advisory(kev=KEV, cvss=5.0),)))
    assert found.severity is Severity.CRITICAL
    assert found.kev
    assert "2022-05-03" in found.evidence


def test_firmware_at_the_fixed_version_gives_nothing() -> None:
    assert run(CHECK, device(firmware="V5.4.41", build=None), context((advisory(),))) == []


def test_other_model_gives_nothing() -> None:
    facts = device(model="DS-7608NI-K2")
    assert run(CHECK, facts, context((advisory(),))) == []


def test_unknown_firmware_is_possible_and_says_to_add_credentials() -> None:
    [found] = run(CHECK, device(firmware=None, build=None), context((advisory(),)))
    assert found.certainty is Certainty.POSSIBLE
    assert "campatch creds add <address>" in found.confirm_by
    assert found.title.startswith("possibly affected")


def test_unorderable_firmware_is_possible_never_clean() -> None:
    [found] = run(CHECK, device(firmware="build-abc", build=None), context((advisory(),)))
    assert found.certainty is Certainty.POSSIBLE
    assert "'build-abc' cannot be ordered for Hikvision" in found.confirm_by


def test_advisory_without_comparable_versions_is_possible() -> None:
    [found] = run(CHECK, device(), context((advisory(ranges=()),)))
    assert found.certainty is Certainty.POSSIBLE
    assert "does not name the affected versions" in found.confirm_by
    assert "No fixed release is known" in found.remediation


def test_every_version_range_is_confirmed_and_says_isolate_or_replace() -> None:
    [found] = run(CHECK, device(), context((advisory(ranges=(VersionRange(),)),)))
    assert found.certainty is Certainty.CONFIRMED
    assert "isolate the device from the internet" in found.remediation


def test_hardware_limit_excludes_another_revision_and_is_possible_when_unknown() -> None:
    limited = context((advisory(hardware=("B",)),))
    assert run(CHECK, device(hardware="A"), limited) == []
    [found] = run(CHECK, device(hardware="B"), limited)
    assert found.certainty is Certainty.CONFIRMED
    [unsure] = run(CHECK, device(), limited)
    assert unsure.certainty is Certainty.POSSIBLE
    assert "hardware revision B" in unsure.confirm_by


def test_region_limit_cannot_be_seen_so_it_is_possible() -> None:
    [found] = run(CHECK, device(), context((advisory(region="china"),)))
    assert found.certainty is Certainty.POSSIBLE
    assert "china" in found.confirm_by


def test_remediation_names_the_lowest_fixing_release_and_where_it_comes_from() -> None:
    releases = (release("V5.5.0"), release("V5.4.41"), release("V5.4.0"), release("V5.4.50"))
    [found] = run(CHECK, device(), context((advisory(),), releases))
    assert "Install firmware V5.4.41 for the DS-2CD2032F-I" in found.remediation
    assert "https://vendor.example/fw/V5.4.41" in found.remediation


def test_remediation_prefers_a_release_for_the_same_hardware() -> None:
    releases = (
        release("V5.4.41"),
        release("V5.4.50", hardware="B"),
        release("V5.4.45", hardware="A"),
    )
    [found] = run(CHECK, device(hardware="B"), context((advisory(),), releases))
    assert "Install firmware V5.4.50 " in found.remediation


def test_a_release_older_than_the_device_is_never_recommended() -> None:
    ranges = (VersionRange(introduced="V5.2.0", fixed="V5.4.41"),)
    releases = (release("V5.1.0"), release("V5.5.0"))
    [found] = run(CHECK, device(), context((advisory(ranges),), releases))
    assert "Install firmware V5.5.0 " in found.remediation


def test_vendor_unknown_gives_nothing_and_model_unknown_only_vendor_wide_advisories() -> None:
    everyone = advisory(id="CVE-2099-0002", models=())
    ctx = context((advisory(), everyone))
    assert run(CHECK, device(vendor=None), ctx) == []
    assert [f.advisory for f in run(CHECK, device(model=None), ctx)] == ["CVE-2099-0002"]


def test_describe_range() -> None:
    assert describe_range(VersionRange("1.0", "2.0")) == "from 1.0 before 2.0"
    assert describe_range(VersionRange(last_affected="3")) == "up to 3"
    assert describe_range(VersionRange()) == "every version"
