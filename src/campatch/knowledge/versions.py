"""Vendor-aware firmware versions: parse the strings vendors really use, and order them.

``parse_version(vendor, text, build)`` picks a scheme from the vendor and returns a
:class:`FirmwareVersion`, or an :class:`Unorderable` (never an exception) when the
text does not fit the scheme. :func:`compare`, :func:`is_before`, :func:`in_range`
and :func:`in_any_range` answer with three values: a definite answer, or
``UNKNOWN`` / ``None`` for "cannot tell". Callers report "cannot tell" as *possibly
affected*; a version campatch cannot order is never reported as safe.

A version has a **scheme** (the vendor's format), a **track** (a line of releases
that are ordered against each other), a **release** key and an optional **build**
(a date or build number that only breaks ties). Versions are totally ordered within
one scheme and track; across tracks the answer is ``UNKNOWN``.

=========  ===========================================  ==========================
scheme     examples                                     track (must match)
=========  ===========================================  ==========================
hikvision  ``V5.5.0 build 170725`` (or build apart)     major (``V5``)
dahua      ``2.800.0000000.25.R, Build Date: 2021-07-19``  major.baseline.special.type
axis       ``10.12.114``, ``9.80.3.8``                  LTS track or "active"
foscam     ``1.11.1.18``, ``2.x.2.27``                  first two fields
sony       ``1.86.00``, ``2.7.2``                       major (camera generation)
dlink      ``1.06.01``, ``1.06.01 Hotfix``              none
reolink    ``v3.0.0.136_20121102``                      first three fields
xiongmai   ``V4.02.R11.34500140.10001.130800.0000``     R field, board, OEM, tail
generic    ``1.2.3``, ``v2.0 build 42``                 none
=========  ===========================================  ==========================

Vendor evidence behind the tracks:

- Hikvision numbers are numeric per field (``V5.4.5 build 170124`` precedes the fix
  ``V5.4.41`` of March 2017), and one camera moves across minors (ICS-CERT
  ICSA-17-124-01 gives ranges such as "V5.2.0 build 140721 to V5.4.0 build 160530").
  The build is ``YYMMDD``.
- Dahua: ``2.800.0000016.0.R`` was built 2020-06-05, ``2.800.0000000.25.R`` on
  2021-07-19, so the third field is not a sequence number; it names a special or OEM
  line (Amcrest's is ``00AC...``). A device stays on its baseline (``2.622`` vs
  ``2.800`` are different platforms), so only versions agreeing on major, baseline,
  third field and type letter are ordered, by build number, then build date.
- Axis publishes long-term-support tracks (AXIS OS release notes: LTS 2022 = 10.12,
  LTS 2024 = 11.11; earlier 6.50, 8.40, 9.80) that receive backported fixes; a
  version on an LTS track is only ordered against the same track, active-track
  versions against each other.
- Foscam writes application firmware as ``2.x.2.27``: ``x`` stands for the model's
  platform code, so a bound with ``x`` matches any platform.
- Reolink appends ``_YYMMDDNN`` (``v3.0.0.136_20121102`` was released in December
  2020); hardware lines run separately (``v3.0.0.x`` and ``v3.1.0.x``).
- XiongMai strings carry a board id and an OEM code that tie a firmware to hardware;
  only ``major.minor`` and the build field are ordered.
- D-Link publishes fixes as a hotfix of a release (advisory SAP10180: DCS-2530L
  "v1.06.01 Hotfix"). A hotfix is a later build of its base release: it sorts after
  the base and before the next release (``1.06.01 < 1.06.01 Hotfix < 1.06.02``).
  Otherwise D-Link versions are ordered like generic dotted numbers.

**Line bounds.** Advisories that list one fix per product line ("before
2.623.00AC004.0.R.200316, 2.800.0000000.6.R.200314 ... (per product line)") get an
``introduced`` bound naming the line: a leading part of the version that stops inside
the fields which choose the line, and which is not itself a version of the scheme.
Only ``introduced`` may be a line bound. It holds for a version on that line (the line
starts there) and does not hold for a version on another line, so ``in_range`` answers
False for it; :func:`in_any_range` does not count a range of another line as speaking
about the version, so a version on a line no range names stays "cannot tell".

=========  =====================================  ==================================
scheme     line fields (in order)                 example line bound
=========  =====================================  ==================================
hikvision  major                                  ``5`` or ``V5`` (= V5.*)
dahua      major, baseline, special (as text)     ``2.623``, ``2.800.0000000``, ``4``
sony       major                                  ``1`` (5th gen), ``2`` (6th gen)
foscam     first, platform                        ``2``
reolink    first three fields                     ``3.0``
=========  =====================================  ==================================

Axis (tracks are LTS names), XiongMai (the line is in the tail), D-Link and generic
(no tracks) have no line bounds: such a bound stays unorderable.

A bound without a build (``V5.4.41``, ``v3.0.0.136``) stands for every build of that
release in :func:`is_before` and :func:`in_range`; a device whose build is unknown
cannot be placed against a bound that names one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum, StrEnum

from campatch.model import VersionRange

__all__ = [
    "AXIS_LTS_TRACKS",
    "MAX_VERSION_LENGTH",
    "SCHEME_VENDORS",
    "FirmwareVersion",
    "Ordering",
    "RangeSet",
    "Scheme",
    "Unorderable",
    "compare",
    "in_any_range",
    "in_range",
    "is_before",
    "is_line_bound",
    "parse_version",
    "scheme_for_vendor",
]

#: Longer strings are not firmware versions; they are refused before any regex runs.
MAX_VERSION_LENGTH = 128
#: Axis OS long-term-support tracks (major, minor) -> name.
AXIS_LTS_TRACKS = {
    (6, 50): "LTS 2016",
    (8, 40): "LTS 2018",
    (9, 80): "LTS 2020",
    (10, 12): "LTS 2022",
    (11, 11): "LTS 2024",
}


class Scheme(StrEnum):
    """A vendor's version format."""

    HIKVISION = "hikvision"
    DAHUA = "dahua"
    AXIS = "axis"
    FOSCAM = "foscam"
    SONY = "sony"
    REOLINK = "reolink"
    XIONGMAI = "xiongmai"
    DLINK = "dlink"
    GENERIC = "generic"


