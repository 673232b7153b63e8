"""Which firmware each device should get, by which path, and why not where it cannot.

:func:`plan_upgrades` reads devices (the inventory's latest reports) and the knowledge
base and contacts nothing. Every device comes out as a :class:`DevicePlan`: either
ready (a target release, the releases to install in order, the advisories the target
fixes, the expected downtime and flags) or carrying :class:`Skip` values that say why
not (STYLE C2: "couldn't" is a value). A skipped device keeps its target where one was
found, so :mod:`campatch.patch.instructions` can still tell the owner how to install
it by hand.

Rules, in the order they are applied:

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
5. **Device gates** (all that apply are listed): no automatic path for the vendor
   (``manual`` instructions instead), unreachable at the last scan, no accepted
   credentials, and, when a firmware store is given, an image of the path missing
   from it.

The SAFETY D-05 preflight refusals a plan can decide without the device are skip
reasons naming their case (:attr:`Skip.safety_case`); the two that only the device can
answer (an upgrade already in progress, too little free flash) belong to the apply
step's preflight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import NoReturn, Protocol

from campatch.audit.checks.vulnerabilities import matching_products
from campatch.audit.interface import DeviceFacts, DeviceIdentity
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.versions import (
    FirmwareVersion,
    Ordering,
    Scheme,
    compare,
    in_any_range,
    parse_version,
    scheme_for_vendor,
)
from campatch.model import Advisory, AuthState, FirmwareRelease, HostReport

__all__ = [
    "AUTOMATIC_DRIVERS",
    "DOWNTIME_S",
    "MANUAL_ONLY_VENDORS",
    "SAFETY_CASES",
    "DevicePlan",
    "Flag",
    "ImageLookup",
    "Plan",
    "Skip",
    "SkipReason",
    "StoredImageInfo",
    "Strategy",
    "automatic_driver",
    "expected_downtime",
    "plan_upgrades",
]

#: Drivers with an upgrade operation: the device's best such driver gives the path.
AUTOMATIC_DRIVERS = ("hikvision", "dahua", "onvif")
#: Schemes whose ONVIF upload is not safe: Axis OS rolls an uncommitted upgrade back
#: (VENDORS.md §3, §11.4), and ONVIF has no commit, so Axis gets instructions.
MANUAL_ONLY_VENDORS = frozenset({Scheme.AXIS})
#: Expected downtime of one upgrade step, seconds, per scheme [assumed: the vendors
#: publish no figure; upload, flash and reboot of a camera take minutes]. Axis uses the
#: "wait 20 min" of its upgrade guidance (SAFETY D-07 source).
DOWNTIME_S: dict[Scheme, int] = {
    Scheme.HIKVISION: 600,
    Scheme.DAHUA: 600,
    Scheme.AXIS: 1_200,
}
_DEFAULT_DOWNTIME_S = 900
_MAX_PATH = 16  # requires chains longer than this are treated as unsatisfiable
_UNREACHABLE_WORDS = (
    "timed out",
    "timeout",
    "no complete reply",
    "connection refused",
    "unreachable",
    "host deadline",
    "no route",
    "connection reset",
    "connecterror",
)


class Strategy(StrEnum):
    """Which release a plan aims at (``--strategy``)."""

    MINIMUM_FIX = "minimum-fix"
    LATEST = "latest"

    def __str__(self) -> str:
        return self.value


class SkipReason(StrEnum):
    """Why a device gets no automatic upgrade in this plan."""

    ALREADY_CURRENT = "already-current"
    IDENTITY_UNKNOWN = "identity-unknown"
    FIRMWARE_UNKNOWN = "firmware-unknown"
    FIRMWARE_UNORDERABLE = "firmware-unorderable"
    NO_RELEASE = "no-release"
    HARDWARE_MISMATCH = "hardware-mismatch"
    REGION_MISMATCH = "region-mismatch"
    END_OF_LIFE = "end-of-life"
    NO_FIX = "no-fix-known"
    DOWNGRADE_REFUSED = "downgrade-refused"
    REINSTALL_REFUSED = "reinstall-refused"
    BELOW_MINIMUM = "below-minimum"
    NO_AUTOMATIC_PATH = "no-automatic-path"
    UNREACHABLE = "unreachable"
    NO_CREDENTIALS = "no-credentials"
    NO_IMAGE = "no-image"

    def __str__(self) -> str:
        return self.value


#: The SAFETY D-05 preflight case each refusal stands for.
SAFETY_CASES: dict[SkipReason, str] = {
    SkipReason.HARDWARE_MISMATCH: "D-05: the model or hardware does not match",
    SkipReason.DOWNGRADE_REFUSED: "D-05: the image is older than installed",
    SkipReason.REINSTALL_REFUSED: "D-05: the image is the same as installed",
    SkipReason.BELOW_MINIMUM: "D-05: the image is below the device's minimum version",
    SkipReason.REGION_MISMATCH: "D-05: the wrong branch (region)",
    SkipReason.END_OF_LIFE: "D-05: the feed marks the model end-of-life with no image",
}


@dataclass(frozen=True, slots=True)
class Skip:
    """One reason a device is not upgraded automatically, in words an owner reads."""

    reason: SkipReason
    detail: str

    @property
    def safety_case(self) -> str:
        """The SAFETY D-05 case this refusal is, or "" when it is none."""
        return SAFETY_CASES.get(self.reason, "")


class Flag(StrEnum):
    """Things an owner must know before a planned upgrade."""

    BLOCKS_DOWNGRADE = "blocks-downgrade"  # no way back to older firmware afterwards
    BREAKING = "breaking"  # changes an API or behaviour integrations rely on
    END_OF_LIFE = "end-of-life"  # the last release: the vendor ends support
    DOWNGRADE = "downgrade"  # allowed by allow_downgrade
    REINSTALL = "reinstall"  # allowed by allow_reinstall

    def __str__(self) -> str:
        return self.value


class StoredImageInfo(Protocol):
    """**Protocol**: what the plan reads of a stored image."""

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the image bytes."""
        ...


