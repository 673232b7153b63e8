"""A finding copied for another device, about five times cheaper than ``Finding(...)``.

The ``known-vulnerability`` check works out an identity's findings once and copies them
for each device of that identity: about 430,000 copies for 10,000 devices.
:class:`~campatch.model.Finding` is a frozen dataclass, whose ``__init__`` stores each of
its 13 fields through ``object.__setattr__``: about 1 µs a finding on the benchmark
machine, 0.45 s for those copies. :func:`for_device` fills an object of
:class:`_Layout` instead (the same slots, not frozen, so plain attribute stores) and
then makes it a ``Finding`` by assigning ``__class__``, which Python allows between
classes with the same slots: 0.2 µs. The result is an ordinary ``Finding``, with its
type, equality, hash and immutability.

Findings whose text names the stand-in's address (``confirm_by`` of a device whose
firmware campatch could not read) are copied the same way by
:func:`for_device_placed`, with the address put in only the text fields that name it.

If ``Finding``'s fields ever differ from the ones :class:`_Layout` lists, the module
uses ``dataclasses.replace`` instead (and a test fails, so that the list gets updated).
"""

from __future__ import annotations

import dataclasses

from campatch.model import Certainty, Finding, Severity

__all__ = ["FAST", "TEXTS", "for_device", "for_device_placed"]

#: The text fields of a finding that may name the device's address.
TEXTS = ("title", "evidence", "remediation", "confirm_by")


class _Layout:
    """:class:`~campatch.model.Finding`'s slots, writable."""

    __slots__ = (
        "address", "advisory", "certainty", "check", "confirm_by", "device_key", "evidence",
        "kev", "provisions", "references", "remediation", "severity", "title",
    )  # fmt: skip

    check: str
    severity: Severity
    device_key: str
    address: str
    title: str
    evidence: str
    remediation: str
    certainty: Certainty
    confirm_by: str
    advisory: str
    kev: bool
    references: tuple[str, ...]
    provisions: tuple[str, ...]


def _copied(template: Finding, key: str, address: str) -> Finding:
    c = _filled(template, key, address)
    c.__class__ = Finding  # type: ignore[assignment]
    return c  # type: ignore[return-value]


def _filled(template: Finding, key: str, address: str) -> _Layout:
    """``template``'s fields, with the device's key and address, in a writable object."""
    c = _Layout()
    c.check = template.check
    c.severity = template.severity
    c.device_key = key
    c.address = address
    c.title = template.title
    c.evidence = template.evidence
    c.remediation = template.remediation
    c.certainty = template.certainty
    c.confirm_by = template.confirm_by
    c.advisory = template.advisory
    c.kev = template.kev
    c.references = template.references
    c.provisions = template.provisions
    return c


def _copied_placed(
    template: Finding, key: str, address: str, marker: str, texts: tuple[str, ...]
) -> Finding:
    c = _filled(template, key, address)
    for name in texts:
        setattr(c, name, getattr(template, name).replace(marker, address))
    c.__class__ = Finding  # type: ignore[assignment]
    return c  # type: ignore[return-value]


def _replaced(template: Finding, key: str, address: str) -> Finding:
    return dataclasses.replace(template, device_key=key, address=address)


def _replaced_placed(
    template: Finding, key: str, address: str, marker: str, texts: tuple[str, ...]
) -> Finding:
    placed = {name: getattr(template, name).replace(marker, address) for name in texts}
    return dataclasses.replace(template, device_key=key, address=address, **placed)


#: Whether :func:`for_device` takes the fast way (``Finding`` has the fields listed).
FAST = sorted(f.name for f in dataclasses.fields(Finding)) == list(_Layout.__slots__)

#: ``for_device(template, key, address)``: ``template`` for the device with that
#: inventory key and address (every other field as it is).
for_device = _copied if FAST else _replaced

#: ``for_device_placed(template, key, address, marker, texts)``: as :func:`for_device`,
#: and ``marker`` replaced by ``address`` in the text fields named in ``texts``
#: (a subset of :data:`TEXTS`).
for_device_placed = _copied_placed if FAST else _replaced_placed
