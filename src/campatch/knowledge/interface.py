"""The knowledge stage's contract: record kinds, limits, vendor names and the JSON codec.

Every knowledge source (the bundled snapshot, the NVD/KEV sync, a signed feed, a file
the user wrote) hands campatch the record types of :mod:`campatch.model`
(:class:`Advisory`, :class:`FirmwareRelease`, :class:`DefaultCredential`,
:class:`ViewerApp`). On disk they are JSON objects written by :func:`encode` and read
back by the ``decode_*`` functions, which validate strictly and clean hostile text
(SAFETY F-12):

- control characters and ANSI/VT escape sequences are removed from every string;
- free text (titles, descriptions, notes) is cut at :class:`KnowledgeLimits` sizes;
- identifiers, versions, URLs and lists that exceed their cap are *rejected*, because
  a cut identifier would be a different identifier;
- unknown keys are rejected, so a typo never silently drops a bound.

**Versions that could not be read** (the "possibly affected" convention): an
:class:`AffectedProduct` with ``ranges == ()`` means *the source did not say which
versions are affected in a form campatch can compare* -- the audit must report
"possibly affected", never "clean" and never "affected". A product whose every version
is affected carries :data:`ALL_VERSIONS`, one range with no bound. Use
:func:`versions_known` rather than testing ``ranges`` directly.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, fields, is_dataclass
from enum import StrEnum
from typing import Any, TypeAlias, TypeVar

from campatch.model import (
    Advisory,
    AffectedProduct,
    DefaultCredential,
    FirmwareRelease,
    KevEntry,
    Provenance,
    VersionRange,
    ViewerApp,
)

__all__ = [
    "ALL_VERSIONS",
    "ANY_VENDOR",
    "DEFAULT_LIMITS",
    "FORMAT",
    "FORMAT_VERSION",
    "OEM_FIRMWARE",
    "KnowledgeLimits",
    "Record",
    "RecordError",
    "RecordKind",
    "RecordProblem",
    "canonical_vendors",
    "clean_text",
    "decode_advisory",
    "decode_app",
    "decode_credential",
    "decode_release",
    "encode",
    "normalize_model",
    "normalize_vendor",
    "record_key",
    "vendor_key",
    "versions_known",
]

#: ``format`` field of every knowledge file campatch writes.
FORMAT = "campatch-knowledge"
#: Version of that format; a reader refuses files with a newer one.
FORMAT_VERSION = 1
#: Vendor of credentials that apply to any device (Mirai list entries, generic OEMs).
ANY_VENDOR = "any"
#: The ranges of a product whose every firmware version is affected.
ALL_VERSIONS: tuple[VersionRange, ...] = (VersionRange(),)

Record: TypeAlias = Advisory | FirmwareRelease | DefaultCredential | ViewerApp
_R = TypeVar("_R")


class RecordKind(StrEnum):
    """The four record sets a source can hold (also their JSON keys)."""

    ADVISORIES = "advisories"
    RELEASES = "releases"
    CREDENTIALS = "credentials"
    APPS = "apps"


@dataclass(frozen=True)
class KnowledgeLimits:
    """Caps on what one source may hold (SAFETY F-12).

    Args:
        max_records: records of one kind in one source (the whole set is refused above).
        max_file_bytes: size of one stored source file (bytes).
        max_text_chars: descriptions and notes are cut to this many characters.
        max_title_chars: titles are cut to this many characters.
        max_name_chars: identifiers, vendors, models, versions, dates: longer is an error.
        max_url_chars: URLs: longer is an error.
        max_items: entries of one list field (references, models, affected ...).
    """

    _: KW_ONLY
    max_records: int = 400_000
    max_file_bytes: int = 512 * 1024 * 1024
    max_text_chars: int = 4_000
    max_title_chars: int = 300
    max_name_chars: int = 128
    max_url_chars: int = 2_048
    max_items: int = 1_024


#: Default caps, shared (a frozen value).
DEFAULT_LIMITS = KnowledgeLimits()


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """Why one record of one source was rejected (the rest of the source still counts)."""

    source: str
    kind: RecordKind
    index: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.kind.value}[{self.index}]: {self.message}"


class RecordError(ValueError):
    """A record is malformed; ``problems`` holds one readable line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def versions_known(product: AffectedProduct) -> bool:
    """False when the source named no comparable versions: report "possibly affected"."""
    return bool(product.ranges)