class Ordering(Enum):
    """The outcome of comparing two versions; UNKNOWN means "cannot tell"."""

    LESS = -1
    EQUAL = 0
    GREATER = 1
    UNKNOWN = None

    def flipped(self) -> Ordering:
        """The ordering seen from the other side (LESS <-> GREATER)."""
        return {Ordering.LESS: Ordering.GREATER, Ordering.GREATER: Ordering.LESS}.get(self, self)


@dataclass(frozen=True, slots=True)
class Unorderable:
    """A version string a scheme cannot order, and why (kept, never dropped)."""

    text: str
    scheme: Scheme
    reason: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class FirmwareVersion:
    """A parsed firmware version; ``<`` works within one scheme and track.

    Args:
        scheme: the vendor format.
        track: the release line; versions on different tracks are not ordered.
        release: the ordered key, trailing zeros removed (``1.2.0`` equals ``1.2``).
        build: tie-breaker (a date as ``YYYYMMDD``, ``YYMMDD`` or a build number);
            None sorts before any build.
        text: the canonical spelling; ``parse_version(scheme, str(v)) == v``.
        hotfix: 1 for a vendor hotfix of ``release`` (D-Link ``1.06.01 Hotfix``),
            which sorts after the release itself and before the next one; else 0.
    """

    scheme: Scheme
    track: str
    release: tuple[int, ...]
    build: int | None = None
    text: str = field(default="", compare=False)
    hotfix: int = 0

    def __str__(self) -> str:
        return self.text

    def comparable_with(self, other: FirmwareVersion) -> bool:
        """True if both versions share scheme and track, so ``<`` is defined."""
        return self.scheme is other.scheme and self.track == other.track

    def _key(self) -> tuple[tuple[int, ...], int, bool, int]:
        return (self.release, self.hotfix, self.build is not None, self.build or 0)

    def _checked(self, other: object) -> FirmwareVersion:
        if not isinstance(other, FirmwareVersion) or not self.comparable_with(other):
            raise TypeError(f"cannot order {self} against {other}: different scheme or track")
        return other

    def __lt__(self, other: object) -> bool:
        return self._key() < self._checked(other)._key()

    def __le__(self, other: object) -> bool:
        return self._key() <= self._checked(other)._key()

    def __gt__(self, other: object) -> bool:
        return self._key() > self._checked(other)._key()

    def __ge__(self, other: object) -> bool:
        return self._key() >= self._checked(other)._key()


