"""``config-changed``: open ports or firmware changed since the previous scan.

Compares this scan's report with ``DeviceFacts.previous``. Newly opened ports are
medium (something turned on a service: telnet, a debug port, a P2P agent); closed
ports and a changed firmware version are info, because campatch cannot tell from
the network whether the owner made the change (a firmware update it applied itself
is recorded by ``campatch patch``, not here).
"""

from __future__ import annotations

from collections.abc import Iterable

from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.model import Field, Finding, HostReport, Severity


def _ports(report: HostReport) -> set[tuple[int, str]]:
    return {(s.port, s.transport) for s in report.services}


def _names(ports: Iterable[tuple[int, str]]) -> str:
    return ", ".join(f"{p}/{t}" for p, t in sorted(ports))


class ConfigChangedCheck:
    """Open ports or firmware that changed since the previous scan."""

    id = "config-changed"
    title = "Device configuration changed since the last scan"
    severity = Severity.MEDIUM
    provisions = ("OWASP I4", "OWASP I9", "8259A state-awareness")

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterable[Finding]:
        """Findings for opened ports, closed ports and a firmware change."""
        before = device.previous
        if before is None:
            return
        now = device.report
        opened, closed = _ports(now) - _ports(before), _ports(before) - _ports(now)
        if opened:
            yield self._finding(device, Severity.MEDIUM, f"new open ports: {_names(opened)}")
        if closed:
            yield self._finding(device, Severity.INFO, f"ports now closed: {_names(closed)}")
        old, new = before.identity.get(Field.FIRMWARE), now.identity.get(Field.FIRMWARE)
        if old and new and old != new:
            yield self._finding(device, Severity.INFO, f"firmware changed from {old} to {new}")

    def _finding(self, device: DeviceFacts, severity: Severity, what: str) -> Finding:
        return Finding(
            check=self.id,
            severity=severity,
            title=what[:1].upper() + what[1:],
            evidence=f"{what} (compared with the previous scan)",
            remediation=(
                "If you (or your installer) did not make this change, find out who did: "
                "check the device's log and accounts, and change its password."
            ),
            provisions=self.provisions,
        )


CHECKS = (ConfigChangedCheck(),)
