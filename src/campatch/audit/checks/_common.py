"""Helpers the checks share: the identity facts they need, and how findings are built."""

from __future__ import annotations

from dataclasses import dataclass, field

from campatch.audit.interface import AppCheck, Check, DeviceFacts
from campatch.knowledge.versions import Parsed, parse_version
from campatch.model import Certainty, Field, Finding, Severity

#: What to tell an owner whose device campatch could not log in to.
ADD_CREDENTIALS = (
    "add credentials with `campatch creds add {address}` so campatch can read the firmware version"
)


@dataclass(frozen=True, slots=True)
class Device:
    """The identity facts checks look at, taken from a device's latest report.

    Args:
        key: inventory key.
        address: where it answered.
        vendor, model, hardware, firmware, build: as identified (None = unknown).

    Attributes:
        name: ``"Hikvision DS-2CD2143G2-I"`` (what is known of it), for messages.
        firmware_text: firmware and build as the device said them, or ``"unknown"``.
    """

    key: str
    address: str
    vendor: str | None
    model: str | None
    hardware: str | None
    firmware: str | None
    build: str | None
    name: str = field(init=False, repr=False, compare=False)
    firmware_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Worked out once: messages use them for every advisory of the device.
        name = " ".join(p for p in (self.vendor, self.model) if p) or f"device {self.address}"
        firmware = " ".join(p for p in (self.firmware, self.build) if p) or "unknown"
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "firmware_text", firmware)

    @classmethod
    def of(cls, facts: DeviceFacts) -> Device:
        """The identity facts of ``facts.report``.

        The last answer is kept: the auditor runs every check on one device before the
        next, and most checks ask.
        """
        last = _last_device[0]
        if last is not None and last[0] is facts:
            return last[1]
        ident = facts.report.identity
        device = cls(
            key=facts.key,
            address=facts.report.address,
            vendor=ident.get(Field.VENDOR),
            model=ident.get(Field.MODEL),
            hardware=ident.get(Field.HARDWARE),
            firmware=ident.get(Field.FIRMWARE),
            build=ident.get(Field.BUILD),
        )
        _last_device[0] = (facts, device)
        return device

    def version(self) -> Parsed | None:
        """The firmware parsed in the vendor's scheme; None when it was not read."""
        if not self.firmware:
            return None
        return parse_version(self.vendor, self.firmware, self.build)

    def confirm_firmware(self) -> str:
        """How to let campatch read the firmware version."""
        return ADD_CREDENTIALS.format(address=self.address)

    def unorderable(self) -> str:
        """What to do when the firmware version cannot be ordered."""
        return (
            f"the firmware version {self.firmware_text!r} cannot be ordered for "
            f"{self.vendor or 'this vendor'}; check the vendor advisory"
        )


#: The last (facts, device) pair :meth:`Device.of` built (one tuple, replaced whole).
_last_device: list[tuple[DeviceFacts, Device] | None] = [None]


def finding(
    check: Check | AppCheck,
    device: Device,
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
    """A finding of ``check`` about ``device``.

    Args:
        check: supplies the id, the default severity and the provisions.
        device: what the finding is about.
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
        device_key=device.key,
        address=device.address,
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
