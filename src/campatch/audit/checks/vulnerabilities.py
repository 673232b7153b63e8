"""``known-vulnerability``: advisories (CVE, CISA KEV) whose affected firmware the device runs.

For each advisory the knowledge base lists for the device's vendor and model, the
product lines that match the device (model pattern, hardware revision, region) decide:

==========================================  =========================================
what campatch can tell                      finding
==========================================  =========================================
firmware inside an affected range           CONFIRMED, severity of the advisory
                                            (KEV-listed = critical, ``kev=True``)
firmware unknown (no credentials)           POSSIBLE, confirm by adding credentials
firmware not orderable, or the advisory     POSSIBLE, confirm with the vendor
names no comparable versions                advisory
hardware/region limit campatch cannot see   POSSIBLE, confirm on the device label
firmware outside every range                nothing
==========================================  =========================================

"Cannot tell" is never dropped and never reported as affected (SAFETY B-04). The
remediation names the release to install: the lowest release in the knowledge base
outside every affected range (one for the same hardware first), else the advisory's
first fixed version, else it says no fix is known.

:func:`assess_advisory` is the definition: one advisory, one device, worked out with
:func:`matching_products`, :func:`~campatch.knowledge.versions.in_any_range` and
:func:`target_release`. :class:`KnownVulnerability` gives the same findings faster
(:mod:`campatch.audit.checks._identity`): it is an identity check, run once per device
identity, from the knowledge base's compiled product lines. The tests hold the two
against each other on random corpora.
"""

from __future__ import annotations

from campatch.audit.checks._advisory import (
    NO_FIX,
    assess_advisory,
    describe_range,
    matching_products,
    target_release,
)
from campatch.audit.checks._identity import IdentityAssessment, Matches, matches, matches_key
from campatch.audit.checks._memo import ContextMemo
from campatch.audit.interface import AuditContext, DeviceIdentity
from campatch.model import Finding, Severity

__all__ = [
    "IDENTITY_CHECKS",
    "NO_FIX",
    "KnownVulnerability",
    "assess_advisory",
    "describe_range",
    "matching_products",
    "target_release",
]


class KnownVulnerability:
    """Advisories (CVE, CISA KEV) that apply to the device's firmware.

    The findings depend only on the device's identity (vendor, model, hardware,
    firmware, build) and the knowledge base. Identities that differ only in firmware
    share which advisories' product lines match them (kept for one
    :class:`AuditContext`).
    """

    id: str = "known-vulnerability"
    title: str = "firmware with known vulnerabilities (CVE, CISA KEV)"
    severity: Severity = Severity.HIGH
    provisions: tuple[str, ...] = (
        "ETSI 5.3-2",
        "ETSI 5.3-13",
        "OWASP I4",
        "OWASP I5",
        "8259A update",
    )

    def __init__(self) -> None:
        self._memo = ContextMemo()

    def run_identity(self, dev: DeviceIdentity, ctx: AuditContext) -> list[Finding]:
        """One finding per advisory the identity is (possibly) affected by."""
        if not dev.vendor:
            return []
        store = self._memo.store(ctx)
        key = ("matches", *matches_key(dev))
        matched: Matches | None = store.get(key)
        if matched is None:
            matched = store[key] = matches(ctx.knowledge, dev)
        return list(IdentityAssessment(dev, ctx.knowledge, matched).findings(self))


IDENTITY_CHECKS = (KnownVulnerability(),)
