"""SAFETY B-04 against the real bundled knowledge: every curated fix is honoured.

For every curated advisory in the bundle that names a fixed version, a device one
release below the fix is flagged and a device at the fix is not; KEV entries come out
critical. Where the fixed version itself cannot be ordered, both devices are flagged
POSSIBLE: never clean, never claimed affected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from auditkit import KEY, host

from campatch.audit.checks.vulnerabilities import KnownVulnerability
from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.store import KnowledgeStore
from campatch.knowledge.versions import FirmwareVersion, in_range, is_before, parse_version
from campatch.model import Advisory, AffectedProduct, Certainty, Finding, Severity, VersionRange

CHECK = KnownVulnerability()


@dataclass(frozen=True)
class Case:
    """One fixed version of one product line of one advisory."""

    advisory: Advisory
    vendor: str
    model: str
    rng: VersionRange

    def __str__(self) -> str:
        return f"{self.advisory.id}:{self.model}:{self.rng.fixed}"


def _bundle() -> KnowledgeBase:
    return KnowledgeStore(Path("/nonexistent-campatch-knowledge")).load()


def _model(product: AffectedProduct, pattern: str | None) -> str:
    return (pattern or "ANY-MODEL").replace("*", "").replace("?", "X") or "ANY-MODEL"


def _cases() -> Iterator[Case]:
    for adv in _bundle().advisories:
        if adv.provenance.source != "bundle:camera-cves":
            continue
        for product in adv.affected:
            for rng in product.ranges:
                if rng.fixed:
                    for pattern in product.models or (None,):
                        yield Case(adv, product.vendor, _model(product, pattern), rng)


CASES = list(_cases())


def one_below(vendor: str, fixed: str) -> str | None:
    """A version string just below ``fixed`` in the vendor's scheme; None if none parses."""
    runs = list(re.finditer(r"\d+", fixed))
    for match in reversed(runs):
        number = int(match.group())
        if number == 0:
            continue
        digits = str(number - 1).zfill(len(match.group()))
        text = fixed[: match.start()] + digits + fixed[match.end() :]
        version = parse_version(vendor, text)
        if isinstance(version, FirmwareVersion) and is_before(version, fixed):
            return text
    return None


def findings(knowledge: KnowledgeBase, case: Case, firmware: str) -> list[Finding]:
    facts = DeviceFacts(KEY, host(case.vendor, case.model, firmware, None))
    found = CHECK.run_identity(facts.identity, AuditContext(knowledge=knowledge))
    return [f for f in found if f.advisory == case.advisory.id]


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return _bundle()


def test_the_bundle_has_curated_fixed_versions_to_check() -> None:
    assert len(CASES) >= 20
    assert any(c.advisory.kev for c in CASES)


@pytest.mark.safety("B-04")
@pytest.mark.parametrize("case", CASES, ids=str)
def test_one_release_below_the_fix_is_flagged_and_the_fix_is_not(
    knowledge: KnowledgeBase, case: Case
) -> None:
    assert case.rng.fixed
    below = one_below(case.vendor, case.rng.fixed)
    at_fix = findings(knowledge, case, case.rng.fixed)
    if below is None:  # the fixed version itself cannot be ordered
        assert [f.certainty for f in at_fix] == [Certainty.POSSIBLE]
        return
    [flagged] = findings(knowledge, case, below)
    decided = in_range(parse_version(case.vendor, below), case.rng)
    if decided is None:  # a bound of the range cannot be ordered: possible, never clean
        assert flagged.certainty is Certainty.POSSIBLE
        assert [f.certainty for f in at_fix] == [Certainty.POSSIBLE]
        return
    assert decided, f"{below} should lie in {case.rng}"
    assert flagged.certainty is Certainty.CONFIRMED, (below, flagged)
    assert case.rng.fixed in flagged.remediation
    if case.advisory.kev:
        assert flagged.severity is Severity.CRITICAL
        assert flagged.kev
    assert [f for f in at_fix if f.certainty is Certainty.CONFIRMED] == []


def test_most_curated_fixes_are_decided_not_merely_possible(knowledge: KnowledgeBase) -> None:
    """Guards the test above against passing through its "cannot tell" branches only."""
    decided = [
        c for c in CASES
        if (below := one_below(c.vendor, c.rng.fixed or ""))
        and in_range(parse_version(c.vendor, below), c.rng) is not None
    ]  # fmt: skip
    assert len(decided) >= 252
    assert any(c.advisory.kev for c in decided)
    # product-line fixes (line bounds) and D-Link hotfixes are decided, not merely possible
    assert {"CVE-2016-7834", "CVE-2020-5735", "CVE-2020-25078"} <= {c.advisory.id for c in decided}
