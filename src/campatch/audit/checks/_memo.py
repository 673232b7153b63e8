"""Findings worked out once per device identity, then copied onto each device.

Some checks look only at a device's identity (vendor, model, hardware, firmware,
build) and the knowledge base: ``known-vulnerability``, ``firmware-outdated``,
``end-of-life``. An inventory of 10,000 devices holds about a thousand identities, so
:class:`IdentityMemo` has such a check work out an identity's findings once, for a
stand-in device whose key is ``""`` and whose address is :data:`ADDRESS`, and copies
them for each device with its own key and address (also in the text, where the
stand-in's address appears).

The memo belongs to one :class:`~campatch.audit.interface.AuditContext` object (the
knowledge base and the assessment time it holds decide the findings): it starts empty
whenever the check sees another context, and is dropped with the context.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from typing import Any

from campatch.audit.checks._common import Device
from campatch.audit.checks._copies import TEXTS, for_device, for_device_placed
from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.model import Finding

__all__ = ["ADDRESS", "IdentityMemo", "identity_of"]

#: The stand-in device's address; each device's own takes its place in the copies.
ADDRESS = "\x00address\x00"

#: (vendor, model, hardware, firmware, build).
Identity = tuple[str | None, str | None, str | None, str | None, str | None]

#: An identity's findings for the stand-in, each with the text fields that name the
#: stand-in's address (None when no finding names it).
Templates = tuple[tuple[Finding, ...], tuple[tuple[str, ...], ...] | None]


def identity_of(device: Device) -> Identity:
    """What an identity-only check's findings depend on (with the knowledge base)."""
    return (device.vendor, device.model, device.hardware, device.firmware, device.build)


class IdentityMemo:
    """One check's findings per identity, for the audit context in use."""

    def __init__(self) -> None:
        self._ctx: weakref.ref[AuditContext] | None = None
        self._store: dict[Hashable, Any] = {}

    def findings(
        self,
        device: DeviceFacts,
        ctx: AuditContext,
        assess: Callable[[Device, AuditContext], Iterable[Finding]],
    ) -> list[Finding]:
        """``assess(device)``'s findings, worked out once per identity.

        Args:
            device: the device.
            ctx: the audit context.
            assess: the check's findings for a device, given a stand-in.
        """
        dev = Device.of(device)
        store = self.store(ctx)
        identity = identity_of(dev)
        templates: Templates | None = store.get(identity)
        if templates is None:
            found = tuple(assess(replace(dev, key="", address=ADDRESS), ctx))
            named = tuple(_naming_address(f) for f in found)
            templates = store[identity] = (found, named if any(named) else None)
        found, texts = templates
        key, address = dev.key, dev.address
        if texts is None:
            return [for_device(t, key, address) for t in found]
        return [
            for_device_placed(t, key, address, ADDRESS, names)
            if names
            else for_device(t, key, address)
            for t, names in zip(found, texts, strict=True)
        ]

    def store(self, ctx: AuditContext) -> dict[Hashable, Any]:
        """The memo's dict for ``ctx`` (a check may keep more there, under its own keys)."""
        if self._ctx is None or self._ctx() is not ctx:
            store: dict[Hashable, Any] = {}
            try:
                self._ctx = weakref.ref(ctx, lambda _ref, s=store: s.clear())  # type: ignore[misc]
            except TypeError:  # a context that takes no weak reference: no memo
                self._ctx = None
                return store
            self._store = store
        return self._store


def _naming_address(found: Finding) -> tuple[str, ...]:
    """The text fields of ``found`` that name the stand-in's address."""
    return tuple(name for name in TEXTS if ADDRESS in getattr(found, name))
