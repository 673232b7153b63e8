"""Target resolution and upgrade path: which release a device should end on, and via which.

What it decides, in the order applied (rules 1-4 of :mod:`campatch.patch.plan`):

1. **Identity.** Vendor, model and a firmware version campatch can order are needed;
   otherwise ``identity-unknown``, ``firmware-unknown`` or ``firmware-unorderable``.
2. **Releases are keyed by model, hardware revision and region.** A release for a
   named hardware revision is only eligible when the device reports that revision; an
   unknown revision never matches a revision-specific image. The device's region is
   the region of the catalog's record of its installed version; a region-specific
   release is only eligible for a device known to be on that region. Only releases on
   the installed version's track (:mod:`campatch.knowledge.versions`) are eligible:
   a version campatch cannot order against the installed one is never planned.
3. **Strategy.** ``minimum-fix`` takes the advisories whose ranges contain the
   installed version and picks the lowest newer release outside all of them that no
   other advisory of the model definitely affects (pip-audit's re-check: step up until
   clean); when none is clean it takes the newest and lists what stays unfixed.
   ``latest`` takes the newest release. A pinned ``version`` replaces both; installing
   the same version needs ``allow_reinstall``, an older one ``allow_downgrade`` (and is
   refused outright when the installed release blocks downgrades).
4. **Path.** Every version in a release's ``requires`` that the device is below must
   be installed first; each is looked up for the same hardware and region and its own
   ``requires`` resolved the same way. A requirement with no eligible release is
   ``below-minimum``.

A refusal stops resolution with :class:`Refused`, whose skip becomes the device's only
skip. :func:`resolve` is what :func:`campatch.patch.planner.plan_upgrades` calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NoReturn

from campatch.audit.checks.vulnerabilities import matching_products
from campatch.audit.interface import DeviceIdentity
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.versions import (
    FirmwareVersion,
    Ordering,
    compare,
    in_any_range,
    parse_version,
)
from campatch.model import Advisory, FirmwareRelease
from campatch.patch.plan import (
    DevicePlan,
    Flag,
    PlanOptions,
    Skip,
    SkipReason,
    Strategy,
    expected_downtime,
)

__all__ = ["Refused", "resolve"]

_MAX_PATH = 16  # requires chains longer than this are treated as unsatisfiable


class Refused(Exception):
    """Target resolution stopped: the device gets this skip and no target."""

    def __init__(self, reason: SkipReason, detail: str) -> None:
        super().__init__(detail)
        self.skip = Skip(reason, detail)


# --- target resolution ------------------------------------------------------------


def _current(dev: DeviceIdentity, address: str) -> FirmwareVersion:
    if not dev.vendor or not dev.model:
        raise Refused(SkipReason.IDENTITY_UNKNOWN,
                       f"{dev.name}: vendor or model not identified; campatch cannot pick "
                       "firmware for an unknown model")  # fmt: skip
    version = dev.version()
    if version is None:
        raise Refused(SkipReason.FIRMWARE_UNKNOWN,
                       f"{dev.name}: firmware version not read; add credentials with "
                       f"`campatch creds add {address}` so campatch can read it")  # fmt: skip
    if not isinstance(version, FirmwareVersion):
        raise Refused(SkipReason.FIRMWARE_UNORDERABLE,
                       f"{dev.name}: firmware {dev.firmware_text!r} cannot be ordered "
                       f"({version.reason}); campatch cannot tell which release is newer")  # fmt: skip
    return version


def resolve(dev: DeviceIdentity, base: DevicePlan, opts: PlanOptions) -> DevicePlan:
    """``base`` with its target, path, fixes, downtime and flags (rules 1-4).

    Raises:
        Refused: the device cannot be given a target; the skip says why.
    """
    current = _current(dev, base.address)
    vendor, model = dev.vendor or "", dev.model or ""
    every = opts.knowledge.releases_for(vendor, model)
    if not every:
        raise Refused(
            SkipReason.NO_RELEASE, f"{dev.name}: no firmware release of this model is known"
        )
    for_hardware = [r for r in every if _hardware_fits(r, dev.hardware)]
    if not for_hardware:
        raise Refused(SkipReason.HARDWARE_MISMATCH, _hardware_detail(dev, every))
    region = _region_of(vendor, current, for_hardware)
    eligible = [r for r in for_hardware if r.region is None or _same(r.region, region)]
    scope = _Scope(vendor, current, eligible, for_hardware, every, region, dev)
    target, unfixed = _target(scope, opts)
    path = _path(scope, target, ())
    return replace(base, region=region, target=target, path=path,
                   fixes=_fixed_by(opts.knowledge, dev, current, target), unfixed=unfixed,
                   downtime_s=expected_downtime(vendor) * len(path),
                   flags=_flags(scope, target, path))  # fmt: skip


@dataclass(frozen=True)
class _Scope:
    """The releases one device may get, and what they are compared against."""

    vendor: str
    current: FirmwareVersion
    eligible: list[FirmwareRelease]
    for_hardware: list[FirmwareRelease]  # before the region filter (to explain refusals)
    every: list[FirmwareRelease]  # every release of the model (to explain refusals)
    region: str | None
    dev: DeviceIdentity

    def version(self, release: FirmwareRelease) -> FirmwareVersion | None:
        """The release's version, if it is on the installed version's track."""
        parsed = parse_version(self.vendor, release.version)
        if isinstance(parsed, FirmwareVersion) and parsed.comparable_with(self.current):
            return parsed
        return None

    def order(self, release: FirmwareRelease) -> Ordering:
        """The release against the installed version (UNKNOWN off the track)."""
        version = self.version(release)
        return Ordering.UNKNOWN if version is None else compare(version, self.current)

    def newer(self) -> list[FirmwareRelease]:
        """Eligible releases newer than installed, lowest first (specific before generic)."""
        found = [(v, r) for r in self.eligible if (v := self.version(r)) and v > self.current]
        found.sort(key=lambda p: (p[0], p[1].hardware is None, p[1].region is None))
        unique: dict[FirmwareVersion, FirmwareRelease] = {}
        for v, r in found:
            unique.setdefault(v, r)
        return list(unique.values())


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()


def _hardware_fits(release: FirmwareRelease, hardware: str | None) -> bool:
    """A revision-specific image only for a device known to be that revision."""
    return release.hardware is None or _same(release.hardware, hardware)


def _hardware_detail(dev: DeviceIdentity, releases: Sequence[FirmwareRelease]) -> str:
    revisions = ", ".join(sorted({r.hardware for r in releases if r.hardware}))
    have = f"hardware revision {dev.hardware}" if dev.hardware else "an unknown hardware revision"
    return (f"{dev.name}: known releases are for hardware revision {revisions}; the device "
            f"reports {have}, and an image for another revision must never be installed")  # fmt: skip


def _region_of(
    vendor: str, current: FirmwareVersion, releases: Sequence[FirmwareRelease]
) -> str | None:
    """The region of the catalog's record(s) of the installed version, if exactly one."""
    regions = {
        r.region.casefold()
        for r in releases
        if r.region and compare(parse_version(vendor, r.version), current) is Ordering.EQUAL
    }
    return regions.pop() if len(regions) == 1 else None


