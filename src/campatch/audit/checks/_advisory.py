"""What the ``known-vulnerability`` check reports for one advisory and one device.

:func:`assess_advisory` is the definition, written plainly: it matches every product
line of the advisory against the device (:func:`matching_products`), asks
:func:`~campatch.knowledge.versions.in_any_range` about each one's ranges, picks the
verdict (:func:`decide`) and the release that fixes it (:func:`target_release`), and
words the finding (:func:`advisory_finding`). The check itself
(:mod:`campatch.audit.checks.vulnerabilities`) reaches the same findings faster with the
same pieces (:mod:`campatch.audit.checks._identity`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from campatch.audit.checks._common import CONFIRM_FIRMWARE, unorderable
from campatch.audit.interface import DeviceIdentity, IdentityCheck
from campatch.knowledge.index import KnowledgeBase, model_key, pattern_keys
from campatch.knowledge.interface import vendor_key, versions_known
from campatch.knowledge.versions import (
    FirmwareVersion,
    Ordering,
    Parsed,
    Unorderable,
    compare,
    in_any_range,
    in_range,
    parse_version,
)
from campatch.model import (
    Advisory,
    AffectedProduct,
    Certainty,
    Finding,
    FirmwareRelease,
    Severity,
    VersionRange,
)

__all__ = [
    "NO_FIX",
    "AdvisoryWords",
    "Verdict",
    "advisory_finding",
    "assess_advisory",
    "decide",
    "describe_range",
    "lowest_fix",
    "matching_products",
    "sorted_lowest",
    "starts_before",
    "target_release",
    "verdict",
]

NO_FIX = "isolate the device from the internet (no port forwards, no P2P cloud) or replace it"


def describe_range(rng: VersionRange) -> str:
    """A range in words: ``"from 5.2.0 up to 5.4.0"``, ``"before 2.12"``, ``"every version"``."""
    parts = []
    if rng.introduced:
        parts.append(f"from {rng.introduced}")
    if rng.fixed:
        parts.append(f"before {rng.fixed}")
    if rng.last_affected:
        parts.append(f"up to {rng.last_affected}")
    return " ".join(parts) or "every version"


def _model_matches(vendor: str, model: str | None, patterns: Sequence[str]) -> bool:
    if not patterns:
        return True
    if not model:
        return False
    key = model_key(vendor, model)
    return any(fnmatchcase(key, p) for p in pattern_keys(vendor, tuple(patterns)))


def _hardware_excludes(product: AffectedProduct, hardware: str | None) -> bool:
    """True when the device's known hardware revision is not one the product names."""
    if not product.hardware or hardware is None:
        return False
    return hardware.casefold() not in {h.casefold() for h in product.hardware}