Parsed = FirmwareVersion | Unorderable

# --- vendor names -----------------------------------------------------------------

_VENDOR_NAMES = (
    ("hikvision", Scheme.HIKVISION),
    ("dahua", Scheme.DAHUA),
    ("amcrest", Scheme.DAHUA),  # Dahua OEM (firmware V2.800.00AC...)
    ("lorex", Scheme.DAHUA),  # Dahua OEM
    ("imou", Scheme.DAHUA),  # Dahua's consumer brand
    ("axis", Scheme.AXIS),
    ("foscam", Scheme.FOSCAM),
    ("sony", Scheme.SONY),
    ("reolink", Scheme.REOLINK),
    ("xiongmai", Scheme.XIONGMAI),
    ("xm", Scheme.XIONGMAI),
    ("dlink", Scheme.DLINK),
)


#: The vendor names (lower case) that have a version scheme of their own.
SCHEME_VENDORS: tuple[str, ...] = tuple(name for name, _ in _VENDOR_NAMES)


@functools.lru_cache(maxsize=4096)
def scheme_for_vendor(vendor: str | None) -> Scheme:
    """The scheme for a vendor name as devices and feeds spell it; generic if unknown.

    Names match anywhere in the vendor string ("Zhejiang Dahua Technology"), except
    the short "XM", which must be the whole name.
    """
    key = re.sub(r"[^a-z0-9]", "", (vendor or "").casefold())
    for name, scheme in _VENDOR_NAMES:
        if key == name or (len(name) > 2 and name in key):
            return scheme
    return Scheme.GENERIC


# --- small helpers ----------------------------------------------------------------


def _ints(parts: Iterable[str]) -> tuple[int, ...]:
    """Numeric fields with trailing zeros dropped, so ``1.2.0`` and ``1.2`` are equal."""
    values = [int(p) for p in parts]
    while values and values[-1] == 0:
        values.pop()
    return tuple(values)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _yymmdd(digits: str) -> int | None:
    """``"170725"`` -> 170725 if it is a real date (20YY), else None."""
    ok = _valid_date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    return int(digits) if ok else None


def _yyyymmdd(digits: str) -> int | None:
    """``"20210719"`` -> 20210719 if it is a real date, else None."""
    ok = _valid_date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    return int(digits) if ok else None


def _build_arg(build: str | None, pattern: str) -> tuple[bool, str | None]:
    """The captured build from a separate build field: (ok, value or None if absent)."""
    if build is None or not build.strip():
        return True, None
    match = re.fullmatch(pattern, build.strip(), re.IGNORECASE)
    return (True, match.group(1)) if match else (False, None)


def _merge_build(embedded: str | None, build: str | None, pattern: str) -> tuple[bool, str | None]:
    """One build from the version text and the separate field; they must agree."""
    ok, apart = _build_arg(build, pattern)
    if not ok or (embedded and apart and embedded != apart):
        return False, None
    return True, embedded or apart


# --- per-vendor parsers -----------------------------------------------------------

_HIK = re.compile(r"[Vv]?(\d+(?:\.\d+){1,3})\s*(?:build\s*(\d{6}))?", re.IGNORECASE)


def _parse_hikvision(text: str, build: str | None) -> Parsed:
    match = _HIK.fullmatch(text)
    if not match:
        return Unorderable(text, Scheme.HIKVISION, "not a Hikvision V<major>.<minor>.<patch>")
    ok, digits = _merge_build(match.group(2), build, r"(?:build\s*)?(\d{6})")
    stamp = _yymmdd(digits) if digits else None
    if not ok or (digits and stamp is None):
        return Unorderable(text, Scheme.HIKVISION, f"build {build or digits!r} is not YYMMDD")
    parts = match.group(1).split(".")
    canonical = "V" + match.group(1) + (f" build {digits}" if digits else "")
    return FirmwareVersion(Scheme.HIKVISION, f"V{int(parts[0])}", _ints(parts), stamp, canonical)


_DAHUA = re.compile(
    r"[Vv]?(\d+)\.(\d+)\.(\d+|\d*[A-Z]{2}\d+)\.(\d+)\.([A-Z])(?:\.(\d{6}|\d{8}))?"
    r"(?:\s*,\s*build(?:\s*date)?\s*:?\s*(\d{4}-\d{2}-\d{2}))?",
    re.IGNORECASE,
)


