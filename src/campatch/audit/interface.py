"""The assessment stage's contract: pure checks over what a scan observed.

Assessment has two halves, kept apart so that ``campatch audit`` can re-assess the
inventory with new knowledge without touching a device:

* **probes** (``audit/probes/``) talk to devices during a scan and fill a host's
  :class:`~campatch.model.SecurityFacts` (RTSP open?, default password accepted?,
  router port forwards ...). They never change a device and respect the lockout budget.
* **checks** (``audit/checks/``) are pure functions of one device's facts, the
  knowledge base and the previous scan: no I/O, fast, deterministic. Each yields
  :class:`~campatch.model.Finding`s with evidence and one remediation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from campatch.model import Finding, HostReport, Severity

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


class AppCheck(Protocol):
    """**Protocol**: a check about the owner's viewer apps (not about one device)."""

    id: str
    title: str
    severity: Severity
    provisions: tuple[str, ...]

    def run_apps(self, ctx: AuditContext) -> Iterable[Finding]:
        """Findings about the owner's apps."""
        ...
