"""TCP probe against real loopback listeners: ground truth, port map, limits, I-03."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import time
from collections import Counter
from collections.abc import Sequence

import pytest

from campatch.config import CAMERA_TCP_PORTS, Limits, PortMap
from campatch.discovery.interface import DiscoveryContext, IPAddress, Scope
from campatch.discovery.probe import TcpProbe, guess_protocol
from campatch.discovery.ratelimit import RateLimiter
from campatch.discovery.targets import parse_targets
from campatch.errors import UsageError
from campatch.model import Candidate, Service
from rawservers import Listeners
from support import fresh_subnet

OFFSET = PortMap(low_port_offset=20000)


def scope_of(*targets: str) -> Scope:
    return Scope(tuple(parse_targets(targets)), multicast=False)


def open_ports(cands: Sequence[Candidate]) -> dict[str, list[int]]:
    return {c.address: [s.port for s in c.services] for c in cands}


async def test_finds_exactly_the_open_ports_and_reports_logical_ports(limits: Limits) -> None:
    net = fresh_subnet()
    truth = {f"{net}.10": [80, 554], f"{net}.11": [8000, 37777], f"{net}.13": [23]}
    async with Listeners() as ls:
        for address, ports in truth.items():
            for port in ports:
                await ls.add(address, OFFSET.actual(port))
        await ls.add(f"{net}.12", 80)  # logical 80 lives on 20080 here: not a hit
        ctx = DiscoveryContext(limits, OFFSET)
        cands = await TcpProbe().discover(scope_of(f"{net}.1-30"), ctx)

    assert open_ports(cands) == truth
    assert [c.address for c in cands] == sorted(truth)  # scope order
    assert cands[0].services == (Service(80, "tcp", "http"), Service(554, "tcp", "rtsp"))
    assert all(c.found_by == {"tcp-probe"} for c in cands)
    assert ls.accepted[(f"{net}.10", 20080)] == 1  # one connect per port, no retries


async def test_ipv6_loopback(limits: Limits) -> None:
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        port = s.getsockname()[1]
    async with Listeners() as ls:
        await ls.add("::1", port)
        cands = await TcpProbe([port]).discover(scope_of("::1"), DiscoveryContext(limits))
    assert open_ports(cands) == {"::1": [port]}


@pytest.mark.parametrize(
    ("port", "protocol"),
    [(80, "http"), (8000, "hik-sdk"), (8899, "onvif"), (8443, "https"), (8554, "rtsp"),
     (2323, "telnet"), (34567, "sofia"), (9000, "reolink-baichuan"), (12345, "unknown")],
)  # fmt: skip
def test_protocol_guess(port: int, protocol: str) -> None:
    assert guess_protocol(port) == protocol


def test_every_camera_port_has_a_guess() -> None:
    assert [p for p in CAMERA_TCP_PORTS if guess_protocol(p) == "unknown"] == []


@pytest.mark.parametrize("ports", [[], [0], [80, 70000]])
def test_bad_ports_are_refused(ports: list[int]) -> None:
    with pytest.raises(UsageError, match=r"ports must be 1\.\.65535"):
        TcpProbe(ports)


async def test_rate_limit_spaces_connects(limits: Limits) -> None:
    """10 connects at 40/s cannot finish in less than 9 intervals (0.225 s)."""
    net = fresh_subnet()
    ctx = DiscoveryContext(dataclasses.replace(limits, probe_rate_per_s=40.0))
    seen: list[float] = []

    class Timed(TcpProbe):
        async def _connect(self, address: IPAddress, port: int, timeout_s: float) -> bool:
            seen.append(time.monotonic())
            return await super()._connect(address, port, timeout_s)

    start = time.monotonic()
    await Timed([6001, 6002]).discover(scope_of(f"{net}.1-5"), ctx)
    elapsed = time.monotonic() - start
    assert len(seen) == 10
    assert elapsed >= 9 / 40
    assert elapsed < 2.0


def test_rate_limiter_slots_with_a_fake_clock() -> None:
    now = [100.0]
    rl = RateLimiter(10.0, burst=3, clock=lambda: now[0])
    assert [rl.reserve() for _ in range(5)] == pytest.approx([0, 0, 0, 0.1, 0.2])
    now[0] += 10  # idle: the burst is available again, but no more
    assert [rl.reserve() for _ in range(4)] == pytest.approx([0, 0, 0, 0.1])
    with pytest.raises(UsageError):
        RateLimiter(0)


class Counting(TcpProbe):
    """The probe with in-flight connects counted, per host and in total."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__(ports)
        self.now: Counter[IPAddress] = Counter()
        self.peak: Counter[IPAddress] = Counter()
        self.total = self.peak_total = 0

    async def _connect(self, address: IPAddress, port: int, timeout_s: float) -> bool:
        self.now[address] += 1
        self.total += 1
        self.peak[address] = max(self.peak[address], self.now[address])
        self.peak_total = max(self.peak_total, self.total)
        try:
            return await super()._connect(address, port, timeout_s)
        finally:
            self.now[address] -= 1
            self.total -= 1