def matching_products(advisory: Advisory, device: DeviceIdentity) -> list[AffectedProduct]:
    """The advisory's product lines that may be this device (vendor, model, hardware)."""
    if not device.vendor:
        return []
    wanted = vendor_key(device.vendor)
    return [
        p
        for p in advisory.affected
        if vendor_key(p.vendor) == wanted
        and _model_matches(device.vendor, device.model, p.models)
        and not _hardware_excludes(p, device.hardware)
    ]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One product line's answer: affected (True), not (False) or cannot tell (None).

    Args:
        affected: the answer.
        product: the product line.
        confirm_by: how to turn "cannot tell" into an answer ("" when there is one).
    """

    affected: bool | None
    product: AffectedProduct
    confirm_by: str = ""


def _limits_unseen(product: AffectedProduct, device: DeviceIdentity) -> str:
    """How to confirm a hardware/region limit campatch cannot see; "" if none."""
    if product.hardware and device.hardware is None:
        revisions = ", ".join(product.hardware)
        return f"the advisory is limited to hardware revision {revisions}; check the device label"
    if product.region:
        return f"the advisory is limited to {product.region} firmware; check the firmware's region"
    return ""


def _unstated(device: DeviceIdentity) -> str:
    return (
        "the advisory does not name the affected versions in a form campatch can compare; "
        f"check the vendor advisory for the {device.model or device.name} with firmware "
        f"{device.firmware_text}"
    )


def verdict(
    product: AffectedProduct,
    device: DeviceIdentity,
    version: Parsed | None,
    affects: Callable[[Parsed], bool | None] | None = None,
) -> Verdict:
    """The product line's verdict for the device running ``version``.

    Args:
        product: a product line that matches the device.
        device: the device.
        version: its parsed firmware (None = not read).
        affects: ``in_any_range(version, product.ranges)`` worked out some faster way
            (the audit passes a :class:`~campatch.knowledge.versions.RangeSet`'s).
    """
    if version is None:
        return Verdict(None, product, CONFIRM_FIRMWARE)
    if not versions_known(product):
        return Verdict(None, product, _unstated(device))
    affected = affects(version) if affects else in_any_range(version, product.ranges)
    if affected is None:
        return Verdict(None, product, unorderable(device))
    unseen = _limits_unseen(product, device)
    if affected and unseen:
        return Verdict(None, product, unseen)
    return Verdict(affected, product)


def decide(verdicts: Sequence[Verdict]) -> Verdict | None:
    """Affected beats cannot-tell beats not affected (None = nothing to report)."""
    for wanted in (True, None):
        for v in verdicts:
            if v.affected is wanted:
                return v
    return None


def _hit_ranges(product: AffectedProduct, version: Parsed | None) -> list[VersionRange]:
    if version is None:
        return list(product.ranges)
    hits = [r for r in product.ranges if in_range(version, r) is True]
    return hits or list(product.ranges)


def sorted_lowest(releases: Sequence[FirmwareRelease], vendor: str) -> list[FirmwareRelease]:
    """Releases lowest version first (by release date where versions do not order)."""

    def order(a: FirmwareRelease, b: FirmwareRelease) -> int:
        by_version = compare(parse_version(vendor, a.version), parse_version(vendor, b.version))
        if by_version is not Ordering.UNKNOWN:
            return int(by_version.value)
        left, right = (a.released, a.version), (b.released, b.version)
        return (left > right) - (left < right)

    return sorted(releases, key=functools.cmp_to_key(order))


def _fixes(
    release: FirmwareRelease, vendor: str, ranges: Sequence[VersionRange], current: Parsed | None
) -> bool:
    """The release is outside every range and newer than the device's firmware."""
    version = parse_version(vendor, release.version)
    if in_any_range(version, ranges) is not False:
        return False
    if isinstance(current, FirmwareVersion):
        return compare(current, version) is Ordering.LESS
    return starts_before(version, tuple(r.introduced for r in ranges if r.introduced))


@functools.lru_cache(maxsize=65536)
def starts_before(version: Parsed, starts: tuple[str, ...]) -> bool:
    """With the device's firmware unknown: no range has a start, or one starts at or
    below ``version`` (so the release is on a line the advisory speaks about)."""
    return not starts or any(in_range(version, VersionRange(introduced=s)) for s in starts)


def target_release(
    knowledge: KnowledgeBase, device: DeviceIdentity, products: Sequence[AffectedProduct]
) -> FirmwareRelease | None:
    """The lowest known release that fixes the advisory for this device, same hardware first.

    Args:
        knowledge: where releases come from.
        device: the device (vendor, model, hardware, firmware).
        products: the advisory's product lines that match the device.

    Returns:
        The release, or None when the knowledge base knows none that fixes it.
    """
    if not device.vendor or not device.model:
        return None
    vendor = device.vendor
    ranges = [r for p in products for r in p.ranges]
    current = device.version()
    releases = knowledge.releases_for(vendor, device.model, device.hardware)
    fixing = [r for r in releases if _fixes(r, vendor, ranges, current)]
    return lowest_fix(fixing, device)


def lowest_fix(fixing: Sequence[FirmwareRelease], device: DeviceIdentity) -> FirmwareRelease | None:
    """The lowest of the fixing releases, one for the device's hardware revision first."""
    exact = [r for r in fixing if device.hardware is not None and r.hardware is not None]
    for group in (exact, fixing):
        if group:
            return sorted_lowest(group, device.vendor or "")[0]
    return None


def assess_advisory(
    advisory: Advisory, device: DeviceIdentity, knowledge: KnowledgeBase, check: IdentityCheck
) -> Finding | None:
    """The finding ``check`` reports for one advisory and one device, if any.

    This is the definition :class:`KnownVulnerability` follows, written plainly: it
    looks at every product line and range afresh.
    """
    products = matching_products(advisory, device)
    version = device.version()
    decided = decide([verdict(p, device, version) for p in products])
    if decided is None:
        return None
    release = target_release(knowledge, device, products)
    hits = [_hit_ranges(p, version) for p in products]
    return advisory_finding(
        check,
        advisory,
        device,
        version,
        decided,
        _hit_ranges(decided.product, version),
        release,
        hits,
    )


# --- the finding's text ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdvisoryWords:
    """What an advisory's findings say the same way about every device.

    Worked out once per advisory (:meth:`of`), not once per finding: the audit words
    each advisory's finding for about fifty device identities.

    Args:
        title: ``"affected by CVE-...: <title>"`` (``"possibly "`` goes in front when
            campatch cannot tell).
        evidence_tail: what the evidence ends with: the CISA KEV dates, if listed, and
            the source.
        fix_source: where a fixed version is announced (first reference, else the
            provenance's URL).
        severity: the advisory's severity.
        kev: on CISA KEV.
    """

    title: str
    evidence_tail: str
    fix_source: str
    severity: Severity
    kev: bool

    @classmethod
    def of(cls, advisory: Advisory) -> AdvisoryWords:
        """The words of ``advisory``."""
        tail = ""
        if advisory.kev:
            kev = advisory.kev
            tail += f"; on CISA KEV since {kev.date_added}"
            tail += f", remediation due {kev.due_date}" if kev.due_date else ""
        return cls(
            title=f"affected by {advisory.id}: {advisory.title}",
            evidence_tail=f"{tail}; source {advisory.provenance.source}",
            fix_source=advisory.references[0] if advisory.references else advisory.provenance.url,
            severity=advisory.severity,
            kev=advisory.kev is not None,
        )


def advisory_finding(
    check: IdentityCheck,
    advisory: Advisory,
    device: DeviceIdentity,
    version: Parsed | None,
    decided: Verdict,
    decided_hits: Sequence[VersionRange],
    release: FirmwareRelease | None,
    hits: Sequence[Sequence[VersionRange]],
    words: AdvisoryWords | None = None,
) -> Finding:
    """The finding for a decided verdict.

    Args:
        check: the check reporting it.
        advisory: the advisory.
        device: the device.
        version: ``device.version()``.
        decided: the verdict :func:`decide` chose.
        decided_hits: the decided product's ranges the firmware lies in (all of them
            when none or when the firmware is unknown).
        release: the release that fixes it (:func:`target_release`), if known.
        hits: the same as ``decided_hits`` for every matching product line.
        words: ``AdvisoryWords.of(advisory)``, if the caller keeps it.
    """
    words = words or AdvisoryWords.of(advisory)
    confirm_by = decided.confirm_by
    return Finding(
        check.id,
        words.severity or check.severity,
        words.title if decided.affected else f"possibly {words.title}",
        _evidence(advisory.id, words, device, version, decided, decided_hits),
        _remediation(words, device, release, hits),
        Certainty.POSSIBLE if confirm_by else Certainty.CONFIRMED,
        confirm_by,
        advisory.id,
        words.kev,
        advisory.references,
        check.provisions,
    )


def _evidence(
    advisory_id: str,
    words: AdvisoryWords,
    device: DeviceIdentity,
    version: Parsed | None,
    verdict: Verdict,
    hits: Sequence[VersionRange],
) -> str:
    product = verdict.product
    models = ", ".join(product.models) or f"every {product.vendor} model"
    ranges = "; ".join(describe_range(r) for r in hits)
    where = f"affected firmware of {models}: {ranges or 'not stated in comparable form'}"
    text = f"{device.name} runs firmware {device.firmware_text}; {advisory_id} {where}"
    if isinstance(version, Unorderable):
        text += f" (campatch cannot order it: {version.reason})"
    return text + words.evidence_tail


def _remediation(
    words: AdvisoryWords,
    device: DeviceIdentity,
    release: FirmwareRelease | None,
    hits: Sequence[Sequence[VersionRange]],
) -> str:
    model = device.model or device.name
    if release is not None:
        where = release.download_page or release.url or release.provenance.url
        return f"Install firmware {release.version} for the {model} from {where or release.provenance.source}."
    bounds = _fixed_bounds([r for ranges in hits for r in ranges])
    if bounds:
        fixed = ", or ".join(bounds)
        return f"Install firmware {fixed} for the {model} from the vendor's support site (advisory: {words.fix_source})."
    return f"No fixed release is known for the {model}: {NO_FIX}."


def _fixed_bounds(hits: Sequence[VersionRange]) -> list[str]:
    """``"2.12 or later"`` / ``"a release newer than 1.0.227"`` for each matching range."""
    fixed = [f"{r.fixed} or later" for r in hits if r.fixed]
    newer = [
        f"a release newer than {r.last_affected}" for r in hits if r.last_affected and not r.fixed
    ]
    return list(dict.fromkeys(fixed + newer))