def _target(scope: _Scope, opts: PlanOptions) -> tuple[FirmwareRelease, tuple[str, ...]]:
    """The release to end on, and the affecting advisories it leaves unfixed."""
    if opts.version is not None:
        return _pinned(scope, opts), ()
    newer = scope.newer()
    if opts.strategy is Strategy.LATEST:
        if not newer:
            _nothing_newer(scope, "")
        return newer[-1], ()
    return _minimum_fix(scope, newer, opts.knowledge)


def _nothing_newer(scope: _Scope, why: str) -> NoReturn:
    """Refuse: no newer release for the device (end-of-life, no fix, or current)."""
    dev = scope.dev
    _withheld(scope)
    if any(r.end_of_life for r in scope.for_hardware):
        raise Refused(SkipReason.END_OF_LIFE,
                       f"{dev.name}: the vendor marks the model end-of-life and no newer image "
                       f"than {dev.firmware_text} exists{why}")  # fmt: skip
    if why:
        raise Refused(SkipReason.NO_FIX, f"{dev.name}: no known release is newer than "
                       f"{dev.firmware_text}{why}")  # fmt: skip
    raise Refused(SkipReason.ALREADY_CURRENT, f"{dev.name}: {dev.firmware_text} is the newest "
                   "known release for this hardware")  # fmt: skip