async def test_per_host_limit_holds_while_connects_hang(limits: Limits) -> None:
    """Six filtered ports on one host, two at a time: three rounds of timeouts."""
    net = fresh_subnet()
    ports = [7001, 7002, 7003, 7004, 7005, 7006]
    lim = dataclasses.replace(limits, connect_timeout_s=0.15, max_concurrent_per_host=2)
    probe = Counting(ports)
    async with Listeners() as ls:
        for port in ports:
            await ls.add(f"{net}.10", port, "blackhole")
        start = time.monotonic()
        cands = await probe.discover(scope_of(f"{net}.10"), DiscoveryContext(lim))
    assert cands == []  # hanging connects are silently closed
    assert probe.peak[ipaddr(f"{net}.10")] == 2
    assert time.monotonic() - start >= 3 * 0.15


async def test_global_limit_holds_across_hosts(limits: Limits) -> None:
    net = fresh_subnet()
    ports = [7001, 7002, 7003, 7004]
    lim = dataclasses.replace(
        limits, connect_timeout_s=0.15, max_concurrent_per_host=4, max_concurrent_probes=5
    )
    probe = Counting(ports)
    async with Listeners() as ls:
        for host in (10, 11, 12):
            for port in ports:
                await ls.add(f"{net}.{host}", port, "blackhole")
        await probe.discover(scope_of(f"{net}.10-12"), DiscoveryContext(lim))
    assert probe.peak_total == 5
    assert max(probe.peak.values()) <= 4


@pytest.mark.safety("I-03")
async def test_slash24_with_silent_hosts_finishes_within_budget(limits: Limits) -> None:
    """10 % of a /24 accept and never speak; the probe only connects, so they cost nothing.

    Budget: 2 x connect timeout + the time for the healthy hosts (a few ms here).
    """
    net = fresh_subnet()
    silent = [f"{net}.{h}" for h in range(1, 255, 10)]  # 26 hosts
    healthy = [f"{net}.{h}" for h in range(5, 255, 25)]
    lim = dataclasses.replace(limits, probe_rate_per_s=20_000.0)
    async with Listeners() as ls:
        for address in silent:
            await ls.add(address, OFFSET.actual(554), "silent")
        for address in healthy:
            await ls.add(address, OFFSET.actual(80))
        start = time.monotonic()
        cands = await TcpProbe().discover(scope_of(f"{net}.0/24"), DiscoveryContext(lim, OFFSET))
        elapsed = time.monotonic() - start
        assert all(ls.accepted[(a, 20554)] == 1 for a in silent)
    assert elapsed < 2 * lim.connect_timeout_s
    assert open_ports(cands) == {
        **{a: [554] for a in silent},
        **{a: [80] for a in healthy},
    }


async def test_slash22_times_19_ports_in_a_few_seconds(limits: Limits) -> None:
    # A /22 outside fresh_subnet()'s 127.64-191 range, per process, so no other test's
    # listener can show up in it.
    net = f"127.250.{os.getpid() % 64 * 4}"
    target = f"{net}.7"
    lim = dataclasses.replace(limits, probe_rate_per_s=100_000.0)
    async with Listeners() as ls:
        await ls.add(target, 8000)
        start = time.monotonic()
        cands = await TcpProbe().discover(scope_of(f"{net}.0/22"), DiscoveryContext(lim))
        elapsed = time.monotonic() - start
    assert open_ports(cands) == {target: [8000]}
    assert elapsed < 10.0  # ~2 s alone on one core; generous for a loaded CI runner


def ipaddr(text: str) -> IPAddress:
    return ipaddress.ip_address(text)