def _parse_dahua(text: str, build: str | None) -> Parsed:
    match = _DAHUA.fullmatch(text)
    if not match:
        return Unorderable(text, Scheme.DAHUA, "not a Dahua M.BBB.RRRRRRR.N.T version")
    major, base, special, number, kind, suffix, stated = match.groups()
    ok, stamp = _dahua_build_date(suffix, stated, build)
    if not ok:
        return Unorderable(text, Scheme.DAHUA, "build date is not a date, or two dates disagree")
    head = f"{int(major)}.{base}.{special.upper()}."
    canonical = f"{head}{number}.{kind.upper()}"
    if stamp:
        canonical += f", Build Date: {_dashed(stamp)}"
    track = head + kind.upper()
    return FirmwareVersion(Scheme.DAHUA, track, _ints([number]), stamp, canonical)


def _dahua_build_date(
    suffix: str | None, stated: str | None, build: str | None
) -> tuple[bool, int | None]:
    """The build date from a file-name suffix, the ``Build Date:`` text or the build field.

    Returns (False, None) when one of them is not a date or two of them disagree.
    """
    ok, apart = _build_arg(build, r"(?:build(?:\s*date)?\s*:?\s*)?(\d{4}-\d{2}-\d{2}|\d{8})")
    dates = [_any_date(given) for given in (suffix, stated, apart) if given]
    if not ok or None in dates or len(set(dates)) > 1:
        return False, None
    return True, dates[0] if dates else None


def _any_date(text: str) -> int | None:
    """``"210719"``, ``"20210719"`` or ``"2021-07-19"`` -> 20210719; None if not a date."""
    digits = text.replace("-", "")
    if len(digits) == 6:
        return None if _yymmdd(digits) is None else 20_000_000 + int(digits)
    return _yyyymmdd(digits) if len(digits) == 8 else None


def _dashed(stamp: int) -> str:
    digits = f"{stamp:08d}"
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"


def _parse_axis(text: str, build: str | None) -> Parsed:
    if build and build.strip():
        return Unorderable(text, Scheme.AXIS, "Axis versions carry no separate build")
    if not re.fullmatch(r"\d+(?:\.\d+){1,3}", text):
        return Unorderable(text, Scheme.AXIS, "not an Axis dotted version")
    parts = text.split(".")
    track = AXIS_LTS_TRACKS.get((int(parts[0]), int(parts[1])), "active")
    return FirmwareVersion(Scheme.AXIS, track, _ints(parts), None, text)


def _parse_foscam(text: str, build: str | None) -> Parsed:
    match = re.fullmatch(r"[Vv]?(\d+)\.(\d+|x)\.(\d+)\.(\d+)", text)
    if not match or (build and build.strip()):
        return Unorderable(text, Scheme.FOSCAM, "not a Foscam a.b.c.d version")
    first, platform, minor, patch = match.groups()
    track = f"{int(first)}.{platform if platform == 'x' else int(platform)}"
    canonical = f"{track}.{minor}.{patch}"
    return FirmwareVersion(Scheme.FOSCAM, track, _ints([minor, patch]), None, canonical)


def _parse_sony(text: str, build: str | None) -> Parsed:
    match = re.fullmatch(r"(?:Ver\.?\s*)?(\d+)\.(\d+)(?:\.(\d+))?", text, re.IGNORECASE)
    if not match or (build and build.strip()):
        return Unorderable(text, Scheme.SONY, "not a Sony major.minor.patch version")
    major, minor, patch = match.groups()
    canonical = f"{major}.{minor}" + (f".{patch}" if patch is not None else "")
    parts = [minor, patch or "0"]
    return FirmwareVersion(Scheme.SONY, str(int(major)), _ints(parts), None, canonical)


def _parse_reolink(text: str, build: str | None) -> Parsed:
    match = re.fullmatch(r"[Vv](\d+)\.(\d+)\.(\d+)\.(\d+)(?:_(\d{8}))?", text)
    if not match:
        return Unorderable(text, Scheme.REOLINK, "not a Reolink vA.B.C.BUILD[_YYMMDDNN]")
    ok, stamp = _merge_build(match.group(5), build, r"(?:build\s*)?(\d{8})")
    if not ok or (stamp and _yymmdd(stamp[:6]) is None):
        return Unorderable(text, Scheme.REOLINK, "date suffix is not YYMMDDNN")
    track = ".".join(str(int(p)) for p in match.groups()[:3])
    canonical = f"v{track}.{match.group(4)}" + (f"_{stamp}" if stamp else "")
    built = int(stamp) if stamp else None
    return FirmwareVersion(Scheme.REOLINK, track, _ints([match.group(4)]), built, canonical)