class ImageLookup(Protocol):
    """**Protocol**: where verified firmware images are kept (``FirmwareStore``)."""

    def find(
        self,
        vendor: str,
        model: str,
        version: str | None = None,
        hardware: str | None = None,
    ) -> Sequence[StoredImageInfo]:
        """Stored images for the vendor and model (and version and hardware, if given)."""
        ...


@dataclass(frozen=True)
class DevicePlan:
    """What the plan says for one device.

    Args:
        key, address: the device.
        vendor, model, hardware: as identified (None = unknown).
        region: the firmware region, when the catalog's record of the installed version
            names one.
        current: installed firmware (and build) as the device said it, or None.
        target: the release to end on, when one was found (also for skipped devices).
        path: the releases to install, in order; the last is ``target``.
        fixes: advisory ids affecting the installed version that the target fixes.
        unfixed: advisory ids affecting the installed version the target does not fix.
        downtime_s: expected downtime of the whole path, seconds.
        flags: what the owner must know (see :class:`Flag`).
        skips: why it is not upgraded automatically; empty = ready.
    """

    key: str
    address: str
    vendor: str | None
    model: str | None
    hardware: str | None
    current: str | None
    region: str | None = None
    target: FirmwareRelease | None = None
    path: tuple[FirmwareRelease, ...] = ()
    fixes: tuple[str, ...] = ()
    unfixed: tuple[str, ...] = ()
    downtime_s: int | None = None
    flags: tuple[Flag, ...] = ()
    skips: tuple[Skip, ...] = ()

    @property
    def ready(self) -> bool:
        """True when nothing stands in the way of an automatic upgrade."""
        return not self.skips

    @property
    def name(self) -> str:
        """``"Hikvision DS-2CD2032F-I"`` (what is known of it), for messages."""
        return " ".join(p for p in (self.vendor, self.model) if p) or f"device {self.address}"


@dataclass(frozen=True)
class Plan:
    """The upgrade plan for a set of devices (nothing in it has been done)."""

    strategy: Strategy
    devices: tuple[DevicePlan, ...] = field(default_factory=tuple)

    @property
    def ready(self) -> tuple[DevicePlan, ...]:
        """Devices that could be upgraded automatically."""
        return tuple(d for d in self.devices if d.ready)

    @property
    def skipped(self) -> tuple[DevicePlan, ...]:
        """Devices with at least one skip reason."""
        return tuple(d for d in self.devices if not d.ready)


