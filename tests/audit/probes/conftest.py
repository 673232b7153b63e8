"""Fixtures for the probe tests: simulated time and a fresh in-memory ledger."""

from __future__ import annotations

import pytest
from probe_support import FakeClock

from campatch.audit.probes.ledger import MemoryLedger
from campatch.audit.probes.security import ProbeOptions


@pytest.fixture
def clock() -> FakeClock:
    """Simulated time (the simulator's lockouts and the budget share it)."""
    return FakeClock()


@pytest.fixture
def ledger() -> MemoryLedger:
    """An empty attempt ledger."""
    return MemoryLedger()


@pytest.fixture
def options(clock: FakeClock) -> ProbeOptions:
    """Probe options on simulated time."""
    return ProbeOptions(clock=clock, sleep=clock.sleep)