_XM = re.compile(
    r"V(\d+)\.(\d{2})\.R(\d{2})\.([0-9A-F]{8})\.(\d{5})(?:\.(\d{4,6})(?:\.(\d{4,7}))?)?",
    re.IGNORECASE,
)


def _parse_xiongmai(text: str, build: str | None) -> Parsed:
    match = _XM.fullmatch(text)
    if not match or (build and build.strip()):
        return Unorderable(text, Scheme.XIONGMAI, "not a XiongMai Vx.yy.Rnn.BOARD.OEM.BUILD")
    major, minor, rel, board, oem, stamp, tail = match.groups()
    track = f"R{rel}.{board.upper()}.{oem}.{'' if tail is None else int(tail)}"
    canonical = f"V{major}.{minor}.R{rel}.{board.upper()}.{oem}"
    canonical += "".join(f".{p}" for p in (stamp, tail) if p is not None)
    built = int(stamp) if stamp else None
    return FirmwareVersion(Scheme.XIONGMAI, track, _ints([major, minor]), built, canonical)


_GENERIC = re.compile(r"[Vv]?(\d+(?:\.\d+)*)(?:\s*,?\s*build\s*:?\s*(\d+))?", re.IGNORECASE)


def _parse_generic(text: str, build: str | None) -> Parsed:
    match = _GENERIC.fullmatch(text)
    if not match:
        return Unorderable(text, Scheme.GENERIC, "not a dotted numeric version")
    ok, number = _merge_build(match.group(2), build, r"(?:build\s*:?\s*)?(\d+)")
    if not ok:
        return Unorderable(text, Scheme.GENERIC, f"build {build!r} is not a number")
    canonical = match.group(1) + (f" build {int(number)}" if number else "")
    built = int(number) if number else None
    return FirmwareVersion(Scheme.GENERIC, "", _ints(match.group(1).split(".")), built, canonical)


_DLINK_HOTFIX = re.compile(r"(.*?\d)[\s_]*hotfix", re.IGNORECASE)


def _parse_dlink(text: str, build: str | None) -> Parsed:
    hotfix = _DLINK_HOTFIX.fullmatch(text)
    base = _parse_generic(hotfix.group(1) if hotfix else text, build)
    if not isinstance(base, FirmwareVersion):
        return Unorderable(text, Scheme.DLINK, "not a D-Link dotted version [Hotfix]")
    canonical = base.text + (" Hotfix" if hotfix else "")
    return FirmwareVersion(
        Scheme.DLINK, "", base.release, base.build, canonical, hotfix=1 if hotfix else 0
    )


_PARSERS: dict[Scheme, Callable[[str, str | None], Parsed]] = {
    Scheme.HIKVISION: _parse_hikvision,
    Scheme.DAHUA: _parse_dahua,
    Scheme.AXIS: _parse_axis,
    Scheme.FOSCAM: _parse_foscam,
    Scheme.SONY: _parse_sony,
    Scheme.REOLINK: _parse_reolink,
    Scheme.XIONGMAI: _parse_xiongmai,
    Scheme.DLINK: _parse_dlink,
    Scheme.GENERIC: _parse_generic,
}


@functools.lru_cache(maxsize=65536, typed=True)
def parse_version(vendor: str | Scheme | None, text: str, build: str | None = None) -> Parsed:
    """Parse a vendor's version string (and a build kept apart, as the inventory does).

    Args:
        vendor: the device's vendor ("Hikvision", "Amcrest" ...) or a :class:`Scheme`;
            unknown vendors use the cautious generic scheme.
        text: the version as the device or feed wrote it.
        build: the build when stored separately (``"build 220112"``, ``"2020-06-05"``).

    Returns:
        A :class:`FirmwareVersion`, or an :class:`Unorderable` saying why not. Never
        raises for any input. Results are immutable and memoised (bounded LRU; typed,
        so ``Scheme.DLINK`` and the vendor name ``"dlink"`` are cached apart).
    """
    scheme = vendor if isinstance(vendor, Scheme) else scheme_for_vendor(vendor)
    cleaned = " ".join(text.split())
    if not cleaned:
        return Unorderable(text, scheme, "empty version")
    if len(cleaned) > MAX_VERSION_LENGTH or len(build or "") > MAX_VERSION_LENGTH:
        return Unorderable(text[:MAX_VERSION_LENGTH], scheme, "too long to be a version")
    return _PARSERS[scheme](cleaned, build)