@dataclass(frozen=True)
class _Options:
    knowledge: KnowledgeBase
    strategy: Strategy
    store: ImageLookup | None
    allow_downgrade: bool
    allow_reinstall: bool
    version: str | None


class _Refused(Exception):
    """Internal: target resolution stops with this skip."""

    def __init__(self, reason: SkipReason, detail: str) -> None:
        super().__init__(detail)
        self.skip = Skip(reason, detail)


def plan_upgrades(
    devices: Iterable[DeviceFacts],
    knowledge: KnowledgeBase,
    *,
    strategy: Strategy = Strategy.MINIMUM_FIX,
    firmware_store: ImageLookup | None = None,
    allow_downgrade: bool = False,
    allow_reinstall: bool = False,
    version: str | None = None,
) -> Plan:
    """Plan an upgrade for every device (see the module docstring for the rules).

    Args:
        devices: each device's latest report (``devices_from_inventory``).
        knowledge: advisories and firmware releases.
        strategy: minimum fix or latest release.
        firmware_store: when given, every image of a path must be in it.
        allow_downgrade: plan a pinned ``version`` older than the installed one.
        allow_reinstall: plan a pinned ``version`` equal to the installed one.
        version: install this version instead of the strategy's choice.

    Returns:
        One :class:`DevicePlan` per device, in the order given. Never raises for a
        device: what cannot be planned is a skip reason.
    """
    opts = _Options(knowledge, strategy, firmware_store, allow_downgrade, allow_reinstall, version)
    return Plan(strategy, tuple(_plan_device(d, opts) for d in devices))


def _plan_device(facts: DeviceFacts, opts: _Options) -> DevicePlan:
    dev = facts.identity
    base = DevicePlan(facts.key, facts.report.address, dev.vendor, dev.model, dev.hardware,
                      None if dev.firmware is None else dev.firmware_text)  # fmt: skip
    try:
        planned = _resolve(dev, base, opts)
    except _Refused as refused:
        return replace(base, skips=(refused.skip,))
    return replace(planned, skips=_gates(facts.report, dev, planned, opts))


# --- target resolution ------------------------------------------------------------


def _current(dev: DeviceIdentity, address: str) -> FirmwareVersion:
    if not dev.vendor or not dev.model:
        raise _Refused(SkipReason.IDENTITY_UNKNOWN,
                       f"{dev.name}: vendor or model not identified; campatch cannot pick "
                       "firmware for an unknown model")  # fmt: skip
    version = dev.version()
    if version is None:
        raise _Refused(SkipReason.FIRMWARE_UNKNOWN,
                       f"{dev.name}: firmware version not read; add credentials with "
                       f"`campatch creds add {address}` so campatch can read it")  # fmt: skip
    if not isinstance(version, FirmwareVersion):
        raise _Refused(SkipReason.FIRMWARE_UNORDERABLE,
                       f"{dev.name}: firmware {dev.firmware_text!r} cannot be ordered "
                       f"({version.reason}); campatch cannot tell which release is newer")  # fmt: skip
    return version


def _resolve(dev: DeviceIdentity, base: DevicePlan, opts: _Options) -> DevicePlan:
    current = _current(dev, base.address)
    vendor, model = dev.vendor or "", dev.model or ""
    every = opts.knowledge.releases_for(vendor, model)
    if not every:
        raise _Refused(
            SkipReason.NO_RELEASE, f"{dev.name}: no firmware release of this model is known"
        )
    for_hardware = [r for r in every if _hardware_fits(r, dev.hardware)]
    if not for_hardware:
        raise _Refused(SkipReason.HARDWARE_MISMATCH, _hardware_detail(dev, every))
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


