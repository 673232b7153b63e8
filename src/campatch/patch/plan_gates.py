"""Device gates: what stands between a device with a found target and an automatic upgrade.

What it decides (rule 5 of :mod:`campatch.patch.plan`; all that apply are listed): no
automatic path for the vendor (``manual`` instructions instead), unreachable at the last
scan, no accepted credentials, and, when a firmware store is given, an image of the path
missing from it. :func:`campatch.patch.planner.plan_upgrades` calls :func:`gates` for
the devices whose target resolution succeeded.
"""

from __future__ import annotations

from campatch.audit.interface import DeviceIdentity
from campatch.model import AuthState, FirmwareRelease, HostReport
from campatch.patch.plan import (
    DevicePlan,
    ImageLookup,
    PlanOptions,
    Skip,
    SkipReason,
    automatic_driver,
)

__all__ = ["gates"]

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


# --- device gates -------------------------------------------------------------------


def gates(
    report: HostReport, dev: DeviceIdentity, plan: DevicePlan, opts: PlanOptions
) -> tuple[Skip, ...]:
    """Everything that stands between a found target and an automatic upgrade."""
    skips = [
        _manual_only(report, dev),
        _unreachable(report, dev),
        _no_credentials(report, dev),
        _missing_image(plan, opts.store),
    ]
    return tuple(s for s in skips if s is not None)


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
