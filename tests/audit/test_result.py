"""The audit result's orders: a device's findings, devices, and the one list across them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campatch.audit.result import InOrder, device_order, finding_order, worst_first
from campatch.model import Certainty, DeviceFindings, Finding, Severity

findings = st.builds(
    Finding,
    check=st.sampled_from(["known-vulnerability", "telnet-open", "rtsp-open"]),
    severity=st.sampled_from(list(Severity)),
    title=st.text(max_size=3),
    evidence=st.just("e"),
    remediation=st.just("r"),
    certainty=st.sampled_from(list(Certainty)),
    advisory=st.sampled_from(["", "CVE-1", "CVE-2"]),
    kev=st.booleans(),
)


@given(st.lists(findings, max_size=12), st.lists(findings, max_size=6))
def test_merging_equals_a_stable_sort_with_the_shared_ones_first(
    shared: list[Finding], more: list[Finding]
) -> None:
    merged = InOrder(shared).merged(list(more))
    expected = sorted([*shared, *more], key=finding_order)
    assert [id(f) for f in merged] == [id(f) for f in expected]


def test_nothing_more_gives_the_shared_tuple_itself() -> None:
    ordered = InOrder([Finding("c", Severity.LOW, "t", "e", "r")])
    assert ordered.merged([]) is ordered.findings


@given(st.lists(st.tuples(st.sampled_from("abc"), st.lists(findings, min_size=1, max_size=5))))
def test_one_list_is_severity_kev_device_then_each_devices_order(
    raw: list[tuple[str, list[Finding]]],
) -> None:
    groups = [
        DeviceFindings(f"{key}{n}", "192.0.2.1", InOrder(found).findings)
        for n, (key, found) in enumerate(raw)
    ]
    flat = worst_first(groups)

    def key(pair: tuple[DeviceFindings, Finding]) -> tuple[int, bool, str]:
        return (pair[1].severity.rank, not pair[1].kev, pair[0].key)

    assert [key(p) for p in flat] == sorted(key(p) for p in flat)
    assert len(flat) == sum(len(g.findings) for g in groups)
    for group in groups:  # each device's findings keep their own order
        assert [f for g, f in flat if g is group] == list(group.findings)
    ordered = sorted(groups, key=device_order)
    assert [device_order(g) for g in ordered] == sorted(device_order(g) for g in groups)