def _withheld(scope: _Scope) -> None:
    """Refuse when newer releases exist but only for another (or unconfirmed) revision
    or region: that is a mismatch, not "already current"."""
    dev = scope.dev
    if any(scope.order(r) is Ordering.GREATER for r in scope.for_hardware):
        where = scope.region or "an unknown region's"
        raise Refused(SkipReason.REGION_MISMATCH, f"{dev.name}: newer releases are published "
                       f"only for another region; the device runs {where} firmware")  # fmt: skip
    if any(scope.order(r) is Ordering.GREATER for r in scope.every):
        raise Refused(SkipReason.HARDWARE_MISMATCH, _hardware_detail(dev, scope.every))


def _minimum_fix(
    scope: _Scope, newer: list[FirmwareRelease], knowledge: KnowledgeBase
) -> tuple[FirmwareRelease, tuple[str, ...]]:
    advisories = _applicable(knowledge, scope.dev)
    affecting = [a for a in advisories if _affects(a, scope.dev, scope.current) is True]
    if not affecting:
        raise Refused(SkipReason.ALREADY_CURRENT, f"{scope.dev.name}: no known advisory affects "
                       f"firmware {scope.dev.firmware_text}")  # fmt: skip
    if not newer:
        ids = ", ".join(a.id for a in affecting)
        _nothing_newer(scope, f"; it stays affected by {ids}")
    for release in newer:
        version = scope.version(release)
        if version is not None and _clean(version, affecting, advisories, scope.dev):
            return release, ()
    last = newer[-1]
    last_version = scope.version(last)
    unfixed = [a.id for a in affecting if _affects(a, scope.dev, last_version) is not False]
    return last, tuple(unfixed)


def _applicable(knowledge: KnowledgeBase, dev: DeviceIdentity) -> list[Advisory]:
    return [
        a
        for a in knowledge.advisories_for(dev.vendor or "", dev.model or "")
        if matching_products(a, dev)
    ]


def _affects(
    advisory: Advisory, dev: DeviceIdentity, version: FirmwareVersion | None
) -> bool | None:
    """Is ``version`` inside the advisory's ranges for this device? None = cannot tell."""
    if version is None:
        return None
    ranges = [r for p in matching_products(advisory, dev) for r in p.ranges]
    return in_any_range(version, ranges) if ranges else None


def _clean(
    version: FirmwareVersion,
    affecting: Sequence[Advisory],
    advisories: Sequence[Advisory],
    dev: DeviceIdentity,
) -> bool:
    """Outside every affecting advisory, and inside none of the others."""
    fixed = all(_affects(a, dev, version) is False for a in affecting)
    return fixed and not any(_affects(a, dev, version) is True for a in advisories)


def _fixed_by(
    knowledge: KnowledgeBase, dev: DeviceIdentity, current: FirmwareVersion, target: FirmwareRelease
) -> tuple[str, ...]:
    """Advisories whose ranges contain the installed version but not the target."""
    parsed = parse_version(dev.vendor, target.version)
    after = parsed if isinstance(parsed, FirmwareVersion) else None
    return tuple(
        a.id
        for a in _applicable(knowledge, dev)
        if _affects(a, dev, current) is True and _affects(a, dev, after) is False
    )


def _pinned(scope: _Scope, opts: PlanOptions) -> FirmwareRelease:
    """The release of the pinned version, if the device may get it."""
    wanted = parse_version(scope.vendor, opts.version or "")
    release = _find(scope, scope.eligible, wanted)
    if release is None:
        _explain_missing(scope, wanted)
    order = scope.order(release)
    if order is Ordering.EQUAL and not opts.allow_reinstall:
        raise Refused(SkipReason.REINSTALL_REFUSED, f"{scope.dev.name}: {release.version} is "
                       "already installed; reinstalling needs --allow-reinstall")  # fmt: skip
    if order is Ordering.LESS:
        _check_downgrade(scope, release, opts.allow_downgrade)
    if order is Ordering.UNKNOWN:
        raise Refused(SkipReason.FIRMWARE_UNORDERABLE, f"{scope.dev.name}: {release.version} "
                       f"cannot be ordered against {scope.dev.firmware_text}")  # fmt: skip
    return release


def _find(
    scope: _Scope, releases: Sequence[FirmwareRelease], wanted: object
) -> FirmwareRelease | None:
    if not isinstance(wanted, FirmwareVersion):
        return None
    for release in releases:
        parsed = parse_version(scope.vendor, release.version)
        if compare(parsed, wanted) is Ordering.EQUAL:
            return release
    return None


