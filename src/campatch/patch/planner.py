"""Plan an upgrade for every device: the rules of :mod:`campatch.patch.plan_target`
and :mod:`campatch.patch.plan_gates` applied to each one, into the types of
:mod:`campatch.patch.plan`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from campatch.audit.interface import DeviceFacts
from campatch.knowledge.index import KnowledgeBase
from campatch.patch.plan import DevicePlan, ImageLookup, Plan, PlanOptions, Strategy
from campatch.patch.plan_gates import gates
from campatch.patch.plan_target import Refused, resolve

__all__ = ["plan_upgrades"]


def plan_upgrades(
    devices: Iterable[DeviceFacts],
    knowledge: KnowledgeBase,
    *,
    strategy: Strategy = Strategy.MINIMUM_FIX,
    firmware_store: ImageLookup | None = None,
    allow_downgrade: bool = False,
    allow_reinstall: bool = False,
    version: str | None = None,
) -> Plan:
    """Plan an upgrade for every device (see the module docstring for the rules).

    Args:
        devices: each device's latest report (``devices_from_inventory``).
        knowledge: advisories and firmware releases.
        strategy: minimum fix or latest release.
        firmware_store: when given, every image of a path must be in it.
        allow_downgrade: plan a pinned ``version`` older than the installed one.
        allow_reinstall: plan a pinned ``version`` equal to the installed one.
        version: install this version instead of the strategy's choice.

    Returns:
        One :class:`DevicePlan` per device, in the order given. Never raises for a
        device: what cannot be planned is a skip reason.
    """
    opts = PlanOptions(
        knowledge, strategy, firmware_store, allow_downgrade, allow_reinstall, version
    )
    return Plan(strategy, tuple(_plan_device(d, opts) for d in devices))


def _plan_device(facts: DeviceFacts, opts: PlanOptions) -> DevicePlan:
    dev = facts.identity
    base = DevicePlan(facts.key, facts.report.address, dev.vendor, dev.model, dev.hardware,
                      None if dev.firmware is None else dev.firmware_text)  # fmt: skip
    try:
        planned = resolve(dev, base, opts)
    except Refused as refused:
        return replace(base, skips=(refused.skip,))
    return replace(planned, skips=gates(facts.report, dev, planned, opts))
