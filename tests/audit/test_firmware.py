"""``firmware-outdated`` and ``end-of-life`` against a firmware catalog."""

from __future__ import annotations

from auditkit import context, device, release, run

from campatch.audit.checks.firmware import EndOfLife, FirmwareOutdated
from campatch.model import Certainty, Severity

OUTDATED = FirmwareOutdated()
EOL = EndOfLife()
CATALOG = (release("V5.4.41"), release("V5.5.0"), release("V5.3.0"))


def test_behind_the_latest_release_is_medium_and_names_it() -> None:
    [found] = run(OUTDATED, device(), context(releases=CATALOG))
    assert found.severity is Severity.MEDIUM
    assert found.certainty is Certainty.CONFIRMED
    assert "V5.5.0" in found.remediation
    assert "https://vendor.example/fw/V5.5.0" in found.remediation


def test_at_the_latest_release_gives_nothing() -> None:
    assert run(OUTDATED, device(firmware="V5.5.0", build=None), context(releases=CATALOG)) == []


def test_no_known_release_gives_nothing() -> None:
    assert run(OUTDATED, device(), context()) == []


def test_unorderable_or_unknown_firmware_is_possible() -> None:
    [odd] = run(OUTDATED, device(firmware="weird", build=None), context(releases=CATALOG))
    assert odd.certainty is Certainty.POSSIBLE
    assert "cannot be ordered" in odd.confirm_by
    [unread] = run(OUTDATED, device(firmware=None, build=None), context(releases=CATALOG))
    assert "campatch creds add" in unread.confirm_by


def test_releases_for_other_hardware_are_ignored() -> None:
    catalog = (release("V5.3.0"), release("V5.9.0", hardware="B"))
    assert run(OUTDATED, device(firmware="V5.3.0", hardware="A"), context(releases=catalog)) == []
    [found] = run(OUTDATED, device(firmware="V5.3.0", hardware="B"), context(releases=catalog))
    assert "V5.9.0" in found.title


def test_end_of_life_model_is_high_with_etsi_5_3_13() -> None:
    catalog = (*CATALOG, release("V5.5.1", end_of_life=True))
    [found] = run(EOL, device(), context(releases=catalog))
    assert found.severity is Severity.HIGH
    assert "ETSI 5.3-13" in found.provisions
    assert "no supported firmware" in found.title
    assert "Replace" in found.remediation


def test_supported_model_is_not_end_of_life() -> None:
    assert run(EOL, device(), context(releases=CATALOG)) == []
