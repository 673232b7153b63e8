"""discover(): sources side by side, merged per host, failures and hostile replies confined."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, Scope
from campatch.discovery.merge import merge_candidates
from campatch.discovery.probe import TcpProbe
from campatch.discovery.run import discover
from campatch.errors import DiscoveryError
from campatch.model import Candidate, Confidence, Field, Observation, Problem, Service
from rawservers import Listeners
from support import fresh_subnet


@dataclasses.dataclass
class Fixed:
    """A source that returns what it is given (or raises it)."""

    name: str
    result: Sequence[Candidate] | BaseException = ()

    async def discover(self, scope: Scope, ctx: DiscoveryContext) -> Sequence[Candidate]:
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


def cand(address: str, source: str = "fake", **kw: object) -> Candidate:
    return Candidate(address=address, found_by=frozenset({source}), **kw)  # type: ignore[arg-type]


SCOPE = Scope.of(["127.0.0.1", "127.0.0.2", "127.0.0.3", "::1"], multicast=False)


async def test_merges_per_host_and_sorts_by_address(limits: Limits) -> None:
    mac = Observation(Field.MAC, "00:40:8c:00:00:01", "sadp", Confidence.DISCOVERY)
    a = Fixed(
        "a", [cand("127.0.0.2", "a", services=(Service(80, "tcp", "http"),)), cand("::1", "a")]
    )
    b = Fixed("b", [cand("127.0.0.2", "b", observations=(mac,)), cand("127.0.0.1", "b")])
    seen: list[tuple[str, int]] = []

    found, problems = await discover(
        SCOPE, [a, b], DiscoveryContext(limits), progress=lambda n, c: seen.append((n, c))
    )

    assert problems == []
    assert [c.address for c in found] == ["127.0.0.1", "127.0.0.2", "::1"]
    two = found[1]
    assert two.found_by == {"a", "b"}
    assert two.has_port(80)
    assert two.observations == (mac,)
    assert sorted(seen) == [("a", 2), ("b", 2)]


async def test_failing_sources_become_problems_and_the_scan_goes_on(limits: Limits) -> None:
    sources = [
        Fixed("ok", [cand("127.0.0.1")]),
        Fixed("ws-discovery", DiscoveryError("ws-discovery: cannot join 239.255.255.250")),
        Fixed("buggy", KeyError("oops")),
    ]
    found, problems = await discover(SCOPE, sources, DiscoveryContext(limits))
    assert [c.address for c in found] == ["127.0.0.1"]
    assert problems == [
        Problem("ws-discovery", "ws-discovery: cannot join 239.255.255.250"),
        Problem("buggy", "unexpected error: KeyError: 'oops'"),
    ]


async def test_off_scope_candidates_and_urls_are_dropped(limits: Limits) -> None:
    """SAFETY I-05 defence in depth: whatever a source returns, the scope holds."""
    spoofed = Fixed(
        "ssdp",
        [
            cand("169.254.169.254"),
            cand("127.0.0.9"),
            cand("not an address"),
            cand(
                "127.0.0.3",
                onvif_xaddrs=("http://127.0.0.3/onvif/device_service", "http://127.0.0.66/trap"),
                upnp_locations=("http://[::1]:49152/desc.xml", "http://evil.example/x", "::bad"),
            ),
        ],
    )
    found, problems = await discover(SCOPE, [spoofed], DiscoveryContext(limits))
    assert [c.address for c in found] == ["127.0.0.3"]
    assert found[0].onvif_xaddrs == ("http://127.0.0.3/onvif/device_service",)
    assert found[0].upnp_locations == ("http://[::1]:49152/desc.xml",)
    assert problems == [
        Problem("ssdp", "ignored 3 replies from outside the scope"),
        Problem("ssdp", "ignored 3 announced URLs outside the scope"),
    ]


async def test_each_source_is_capped(limits: Limits) -> None:
    scope = Scope.of([f"127.0.1.{i}" for i in range(1, 11)], multicast=False)
    flood = Fixed("flood", [cand(f"127.0.1.{i}") for i in range(1, 11)])
    other = Fixed("other", [cand("127.0.1.10")])
    ctx = DiscoveryContext(dataclasses.replace(limits, max_discovery_replies=3))
    found, problems = await discover(scope, [flood, other], ctx)
    assert [c.address for c in found] == ["127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.10"]
    assert problems == [Problem("flood", "kept the first 3 of 10 hosts (max_discovery_replies)")]


async def test_probe_and_another_source_merge_on_real_sockets(limits: Limits) -> None:
    net = fresh_subnet()
    scope = Scope.of([f"{net}.{i}" for i in range(1, 6)], multicast=False)
    announced = Fixed("mdns", [cand(f"{net}.2", "mdns", services=(Service(554, "tcp", "rtsp"),))])
    async with Listeners() as ls:
        await ls.add(f"{net}.2", 8000)
        await ls.add(f"{net}.4", 8000)
        found, problems = await discover(
            scope, [TcpProbe([8000]), announced], DiscoveryContext(limits)
        )
    assert problems == []
    assert [(c.address, sorted(c.found_by), [s.port for s in c.services]) for c in found] == [
        (f"{net}.2", ["mdns", "tcp-probe"], [554, 8000]),
        (f"{net}.4", ["tcp-probe"], [8000]),
    ]


def test_merge_candidates_uses_canonical_addresses_and_first_seen_order() -> None:
    merged = merge_candidates(
        [cand("fd00::0001", "a"), cand("127.0.0.7", "b"), cand("FD00::1", "c", notes={"k": "v"})]
    )
    assert [(c.address, sorted(c.found_by)) for c in merged] == [
        ("fd00::1", ["a", "c"]),
        ("127.0.0.7", ["b"]),
    ]
    assert merged[0].notes == {"k": "v"}