# --- hostile text ---------------------------------------------------------------------

# CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST), other two-byte ESC sequences, C1 CSI.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]"
)


def clean_text(value: str, limit: int | None = None) -> str:
    """``value`` without escape sequences or control characters, whitespace collapsed.

    Args:
        value: text from a source.
        limit: cut to this many characters (ending in "…") when given.

    Returns:
        Printable single-line text.
    """
    if value.isascii() and value.isprintable():  # fast path: nothing to strip
        text = " ".join(value.split())
    else:
        text = _ESCAPES.sub("", value)
        text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
        text = "".join(c for c in text if unicodedata.category(c) != "Cf" or c == "\u200d")
        text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


# --- vendor and model names -----------------------------------------------------------

#: Brands that sell another maker's firmware: advisories are the firmware maker's.
OEM_FIRMWARE: Mapping[str, str] = {"amcrest": "Dahua"}

#: Spellings met in feeds and on devices -> the one name campatch uses.
_VENDOR_NAMES: Mapping[str, str] = {
    "hikvision": "Hikvision",
    "hangzhou hikvision digital technology": "Hikvision",
    "dahua": "Dahua",
    "zhejiang dahua technology": "Dahua",
    "dahua technology": "Dahua",
    "axis": "Axis",
    "axis communications": "Axis",
    "samsung techwin": "Hanwha Vision",
    "hanwha techwin": "Hanwha Vision",
    "hanwha vision": "Hanwha Vision",
    "panasonic": "i-PRO",
    "i-pro": "i-PRO",
    "xiongmai": "XiongMai",
    "hangzhou xiongmai technology": "XiongMai",
    "d-link": "D-Link",
    "dlink": "D-Link",
    "tp-link": "TP-Link",
    "uniview": "Uniview",
    "unv": "Uniview",
    "zhejiang uniview technologies": "Uniview",
    "any": ANY_VENDOR,
}
_CORPORATE = re.compile(
    r"[,.]?\s+(co\.?,?\s*ltd\.?|ltd\.?|inc\.?|corp(oration)?\.?|gmbh|ab|llc|s\.?a\.?)$",
    re.IGNORECASE,
)


def normalize_vendor(text: str) -> str:
    """The one vendor name campatch uses for ``text``.

    ``"HIKVISION"``, ``"Hangzhou Hikvision Digital Technology Co., Ltd."`` and
    ``"Hikvision (India JV)"`` all give ``"Hikvision"``; an OEM brand in
    :data:`OEM_FIRMWARE` gives its firmware maker (``"Amcrest"`` -> ``"Dahua"``).
    Unknown names are kept as written (cleaned).
    """
    name = clean_text(text)
    name = re.sub(r"\s*\(.*\)\s*$", "", name) or name
    while (stripped := _CORPORATE.sub("", name)) != name:
        name = stripped
    key = name.casefold()
    return OEM_FIRMWARE.get(key) or _VENDOR_NAMES.get(key) or name


def canonical_vendors() -> frozenset[str]:
    """The vendor names :func:`normalize_vendor` folds spellings into (plus OEM brands')."""
    return frozenset(_VENDOR_NAMES.values()) | frozenset(OEM_FIRMWARE.values())


@functools.lru_cache(maxsize=4096)
def vendor_key(text: str) -> str:
    """Index key of a vendor name (normalised, case-folded)."""
    return normalize_vendor(text).casefold()


def normalize_model(vendor: str, model: str) -> str:
    """Index key of a model name or pattern: upper-case letters, digits, ``*`` and ``?``.

    Spaces, dashes and underscores are dropped (``IPC_G6103`` = ``IPC-G6103``), and so is
    Dahua's ``DH-``/``DHI-`` prefix, which the same camera reports with or without.
    """
    key = clean_text(model).upper()
    if vendor_key(vendor) == "dahua":
        key = re.sub(r"^DHI?[-_ ]", "", key)
    return re.sub(r"[^A-Z0-9*?]", "", key)


# --- encoding -------------------------------------------------------------------------


