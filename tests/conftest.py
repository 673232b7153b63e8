"""Shared fixtures: simulated fleets on loopback and short limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from campatch.config import Limits
from campatch.sim.device import DeviceSpec
from campatch.sim.fleet import Fleet, specs_from_dicts
from netns import require_netns
from support import FleetFactory, fresh_subnet


@pytest.fixture
def limits() -> Limits:
    """Limits shrunk for tests: hostile devices time out fast."""
    return Limits(
        connect_timeout_s=1.0,
        read_timeout_s=1.0,
        request_deadline_s=2.0,
        host_deadline_s=6.0,
        discovery_listen_s=0.5,
    )


@pytest.fixture
def fleet_of() -> FleetFactory:
    """``async with fleet_of([{...device...}]) as fleet:`` binds devices on a fresh /24.

    Each device dict needs ``personality``; ``name`` and ``address`` default to a
    fresh loopback address per device (``address`` may be given as a host number,
    e.g. ``"address": 7`` -> ``127.x.y.7``).
    """

    @asynccontextmanager
    async def make(devices: list[dict[str, Any]], **kw: Any) -> AsyncIterator[Fleet]:
        prefix = fresh_subnet()
        items = []
        for i, d in enumerate(devices, start=10):
            d = dict(d)
            addr = d.get("address", i)
            d["address"] = f"{prefix}.{addr}" if isinstance(addr, int) else addr
            d.setdefault("name", f"dev{i}")
            items.append(d)
        specs: list[DeviceSpec] = specs_from_dicts(items, origin="test")
        async with Fleet(specs, **kw) as fleet:
            yield fleet

    return make


@pytest.fixture
def subnet() -> str:
    """A fresh loopback /24 prefix for raw test servers ("127.x.y")."""
    return fresh_subnet()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.netns`` tests need a user+network namespace: fail in CI, skip elsewhere."""
    if item.get_closest_marker("netns") is not None:
        require_netns()
