"""SAFETY D-01..D-04: credential checks never lock a simulated device out.

Every test runs the real probes (identification, then ``assess_host``) against
simulated devices on loopback, on simulated time shared by the simulators' lockouts
and the probes' lockout budget, and proves its claim from both sides: the
simulators' own counters and the attempt ledger.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from probe_support import FakeClock, Vault, auth_lines, identified, knowledge

from campatch.audit.probes.ledger import MemoryLedger
from campatch.audit.probes.security import ProbeOptions, assess_host
from campatch.inventory.interface import AttemptLedger, AttemptOutcome, LoginAttempt
from campatch.inventory.store import open_store
from campatch.knowledge.index import KnowledgeBase
from campatch.model import Credential, HostReport, Secret
from campatch.sim.auth import AuthResult, Lockout
from campatch.sim.device import SimDevice
from campatch.sim.fleet import Fleet
from support import probe_context

CAP = 3  # min(threshold 5) - 2
WINDOW = timedelta(seconds=1800)
UNIQUE = {"admin": "Owner-Unique-1"}


def _fleet_50() -> list[dict[str, object]]:
    kinds = [
        {"personality": "hikvision", "users": UNIQUE, "telnet": True},
        {"personality": "hikvision", "users": UNIQUE, "lockout_max_failures": 5},
        {"personality": "dahua", "users": UNIQUE},  # separate web and ONVIF counters
        {"personality": "dahua", "users": UNIQUE, "shared_lockout": True},  # combined
        {"personality": "hikvision", "users": UNIQUE, "lockout_min_gap_s": 1.0},  # Axis-like
    ]
    return [dict(kinds[i % len(kinds)], address=10 + i) for i in range(50)]


def _lockouts(dev: SimDevice) -> list[Lockout]:
    found = [dev.lockout, getattr(dev, "onvif_lockout", None)]
    return list({id(x): x for x in found if isinstance(x, Lockout)}.values())


async def _audit(
    fleet: Fleet, ctx, ledger: AttemptLedger, options: ProbeOptions, kb: KnowledgeBase | None = None
) -> list[HostReport]:
    async def one(name: str) -> HostReport:
        candidate, report = await identified(fleet, name, ctx)
        return await assess_host(candidate, report, ctx, kb or knowledge(), ledger, options=options)

    return list(await asyncio.gather(*(one(n) for n in fleet.devices)))


def _by_device(attempts: list[LoginAttempt]) -> dict[str, list[LoginAttempt]]:
    found: dict[str, list[LoginAttempt]] = {}
    for a in attempts:
        found.setdefault(a.address, []).append(a)
    return found


def _max_failures_in_a_window(attempts: list[LoginAttempt]) -> int:
    failed = [
        a.at
        for a in attempts
        if a.outcome is not AttemptOutcome.ACCEPTED and a.protocol != "telnet"
    ]
    return max((sum(1 for t in failed if s <= t < s + WINDOW) for s in failed), default=0)


def _assert_log_proves_d01(attempts: list[LoginAttempt]) -> None:
    for address, mine in _by_device(attempts).items():
        assert _max_failures_in_a_window(mine) <= CAP, address
        per_account = Counter(a.username for a in mine if a.outcome is AttemptOutcome.REFUSED)
        assert all(n <= CAP for n in per_account.values()), address
        times = sorted(a.at for a in mine)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert all(g >= 1.0 for g in gaps), f"{address}: attempts {gaps} s apart"


@pytest.mark.safety("D-01")
async def test_d01_full_default_credential_audit_of_50_devices_locks_none(fleet_of, limits) -> None:
    clock, ledger = FakeClock(), MemoryLedger()
    options = ProbeOptions(clock=clock, sleep=clock.sleep)
    async with (
        fleet_of(_fleet_50(), multicast=False, clock=clock) as fleet,
        probe_context(limits, fleet.port_map) as ctx,
    ):
        reports = await _audit(fleet, ctx, ledger, options)
        locks = [lk.lock_events for d in fleet.devices.values() for lk in _lockouts(d)]
        seen = [
            n for d in fleet.devices.values() for lk in _lockouts(d) for n in lk.attempts.values()
        ]
    assert sum(locks) == 0
    assert max(seen) <= CAP  # the devices' own counters agree with the ledger
    assert all(r.security.default_logins == () for r in reports)
    assert {r.security.login_attempts for r in reports} == {CAP}  # the budget was used, not more
    _assert_log_proves_d01(ledger.attempts)


@pytest.mark.safety("D-01")
async def test_d01_ten_repeated_audits_inside_the_window_lock_no_device(
    fleet_of, limits, tmp_path: Path
) -> None:
    clock = FakeClock()
    options = ProbeOptions(clock=clock, sleep=clock.sleep)
    with open_store(f"sqlite:///{tmp_path / 'inventory.db'}") as store:
        async with (
            fleet_of(_fleet_50()[:10], multicast=False, clock=clock) as fleet,
            probe_context(limits, fleet.port_map) as ctx,
        ):
            for _ in range(10):
                await _audit(fleet, ctx, store, options)
                clock.advance(60)
            devices = list(fleet.devices.values())
            assert sum(lk.lock_events for d in devices for lk in _lockouts(d)) == 0
            since = datetime.fromtimestamp(clock(), UTC) - timedelta(days=1)
            attempts = [
                a for d in devices for a in store.attempts_since("-", d.spec.address, since)
            ]
    assert clock() - 1_750_000_000.0 < WINDOW.total_seconds()  # all ten inside one window
    _assert_log_proves_d01(attempts)
    assert max(Counter(a.address for a in attempts).values()) <= CAP


def _lock(lockout: Lockout, failures: int) -> None:
    for _ in range(failures):
        lockout.record("127.0.0.1", AuthResult.BAD)


LOCK_SIGNALS = {
    "lockStatus=lock/unlockTime": ({"personality": "hikvision", "users": UNIQUE}, 5),
    "retryLoginTime<=1": ({"personality": "hikvision", "users": UNIQUE}, 4),
    "http 403": ({"personality": "hikvision", "users": UNIQUE, "refuse_with_403": True}, 0),
    "dahua user locked": ({"personality": "dahua", "users": UNIQUE, "shared_lockout": True}, 5),
}


@pytest.mark.safety("D-02")
@pytest.mark.parametrize("signal", sorted(LOCK_SIGNALS))
async def test_d02_each_lock_signal_stops_every_protocol(fleet_of, limits, signal) -> None:
    spec, pre_failures = LOCK_SIGNALS[signal]
    clock, ledger = FakeClock(), MemoryLedger()
    options = ProbeOptions(clock=clock, sleep=clock.sleep)
    async with (
        fleet_of([spec], multicast=False, clock=clock) as fleet,
        probe_context(limits, fleet.port_map) as ctx,
    ):
        dev = fleet.device("dev10")
        _lock(dev.lockout, pre_failures)
        (first,) = await _audit(fleet, ctx, ledger, options)
        after_first = {id(lk): dict(lk.attempts) for lk in _lockouts(dev)}
        clock.advance(120)
        (second,) = await _audit(fleet, ctx, ledger, options)  # a later scan, same window
        after_second = {id(lk): dict(lk.attempts) for lk in _lockouts(dev)}
    locks = [a for a in ledger.attempts if a.outcome is AttemptOutcome.LOCKED]
    assert len(locks) == 1
    assert locks[0].until is not None
    tried = [a for a in ledger.attempts if a.outcome is not AttemptOutcome.LOCKED]
    assert len(tried) <= (1 if signal == "http 403" else 0)  # 403 is the answer to the first
    assert after_second == after_first  # 0 further attempts, on any protocol
    assert any("login lock" in p.message and "by us" in p.message for p in first.problems)
    assert second.security.login_attempts == 0
    assert dev.lockout.lock_events == (1 if pre_failures == 5 else 0)  # only the test's own


@pytest.mark.safety("D-03")
async def test_d03_password_changed_behind_our_back(fleet_of, limits) -> None:
    clock, ledger = FakeClock(), MemoryLedger()
    options = ProbeOptions(clock=clock, sleep=clock.sleep)
    no_defaults = KnowledgeBase()
    async with (
        fleet_of(
            [{"personality": "hikvision", "users": {"admin": "Changed-by-someone"}}],
            multicast=False,
            clock=clock,
        ) as fleet,
        probe_context(limits, fleet.port_map) as ctx,
    ):
        dev = fleet.device("dev10")
        vault = Vault({dev.spec.address: Credential("admin", Secret("Owner-Old-Pass"))})
        candidate, report = await identified(fleet, "dev10", ctx)
        per_poll, problems = [], []
        for _hour in range(24):  # a poll every hour for a simulated day
            before = len(ledger.attempts)
            out = await assess_host(
                candidate, report, ctx, no_defaults, ledger, credentials=vault, options=options
            )
            new = ledger.attempts[before:]
            per_poll.append(sum(a.outcome is AttemptOutcome.REFUSED for a in new))
            problems += [p.message for p in out.problems]
            clock.advance(3600)
        assert dev.lockout.lock_events == 0
    assert max(per_poll) <= 1
    assert sum(per_poll) == 2  # then it is marked invalid and left alone
    assert per_poll[:2] == [1, 1]
    assert any("marked invalid" in m for m in problems)


@pytest.mark.safety("D-04")
async def test_d04_no_credential_checks_means_zero_auth_attempts(fleet_of, limits) -> None:
    clock, ledger = FakeClock(), MemoryLedger()
    options = ProbeOptions(credential_checks=False, clock=clock, sleep=clock.sleep)
    devices = [
        {"personality": "hikvision", "users": {"admin": "12345"}, "telnet": True},
        {"personality": "dahua", "users": {"admin": "admin"}},
        {"personality": "onvif", "vendor": "Acme", "model": "C1", "users": {"admin": "admin"}},
    ]
    async with (
        fleet_of(devices, multicast=False, clock=clock) as fleet,
        probe_context(limits, fleet.port_map) as ctx,
    ):
        reports = await _audit(fleet, ctx, ledger, options)
        for dev in fleet.devices.values():
            assert auth_lines(dev) == []
            assert all(lk.attempts == {} for lk in _lockouts(dev))
    assert ledger.attempts == []
    assert all(r.security.default_logins is None for r in reports)
    assert all(r.security.rtsp_open is not None for r in reports)  # the rest still ran


@pytest.mark.safety("D-04")
def test_d04_default_audits_use_at_most_two_pairs_per_vendor() -> None:
    from campatch.audit.probes.credentials import account_pairs, telnet_pairs
    from campatch.knowledge.bundle import load_bundle

    kb = KnowledgeBase(credentials=load_bundle().credentials)
    for vendor in ("Hikvision", "Dahua", "Axis", "any"):
        assert len(account_pairs(kb, vendor)) <= 2
        assert len(telnet_pairs(kb, vendor, mirai=False)) <= 2
        assert not any(c.mirai for c in telnet_pairs(kb, vendor, mirai=False))
