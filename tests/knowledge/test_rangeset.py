"""RangeSet (bounds parsed once per scheme, answers kept per version) answers exactly what
in_any_range and in_range answer, for every kind of version and bound."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campatch.knowledge.versions import (
    RangeSet,
    Unorderable,
    in_any_range,
    in_range,
    parse_version,
)
from campatch.model import VersionRange

_N = st.integers(0, 12)

#: Version texts per vendor: well-formed, line bounds, other vendors' shapes, garbage.
VERSIONS: dict[str | None, st.SearchStrategy[str]] = {
    "Hikvision": st.builds(
        lambda a, b, c, d: f"V{a}.{b}.{c}" + (f" build {d}" if d else ""),
        st.integers(4, 6), _N, _N, st.sampled_from(["", "170725", "220112", "991399"]),
    ),
    "Dahua": st.builds(
        lambda base, special, n, day: f"2.{base}.{special}.{n}.R" + day,
        st.sampled_from(["622", "800", "820"]),
        st.sampled_from(["0000000", "00AC000", "0000016"]),
        _N,
        st.sampled_from(["", ".210630", ".200314", ", Build Date: 2021-07-19"]),
    ),
    "Axis": st.builds(
        lambda a, b, c: f"{a}.{b}.{c}", st.sampled_from([6, 9, 10, 11]), st.sampled_from([12, 50, 80, 11, 9]), _N
    ),
    "Sony": st.builds(lambda a, b: f"{a}.{b:02d}.00", st.integers(1, 2), st.integers(0, 99)),
    "Reolink": st.builds(
        lambda a, n, d: f"v3.{a}.0.{n}" + d, st.integers(0, 1), st.integers(0, 3000),
        st.sampled_from(["", "_21031800", "_2103180"]),
    ),
    "XiongMai": st.builds(
        lambda b, s: f"V4.0{b}.R11.34500140.10001.{s:06d}.0000", st.integers(0, 3), st.integers(0, 999_999)
    ),
    "D-Link": st.builds(
        lambda a, b, h: f"1.{a:02d}.{b:02d}" + (" Hotfix" if h else ""), _N, _N, st.booleans()
    ),
    None: st.builds(lambda parts: ".".join(map(str, parts)), st.lists(_N, min_size=1, max_size=4)),
}  # fmt: skip
#: Line bounds and texts that are neither a version nor a line.
OTHER_BOUNDS = st.sampled_from(
    ["5", "V5", "2.800", "2.622", "2.800.0000000", "2.800.00AC000", "1", "2", "3.0", "3.1", "4",
     "10.12", "x", "beta", "", "2.x.2.40", "V5.7.3_beta"]
)  # fmt: skip


def _bound(vendor: str | None) -> st.SearchStrategy[str | None]:
    return st.none() | VERSIONS[vendor] | VERSIONS[None] | OTHER_BOUNDS


def _ranges(vendor: str | None) -> st.SearchStrategy[list[VersionRange]]:
    rng = st.builds(VersionRange, _bound(vendor), _bound(vendor), _bound(vendor))
    return st.lists(rng, max_size=4)


def _version(vendor: str | None) -> st.SearchStrategy[str]:
    garbled = VERSIONS[vendor].map(lambda t: t + "-rc")
    return VERSIONS[vendor] | VERSIONS[None] | garbled | OTHER_BOUNDS


@pytest.mark.parametrize("vendor", list(VERSIONS))
@settings(max_examples=300)
@given(data=st.data())
def test_rangeset_answers_what_in_any_range_and_in_range_answer(
    vendor: str | None, data: st.DataObject
) -> None:
    ranges = data.draw(_ranges(vendor))
    rangeset = RangeSet(ranges)
    for _ in range(3):  # several versions against one set: answers are kept per version
        version = parse_version(vendor, data.draw(_version(vendor)))

        assert rangeset.affects(version) is in_any_range(version, ranges)
        assert list(rangeset.hits(version)) == [r for r in ranges if in_range(version, r) is True]
        assert rangeset.affects(version) is in_any_range(version, ranges)  # from the memo


def test_an_unorderable_version_is_never_cleared() -> None:
    version = parse_version("Hikvision", "V5.7.3_beta")
    assert isinstance(version, Unorderable)
    ranges = RangeSet([VersionRange(fixed="V5.4.41"), VersionRange(introduced="V6.0.0")])

    assert ranges.affects(version) is None
    assert ranges.hits(version) == ()


def test_bounds_are_parsed_once_per_scheme() -> None:
    ranges = RangeSet([VersionRange(introduced="2.800", fixed="2.800.0000000.29.R.210630")])
    ranges.prepare(parse_version("Dahua", "2.800.0000000.8.R").scheme)

    # A Dahua version on the line, one on another line, and a generic version.
    assert ranges.affects(parse_version("Dahua", "2.800.0000000.8.R")) is True
    assert ranges.affects(parse_version("Dahua", "2.622.0000000.31.R")) is None
    assert ranges.affects(parse_version(None, "2.800")) is None
    assert len(ranges._parsed) == 2  # Dahua and generic
