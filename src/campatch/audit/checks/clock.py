"""``clock-wrong``: the device's clock is off by more than five minutes.

Reads ``SecurityFacts.clock_offset_s`` (ONVIF ``GetSystemDateAndTime`` minus
campatch's clock). A wrong clock breaks recording timestamps used as evidence,
certificate validity checks and WS-Security logins; it often means NTP is off.
"""

from __future__ import annotations

from collections.abc import Iterable

from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.model import Finding, Severity

TOLERANCE_S = 300.0  # ONVIF devices refuse WS-Security stamps further off than this
FAR_OFF_S = 86_400.0  # beyond a day: medium


def _describe(seconds: float) -> str:
    size = abs(seconds)
    if size >= 86_400:
        text = f"{size / 86_400:.1f} days"
    elif size >= 3_600:
        text = f"{size / 3_600:.1f} hours"
    else:
        text = f"{size / 60:.0f} minutes"
    return f"{text} {'ahead' if seconds > 0 else 'behind'}"


class ClockWrongCheck:
    """Device clock more than five minutes away from the real time."""

    id = "clock-wrong"
    title = "Device clock is wrong"
    severity = Severity.LOW
    provisions = ("OWASP I9", "8259A configuration")

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterable[Finding]:
        """A finding when the offset exceeds :data:`TOLERANCE_S`."""
        offset = device.report.security.clock_offset_s
        if offset is None or abs(offset) <= TOLERANCE_S:
            return
        severity = Severity.MEDIUM if abs(offset) > FAR_OFF_S else Severity.LOW
        yield Finding(
            check=self.id,
            severity=severity,
            title=f"Clock is {_describe(offset)}",
            evidence=f"ONVIF GetSystemDateAndTime differs from campatch's clock by {offset:+.0f} s",
            remediation=(
                "Turn on NTP time synchronisation on the device (or set the time), so "
                "recordings carry the right time and certificates can be checked."
            ),
            provisions=self.provisions,
        )


CHECKS = (ClockWrongCheck(),)
