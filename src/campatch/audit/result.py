"""What an audit returns, and the order findings are shown in.

A device's findings are ordered worst first (:func:`finding_order`): severity, CISA
KEV before the rest, confirmed before possible, check id, advisory id. Devices come in
the order of their worst finding, then by key (:func:`device_order`). Reports that
write one list across devices (JSON ``findings``, CSV rows, CycloneDX
vulnerabilities) use :func:`worst_first`: severity, KEV first, device key, then each
device's own order.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from campatch.audit.baseline import Coverage
from campatch.model import Certainty, DeviceFindings, Finding, Problem, Severity

__all__ = [
    "AuditResult",
    "InOrder",
    "Order",
    "device_order",
    "finding_order",
    "worst_first",
]

_RANK = {severity: severity.rank for severity in Severity}

#: :func:`finding_order`'s value.
Order = tuple[int, bool, bool, str, str]


def finding_order(f: Finding) -> Order:
    """Sort key of a device's findings, worst first: severity, KEV first, confirmed
    before possible, check id, advisory id."""
    return (
        _RANK[f.severity],
        not f.kev,
        f.certainty is not Certainty.CONFIRMED,
        f.check,
        f.advisory,
    )


def device_order(group: DeviceFindings) -> tuple[int, bool, str]:
    """Sort key of devices: the one whose worst finding is worst first, then by key."""
    worst = group.findings[0]
    return (_RANK[worst.severity], not worst.kev, group.key)


@dataclass(frozen=True)
class AuditResult:
    """The outcome of an audit.

    Args:
        by_device: each device (and viewer app) with findings, in :func:`device_order`;
            each one's findings in :func:`finding_order`.
        coverage: baseline items assessed, not assessed and not assessable.
        checks: ids of the checks that ran.
        devices: how many devices were assessed.
        problems: checks that failed on a device, with the reason.

    Attributes:
        count: how many findings there are in all.
    """

    by_device: tuple[DeviceFindings, ...]
    coverage: Coverage
    checks: tuple[str, ...]
    devices: int
    problems: tuple[Problem, ...] = ()
    count: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", sum(len(d.findings) for d in self.by_device))

    def pairs(self) -> list[tuple[DeviceFindings, Finding]]:
        """Every finding with its device, in one list (see :func:`worst_first`)."""
        return worst_first(self.by_device)

    def worst(self) -> Severity | None:
        """The severity of the worst finding; None when nothing was found."""
        return self.by_device[0].findings[0].severity if self.by_device else None


def worst_first(groups: Iterable[DeviceFindings]) -> list[tuple[DeviceFindings, Finding]]:
    """Findings of several devices in one list: severity, KEV first, device key, then
    each device's own order (confirmed before possible, check, advisory)."""
    buckets: dict[tuple[int, bool], list[tuple[DeviceFindings, Finding]]] = {}
    for group in sorted(groups, key=lambda g: g.key):
        for f in group.findings:  # already worst first: each bucket's part is one run
            buckets.setdefault((_RANK[f.severity], not f.kev), []).append((group, f))
    return [pair for bucket in sorted(buckets) for pair in buckets[bucket]]


class InOrder:
    """Findings sorted once by :func:`finding_order`, into which a few more are merged.

    An identity's findings are shared by all its devices; each device adds its own few
    (open ports, passwords ...). Merging them by bisection costs a few comparisons per
    added finding instead of sorting the device's whole list again.
    """

    __slots__ = ("_keys", "findings")

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.findings: tuple[Finding, ...] = tuple(sorted(findings, key=finding_order))
        self._keys = [finding_order(f) for f in self.findings]

    def merged(self, more: list[Finding]) -> tuple[Finding, ...]:
        """:attr:`findings` and ``more`` in order (``more`` is sorted in place); the
        same as a stable sort of both, these first among equals."""
        if not more:
            return self.findings
        more.sort(key=finding_order)
        if not self.findings:
            return tuple(more)
        merged = list(self.findings)
        for placed, f in enumerate(more):  # each earlier one sorts before f: `placed` shifts
            merged.insert(bisect_right(self._keys, finding_order(f)) + placed, f)
        return tuple(merged)