# --- ordering ---------------------------------------------------------------------


def _order(a: tuple[object, ...], b: tuple[object, ...]) -> Ordering:
    if a == b:
        return Ordering.EQUAL
    return Ordering.LESS if a < b else Ordering.GREATER


def compare(a: Parsed, b: Parsed) -> Ordering:
    """Order two versions; UNKNOWN across schemes or tracks, or for unorderable input.

    A version without a build sorts before the same release with a build.
    """
    if not isinstance(a, FirmwareVersion) or not isinstance(b, FirmwareVersion):
        return Ordering.UNKNOWN
    if not a.comparable_with(b):
        return Ordering.UNKNOWN
    return _order(a._key(), b._key())


@functools.lru_cache(maxsize=65536)
def _track_matches(bound: str, track: str) -> bool:
    """Equal tracks, or a Foscam-style bound whose ``x`` fields match anything."""
    pattern, actual = bound.split("."), track.split(".")
    return len(pattern) == len(actual) and all(
        p in ("x", t) for p, t in zip(pattern, actual, strict=True)
    )


def _against(version: Parsed, bound: Parsed) -> Ordering:
    """Where ``version`` stands relative to an advisory bound (see module docstring)."""
    if not isinstance(version, FirmwareVersion) or not isinstance(bound, FirmwareVersion):
        return Ordering.UNKNOWN
    if version.scheme is not bound.scheme or not _track_matches(bound.track, version.track):
        return Ordering.UNKNOWN
    by_release = _order((version.release, version.hotfix), (bound.release, bound.hotfix))
    if by_release is not Ordering.EQUAL or bound.build is None:
        return by_release
    if version.build is None:
        return Ordering.UNKNOWN
    return _order((version.build,), (bound.build,))


#: Per scheme, the fields that choose a release line, in the order the version text
#: writes them: True = compared as a number, False = as text (see "Line bounds").
_LINE_FIELDS: dict[Scheme, tuple[bool, ...]] = {
    Scheme.HIKVISION: (True,),
    Scheme.DAHUA: (True, False, False),
    Scheme.SONY: (True,),
    Scheme.FOSCAM: (True, True),
    Scheme.REOLINK: (True, True, True),
}
_LINE_BOUND = re.compile(r"[Vv]?(\d+(?:\.[0-9A-Za-z]+)*)")

Line = tuple[int | str, ...]


def _line_key(scheme: Scheme, fields: list[str]) -> Line | None:
    """Line fields normalised for comparison; None if they do not fit the scheme."""
    kinds = _LINE_FIELDS.get(scheme, ())
    if not fields or len(fields) > len(kinds):
        return None
    key: list[int | str] = []
    for text, numeric in zip(fields, kinds, strict=False):
        if numeric and not text.isdigit():
            return None
        key.append(int(text) if numeric else text.upper())
    return tuple(key)


@functools.lru_cache(maxsize=65536)
def _line_bound(scheme: Scheme, text: str) -> Line | None:
    """The line a bound names (``"2.623"`` -> (2, "623") for Dahua); None if it names none.

    A text that parses as a version of the scheme is a version, never a line bound.
    """
    match = _LINE_BOUND.fullmatch(text.strip())
    if not match or isinstance(parse_version(scheme, text), FirmwareVersion):
        return None
    return _line_key(scheme, match.group(1).split("."))


@functools.lru_cache(maxsize=65536)
def _line_of(version: FirmwareVersion) -> Line | None:
    """The line fields of a parsed version (its track, split as the scheme writes it)."""
    track = version.track[1:] if version.scheme is Scheme.HIKVISION else version.track
    width = len(_LINE_FIELDS.get(version.scheme, ()))
    return _line_key(version.scheme, track.split(".")[:width]) if width else None


def is_line_bound(vendor: str | Scheme | None, text: str) -> bool:
    """True if ``text`` is a line bound in the vendor's scheme (see "Line bounds")."""
    scheme = vendor if isinstance(vendor, Scheme) else scheme_for_vendor(vendor)
    return _line_bound(scheme, text) is not None