def encode(record: object) -> Any:
    """JSON-ready form of a record: fields at their default are left out, tuples -> lists."""
    if is_dataclass(record) and not isinstance(record, type):
        out: dict[str, Any] = {}
        for name, default in _defaults(type(record)):
            value = getattr(record, name)
            if default is not value and default != value:
                out[name] = encode(value)
        return out
    if isinstance(record, tuple | list):
        return [encode(v) for v in record]
    return record


@functools.cache
def _defaults(cls: type) -> tuple[tuple[str, object], ...]:
    """Field names of a record type with their defaults (``MISSING`` when required)."""
    return tuple((f.name, f.default) for f in fields(cls))


def record_key(record: Record) -> tuple[str, ...]:
    """Identity of a record across sources: a later source's record with the same key wins."""
    match record:
        case Advisory():
            return (record.id.upper(),)
        case FirmwareRelease():
            parts = (record.hardware or "", record.region or "", record.version)
            return (vendor_key(record.vendor), normalize_model(record.vendor, record.model), *parts)
        case DefaultCredential():
            creds = (record.service, record.username, record.password, record.product)
            return (vendor_key(record.vendor), *creds)
        case ViewerApp():
            return (record.name.casefold(), record.platform.casefold())


# --- strict decoding ------------------------------------------------------------------

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]*")
_URL = re.compile(r"https?://[^\s]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class _Reader:
    """Reads one JSON object field by field, collecting a message per problem."""

    def __init__(self, data: object, where: str, limits: KnowledgeLimits, problems: list[str]):
        self.where = where
        self.limits = limits
        self.problems = problems
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not isinstance(data, Mapping):
            self.fail(f"expected an object, got {type(data).__name__}")

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}" if self.where else message)

    def check_keys(self, allowed: Iterable[str]) -> None:
        for extra in sorted(set(self.data) - set(allowed)):
            self.fail(f"unknown field {clean_text(str(extra), 40)!r}")

    def raw(self, key: str, kind: type | tuple[type, ...], required: bool) -> Any:
        if key not in self.data or self.data[key] is None:
            if required:
                self.fail(f"missing required field {key!r}")
            return None
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
            self.fail(f"field {key!r} must be {_kind_name(kind)}, got {type(value).__name__}")
            return None
        return value

    def text(self, key: str, limit: int, *, required: bool = False) -> str:
        value = self.raw(key, str, required)
        text = clean_text(value, limit) if value is not None else ""
        if required and value is not None and not text:
            self.fail(f"field {key!r} is empty")
        return text

    def name(
        self, key: str, *, required: bool = False, pattern: re.Pattern[str] | None = None
    ) -> str:
        value = self.raw(key, str, required)
        if value is None:
            return ""
        text = clean_text(value)
        if len(text) > self.limits.max_name_chars:
            self.fail(f"field {key!r} is longer than {self.limits.max_name_chars} characters")
        elif required and not text:
            self.fail(f"field {key!r} is empty")
        elif pattern and text and not pattern.fullmatch(text):
            self.fail(f"field {key!r} has an invalid value {text[:40]!r}")
        return text

    def opt_name(self, key: str) -> str | None:
        return self.name(key) or None

    def url(self, key: str) -> str:
        value = self.name_like(self.raw(key, str, False), key, self.limits.max_url_chars)
        if value and not _URL.fullmatch(value):
            self.fail(f"field {key!r} is not an http(s) URL")
        return value

    def name_like(self, value: str | None, key: str, limit: int) -> str:
        text = clean_text(value) if value is not None else ""
        if len(text) > limit:
            self.fail(f"field {key!r} is longer than {limit} characters")
            return ""
        return text

    def items(self, key: str, *, required: bool = False) -> list[Any]:
        value = self.raw(key, list, required)
        if value is None:
            return []
        if len(value) > self.limits.max_items:
            self.fail(f"field {key!r} has more than {self.limits.max_items} entries")
            return []
        return list(value)

    def names(self, key: str, limit: int | None = None) -> tuple[str, ...]:
        out: list[str] = []
        for i, item in enumerate(self.items(key)):
            text = self.name_like(
                item if isinstance(item, str) else None,
                f"{key}[{i}]",
                limit or self.limits.max_name_chars,
            )
            if not isinstance(item, str):
                self.fail(f"field {key}[{i}] must be a string")
            elif text:
                out.append(text)
        return tuple(out)

    def urls(self, key: str) -> tuple[str, ...]:
        found = self.names(key, self.limits.max_url_chars)
        for bad in (u for u in found if not _URL.fullmatch(u)):
            self.fail(f"field {key!r} holds a value that is not an http(s) URL: {bad[:60]!r}")
        return tuple(u for u in found if _URL.fullmatch(u))

    def flag(self, key: str) -> bool:
        return bool(self.raw(key, bool, False))

    def number(self, key: str, low: float, high: float) -> float | None:
        value = self.raw(key, (int, float), False)
        if value is not None and not low <= value <= high:
            self.fail(f"field {key!r} must be between {low} and {high}, got {value}")
            return None
        return None if value is None else float(value)

    def child(self, key: str, *, required: bool = False) -> _Reader | None:
        value = self.raw(key, dict, required)
        return None if value is None else self.sub(value, key)

    def sub(self, value: object, key: str) -> _Reader:
        where = f"{self.where}.{key}" if self.where else key
        return _Reader(value, where, self.limits, self.problems)


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", list: "a list", dict: "an object", bool: "true or false"}
    return " or ".join(names.get(k, "a number") for k in _kinds(kind))


