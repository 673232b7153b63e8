"""Vendor firmware versions: real strings parse and order; what cannot be ordered is never safe."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from campatch.knowledge.versions import (
    MAX_VERSION_LENGTH,
    FirmwareVersion,
    Ordering,
    Scheme,
    Unorderable,
    compare,
    in_any_range,
    in_range,
    is_before,
    is_line_bound,
    parse_version,
    scheme_for_vendor,
)
from campatch.model import VersionRange

LESS, EQUAL, GREATER, UNKNOWN = Ordering.LESS, Ordering.EQUAL, Ordering.GREATER, Ordering.UNKNOWN


def v(vendor: str | None, text: str, build: str | None = None) -> FirmwareVersion:
    """Parse a version the test expects to be orderable."""
    parsed = parse_version(vendor, text, build)
    assert isinstance(parsed, FirmwareVersion), parsed
    return parsed


# --- vendor names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "scheme"),
    [
        ("Hikvision", Scheme.HIKVISION),
        ("HIKVISION Digital Technology", Scheme.HIKVISION),
        ("Dahua", Scheme.DAHUA),
        ("Zhejiang Dahua Technology", Scheme.DAHUA),
        ("Amcrest", Scheme.DAHUA),
        ("Lorex", Scheme.DAHUA),
        ("AXIS Communications AB", Scheme.AXIS),
        ("Foscam", Scheme.FOSCAM),
        ("Sony", Scheme.SONY),
        ("Reolink", Scheme.REOLINK),
        ("XiongMai", Scheme.XIONGMAI),
        ("Xiong Mai", Scheme.XIONGMAI),
        ("XM", Scheme.XIONGMAI),
        ("D-Link", Scheme.DLINK),
        ("XMEye", Scheme.GENERIC),  # an app name, not a firmware maker
        ("Uniview", Scheme.GENERIC),
        ("", Scheme.GENERIC),
        (None, Scheme.GENERIC),
    ],
)
def test_the_vendor_picks_the_scheme_and_unknown_vendors_get_the_generic_one(
    vendor: str | None, scheme: Scheme
) -> None:
    assert scheme_for_vendor(vendor) is scheme


# --- parsing: combined and split forms, canonical spelling -------------------------


@pytest.mark.parametrize(
    ("vendor", "text", "build", "canonical"),
    [
        ("Hikvision", "V5.5.0 build 170725", None, "V5.5.0 build 170725"),
        ("Hikvision", "V5.5.0build 170725", None, "V5.5.0 build 170725"),  # SADP spelling
        ("Hikvision", "V5.7.3", "build 220112", "V5.7.3 build 220112"),  # inventory split
        ("Hikvision", "V5.7.3", "220112", "V5.7.3 build 220112"),
        ("Hikvision", "V5.7.3 build 220112", "build 220112", "V5.7.3 build 220112"),
        ("Hikvision", "V4.30.085 build 200916", None, "V4.30.085 build 200916"),
        (
            "Dahua",
            "2.800.0000000.25.R, Build Date: 2021-07-19",
            None,
            "2.800.0000000.25.R, Build Date: 2021-07-19",
        ),
        ("Dahua", "2.800.0000016.0.R,build:2020-06-05", None, ""),
        ("Dahua", "2.800.0000016.0.R", "2020-06-05", "2.800.0000016.0.R, Build Date: 2020-06-05"),
        ("Amcrest", "V2.800.00AC001.0.R, Build Date: 2021-07-12", None, ""),
        ("Dahua", "V2.620.0000002.0.R.170830", None, "2.620.0000002.0.R, Build Date: 2017-08-30"),
        ("Dahua", "V2.420.0000.11.R.20170620", None, "2.420.0000.11.R, Build Date: 2017-06-20"),
        ("Axis", "10.12.114", None, "10.12.114"),
        ("Axis", "9.80.3.8", None, "9.80.3.8"),
        ("Foscam", "1.11.1.18", None, "1.11.1.18"),
        ("Foscam", "2.x.2.27", None, "2.x.2.27"),
        ("Sony", "1.86.00", None, "1.86.00"),
        ("Sony", "Ver.2.7.2", None, "2.7.2"),
        ("Reolink", "v3.0.0.136_20121102", None, "v3.0.0.136_20121102"),
        ("Reolink", "v3.0.0.136", None, "v3.0.0.136"),
        ("Reolink", "v3.0.0.136", "build 20121112", "v3.0.0.136_20121112"),
        ("XiongMai", "V4.02.R11.34500140.10001.130800.0000", None, ""),
        ("XiongMai", "V4.02.R11.00000117.10001.131900.00000", None, ""),  # CVE-2022-45045
        ("XiongMai", "V4.02.R11.31508069.12201", None, ""),  # short form from DVR.htm
        (None, "1.2.3", None, "1.2.3"),
        (None, "v2.0 build 42", None, "2.0 build 42"),
    ],
)
def test_real_strings_parse_and_print_canonically(
    vendor: str, text: str, build: str | None, canonical: str
) -> None:
    parsed = v(vendor, text, build)

    if canonical:
        assert str(parsed) == canonical
    assert parse_version(parsed.scheme, str(parsed)) == parsed


@pytest.mark.parametrize(
    ("vendor", "text", "build"),
    [
        (None, "unknown", None),
        (None, "", None),
        (None, "   ", None),
        (None, "1.2.3-beta+x", None),
        (None, "1.2..3", None),
        (None, "1,2,3", None),
        (None, "1.2.3a", None),
        (None, "1.2", "yesterday"),
        (None, "1." * MAX_VERSION_LENGTH, None),
        ("Hikvision", "V5.5.0 build 171332", None),  # month 13
        ("Hikvision", "V5.5.0 build 170725", "build 170726"),  # text and field disagree
        ("Hikvision", "unknown", None),
        ("Dahua", "2.800.0000000.25.R, Build Date: 2021-02-30", None),
        ("Dahua", "2.800.0000000.25.R.210719", "2021-07-20"),
        ("Dahua", "2.800.0000000.25", None),  # no type letter
        ("Amcrest", "V2.800.AC.0.R", None),
        ("Axis", "11.0.59_beta", None),
        ("Axis", "10", None),
        ("Axis", "10.12.114", "build 1"),
        ("Foscam", "2.x.2", None),
        ("Sony", "1.86.00a", None),
        ("Reolink", "v3.0.0.136_20131502", None),  # month 15
        ("Reolink", "3.0.0.136 20121102", None),
        ("XiongMai", "V4.02.R11.D5302532.10012.242800..ONVIF 2.41", None),  # seen in the wild
        ("XiongMai", "V4.02.R11.XYZ", None),
    ],
)
def test_strings_a_scheme_does_not_understand_are_unorderable(
    vendor: str | None, text: str, build: str | None
) -> None:
    parsed = parse_version(vendor, text, build)

    assert isinstance(parsed, Unorderable)
    assert parsed.reason
    assert parsed.scheme is scheme_for_vendor(vendor)


# --- ordering tables --------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "a", "b", "expected"),
    [
        # Hikvision: numeric per field, not lexical; the build breaks ties.
        ("Hikvision", "V5.4.5 build 170124", "V5.4.41 build 170312", LESS),
        ("Hikvision", "V5.2.0 build 140721", "V5.4.0 build 160530", LESS),
        ("Hikvision", "V5.5.0 build 170725", "V5.5.0 build 170801", LESS),
        ("Hikvision", "V5.5.0", "V5.5.0 build 170725", LESS),  # no build sorts first
        ("Hikvision", "V5.5.0", "V5.5", EQUAL),
        ("Hikvision", "V4.30.085 build 200916", "V5.5.0 build 170725", UNKNOWN),  # NVR vs IPC
        # Dahua: ordered within major.baseline.special.type only.
        ("Dahua", "2.800.0000000.12.R", "2.800.0000000.25.R", LESS),
        ("Dahua", "2.800.0000000.25.R", "2.800.0000000.25.R, Build Date: 2021-07-19", LESS),
        ("Dahua", "2.800.0000000.25.R", "2.800.0000016.0.R", UNKNOWN),
        ("Dahua", "2.622.0000000.31.R", "2.800.0000000.25.R", UNKNOWN),
        ("Amcrest", "V2.800.00AC001.0.R", "V2.800.00AC006.0.R", UNKNOWN),
        ("Dahua", "2.800.0000000.25.R.210719", "2.800.0000000.25.R,build:2021-07-19", EQUAL),
        # Axis: LTS tracks apart from each other and from the active track.
        ("Axis", "9.80.3.8", "10.12.114", UNKNOWN),
        ("Axis", "10.12.114", "10.12.257", LESS),
        ("Axis", "11.11.136", "11.11.109", GREATER),
        ("Axis", "11.9.60", "12.0.86", LESS),
        ("Axis", "10.12.240", "11.9.60", UNKNOWN),
        # Foscam, Sony.
        ("Foscam", "1.11.1.18", "1.11.1.9", GREATER),
        ("Foscam", "2.81.2.27", "2.x.2.27", UNKNOWN),  # a pattern is not a release
        ("Sony", "1.82.01", "1.86.00", LESS),
        ("Sony", "1.86.00", "2.7.2", UNKNOWN),
        # Reolink: build number first, date suffix breaks ties; lines apart.
        ("Reolink", "v3.0.0.136_20121102", "v3.0.0.1107_22070508", LESS),
        ("Reolink", "v3.0.0.136_20121100", "v3.0.0.136_20121102", LESS),
        ("Reolink", "v3.0.0.136", "v3.0.0.136_20121102", LESS),
        ("Reolink", "v3.0.0.1107_22070508", "v3.1.0.739_22042505", UNKNOWN),
        # XiongMai: same board and OEM code only.
        (
            "XiongMai",
            "V4.02.R11.34500140.10001.130800.0000",
            "V4.03.R11.34500140.10001.142300.0000",
            LESS,
        ),
        (
            "XiongMai",
            "V4.02.R11.34500140.10001.130800.0000",
            "V4.02.R11.34500140.10001.130800.0000000",
            EQUAL,
        ),
        (
            "XiongMai",
            "V4.02.R11.00000117.10001.131900.00000",
            "V4.02.R11.C7431119.12001.130000.00000",
            UNKNOWN,
        ),
        # Generic.
        (None, "1.9", "1.10", LESS),
        (None, "1.2", "1.2.0", EQUAL),
        (None, "v2.0 build 42", "2.0 build 43", LESS),
        (None, "1.2.3", "unknown", UNKNOWN),
    ],
)
def test_ordering_tables(vendor: str | None, a: str, b: str, expected: Ordering) -> None:
    first, second = parse_version(vendor, a), parse_version(vendor, b)

    assert compare(first, second) is expected
    assert compare(second, first) is expected.flipped()


def test_versions_of_different_schemes_are_not_ordered() -> None:
    hik, generic = v("Hikvision", "V5.5.0"), v(None, "5.5.0")

    assert compare(hik, generic) is UNKNOWN
    with pytest.raises(TypeError, match="different scheme or track"):
        _ = hik < generic


def test_sorting_within_a_track_uses_numbers_and_builds() -> None:
    texts = ["V5.4.41 build 170312", "V5.4.5 build 170124", "V5.4.5", "V5.5.0 build 170725"]

    ordered = sorted(v("Hikvision", t) for t in texts)

    assert [str(x) for x in ordered] == [
        "V5.4.5",
        "V5.4.5 build 170124",
        "V5.4.41 build 170312",
        "V5.5.0 build 170725",
    ]


# --- is_before / in_range / in_any_range -------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "version", "build", "fixed", "expected"),
    [
        ("Hikvision", "V5.4.5", "build 170124", "V5.4.41", True),
        ("Hikvision", "V5.4.41", "build 170312", "V5.4.41", False),  # bound covers all builds
        ("Hikvision", "V5.4.41", None, "V5.4.41 build 170312", None),  # our build unknown
        ("Hikvision", "V5.5.0", "build 170725", "V5.5.0 build 170801", True),
        ("Hikvision", "V5.5.0", "build 170901", "V5.5.0 build 170801", False),
        ("Hikvision", "unknown", None, "V5.4.41", None),
        ("Hikvision", "V5.4.5", None, "5.4.x", None),  # the bound is not a version
        ("Dahua", "2.800.0000016.0.R", "2020-06-05", "2.800.0000000.25.R", None),
        ("Dahua", "2.800.0000000.12.R", None, "2.800.0000000.25.R", True),
        ("Axis", "9.80.3.8", None, "10.12.114", None),
        ("Axis", "10.12.100", None, "10.12.114", True),
        ("Foscam", "2.81.2.26", None, "2.x.2.27", True),  # x matches the platform
        ("Foscam", "2.81.2.27", None, "2.x.2.27", False),
        ("Foscam", "1.11.2.26", None, "2.x.2.27", None),
        ("Reolink", "v3.0.0.136_20121102", None, "v3.0.0.136", False),
        ("Reolink", "v3.0.0.136", None, "v3.0.0.1107_22070508", True),
        (None, "1.2.3-beta+x", None, "1.2.4", None),
        (None, "", None, "1.2.4", None),
    ],
)
def test_is_before(
    vendor: str | None, version: str, build: str | None, fixed: str, expected: bool | None
) -> None:
    assert is_before(parse_version(vendor, version, build), fixed) is expected


# ICS-CERT ICSA-17-124-01 style: V5.2.0 build 140721 to V5.4.0 build 160530, fixed V5.4.41.
HIK_2017 = VersionRange(introduced="V5.2.0 build 140721", last_affected="V5.4.0 build 160530")


@pytest.mark.parametrize(
    ("vendor", "version", "rng", "expected"),
    [
        ("Hikvision", "V5.3.0 build 150101", HIK_2017, True),
        ("Hikvision", "V5.2.0 build 140721", HIK_2017, True),  # both ends inclusive
        ("Hikvision", "V5.4.0 build 160530", HIK_2017, True),
        ("Hikvision", "V5.4.41 build 170312", HIK_2017, False),
        ("Hikvision", "V5.1.0 build 130101", HIK_2017, False),
        ("Hikvision", "V5.4.0", HIK_2017, None),  # which V5.4.0 build? cannot tell
        ("Hikvision", "unknown", HIK_2017, None),
        ("Hikvision", "V4.30.085", HIK_2017, None),  # another track
        ("Hikvision", "unknown", VersionRange(), True),  # no bounds: every version
        ("Hikvision", "V5.4.5", VersionRange(fixed="V5.4.41"), True),
        ("Hikvision", "V5.4.41", VersionRange(fixed="V5.4.41"), False),  # fixed is exclusive
        ("Hikvision", "V5.4.5", VersionRange(introduced="junk", fixed="V5.4.41"), None),
        ("Hikvision", "V5.4.50", VersionRange(introduced="junk", fixed="V5.4.41"), False),
        ("Hikvision", "V5.1.0", VersionRange(introduced="V5.2.0", fixed="junk"), False),
        ("Dahua", "2.800.0000016.0.R", VersionRange(fixed="2.800.0000000.25.R"), None),
        ("Reolink", "v3.0.0.136_20121102", VersionRange(last_affected="v3.0.0.136"), True),
    ],
)
def test_in_range(vendor: str, version: str, rng: VersionRange, expected: bool | None) -> None:
    assert in_range(parse_version(vendor, version), rng) is expected


# One fix per Axis track, as Axis advisories list them.
AXIS_RANGES = (
    VersionRange(fixed="9.80.3.8"),
    VersionRange(fixed="10.12.114"),
    VersionRange(introduced="11.0", fixed="11.5.64"),
)


@pytest.mark.parametrize(
    ("version", "ranges", "expected"),
    [
        ("10.12.100", AXIS_RANGES, True),
        ("10.12.114", AXIS_RANGES, False),  # other tracks' ranges do not speak about it
        ("9.80.3.8", AXIS_RANGES, False),
        ("11.3.70", AXIS_RANGES, True),
        ("11.9.60", AXIS_RANGES, False),
        ("8.40.1.1", AXIS_RANGES, None),  # LTS 2018: no range for its track
        ("unknown", AXIS_RANGES, None),
        ("11.9.60", (*AXIS_RANGES, VersionRange(fixed="11.9.x")), None),  # a broken bound
        # a range reaching across tracks cannot place 10.12.120, so no definite "no"
        ("10.12.120", (*AXIS_RANGES, VersionRange(introduced="9.80.1", fixed="10.12.200")), None),
        ("unknown", (), True),  # no ranges: every version
    ],
)
def test_in_any_range_lets_each_track_speak_for_itself(
    version: str, ranges: tuple[VersionRange, ...], expected: bool | None
) -> None:
    assert in_any_range(parse_version("Axis", version), ranges) is expected


# --- D-Link hotfixes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.06.01", "1.06.01 Hotfix", LESS),  # a hotfix follows its release
        ("1.06.01 Hotfix", "1.06.02", LESS),  # ... and precedes the next one
        ("1.06.01_hotfix", "1.06.01 Hotfix", EQUAL),
        ("v1.05.05", "1.06.01 Hotfix", LESS),
        ("1.6.1 Hotfix", "1.06.01 Hotfix", EQUAL),
    ],
)
def test_dlink_hotfix_sorts_after_its_release(a: str, b: str, expected: Ordering) -> None:
    assert compare(v("D-Link", a), v("D-Link", b)) is expected


@pytest.mark.parametrize(
    ("version", "rng", "expected"),
    [
        ("1.06.01", VersionRange(fixed="1.06.01 Hotfix"), True),
        ("1.06.01 Hotfix", VersionRange(fixed="1.06.01 Hotfix"), False),
        ("1.06.01 Hotfix", VersionRange(fixed="1.06.01"), False),  # the fix's hotfix has it
        ("1.07", VersionRange(fixed="1.06.01 Hotfix"), False),
        ("Hotfix", VersionRange(fixed="1.06.01 Hotfix"), None),
        ("1.06.01 Hotfix 2", VersionRange(fixed="1.06.01 Hotfix"), None),
    ],
)
def test_dlink_ranges(version: str, rng: VersionRange, expected: bool | None) -> None:
    assert in_range(parse_version("D-Link", version), rng) is expected


# --- line bounds --------------------------------------------------------------------

# CVE-2016-7834: Sony 5th gen (major 1) fixed in 1.86.00, 6th gen (major 2) in 2.7.2.
SONY_LINES = (
    VersionRange(introduced="1", fixed="1.86.00"),
    VersionRange(introduced="2", fixed="2.7.2"),
)
# CVE-2020-5735 (Amcrest): one fix per Dahua line.
DAHUA_LINES = (
    VersionRange(introduced="2.623", fixed="2.623.00AC004.0.R.200316"),
    VersionRange(introduced="2.800.00AC000", fixed="2.800.00AC000.0.R.200330"),
    VersionRange(introduced="2.800.0000000", fixed="2.800.0000000.6.R.200314"),
    VersionRange(introduced="4", fixed="4.000.00AC000.0.R.200218"),
)


@pytest.mark.parametrize(
    ("vendor", "text", "expected"),
    [
        ("Sony", "1", True),
        ("Sony", "1.86", False),  # a version, not a line
        ("Dahua", "2.623", True),
        ("Dahua", "2.800.0000000", True),
        ("Dahua", "2.800.00ac000", True),
        ("Dahua", "2.800.0000000.6", False),  # reaches past the line fields
        ("Hikvision", "V5", True),
        ("Reolink", "3.0", True),
        ("Axis", "10", False),  # Axis lines are LTS names, not prefixes
        ("XiongMai", "4", False),
        ("D-Link", "1", False),
        ("Uniview", "1", False),  # generic: "1" is a version
        ("Sony", "junk", False),
        ("Sony", "", False),
    ],
)
def test_is_line_bound(vendor: str, text: str, expected: bool) -> None:
    assert is_line_bound(vendor, text) is expected


@pytest.mark.parametrize(
    ("vendor", "version", "rng", "expected"),
    [
        ("Sony", "1.85.00", SONY_LINES[0], True),
        ("Sony", "1.86.00", SONY_LINES[0], False),
        ("Sony", "2.7.1", SONY_LINES[0], False),  # another line: outside this range
        ("Sony", "2.7.1", SONY_LINES[1], True),
        ("Sony", "unknown", SONY_LINES[0], None),
        ("Sony", "1.85.00", VersionRange(introduced="1"), True),
        ("Dahua", "2.623.00AC004.0.R.200301", DAHUA_LINES[0], True),
        ("Dahua", "2.623.00AC004.0.R.200316", DAHUA_LINES[0], False),
        ("Dahua", "2.623.00AC003.9.R", DAHUA_LINES[0], None),  # same line, other special
        ("Dahua", "2.800.0000000.5.R", DAHUA_LINES[1], False),
        ("Dahua", "2.800.0000000.5.R", DAHUA_LINES[2], True),
        ("Dahua", "4.000.00AC000.0.R.200101", DAHUA_LINES[3], True),
    ],
)
def test_in_range_with_a_line_bound(
    vendor: str, version: str, rng: VersionRange, expected: bool | None
) -> None:
    assert in_range(parse_version(vendor, version), rng) is expected


@pytest.mark.parametrize(
    ("vendor", "version", "ranges", "expected"),
    [
        ("Sony", "1.85.00", SONY_LINES, True),
        ("Sony", "1.86.00", SONY_LINES, False),
        ("Sony", "2.7.1", SONY_LINES, True),
        ("Sony", "2.7.2", SONY_LINES, False),
        ("Sony", "3.0.0", SONY_LINES, None),  # a line no range names: cannot tell
        ("Sony", "unknown", SONY_LINES, None),
        ("Dahua", "2.623.00AC004.0.R.200301", DAHUA_LINES, True),
        ("Dahua", "2.623.00AC004.0.R.200316", DAHUA_LINES, False),
        ("Dahua", "2.800.0000000.7.R", DAHUA_LINES, False),
        ("Dahua", "2.800.0000000.6.R", DAHUA_LINES, None),  # which 6.R build? cannot tell
        ("Dahua", "2.800.0000000.5.R", DAHUA_LINES, True),
        ("Dahua", "2.623.00AC003.9.R", DAHUA_LINES, None),
        ("Dahua", "2.622.00AC000.0.R", DAHUA_LINES, None),  # its line is not listed here
        ("Dahua", "4.001.00AC000.0.R", DAHUA_LINES, None),  # line 4, but not the fix's track
    ],
)
def test_in_any_range_with_line_bounds_never_clears_an_unlisted_line(
    vendor: str, version: str, ranges: tuple[VersionRange, ...], expected: bool | None
) -> None:
    assert in_any_range(parse_version(vendor, version), ranges) is expected


# --- properties -------------------------------------------------------------------

_DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
_SMALL = st.integers(min_value=0, max_value=999)

# One track per scheme, so every pair drawn must be ordered.
TRACKS: dict[str, st.SearchStrategy[str]] = {
    "Hikvision": st.builds(
        lambda a, b, d: f"V5.{a}.{b}" + (f" build {d:%y%m%d}" if d else ""),
        _SMALL,
        _SMALL,
        st.none() | _DAYS,
    ),
    "Dahua": st.builds(
        lambda n, d: f"2.800.0000000.{n}.R" + (f", Build Date: {d:%Y-%m-%d}" if d else ""),
        _SMALL,
        st.none() | _DAYS,
    ),
    "Axis": st.builds(lambda a, b: f"12.{a}.{b}", _SMALL, _SMALL),
    "Foscam": st.builds(lambda a, b: f"2.81.{a}.{b}", _SMALL, _SMALL),
    "Sony": st.builds(lambda a, b: f"1.{a}.{b:02d}", _SMALL, st.integers(0, 99)),
    "Reolink": st.builds(
        lambda n, d, k: f"v3.0.0.{n}" + (f"_{d:%y%m%d}{k:02d}" if d else ""),
        st.integers(0, 9999),
        st.none() | _DAYS,
        st.integers(0, 99),
    ),
    "XiongMai": st.builds(
        lambda a, b, n: f"V{a}.{b:02d}.R11.34500140.10001.{n:06d}.0000",
        st.integers(1, 9),
        st.integers(0, 99),
        st.integers(0, 999_999),
    ),
    "D-Link": st.builds(
        lambda parts, hotfix: ".".join(f"{p:02d}" for p in parts) + (" Hotfix" if hotfix else ""),
        st.lists(_SMALL, min_size=2, max_size=3),
        st.booleans(),
    ),
    "Generic": st.builds(
        lambda parts, n: "v" + ".".join(map(str, parts)) + (f" build {n}" if n is not None else ""),
        st.lists(_SMALL, min_size=1, max_size=5),
        st.none() | _SMALL,
    ),
}
VENDORS = sorted(TRACKS)


@pytest.mark.parametrize("vendor", VENDORS)
@given(data=st.data())
def test_ordering_is_total_and_antisymmetric_within_a_track(
    vendor: str, data: st.DataObject
) -> None:
    a = v(vendor, data.draw(TRACKS[vendor]))
    b = v(vendor, data.draw(TRACKS[vendor]))

    forward = compare(a, b)
    assert forward is not UNKNOWN
    assert compare(b, a) is forward.flipped()
    assert (forward is EQUAL) == (a == b)
    assert (forward is LESS) == (a < b)


@pytest.mark.parametrize("vendor", VENDORS)
@given(data=st.data())
def test_ordering_is_transitive(vendor: str, data: st.DataObject) -> None:
    a, b, c = (v(vendor, data.draw(TRACKS[vendor])) for _ in range(3))

    if compare(a, b) in (LESS, EQUAL) and compare(b, c) in (LESS, EQUAL):
        assert compare(a, c) in (LESS, EQUAL)
        if LESS in (compare(a, b), compare(b, c)):
            assert compare(a, c) is LESS


@pytest.mark.parametrize("vendor", VENDORS)
@given(data=st.data())
def test_the_canonical_form_parses_back_to_the_same_version(
    vendor: str, data: st.DataObject
) -> None:
    version = v(vendor, data.draw(TRACKS[vendor]))

    assert parse_version(vendor, str(version)) == version
    assert parse_version(version.scheme, str(version)) == version


@pytest.mark.parametrize("vendor", VENDORS)
@given(data=st.data())
def test_in_range_with_only_fixed_agrees_with_is_before(vendor: str, data: st.DataObject) -> None:
    version = v(vendor, data.draw(TRACKS[vendor]))
    fixed = data.draw(TRACKS[vendor])

    assert in_range(version, VersionRange(fixed=fixed)) is is_before(version, fixed)


def _garbled(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid version with a stray character spliced in somewhere."""
    return st.builds(
        lambda text, at, ch: text[: at % (len(text) + 1)] + ch + text[at % (len(text) + 1) :],
        valid,
        st.integers(min_value=0),
        st.sampled_from("-+_~ab!x/:;é\x00"),
    )


