"""Target parsing: every accepted form, the error messages, and the address cap."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest

from campatch.discovery.interface import IPAddress
from campatch.discovery.targets import parse_targets, resolve_targets
from campatch.errors import UsageError
from netns import json_result, run_in_netns


def ips(*texts: str) -> list[IPAddress]:
    return [ipaddress.ip_address(t) for t in texts]


def test_single_addresses_keep_order_and_drop_duplicates() -> None:
    got = parse_targets(["127.0.0.9", "::1", "127.0.0.2", "127.0.0.9"])
    assert got == ips("127.0.0.9", "::1", "127.0.0.2")


def test_ipv4_network_excludes_network_and_broadcast() -> None:
    got = parse_targets(["127.1.2.0/29"])
    assert got == ips(*(f"127.1.2.{i}" for i in range(1, 7)))


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("127.1.2.4/31", ["127.1.2.4", "127.1.2.5"]),
        ("127.1.2.4/32", ["127.1.2.4"]),
        ("127.1.2.7/30", ["127.1.2.5", "127.1.2.6"]),  # host bits given: the whole /30
        ("fd00::/126", ["fd00::1", "fd00::2", "fd00::3"]),
        ("fd00::/127", ["fd00::", "fd00::1"]),
        ("fd00::5/128", ["fd00::5"]),
    ],
)
def test_small_networks(target: str, expected: list[str]) -> None:
    assert parse_targets([target]) == ips(*expected)


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1-127.0.0.20", "127.0.0.1-20"],
)
def test_dash_ranges_are_inclusive(target: str) -> None:
    assert parse_targets([target]) == ips(*(f"127.0.0.{i}" for i in range(1, 21)))


def test_ipv6_ranges() -> None:
    assert parse_targets(["fd00::fe-101"]) == ips("fd00::fe", "fd00::ff", "fd00::100", "fd00::101")
    assert parse_targets(["fd00::1-fd00::3"]) == ips("fd00::1", "fd00::2", "fd00::3")


def test_comma_and_space_separated_lists() -> None:
    got = parse_targets(["127.0.0.1,127.0.0.3  127.0.0.2,,", " 127.0.0.4 "])
    assert got == ips("127.0.0.1", "127.0.0.3", "127.0.0.2", "127.0.0.4")


def test_target_file_by_at_and_by_path(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text(
        "# lobby cameras\n127.0.0.1\n\n127.0.0.5-6  # nvr pair\n127.0.1.0/30,127.0.0.1\n"
    )
    expected = ips("127.0.0.1", "127.0.0.5", "127.0.0.6", "127.0.1.1", "127.0.1.2")
    assert parse_targets([f"@{path}"]) == expected
    assert parse_targets([str(path)]) == expected


def test_error_in_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("127.0.0.1\n127.0.0.256\n")
    with pytest.raises(UsageError, match=r"bad target '127.0.0.256' \(.*t.txt line 2\)"):
        parse_targets([f"@{path}"])


def test_missing_file_and_nested_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"bad target '@.*nope.txt': cannot read file"):
        parse_targets([f"@{tmp_path / 'nope.txt'}"])
    outer = tmp_path / "outer.txt"
    outer.write_text(f"@{outer}\n")
    with pytest.raises(UsageError, match="cannot include other files"):
        parse_targets([f"@{outer}"])


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("127.0.0.300/24", r"bad target '127.0.0.300/24': .*300"),
        ("127.0.0.1/33", r"bad target '127.0.0.1/33': .*33"),
        ("127.0.0.1/x", r"bad target '127.0.0.1/x': prefix length 'x' is not a number"),
        ("127.0.0.20-127.0.0.1", r"range end 127.0.0.1 is before its start 127.0.0.20"),
        ("127.0.0.1-300", r"range end octet 300 is over 255"),
        ("127.0.0.1-::5", r"mixes IPv4 and IPv6"),
        ("127.0.0.300", r"bad target '127.0.0.300': .*300"),
        ("224.0.0.251", r"multicast address, not a host"),
        ("0.0.0.0", r"unspecified address"),  # noqa: S104 - a target string, nothing binds
        ("cam$1", r"bad target 'cam\$1'"),
        ("cam.example", r"host names need resolving"),
    ],
)
def test_bad_targets_name_the_item(target: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason) as info:
        parse_targets(["127.0.0.1", target])
    assert "\n" not in str(info.value)


def test_too_many_addresses_suggests_a_narrower_range() -> None:
    with pytest.raises(UsageError, match=r"too many addresses: '127.0.0.0/8'.*narrower range"):
        parse_targets(["127.0.0.0/8"])
    with pytest.raises(UsageError, match="over the limit of 10"):
        parse_targets(["127.0.0.1-8", "127.0.1.1-8"], max_addresses=10)
    assert len(parse_targets(["127.0.0.0/24"], max_addresses=254)) == 254


def test_huge_ipv6_network_is_refused_without_expanding() -> None:
    with pytest.raises(UsageError, match="too many addresses"):
        parse_targets(["fd00::/64"])


async def test_resolve_targets_resolves_names_concurrently_in_order() -> None:
    calls: list[str] = []

    async def resolver(name: str) -> list[IPAddress]:
        calls.append(name)
        return {"cam-a.test": ips("127.0.0.7"), "cam-b.test": ips("127.0.0.3", "::1")}[name]

    got = await resolve_targets(["cam-a.test,127.0.0.1", "cam-b.test"], resolver=resolver)
    assert got == ips("127.0.0.7", "127.0.0.1", "127.0.0.3", "::1")
    assert sorted(calls) == ["cam-a.test", "cam-b.test"]


@pytest.mark.netns
def test_resolve_targets_with_the_system_resolver() -> None:
    """Inside a namespace, so even a resolver that asks DNS cannot reach a real server."""
    script = """
        import asyncio, json
        from campatch.discovery.targets import resolve_targets
        got = asyncio.run(resolve_targets(["localhost", "127.0.0.9"]))
        print(json.dumps([str(a) for a in got]))
    """
    got = json_result(run_in_netns(script))
    assert "127.0.0.1" in got
    assert got[-1] == "127.0.0.9"
    assert all(ipaddress.ip_address(a).is_loopback for a in got)


async def test_resolve_targets_errors() -> None:
    async def failing(name: str) -> list[IPAddress]:
        raise OSError(f"no such host {name}")

    async def hanging(name: str) -> list[IPAddress]:
        await asyncio.Event().wait()
        return []

    async def empty(name: str) -> list[IPAddress]:
        return []

    with pytest.raises(UsageError, match=r"bad target 'nosuch\.test': cannot resolve host name"):
        await resolve_targets(["nosuch.test"], resolver=failing)
    with pytest.raises(UsageError, match=r"bad target 'slow\.test': name lookup timed out"):
        await resolve_targets(["slow.test"], resolver=hanging, timeout_s=0.01)
    with pytest.raises(UsageError, match="has no addresses"):
        await resolve_targets(["empty.test"], resolver=empty)
