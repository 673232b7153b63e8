"""``firmware-outdated`` and ``end-of-life``: the device against the firmware catalog.

- **firmware-outdated** (medium): a newer release for the model (and hardware
  revision) is known on the device's release line. POSSIBLE when the device's version
  cannot be read or ordered against the known releases; nothing when no release of the
  model is known (the catalog cannot say).
- **end-of-life** (high, ETSI 5.3-13): a release of the model is marked end-of-life:
  the vendor has stopped fixing it ("no supported firmware").

Both depend only on the device's identity: they are identity checks, run once per
identity (:class:`~campatch.audit.interface.IdentityCheck`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from campatch.audit.checks._common import CONFIRM_FIRMWARE, finding, unorderable
from campatch.audit.interface import AuditContext, DeviceIdentity
from campatch.knowledge.versions import FirmwareVersion, Ordering, compare, parse_version
from campatch.model import Finding, FirmwareRelease, Severity

__all__ = ["IDENTITY_CHECKS", "EndOfLife", "FirmwareOutdated", "latest_release"]


def _releases(device: DeviceIdentity, ctx: AuditContext) -> list[FirmwareRelease]:
    if not device.vendor or not device.model:
        return []
    return ctx.knowledge.releases_for(device.vendor, device.model, device.hardware)


def _source(release: FirmwareRelease) -> str:
    return (
        release.download_page or release.url or release.provenance.url or release.provenance.source
    )


def latest_release(
    releases: Sequence[FirmwareRelease], vendor: str, current: FirmwareVersion
) -> FirmwareRelease | None:
    """The newest release on ``current``'s release line, or None if none is on it."""
    best: tuple[FirmwareVersion, FirmwareRelease] | None = None
    for release in releases:
        version = parse_version(vendor, release.version)
        if not isinstance(version, FirmwareVersion) or not version.comparable_with(current):
            continue
        if best is None or compare(version, best[0]) is Ordering.GREATER:
            best = (version, release)
    return best[1] if best else None


class FirmwareOutdated:
    """A newer firmware release is known for the device's model and hardware."""

    id: str = "firmware-outdated"
    title: str = "firmware behind the latest known release"
    severity: Severity = Severity.MEDIUM
    provisions: tuple[str, ...] = (
        "ETSI 5.3-2",
        "ETSI 5.3-8",
        "OWASP I4",
        "OWASP I5",
        "8259A update",
    )

    def run_identity(self, dev: DeviceIdentity, ctx: AuditContext) -> Iterator[Finding]:
        """At most one finding: the newest release to install, or why it is unsure."""
        releases = _releases(dev, ctx)
        if not releases:
            return
        current = dev.version()
        if not isinstance(current, FirmwareVersion):
            yield self._unsure(dev, releases, current is None)
            return
        latest = latest_release(releases, dev.vendor or "", current)
        if latest is None:
            yield self._unsure(dev, releases, False)
        elif compare(current, parse_version(dev.vendor, latest.version)) is Ordering.LESS:
            yield finding(
                self,
                title=f"firmware {dev.firmware_text} is older than {latest.version}",
                evidence=f"{dev.name} runs {dev.firmware_text}; the latest known release for it "
                f"is {latest.version}" + (f" ({latest.released})" if latest.released else ""),
                remediation=f"Install firmware {latest.version} for the {dev.model} from {_source(latest)}.",
            )  # fmt: skip

    def _unsure(
        self, dev: DeviceIdentity, releases: Sequence[FirmwareRelease], unread: bool
    ) -> Finding:
        known = ", ".join(sorted({r.version for r in releases})[:5])
        return finding(
            self,
            title="firmware possibly older than the latest known release",
            evidence=f"{dev.name} runs {dev.firmware_text}; known releases for it: {known}",
            remediation=f"Compare the firmware with the vendor's latest release for the {dev.model} "
            f"and install it from {_source(releases[-1])}.",
            confirm_by=CONFIRM_FIRMWARE if unread else unorderable(dev),
        )  # fmt: skip


class EndOfLife:
    """The vendor marks the device's model end-of-life: no more security fixes."""

    id: str = "end-of-life"
    title: str = "model is end-of-life (no supported firmware)"
    severity: Severity = Severity.HIGH
    provisions: tuple[str, ...] = ("ETSI 5.3-13", "OWASP I5", "8259A update")

    def run_identity(self, dev: DeviceIdentity, ctx: AuditContext) -> Iterator[Finding]:
        """One finding when any known release of the model is marked end-of-life."""
        marked = [r for r in _releases(dev, ctx) if r.end_of_life]
        if not marked:
            return
        last = marked[-1]
        yield finding(
            self,
            title=f"the {dev.model} is end-of-life: no supported firmware",
            evidence=f"{last.provenance.source} marks the {dev.model} end-of-life with release "
            f"{last.version}" + (f" ({last.provenance.url})" if last.provenance.url else ""),
            remediation=f"Replace the {dev.model}; until then install its last release "
            f"{last.version} from {_source(last)} and keep it off the internet.",
        )  # fmt: skip


IDENTITY_CHECKS = (FirmwareOutdated(), EndOfLife())