@pytest.mark.parametrize("vendor", VENDORS)
@given(data=st.data())
def test_garbage_is_never_reported_as_not_affected(vendor: str, data: st.DataObject) -> None:
    text = data.draw(st.text(max_size=60) | _garbled(TRACKS[vendor]))
    parsed = parse_version(vendor, text)
    assume(isinstance(parsed, Unorderable))
    bound = data.draw(TRACKS[vendor])

    for rng in (
        VersionRange(fixed=bound),
        VersionRange(introduced=bound),
        VersionRange(last_affected=bound),
        VersionRange(introduced=bound, fixed=bound),
    ):
        assert in_range(parsed, rng) is None
    assert in_any_range(parsed, [VersionRange(fixed=bound)]) is None
    assert is_before(parsed, bound) is None


@pytest.mark.parametrize("vendor", VENDORS)
@given(data=st.data())
def test_a_version_lies_on_its_own_line(vendor: str, data: st.DataObject) -> None:
    version = v(vendor, data.draw(TRACKS[vendor]))
    fields = str(version).lstrip("Vv").split(".")
    lines = [".".join(fields[:n]) for n in range(1, len(fields))]

    for line in (x for x in lines if is_line_bound(vendor, x)):
        assert in_range(version, VersionRange(introduced=line)) is True
        assert in_any_range(version, [VersionRange(introduced=line)]) is True


@pytest.mark.parametrize("vendor", [*VENDORS, None])
@given(text=st.text(max_size=300), build=st.none() | st.text(max_size=40))
def test_parsing_never_raises(vendor: str | None, text: str, build: str | None) -> None:
    parsed = parse_version(vendor, text, build)

    assert isinstance(parsed, FirmwareVersion | Unorderable)
