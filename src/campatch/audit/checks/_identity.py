"""The ``known-vulnerability`` check's fast path: every advisory for one device identity.

:class:`IdentityAssessment` reaches the findings
:func:`~campatch.audit.checks._advisory.assess_advisory` defines, for all of an
identity's candidate advisories, with what they share prepared once:

- candidates come from the knowledge base's index with their product lines compiled
  (:meth:`~campatch.knowledge.index.KnowledgeBase.candidates`): matching a line is a set
  lookup or a ``startswith``, not ``fnmatch`` over patterns normalised afresh;
- range answers come from each line's :class:`~campatch.knowledge.versions.RangeSet`
  (bounds parsed once per scheme, answers kept per version);
- the firmware is parsed once; the model's releases are looked up and parsed once, and
  whether each is newer than the firmware is decided once. Per advisory only "which
  releases lie outside these ranges" remains (RangeSet lookups, over the releases
  that may be newer than the firmware only), and the lowest of a given set of fixing
  releases is chosen once;
- what a finding says the same way for every device (title, KEV dates, source, where
  a fix is announced) is worded once per advisory and product-line match
  (:class:`~campatch.audit.checks._advisory.AdvisoryWords`).

The auditor runs the check once per identity and gives every device of the identity
the same findings (:class:`~campatch.audit.interface.IdentityCheck`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from campatch.audit.checks._advisory import (
    AdvisoryWords,
    advisory_finding,
    decide,
    lowest_fix,
    starts_before,
    verdict,
)
from campatch.audit.interface import DeviceIdentity, IdentityCheck
from campatch.knowledge.index import KnowledgeBase, ProductLine, model_key
from campatch.knowledge.interface import vendor_key
from campatch.knowledge.versions import (
    FirmwareVersion,
    Ordering,
    Parsed,
    RangeSet,
    compare,
    parse_version,
)
from campatch.model import Advisory, Finding, FirmwareRelease, VersionRange

__all__ = ["IdentityAssessment", "Match", "Matches", "matches", "matches_key"]


@dataclass(frozen=True, slots=True)
class Match:
    """An advisory whose product lines may be a device's.

    Args:
        advisory: the advisory.
        lines: its product lines that match (vendor, model, hardware).
        ranges: the ranges of all of them together (what ``target_release`` checks).
        words: what the advisory's findings say about every device alike.
    """

    advisory: Advisory
    lines: tuple[ProductLine, ...]
    ranges: RangeSet
    words: AdvisoryWords


#: The advisories that may concern a device, in the knowledge base's order.
Matches = list[Match]


def matches_key(device: DeviceIdentity) -> tuple[str, str | None, str | None]:
    """What :func:`matches` depends on: vendor key, model key, hardware revision."""
    vendor = device.vendor or ""
    return (
        vendor_key(vendor),
        model_key(vendor, device.model) if device.model else None,
        device.hardware,
    )


def matches(knowledge: KnowledgeBase, device: DeviceIdentity) -> Matches:
    """The advisories whose product lines may be the device's: what
    :func:`~campatch.audit.checks._advisory.matching_products` keeps, advisory by advisory."""
    if not device.vendor:
        return []
    vendor, model, hardware = matches_key(device)
    out: Matches = []
    for advisory, lines in knowledge.candidates(device.vendor, device.model or ""):
        matched = tuple(line for line in lines if line.fits(vendor, model, hardware))
        if len(matched) == 1:
            out.append(Match(advisory, matched, matched[0].ranges, AdvisoryWords.of(advisory)))
        elif matched:
            ranges = RangeSet(r for line in matched for r in line.product.ranges)
            out.append(Match(advisory, matched, ranges, AdvisoryWords.of(advisory)))
    return out


class IdentityAssessment:
    """Every known-vulnerability finding for one device identity.

    Args:
        device: the device (or a stand-in with the identity's facts).
        knowledge: the knowledge base.
        matched: :func:`matches` for the device (devices that differ only in firmware
            share it).
    """

    def __init__(self, device: DeviceIdentity, knowledge: KnowledgeBase, matched: Matches) -> None:
        self.device = device
        self.knowledge = knowledge
        self.matched = matched
        self.version = device.version()
        self._releases = self._catalog()
        self._lowest: dict[tuple[int, ...], FirmwareRelease | None] = {}

    def findings(self, check: IdentityCheck) -> Iterator[Finding]:
        """The findings, in the knowledge base's advisory order."""
        for match in self.matched:
            found = self._assess(match, check)
            if found is not None:
                yield found

    def _assess(self, match: Match, check: IdentityCheck) -> Finding | None:
        dev, version = self.device, self.version
        if len(match.lines) == 1:  # most advisories: one product line matches
            line = match.lines[0]
            decided = verdict(line.product, dev, version, line.ranges.affects)
            if decided.affected is False:
                return None
            decided_hits = self._hits(line)
            hits: list[Sequence[VersionRange]] = [decided_hits]
        else:
            verdicts = [
                verdict(line.product, dev, version, line.ranges.affects) for line in match.lines
            ]
            found = decide(verdicts)
            if found is None:
                return None
            decided = found
            hits = [self._hits(line) for line in match.lines]
            decided_hits = next(h for v, h in zip(verdicts, hits, strict=True) if v is decided)
        release = self._target(match.ranges)
        return advisory_finding(
            check, match.advisory, dev, version, decided, decided_hits, release, hits, match.words
        )

    def _hits(self, line: ProductLine) -> Sequence[VersionRange]:
        """The line's ranges the firmware lies in; all of them if none or if unknown."""
        if self.version is None:
            return line.product.ranges
        return line.ranges.hits(self.version) or line.product.ranges

    # --- target release (see _advisory.target_release) -------------------------------

    def _catalog(self) -> list[tuple[FirmwareRelease, Parsed, bool | None]]:
        """Each release of the model that may fix something, parsed: whether it is
        newer than the firmware, or None when the firmware cannot be ordered (the
        ranges' starts decide then). Releases not newer than the firmware are left out:
        they fix nothing for this device."""
        dev = self.device
        if not dev.vendor or not dev.model:
            return []
        current = self.version
        out: list[tuple[FirmwareRelease, Parsed, bool | None]] = []
        for release in self.knowledge.releases_for(dev.vendor, dev.model, dev.hardware):
            parsed = parse_version(dev.vendor, release.version)
            newer = None
            if isinstance(current, FirmwareVersion):
                newer = compare(current, parsed) is Ordering.LESS
            if newer is not False:
                out.append((release, parsed, newer))
        return out

    def _target(self, ranges: RangeSet) -> FirmwareRelease | None:
        """``target_release`` for the matching lines, whose ranges are ``ranges``."""
        if not self._releases:
            return None
        starts: tuple[str, ...] | None = None
        fixing: list[int] = []
        for n, (_, parsed, newer) in enumerate(self._releases):
            if newer is None:
                if starts is None:
                    starts = tuple(r.introduced for r in ranges.ranges if r.introduced)
                newer = starts_before(parsed, starts)
            if newer and ranges.affects(parsed) is False:
                fixing.append(n)
        key = tuple(fixing)
        if key not in self._lowest:
            group = [self._releases[n][0] for n in key]
            self._lowest[key] = lowest_fix(group, self.device)
        return self._lowest[key]
