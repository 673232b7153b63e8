"""The assessment stage's contract: pure checks over what a scan observed.

Assessment has two halves, kept apart so that ``campatch audit`` can re-assess the
inventory with new knowledge without touching a device:

* **probes** (``audit/probes/``) talk to devices during a scan and fill a host's
  :class:`~campatch.model.SecurityFacts` (RTSP open?, default password accepted?,
  router port forwards ...). They never change a device and respect the lockout budget.
* **checks** (``audit/checks/``) are pure functions of one device's facts, the
  knowledge base and the previous scan: no I/O, fast, deterministic. Each yields
  :class:`~campatch.model.Finding`s with evidence and one remediation.

There are three kinds of check. A :class:`Check` looks at one device's facts. An
:class:`IdentityCheck` looks only at what identifies the device's firmware
(:class:`DeviceIdentity`) and the knowledge base, so the auditor runs it once per
identity and gives every device of that identity the same findings: an inventory of
10,000 devices holds about a thousand identities. An :class:`AppCheck` looks at the
owner's viewer apps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from campatch.knowledge.versions import Parsed, parse_version
from campatch.model import DeviceFindings, Field, Finding, HostReport, Severity

if TYPE_CHECKING:
    from campatch.knowledge.index import KnowledgeBase


@dataclass(frozen=True)
class DeviceFacts:
    """Everything a check may look at for one device.

    Args:
        key: the inventory key of the device.
        report: this scan's report (identity, services, problems, security facts).
        previous: the previous scan's report of the same device, if any.
    """

    key: str
    report: HostReport
    previous: HostReport | None = None

    @cached_property
    def identity(self) -> DeviceIdentity:
        """What identifies the device's firmware, from :attr:`report`."""
        return DeviceIdentity.of(self.report)


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What identifies a device's firmware: all an :class:`IdentityCheck` may look at.

    Args:
        vendor, model, hardware, firmware, build: as identified (None = unknown).

    Attributes:
        name: ``"Hikvision DS-2CD2143G2-I"`` (what is known of it), for messages.
        firmware_text: firmware and build as the device said them, or ``"unknown"``.
    """

    vendor: str | None
    model: str | None
    hardware: str | None
    firmware: str | None
    build: str | None
    name: str = field(init=False, repr=False, compare=False)
    firmware_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Worked out once: messages use them for every advisory of the identity.
        name = " ".join(p for p in (self.vendor, self.model) if p) or "the device"
        firmware = " ".join(p for p in (self.firmware, self.build) if p) or "unknown"
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "firmware_text", firmware)

    @classmethod
    def of(cls, report: HostReport) -> DeviceIdentity:
        """The identity ``report`` observed."""
        ident = report.identity
        return cls(
            ident.get(Field.VENDOR),
            ident.get(Field.MODEL),
            ident.get(Field.HARDWARE),
            ident.get(Field.FIRMWARE),
            ident.get(Field.BUILD),
        )

    def version(self) -> Parsed | None:
        """The firmware parsed in the vendor's scheme; None when it was not read."""
        if not self.firmware:
            return None
        return parse_version(self.vendor, self.firmware, self.build)


@dataclass(frozen=True)
class AuditContext:
    """What every check shares.

    Args:
        knowledge: advisories, releases, default credentials, viewer apps.
        declared_accounts: per device key (or ``"*"``), the accounts the owner declared.
        owner_apps: viewer apps the owner uses: (name, platform) -> installed version.
        now: the assessment time, ISO 8601 UTC (checks compare dates with it).
    """

    knowledge: KnowledgeBase
    declared_accounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    owner_apps: Mapping[tuple[str, str], str] = field(default_factory=dict)
    now: str = ""


class Check(Protocol):
    """**Protocol**: one audit check.

    Attributes:
        id: stable identifier used in reports and suppressions ("known-vulnerability").
        title: what it checks, one line.
        severity: the default severity of its findings (a finding may raise or lower it).
        provisions: the ETSI EN 303 645 provisions (and OWASP IoT / NISTIR 8259A items)
            it serves, e.g. ``("ETSI 5.3-2", "OWASP I4")``.
    """

    id: str
    title: str
    severity: Severity
    provisions: tuple[str, ...]

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterable[Finding]:
        """Findings for one device; nothing when it is fine or does not apply."""
        ...


class IdentityCheck(Protocol):
    """**Protocol**: a check whose findings depend only on the device's identity.

    Attributes: as :class:`Check`.
    """

    id: str
    title: str
    severity: Severity
    provisions: tuple[str, ...]

    def run_identity(self, identity: DeviceIdentity, ctx: AuditContext) -> Iterable[Finding]:
        """Findings for every device of ``identity``; nothing when none applies.

        The auditor calls it once per identity and :class:`AuditContext`, so its
        findings must not depend on anything else (and name no device's address).
        """
        ...


class AppCheck(Protocol):
    """**Protocol**: a check about the owner's viewer apps (not about one device)."""

    id: str
    title: str
    severity: Severity
    provisions: tuple[str, ...]

    def run_apps(self, ctx: AuditContext) -> Iterable[DeviceFindings]:
        """Findings about the owner's apps, one group per app (``address`` empty)."""
        ...