def _decode(data: object, limits: KnowledgeLimits, where: str, read: Callable[[_Reader], _R]) -> _R:
    problems: list[str] = []
    record = read(_Reader(data, where, limits, problems))
    if problems:
        raise RecordError(problems)
    return record


def _provenance(r: _Reader | None, default: Provenance | None) -> Provenance:
    if r is None:
        if default is None:
            raise RecordError(["missing required field 'provenance'"])
        return default
    r.check_keys(("source", "url", "retrieved", "license"))
    return Provenance(
        source=r.name("source", required=True),
        url=r.url("url"),
        retrieved=r.name("retrieved"),
        license=r.text("license", r.limits.max_title_chars),
    )


def _read_provenance(r: _Reader, default: Provenance | None) -> Provenance:
    child = r.child("provenance", required=default is None)
    if child is None and default is None:
        return Provenance(source="?")  # the missing field is already reported
    return _provenance(child, default)


def _range(r: _Reader) -> VersionRange:
    r.check_keys(("introduced", "fixed", "last_affected"))
    rng = VersionRange(r.opt_name("introduced"), r.opt_name("fixed"), r.opt_name("last_affected"))
    if rng.fixed and rng.last_affected:
        r.fail("a range has either 'fixed' or 'last_affected', not both")
    return rng


def _affected(r: _Reader) -> AffectedProduct:
    r.check_keys(("vendor", "models", "hardware", "ranges", "region"))
    ranges = tuple(_range(r.sub(v, f"ranges[{i}]")) for i, v in enumerate(r.items("ranges")))
    return AffectedProduct(
        vendor=normalize_vendor(r.name("vendor", required=True)),
        models=r.names("models"),
        hardware=r.names("hardware"),
        ranges=ranges,
        region=r.opt_name("region"),
    )


def _kev(r: _Reader | None) -> KevEntry | None:
    if r is None:
        return None
    r.check_keys(("date_added", "due_date", "ransomware", "required_action"))
    return KevEntry(
        date_added=r.name("date_added", required=True),
        due_date=r.name("due_date"),
        ransomware=r.name("ransomware") or "Unknown",
        required_action=r.text("required_action", r.limits.max_text_chars),
    )


_ADVISORY_KEYS = tuple(f.name for f in fields(Advisory))


def decode_advisory(
    data: object,
    limits: KnowledgeLimits = DEFAULT_LIMITS,
    *,
    where: str = "",
    provenance: Provenance | None = None,
) -> Advisory:
    """An :class:`Advisory` from its JSON form (see :func:`encode`).

    Args:
        data: the parsed JSON object.
        limits: caps on fields.
        where: prefix of problem messages (e.g. ``"advisories[3]"``).
        provenance: used when the object has none (else ``provenance`` is required).

    Raises:
        RecordError: one message per problem found.
    """
    return _decode(data, limits, where, lambda r: _read_advisory(r, provenance))


