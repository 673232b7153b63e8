"""The neighbour (ARP) table: complete in-scope entries become MACs plus OUI facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from campatch.config import Limits
from campatch.discovery.interface import DiscoveryContext, DiscoverySource, Scope
from campatch.discovery.neighbors import (
    ARP_CONFIDENCE,
    NeighborsSource,
    learn_macs,
    parse_arp_table,
    read_arp_table,
)
from campatch.discovery.run import discover
from campatch.model import Candidate, Confidence, Field, Identity, Observation, Service

HEADER = "IP address       HW type     Flags       HW address            Mask     Device\n"
TABLE = HEADER + (
    "192.0.2.10       0x1         0x2         bc:ba:c2:00:00:0a     *        eth0\n"  # Hikvision
    "192.0.2.11       0x1         0x2         9C:8E:CD:00:00:0B     *        eth0\n"  # Amcrest
    "192.0.2.12       0x1         0x0         00:00:00:00:00:00     *        eth0\n"  # incomplete
    "192.0.2.13       0x1         0x6         02:00:00:00:00:0d     *        eth0\n"  # permanent
    "198.51.100.7     0x1         0x2         bc:ba:c2:00:00:77     *        eth0\n"  # off scope
    "192.0.2.14       0x1         0x2\n"  # truncated line
    "192.0.2.999      0x1         0x2         bc:ba:c2:00:00:0e     *        eth0\n"  # bad IP
    "192.0.2.15       0x1         zz          bc:ba:c2:00:00:0f     *        eth0\n"  # bad flags
    "192.0.2.16       0x1         0x2         xbcbac200001ax        *        eth0\n"  # bad MAC
    "192.0.2.17       0x20        0x2         80:00:00:48:fe:80:00:00:00:00  *  ib0\n"  # InfiniBand
    "192.0.2.10       0x1         0x2         bc:ba:c2:00:00:0a     *        eth1\n"  # repeat
    "\x00\xff garbage\n"
)
SCOPE = Scope.of([f"192.0.2.{n}" for n in range(1, 30)], multicast=False)


def table_file(tmp_path: Path, text: str = TABLE) -> Path:
    path = tmp_path / "arp"
    path.write_text(text, encoding="latin-1")
    return path


def test_parse_keeps_complete_well_formed_entries_once() -> None:
    assert parse_arp_table(TABLE) == [
        ("192.0.2.10", "bc:ba:c2:00:00:0a"),
        ("192.0.2.11", "9c:8e:cd:00:00:0b"),
        ("192.0.2.13", "02:00:00:00:00:0d"),
        ("198.51.100.7", "bc:ba:c2:00:00:77"),
    ]


async def test_source_returns_in_scope_hosts_with_mac_and_oui(tmp_path: Path) -> None:
    found = await NeighborsSource(path=table_file(tmp_path)).neighbors(SCOPE)
    by_address = {c.address: c for c in found}
    assert sorted(by_address) == ["192.0.2.10", "192.0.2.11", "192.0.2.13"]
    assert by_address["192.0.2.10"].observations == (
        Observation(Field.MAC, "bc:ba:c2:00:00:0a", "arp", ARP_CONFIDENCE),
        Observation(Field.VENDOR, "Hikvision", "oui:arp", Confidence.OUI),
    )
    assert by_address["192.0.2.11"].observations[1] == Observation(
        Field.BRAND, "Amcrest", "oui:arp", Confidence.OUI
    )
    assert [o.field for o in by_address["192.0.2.13"].observations] == [Field.MAC]  # no OUI
    assert all(c.found_by == {"neighbors"} for c in found)


async def test_one_address_with_two_macs_keeps_both(tmp_path: Path) -> None:
    text = HEADER + (
        "192.0.2.20  0x1  0x2  bc:ba:c2:00:00:20  *  eth0\n"
        "192.0.2.20  0x1  0x2  e0:50:8b:00:00:20  *  wlan0\n"
    )
    [cand] = await NeighborsSource(path=table_file(tmp_path, text)).neighbors(SCOPE)
    identity = Identity.of(cand.observations)
    assert identity.get(Field.MAC) == "bc:ba:c2:00:00:20"
    assert [o.value for o in identity.fields[Field.MAC].disagreements] == ["e0:50:8b:00:00:20"]
    assert [o.value for o in identity.fields[Field.VENDOR].disagreements] == ["Dahua"]


def test_oversized_table_is_cut_at_the_last_whole_line(tmp_path: Path) -> None:
    first = "192.0.2.10  0x1  0x2  bc:ba:c2:00:00:0a  *  eth0\n"
    second = "192.0.2.11  0x1  0x2  9c:8e:cd:00:00:0b  *  eth0\n"
    filler = "".join(
        f"10.0.{i // 250}.{i % 250}  0x1  0x2  02:00:00:00:00:01  *  eth0\n" for i in range(5000)
    )
    path = table_file(tmp_path, HEADER + first + second + filler)
    cap = len(HEADER) + len(first) + len(second) - 5  # ends inside the second entry
    assert read_arp_table(path, max_bytes=cap) == [("192.0.2.10", "bc:ba:c2:00:00:0a")]
    assert len(read_arp_table(path, max_bytes=10_000_000)) == 5002


def test_cap_without_any_newline_reads_nothing(tmp_path: Path) -> None:
    assert read_arp_table(table_file(tmp_path, "x" * 1000), max_bytes=100) == []


@pytest.mark.parametrize("where", ["missing", "directory"])
async def test_unreadable_table_means_no_neighbours(tmp_path: Path, where: str) -> None:
    path = tmp_path / "nothing" if where == "missing" else tmp_path
    assert read_arp_table(path) == []
    cands = [Candidate("192.0.2.10")]
    assert await learn_macs(SCOPE, cands, source=NeighborsSource(path=path)) == cands


async def test_learn_macs_enriches_found_hosts_only(tmp_path: Path) -> None:
    probe = Service(80, "tcp", "http")
    found = [
        Candidate("192.0.2.11", services=(probe,), found_by=frozenset({"tcp-probe"})),
        Candidate("192.0.2.5", services=(probe,), found_by=frozenset({"tcp-probe"})),
    ]
    out = await learn_macs(SCOPE, found, source=NeighborsSource(path=table_file(tmp_path)))
    assert [c.address for c in out] == ["192.0.2.11", "192.0.2.5"]  # .10/.13 not added
    assert out[0].services == (probe,)
    assert out[0].found_by == {"tcp-probe", "neighbors"}
    assert Identity.of(out[0].observations).get(Field.MAC) == "9c:8e:cd:00:00:0b"
    assert out[1] is found[1]


def test_arp_mac_outranks_what_the_device_announces() -> None:
    """SADP (the firmware's claim) says one MAC, the wire another: ARP wins, SADP is kept."""
    sadp = Observation(Field.MAC, "bc:ba:c2:00:00:99", "sadp", Confidence.DISCOVERY)
    arp = Observation(Field.MAC, "bc:ba:c2:00:00:0a", "arp", ARP_CONFIDENCE)
    mac = Identity.of([sadp, arp]).fields[Field.MAC]
    assert (mac.value, mac.source, mac.disagreements) == ("bc:ba:c2:00:00:0a", "arp", (sadp,))
    assert Confidence.DISCOVERY < ARP_CONFIDENCE < Confidence.AUTHENTICATED


async def test_runs_as_a_discovery_source_and_stays_in_scope(tmp_path: Path) -> None:
    source: DiscoverySource = NeighborsSource(path=table_file(tmp_path))
    small = Scope.of(["192.0.2.11", "198.51.100.8"], multicast=False)
    cands, problems = await discover(small, [source], DiscoveryContext(limits=Limits()))
    assert [c.address for c in cands] == ["192.0.2.11"]
    assert problems == []
