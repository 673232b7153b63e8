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
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from campatch.audit.checks._common import Device, finding
from campatch.audit.interface import AuditContext, DeviceFacts
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
    Finding,
    FirmwareRelease,
    Severity,
    VersionRange,
)

__all__ = ["CHECKS", "KnownVulnerability", "describe_range", "matching_products"]

#: Stands in for the device address while a verdict is computed once per identity; each
#: device's finding gets its own address in its place (see :meth:`KnownVulnerability.run`).
_ADDRESS = "\x00address\x00"

#: (vendor, model, hardware, firmware, build): all the check's verdicts depend on, with
#: the knowledge base.
Identity = tuple[str | None, str | None, str | None, str | None, str | None]

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


def matching_products(advisory: Advisory, device: Device) -> list[AffectedProduct]:
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
class _Verdict:
    """One product line's answer: affected (True), not (False) or cannot tell (None)."""

    affected: bool | None
    product: AffectedProduct
    confirm_by: str = ""


def _limits_unseen(product: AffectedProduct, device: Device) -> str:
    """How to confirm a hardware/region limit campatch cannot see; "" if none."""
    if product.hardware and device.hardware is None:
        revisions = ", ".join(product.hardware)
        return f"the advisory is limited to hardware revision {revisions}; check the device label"
    if product.region:
        return f"the advisory is limited to {product.region} firmware; check the firmware's region"
    return ""


def _unstated(device: Device) -> str:
    return (
        "the advisory does not name the affected versions in a form campatch can compare; "
        f"check the vendor advisory for the {device.model or device.name} with firmware "
        f"{device.firmware_text}"
    )


def _verdict(product: AffectedProduct, device: Device, version: Parsed | None) -> _Verdict:
    if version is None:
        return _Verdict(None, product, device.confirm_firmware())
    if not versions_known(product):
        return _Verdict(None, product, _unstated(device))
    affected = in_any_range(version, product.ranges)
    if affected is None:
        return _Verdict(None, product, device.unorderable())
    unseen = _limits_unseen(product, device)
    if affected and unseen:
        return _Verdict(None, product, unseen)
    return _Verdict(affected, product)


def _decide(verdicts: Sequence[_Verdict]) -> _Verdict | None:
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


def _evidence(advisory: Advisory, device: Device, verdict: _Verdict, version: Parsed | None) -> str:
    product = verdict.product
    models = ", ".join(product.models) or f"every {product.vendor} model"
    ranges = "; ".join(describe_range(r) for r in _hit_ranges(product, version))
    where = f"affected firmware of {models}: {ranges or 'not stated in comparable form'}"
    text = f"{device.name} runs firmware {device.firmware_text}; {advisory.id} {where}"
    if isinstance(version, Unorderable):
        text += f" (campatch cannot order it: {version.reason})"
    if advisory.kev:
        kev = advisory.kev
        text += f"; on CISA KEV since {kev.date_added}"
        text += f", remediation due {kev.due_date}" if kev.due_date else ""
    return f"{text}; source {advisory.provenance.source}"


def _sorted_lowest(releases: list[FirmwareRelease], vendor: str) -> list[FirmwareRelease]:
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
    return not any(r.introduced for r in ranges) or any(
        in_range(version, VersionRange(introduced=r.introduced)) for r in ranges if r.introduced
    )