def _read_advisory(r: _Reader, default: Provenance | None) -> Advisory:
    r.check_keys(_ADVISORY_KEYS)
    items = r.items("affected", required=True)
    if "affected" in r.data and not items:
        r.fail("field 'affected' must name at least one product")
    return Advisory(
        id=r.name("id", required=True, pattern=_ID),
        title=r.text("title", r.limits.max_title_chars, required=True),
        description=r.text("description", r.limits.max_text_chars),
        affected=tuple(_affected(r.sub(v, f"affected[{i}]")) for i, v in enumerate(items)),
        provenance=_read_provenance(r, default),
        cvss_score=r.number("cvss_score", 0.0, 10.0),
        cvss_vector=r.opt_name("cvss_vector"),
        cwes=r.names("cwes"),
        kev=_kev(r.child("kev")),
        references=r.urls("references"),
        aliases=r.names("aliases"),
        published=r.name("published"),
        modified=r.name("modified"),
    )


_RELEASE_KEYS = tuple(f.name for f in fields(FirmwareRelease))


def decode_release(
    data: object,
    limits: KnowledgeLimits = DEFAULT_LIMITS,
    *,
    where: str = "",
    provenance: Provenance | None = None,
) -> FirmwareRelease:
    """A :class:`FirmwareRelease` from its JSON form; arguments as :func:`decode_advisory`.

    Raises:
        RecordError: one message per problem found.
    """
    return _decode(data, limits, where, lambda r: _read_release(r, provenance))


def _read_release(r: _Reader, default: Provenance | None) -> FirmwareRelease:
    r.check_keys(_RELEASE_KEYS)
    sha = r.name("sha256").lower()
    if sha and not _SHA256.fullmatch(sha):
        r.fail("field 'sha256' must be 64 hex digits")
    size = r.number("size", 1, 2**40)
    return FirmwareRelease(
        vendor=normalize_vendor(r.name("vendor", required=True)),
        model=r.name("model", required=True),
        version=r.name("version", required=True),
        provenance=_read_provenance(r, default),
        hardware=r.opt_name("hardware"),
        region=r.opt_name("region"),
        released=r.name("released"),
        download_page=r.url("download_page"),
        url=r.url("url"),
        sha256=sha,
        size=None if size is None else int(size),
        notes=r.text("notes", r.limits.max_text_chars),
        fixes=r.names("fixes"),
        requires=r.names("requires"),
        end_of_life=r.flag("end_of_life"),
        blocks_downgrade=r.flag("blocks_downgrade"),
        breaking=r.flag("breaking"),
    )


def decode_credential(
    data: object, limits: KnowledgeLimits = DEFAULT_LIMITS, *, where: str = ""
) -> DefaultCredential:
    """A :class:`DefaultCredential` from its JSON form.

    Raises:
        RecordError: one message per problem found.
    """
    return _decode(data, limits, where, _read_credential)


def _read_credential(r: _Reader) -> DefaultCredential:
    r.check_keys(tuple(f.name for f in fields(DefaultCredential)))
    username = r.raw("username", str, True)
    password = r.raw("password", str, True)
    for key, value in (("username", username), ("password", password)):
        r.name_like(value, key, r.limits.max_name_chars)
    return DefaultCredential(
        vendor=normalize_vendor(r.name("vendor", required=True)),
        service=r.name("service", required=True).lower(),
        username=clean_text(username or ""),
        password=clean_text(password or ""),
        provenance=_read_provenance(r, None),
        product=r.text("product", r.limits.max_title_chars),
        mirai=r.flag("mirai"),
    )


def decode_app(
    data: object, limits: KnowledgeLimits = DEFAULT_LIMITS, *, where: str = ""
) -> ViewerApp:
    """A :class:`ViewerApp` from its JSON form.

    Raises:
        RecordError: one message per problem found.
    """
    return _decode(data, limits, where, _read_app)


def _read_app(r: _Reader) -> ViewerApp:
    r.check_keys(tuple(f.name for f in fields(ViewerApp)))
    return ViewerApp(
        name=r.name("name", required=True),
        vendor=normalize_vendor(r.name("vendor", required=True)),
        platform=r.name("platform", required=True).lower(),
        latest_version=r.name("latest_version", required=True),
        provenance=_read_provenance(r, None),
        released=r.name("released"),
        url=r.url("url"),
    )