def _explain_missing(scope: _Scope, wanted: object) -> NoReturn:
    """Refuse a pinned version that is not eligible, naming what stands in the way."""
    dev, text = scope.dev, str(wanted)
    if _find(scope, scope.for_hardware, wanted) is not None:
        where = scope.region or "an unknown region's"
        raise Refused(SkipReason.REGION_MISMATCH, f"{dev.name}: firmware {text} is published "
                       f"for another region; the device runs {where} firmware")  # fmt: skip
    if _find(scope, scope.every, wanted) is not None:
        raise Refused(SkipReason.HARDWARE_MISMATCH, _hardware_detail(dev, scope.every))
    raise Refused(SkipReason.NO_RELEASE, f"{dev.name}: no release {text} is known for this model")


def _check_downgrade(scope: _Scope, release: FirmwareRelease, allowed: bool) -> None:
    """Refuse a downgrade unless allowed and the installed release permits one."""
    dev = scope.dev
    blocking = [r for r in scope.eligible if r.blocks_downgrade and _installed(scope, r)]
    if blocking:
        raise Refused(SkipReason.DOWNGRADE_REFUSED, f"{dev.name}: installed firmware "
                       f"{dev.firmware_text} blocks going back to {release.version}, even "
                       "with --allow-downgrade")  # fmt: skip
    if not allowed:
        raise Refused(SkipReason.DOWNGRADE_REFUSED, f"{dev.name}: {release.version} is older "
                       f"than installed {dev.firmware_text}; downgrading needs --allow-downgrade")  # fmt: skip


def _installed(scope: _Scope, release: FirmwareRelease) -> bool:
    return scope.order(release) is Ordering.EQUAL


# --- upgrade path -------------------------------------------------------------------


def _path(
    scope: _Scope, release: FirmwareRelease, seen: tuple[str, ...]
) -> tuple[FirmwareRelease, ...]:
    """The releases to install, in order, ending with ``release`` (rule 4)."""
    if release.version in seen or len(seen) >= _MAX_PATH:
        raise Refused(SkipReason.BELOW_MINIMUM, f"{scope.dev.name}: the requirements of "
                       f"{release.version} go round in a circle or too deep")  # fmt: skip
    steps: list[FirmwareRelease] = []
    for needed in _unmet(scope, release):
        for step in _path(scope, needed, (*seen, release.version)):
            if step not in steps:
                steps.append(step)
    return (*steps, release)


def _unmet(scope: _Scope, release: FirmwareRelease) -> list[FirmwareRelease]:
    """Releases of ``release.requires`` the device is below, lowest first."""
    unmet: list[tuple[FirmwareVersion, FirmwareRelease]] = []
    for text in release.requires:
        wanted = parse_version(scope.vendor, text)
        order = compare(scope.current, wanted)
        if order in (Ordering.EQUAL, Ordering.GREATER):
            continue
        found = _find(scope, scope.eligible, wanted)
        if order is Ordering.UNKNOWN or found is None or not isinstance(wanted, FirmwareVersion):
            raise Refused(SkipReason.BELOW_MINIMUM, _below_detail(scope, release, text))
        unmet.append((wanted, found))
    return [r for _, r in sorted(unmet, key=lambda p: p[0])]


def _below_detail(scope: _Scope, release: FirmwareRelease, needed: str) -> str:
    return (f"{scope.dev.name}: {release.version} needs {needed} installed first, and "
            f"campatch knows no {needed} image for this hardware and region to get "
            f"there from {scope.dev.firmware_text}")  # fmt: skip


def _flags(
    scope: _Scope, target: FirmwareRelease, path: Sequence[FirmwareRelease]
) -> tuple[Flag, ...]:
    flags: list[Flag] = []
    if any(r.blocks_downgrade for r in path):
        flags.append(Flag.BLOCKS_DOWNGRADE)
    if any(r.breaking for r in path):
        flags.append(Flag.BREAKING)
    if target.end_of_life:
        flags.append(Flag.END_OF_LIFE)
    order = scope.order(target)
    if order is Ordering.LESS:
        flags.append(Flag.DOWNGRADE)
    if order is Ordering.EQUAL:
        flags.append(Flag.REINSTALL)
    return tuple(flags)