def _start_line(version: Parsed, rng: VersionRange) -> Line | None:
    """The line ``rng.introduced`` names in ``version``'s scheme, if it is a line bound."""
    return None if rng.introduced is None else _line_bound(version.scheme, rng.introduced)


def _on_line(version: Parsed, line: Line) -> bool | None:
    """Is ``version`` on ``line``? None if the version cannot be placed on any line."""
    own = _line_of(version) if isinstance(version, FirmwareVersion) else None
    return None if own is None else own[: len(line)] == line


def _as_bound(version: Parsed, bound: Parsed | str) -> Parsed:
    return parse_version(version.scheme, bound) if isinstance(bound, str) else bound


def is_before(version: Parsed, fixed: Parsed | str) -> bool | None:
    """True if ``version`` precedes ``fixed``; None if that cannot be told.

    Args:
        version: the device's version.
        fixed: the first fixed release (a string is parsed in ``version``'s scheme).
    """
    where = _against(version, _as_bound(version, fixed))
    return None if where is Ordering.UNKNOWN else where is Ordering.LESS


def _holds(version: Parsed, bound: str | None, allowed: tuple[Ordering, ...]) -> bool | None:
    if bound is None:
        return True
    where = _against(version, _as_bound(version, bound))
    return None if where is Ordering.UNKNOWN else where in allowed


def in_range(version: Parsed, rng: VersionRange) -> bool | None:
    """True if ``version`` lies in ``rng``, False if it does not, None if unknown.

    ``introduced`` and ``last_affected`` are inclusive, ``fixed`` exclusive; bound
    strings are parsed in the version's scheme. ``introduced`` may be a line bound
    (``"2.623"``): False for a version on another line. Three-valued AND: one definite
    "outside" wins over unknowns, otherwise any unknown makes the answer None.
    """
    if (line := _start_line(version, rng)) is not None:
        start = _on_line(version, line)
    else:
        start = _holds(version, rng.introduced, (Ordering.EQUAL, Ordering.GREATER))
    checks = (
        start,
        _holds(version, rng.fixed, (Ordering.LESS,)),
        _holds(version, rng.last_affected, (Ordering.LESS, Ordering.EQUAL)),
    )
    if False in checks:
        return False
    return None if None in checks else True


def _bounds(rng: VersionRange) -> list[str]:
    return [b for b in (rng.introduced, rng.fixed, rng.last_affected) if b is not None]


def _applies(version: Parsed, rng: VersionRange) -> bool:
    """A range speaks about ``version``'s track if it is unbounded or a bound is on it.

    A range starting at a line bound speaks only about versions on that line.
    """
    if (line := _start_line(version, rng)) is not None:
        return _on_line(version, line) is True
    bounds = _bounds(rng)
    return not bounds or any(
        _against(version, _as_bound(version, b)) is not Ordering.UNKNOWN for b in bounds
    )


def _has_unorderable_bound(version: Parsed, rng: VersionRange) -> bool:
    """A bound neither a version nor (as ``introduced``) a line bound of the scheme."""
    bounds = [b for b in (rng.fixed, rng.last_affected) if b is not None]
    if rng.introduced is not None and _start_line(version, rng) is None:
        bounds.append(rng.introduced)
    return any(isinstance(_as_bound(version, b), Unorderable) for b in bounds)


def in_any_range(version: Parsed, ranges: Iterable[VersionRange]) -> bool | None:
    """Is ``version`` affected by an advisory listing ``ranges`` (one per track)?

    Only ranges on the version's track decide (Axis lists one fix per LTS track); no
    ranges at all means every version. None if no range places the version, or if a
    bound cannot be parsed (it might have been the one for this track).
    """
    ranges = tuple(ranges)
    if not ranges:
        return True
    answers = [in_range(version, r) for r in ranges if _applies(version, r)]
    if True in answers:
        return True
    if not answers or None in answers or any(_has_unorderable_bound(version, r) for r in ranges):
        return None
    return False


# --- ranges parsed once ---------------------------------------------------------------

#: Where a version must stand against each bound for the range to hold it.
_AT_OR_AFTER = (Ordering.EQUAL, Ordering.GREATER)
_BEFORE = (Ordering.LESS,)
_AT_OR_BEFORE = (Ordering.LESS, Ordering.EQUAL)