def _target(scope: _Scope, opts: _Options) -> tuple[FirmwareRelease, tuple[str, ...]]:
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
        raise _Refused(SkipReason.END_OF_LIFE,
                       f"{dev.name}: the vendor marks the model end-of-life and no newer image "
                       f"than {dev.firmware_text} exists{why}")  # fmt: skip
    if why:
        raise _Refused(SkipReason.NO_FIX, f"{dev.name}: no known release is newer than "
                       f"{dev.firmware_text}{why}")  # fmt: skip
    raise _Refused(SkipReason.ALREADY_CURRENT, f"{dev.name}: {dev.firmware_text} is the newest "
                   "known release for this hardware")  # fmt: skip


def _withheld(scope: _Scope) -> None:
    """Refuse when newer releases exist but only for another (or unconfirmed) revision
    or region: that is a mismatch, not "already current"."""
    dev = scope.dev
    if any(scope.order(r) is Ordering.GREATER for r in scope.for_hardware):
        where = scope.region or "an unknown region's"
        raise _Refused(SkipReason.REGION_MISMATCH, f"{dev.name}: newer releases are published "
                       f"only for another region; the device runs {where} firmware")  # fmt: skip
    if any(scope.order(r) is Ordering.GREATER for r in scope.every):
        raise _Refused(SkipReason.HARDWARE_MISMATCH, _hardware_detail(dev, scope.every))


