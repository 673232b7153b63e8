"""Which firmware each device should get, by which path, and why not where it cannot.

:func:`~campatch.patch.planner.plan_upgrades` reads devices (the inventory's latest reports) and the knowledge
base and contacts nothing. Every device comes out as a :class:`DevicePlan`: either
ready (a target release, the releases to install in order, the advisories the target
fixes, the expected downtime and flags) or carrying :class:`Skip` values that say why
not (STYLE C2: "couldn't" is a value). A skipped device keeps its target where one was
found, so :mod:`campatch.patch.instructions` can still tell the owner how to install
it by hand.

This module holds the plan's types, its public constants and the per-vendor lookups;
:func:`~campatch.patch.planner.plan_upgrades` is the entry point. The rules are
documented with the code that applies them, in this order:

- rules 1-4, target resolution and upgrade path (identity; releases keyed by model,
  hardware revision and region; the strategy or pinned version; the ``requires``
  path): :mod:`campatch.patch.plan_target`;
- rule 5, device gates (no automatic path, unreachable, no credentials, image not in
  the firmware store): :mod:`campatch.patch.plan_gates`.

The SAFETY D-05 preflight refusals a plan can decide without the device are skip
reasons naming their case (:attr:`Skip.safety_case`); the two that only the device can
answer (an upgrade already in progress, too little free flash) belong to the apply
step's preflight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.versions import Scheme, scheme_for_vendor
from campatch.model import FirmwareRelease, HostReport

__all__ = [
    "AUTOMATIC_DRIVERS",
    "DOWNTIME_S",
    "MANUAL_ONLY_VENDORS",
    "SAFETY_CASES",
    "DevicePlan",
    "Flag",
    "ImageLookup",
    "Plan",
    "PlanOptions",
    "Skip",
    "SkipReason",
    "StoredImageInfo",
    "Strategy",
    "automatic_driver",
    "expected_downtime",
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
class PlanOptions:
    """What a plan was asked for (:func:`~campatch.patch.planner.plan_upgrades`'s
    arguments), as the target and gate rules read it."""

    knowledge: KnowledgeBase
    strategy: Strategy
    store: ImageLookup | None
    allow_downgrade: bool
    allow_reinstall: bool
    version: str | None


# --- per-vendor lookups (public; also read by plan_target, plan_gates and launch) --


def expected_downtime(vendor: str | None) -> int:
    """Expected downtime of one step for the vendor, seconds (see :data:`DOWNTIME_S`)."""
    return DOWNTIME_S.get(scheme_for_vendor(vendor), _DEFAULT_DOWNTIME_S)


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