def target_release(
    knowledge: KnowledgeBase, device: Device, products: Sequence[AffectedProduct]
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
    exact = [r for r in fixing if device.hardware is not None and r.hardware is not None]
    for group in (exact, fixing):
        if group:
            return _sorted_lowest(group, vendor)[0]
    return None


def _fixed_bounds(products: Sequence[AffectedProduct], version: Parsed | None) -> list[str]:
    """``"2.12 or later"`` / ``"a release newer than 1.0.227"`` for each matching range."""
    hits = [r for p in products for r in _hit_ranges(p, version)]
    fixed = [f"{r.fixed} or later" for r in hits if r.fixed]
    newer = [
        f"a release newer than {r.last_affected}" for r in hits if r.last_affected and not r.fixed
    ]
    return list(dict.fromkeys(fixed + newer))


def _remediation(
    advisory: Advisory, device: Device, products: Sequence[AffectedProduct], ctx: AuditContext
) -> str:
    model = device.model or device.name
    release = target_release(ctx.knowledge, device, products)
    if release is not None:
        where = release.download_page or release.url or release.provenance.url
        return f"Install firmware {release.version} for the {model} from {where or release.provenance.source}."
    bounds = _fixed_bounds(products, device.version())
    if bounds:
        where = advisory.references[0] if advisory.references else advisory.provenance.url
        fixed = ", or ".join(bounds)
        return f"Install firmware {fixed} for the {model} from the vendor's support site (advisory: {where})."
    return f"No fixed release is known for the {model}: {NO_FIX}."


def _assess(
    advisory: Advisory, device: Device, ctx: AuditContext, check: KnownVulnerability
) -> Finding | None:
    products = matching_products(advisory, device)
    version = device.version()
    decided = _decide([_verdict(p, device, version) for p in products])
    if decided is None:
        return None
    prefix = "" if decided.affected else "possibly "
    return finding(
        check, device,
        title=f"{prefix}affected by {advisory.id}: {advisory.title}",
        evidence=_evidence(advisory, device, decided, version),
        remediation=_remediation(advisory, device, products, ctx),
        severity=advisory.severity,
        confirm_by=decided.confirm_by,
        advisory=advisory.id,
        kev=advisory.kev is not None,
        references=advisory.references,
    )  # fmt: skip


class KnownVulnerability:
    """Advisories (CVE, CISA KEV) that apply to the device's firmware.

    The findings depend only on the device's identity (vendor, model, hardware,
    firmware, build) and the knowledge base, so they are worked out once per identity
    for one :class:`AuditContext` and copied for each device with its own key and
    address. The memo lives as long as that context object and is dropped when the
    check sees another one (or the context is garbage-collected).
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
        self._ctx: weakref.ref[AuditContext] | None = None
        self._memo: dict[Identity, tuple[Finding, ...]] = {}

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        """One finding per advisory the device is (possibly) affected by."""
        dev = Device.of(device)
        if not dev.vendor:
            return
        memo = self._memo_for(ctx)
        identity: Identity = (dev.vendor, dev.model, dev.hardware, dev.firmware, dev.build)
        found = memo.get(identity)
        if found is None:
            found = memo[identity] = tuple(self._assess_identity(dev, ctx))
        for template in found:
            yield _for_device(template, dev)

    def _assess_identity(self, dev: Device, ctx: AuditContext) -> Iterator[Finding]:
        stand_in = replace(dev, key="", address=_ADDRESS)
        for advisory in ctx.knowledge.advisories_for(dev.vendor or "", dev.model or ""):
            found = _assess(advisory, stand_in, ctx, self)
            if found is not None:
                yield found

    def _memo_for(self, ctx: AuditContext) -> dict[Identity, tuple[Finding, ...]]:
        """The memo for ``ctx``: a fresh one whenever the context object changes."""
        if self._ctx is None or self._ctx() is not ctx:
            memo: dict[Identity, tuple[Finding, ...]] = {}
            try:
                self._ctx = weakref.ref(ctx, lambda _ref, m=memo: m.clear())  # type: ignore[misc]
            except TypeError:  # a context that takes no weak reference: no memo
                self._ctx = None
                return memo
            self._memo = memo
        return self._memo


def _for_device(template: Finding, dev: Device) -> Finding:
    """``template`` (worked out with the stand-in address) for one device."""

    def place(text: str) -> str:
        return text.replace(_ADDRESS, dev.address) if _ADDRESS in text else text

    return Finding(
        check=template.check,
        severity=template.severity,
        device_key=dev.key,
        address=dev.address,
        title=place(template.title),
        evidence=place(template.evidence),
        remediation=place(template.remediation),
        certainty=template.certainty,
        confirm_by=place(template.confirm_by),
        advisory=template.advisory,
        kev=template.kev,
        references=template.references,
        provisions=template.provisions,
    )


CHECKS = (KnownVulnerability(),)
