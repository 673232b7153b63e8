"""Helpers the checks share: how findings are built and worded."""

from __future__ import annotations

from campatch.audit.interface import AppCheck, Check, DeviceIdentity, IdentityCheck
from campatch.model import Certainty, Finding, Severity

__all__ = ["CONFIRM_FIRMWARE", "finding", "unorderable"]

#: What to tell an owner whose device campatch could not log in to (the same words for
#: every device of an identity, so no address: reports show it beside the finding).
CONFIRM_FIRMWARE = (
    "add the device's credentials with `campatch creds add <address>` so campatch can "
    "read the firmware version"
)


def unorderable(identity: DeviceIdentity) -> str:
    """What to do when the firmware version cannot be ordered."""
    return (
        f"the firmware version {identity.firmware_text!r} cannot be ordered for "
        f"{identity.vendor or 'this vendor'}; check the vendor advisory"
    )


def finding(
    check: Check | IdentityCheck | AppCheck,
    *,
    title: str,
    evidence: str,
    remediation: str,
    severity: Severity | None = None,
    confirm_by: str = "",
    advisory: str = "",
    kev: bool = False,
    references: tuple[str, ...] = (),
) -> Finding:
    """A finding of ``check``.

    Args:
        check: supplies the id, the default severity and the provisions.
        title, evidence, remediation: see :class:`~campatch.model.Finding`.
        severity: overrides the check's default.
        confirm_by: non-empty makes the finding POSSIBLE, with this way to confirm it.
        advisory, kev, references: for vulnerability findings.

    Returns:
        The finding.
    """
    return Finding(
        check=check.id,
        severity=severity or check.severity,
        title=title,
        evidence=evidence,
        remediation=remediation,
        certainty=Certainty.POSSIBLE if confirm_by else Certainty.CONFIRMED,
        confirm_by=confirm_by,
        advisory=advisory,
        kev=kev,
        references=references,
        provisions=check.provisions,
    )