def _minimum_fix(
    scope: _Scope, newer: list[FirmwareRelease], knowledge: KnowledgeBase
) -> tuple[FirmwareRelease, tuple[str, ...]]:
    advisories = _applicable(knowledge, scope.dev)
    affecting = [a for a in advisories if _affects(a, scope.dev, scope.current) is True]
    if not affecting:
        raise _Refused(SkipReason.ALREADY_CURRENT, f"{scope.dev.name}: no known advisory affects "
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


def _pinned(scope: _Scope, opts: _Options) -> FirmwareRelease:
    """The release of the pinned version, if the device may get it."""
    wanted = parse_version(scope.vendor, opts.version or "")
    release = _find(scope, scope.eligible, wanted)
    if release is None:
        _explain_missing(scope, wanted)
    order = scope.order(release)
    if order is Ordering.EQUAL and not opts.allow_reinstall:
        raise _Refused(SkipReason.REINSTALL_REFUSED, f"{scope.dev.name}: {release.version} is "
                       "already installed; reinstalling needs --allow-reinstall")  # fmt: skip
    if order is Ordering.LESS:
        _check_downgrade(scope, release, opts.allow_downgrade)
    if order is Ordering.UNKNOWN:
        raise _Refused(SkipReason.FIRMWARE_UNORDERABLE, f"{scope.dev.name}: {release.version} "
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
        raise _Refused(SkipReason.REGION_MISMATCH, f"{dev.name}: firmware {text} is published "
                       f"for another region; the device runs {where} firmware")  # fmt: skip
    if _find(scope, scope.every, wanted) is not None:
        raise _Refused(SkipReason.HARDWARE_MISMATCH, _hardware_detail(dev, scope.every))
    raise _Refused(SkipReason.NO_RELEASE, f"{dev.name}: no release {text} is known for this model")


def _check_downgrade(scope: _Scope, release: FirmwareRelease, allowed: bool) -> None:
    """Refuse a downgrade unless allowed and the installed release permits one."""
    dev = scope.dev
    blocking = [r for r in scope.eligible if r.blocks_downgrade and _installed(scope, r)]
    if blocking:
        raise _Refused(SkipReason.DOWNGRADE_REFUSED, f"{dev.name}: installed firmware "
                       f"{dev.firmware_text} blocks going back to {release.version}, even "
                       "with --allow-downgrade")  # fmt: skip
    if not allowed:
        raise _Refused(SkipReason.DOWNGRADE_REFUSED, f"{dev.name}: {release.version} is older "
                       f"than installed {dev.firmware_text}; downgrading needs --allow-downgrade")  # fmt: skip


def _installed(scope: _Scope, release: FirmwareRelease) -> bool:
    return scope.order(release) is Ordering.EQUAL


# --- upgrade path -------------------------------------------------------------------


def _path(
    scope: _Scope, release: FirmwareRelease, seen: tuple[str, ...]
) -> tuple[FirmwareRelease, ...]:
    """The releases to install, in order, ending with ``release`` (rule 4)."""
    if release.version in seen or len(seen) >= _MAX_PATH:
        raise _Refused(SkipReason.BELOW_MINIMUM, f"{scope.dev.name}: the requirements of "
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
            raise _Refused(SkipReason.BELOW_MINIMUM, _below_detail(scope, release, text))
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


def expected_downtime(vendor: str | None) -> int:
    """Expected downtime of one step for the vendor, seconds (see :data:`DOWNTIME_S`)."""
    return DOWNTIME_S.get(scheme_for_vendor(vendor), _DEFAULT_DOWNTIME_S)


# --- device gates -------------------------------------------------------------------


def _gates(
    report: HostReport, dev: DeviceIdentity, plan: DevicePlan, opts: _Options
) -> tuple[Skip, ...]:
    """Everything that stands between a found target and an automatic upgrade."""
    skips = [
        _manual_only(report, dev),
        _unreachable(report, dev),
        _no_credentials(report, dev),
        _missing_image(plan, opts.store),
    ]
    return tuple(s for s in skips if s is not None)


def automatic_driver(report: HostReport, vendor: str | None) -> str | None:
    """The driver that would upgrade the device, or None when only instructions can.

    Hikvision and Dahua devices use their own driver, other vendors ONVIF, except the
    :data:`MANUAL_ONLY_VENDORS`.
    """
    scheme = scheme_for_vendor(vendor)
    own = {Scheme.HIKVISION: "hikvision", Scheme.DAHUA: "dahua"}.get(scheme)
    if own is not None:
        return own if own in report.drivers else None
    if scheme in MANUAL_ONLY_VENDORS or "onvif" not in report.drivers:
        return None
    return "onvif"


def _manual_only(report: HostReport, dev: DeviceIdentity) -> Skip | None:
    if automatic_driver(report, dev.vendor) is not None:
        return None
    return Skip(SkipReason.NO_AUTOMATIC_PATH, f"{dev.name}: campatch has no safe automatic "
                "upgrade for this device; follow the step-by-step instructions "
                "(campatch patch --instructions)")  # fmt: skip


def _unreachable(report: HostReport, dev: DeviceIdentity) -> Skip | None:
    for problem in report.problems:
        if problem.source.endswith(":login"):
            continue  # the device answered: it refused or locked the login
        text = f"{problem.source} {problem.message}".casefold()
        if problem.source == "identify" or any(w in text for w in _UNREACHABLE_WORDS):
            return Skip(SkipReason.UNREACHABLE, f"{dev.name} at {report.address} did not answer "
                        f"the last scan ({problem.source}: {problem.message}); scan it again")  # fmt: skip
    return None


_AUTH_DETAIL = {
    AuthState.NOT_TRIED: "no credentials are stored for it",
    AuthState.REJECTED: "it refused the stored credentials",
    AuthState.LOCKED: "it signalled a login lockout",
}


def _no_credentials(report: HostReport, dev: DeviceIdentity) -> Skip | None:
    if report.auth is AuthState.ACCEPTED:
        return None
    return Skip(SkipReason.NO_CREDENTIALS, f"{dev.name}: an upgrade needs an accepted login and "
                f"{_AUTH_DETAIL[report.auth]}; add them with `campatch creds add {report.address}`")  # fmt: skip


def _missing_image(plan: DevicePlan, store: ImageLookup | None) -> Skip | None:
    if store is None:
        return None
    missing = [r.version for r in plan.path if not _stored(store, plan, r)]
    if not missing:
        return None
    return Skip(SkipReason.NO_IMAGE, f"{plan.name}: no verified image of {', '.join(missing)} "
                "in the firmware store; fetch it first")  # fmt: skip


def _stored(store: ImageLookup, plan: DevicePlan, release: FirmwareRelease) -> bool:
    """An image of the release for this model and hardware, with the catalog's hash."""
    images = store.find(plan.vendor or release.vendor, plan.model or release.model,
                        release.version, release.hardware or plan.hardware)  # fmt: skip
    if not release.sha256:
        return bool(images)
    return any(i.sha256.casefold() == release.sha256.casefold() for i in images)