@dataclass(frozen=True, slots=True)
class _Bounds:
    """One range's bounds parsed in one scheme: what :func:`in_range`, ``_applies`` and
    ``_has_unorderable_bound`` parse again on every call.

    Args:
        line: ``introduced`` when it is a line bound.
        bounds: the other bounds as versions, each with the orderings that hold.
        unorderable: a bound is neither a version nor (as ``introduced``) a line bound.
    """

    line: Line | None
    bounds: tuple[tuple[Parsed, tuple[Ordering, ...]], ...]
    unorderable: bool

    @classmethod
    def of(cls, scheme: Scheme, rng: VersionRange) -> _Bounds:
        line = None if rng.introduced is None else _line_bound(scheme, rng.introduced)
        given = (
            (None if line is not None else rng.introduced, _AT_OR_AFTER),
            (rng.fixed, _BEFORE),
            (rng.last_affected, _AT_OR_BEFORE),
        )
        bounds = tuple((parse_version(scheme, t), held) for t, held in given if t is not None)
        unorderable = any(isinstance(b, Unorderable) for b, _ in bounds)
        return cls(line, bounds, unorderable)

    def place(self, version: Parsed) -> tuple[bool, bool | None]:
        """``(_applies(version, rng), in_range(version, rng))``, each bound compared once.

        ``in_range`` is only worked out when the range applies (it cannot hold a
        version it does not apply to); otherwise it is reported as False.
        """
        if self.line is not None:
            start = _on_line(version, self.line)
            if start is not True:
                return False, False
        elif not self.bounds:
            return True, True
        applies = self.line is not None
        holds: bool | None = True
        for bound, held in self.bounds:
            where = _against(version, bound)
            if where is Ordering.UNKNOWN:
                if holds is True:
                    holds = None
            else:
                applies = True
                if where not in held:
                    holds = False
        return applies, holds if applies else False


class RangeSet:
    """An advisory product's ranges, each bound parsed once per scheme.

    ``RangeSet(ranges).affects(v)`` is ``in_any_range(v, ranges)`` and
    ``RangeSet(ranges).hits(v)`` the ranges for which ``in_range(v, r) is True``, for
    any parsed version ``v``; both answers are kept per version, so asking again for
    a version already seen is one dict lookup. Build one per product line and keep it
    as long as the ranges (the knowledge base does).
    """

    __slots__ = ("_answers", "_parsed", "ranges")

    def __init__(self, ranges: Iterable[VersionRange]) -> None:
        self.ranges: tuple[VersionRange, ...] = tuple(ranges)
        self._parsed: dict[Scheme, tuple[_Bounds, ...]] = {}
        self._answers: dict[Parsed, tuple[bool | None, tuple[VersionRange, ...]]] = {}

    def prepare(self, scheme: Scheme) -> None:
        """Parse the bounds for ``scheme`` now rather than on the first question."""
        self._bounds(scheme)

    def affects(self, version: Parsed) -> bool | None:
        """``in_any_range(version, self.ranges)``: True, False, or None = cannot tell."""
        return self._answer(version)[0]

    def hits(self, version: Parsed) -> tuple[VersionRange, ...]:
        """The ranges for which ``in_range(version, r) is True``, in order."""
        return self._answer(version)[1]

    def _answer(self, version: Parsed) -> tuple[bool | None, tuple[VersionRange, ...]]:
        answer = self._answers.get(version)
        if answer is None:
            answer = self._answers[version] = self._evaluate(version)
        return answer

    def _evaluate(self, version: Parsed) -> tuple[bool | None, tuple[VersionRange, ...]]:
        if not self.ranges:
            return True, ()
        bounds = self._bounds(version.scheme)
        placed = [b.place(version) for b in bounds]
        hits = tuple(r for r, (_, holds) in zip(self.ranges, placed, strict=True) if holds is True)
        answers = [holds for applies, holds in placed if applies]
        if True in answers:
            return True, hits
        if not answers or None in answers or any(b.unorderable for b in bounds):
            return None, hits
        return False, hits

    def _bounds(self, scheme: Scheme) -> tuple[_Bounds, ...]:
        bounds = self._parsed.get(scheme)
        if bounds is None:
            bounds = self._parsed[scheme] = tuple(_Bounds.of(scheme, r) for r in self.ranges)
        return bounds
