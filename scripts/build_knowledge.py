"""Build campatch's bundled knowledge from the shared research data.

Usage (from the repository root, with the project's virtual environment)::

    .venv/bin/python scripts/build_knowledge.py [oui|bundle|all] [--shared ../shared/data]
        [--out DIR] [--date YYYY-MM-DD]

Step ``oui`` (the default) reads ``oui-camera-vendors.csv`` (research notes, derived
from nmap's ``nmap-mac-prefixes`` and therefore *not* shippable verbatim, see
``shared/data/SOURCES.md``) and writes into ``src/campatch/knowledge/data/``:

- ``oui-camera-vendors.csv`` with only the columns ``prefix,bits,brand``: the IEEE
  Registration Authority's assignment facts (which prefix belongs to which company)
  reduced to the camera brand campatch reports. The ``organization`` column is never
  copied;
- ``PROVENANCE.md`` naming the facts' original source, the build date and the
  input's SHA-256.

Step ``bundle`` reads ``camera-cves.json``, ``kev-cameras.json``,
``default-credentials.csv`` (its nmap rows are left out) and ``mirai-credentials.csv``
from the shared data, and the hand-curated ``src/campatch/knowledge/data/viewer-apps.yaml``
(``--apps FILE`` to use another), and writes ``advisories.json``, ``credentials.json``,
``apps.json`` and ``PROVENANCE.md`` into ``src/campatch/knowledge/data/bundle/`` (records
in the codec of :mod:`campatch.knowledge.interface`, each file headed by the build date
and its inputs' SHA-256). ``all`` runs both (with ``--out DIR``, the bundle goes to
``DIR/bundle``).

The output is deterministic: rows and records are sorted, JSON keys sorted, brands
normalised through one table (:data:`BRAND_NAMES`), and the date comes from ``--date``,
else ``SOURCE_DATE_EPOCH``, else today (UTC). Given the same input and date, two builds are byte-identical.
Exit codes: 0 built, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import sys
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from campatch.knowledge.interface import (
    FORMAT,
    FORMAT_VERSION,
    RecordError,
    decode_advisory,
    decode_app,
    decode_credential,
    encode,
    normalize_vendor,
    record_key,
)
from campatch.knowledge.versions import Unorderable, is_line_bound, parse_version
from campatch.model import Advisory, DefaultCredential, ViewerApp

REPO = Path(__file__).resolve().parents[1]
INPUT_NAME = "oui-camera-vendors.csv"
OUTPUT_DIR = REPO / "src" / "campatch" / "knowledge" / "data"
PROVENANCE_NAME = "PROVENANCE.md"
VALID_BITS = (24, 28, 36)  # IEEE MA-L, MA-M, MA-S
_HEX = re.compile(r"[0-9A-F]+")

#: The research file's brand spellings -> the one name campatch uses for that vendor.
#: Anything not listed is kept as written (after trimming).
BRAND_NAMES: dict[str, str] = {
    "CP Plus (Aditya Infotech)": "CP Plus",
    "EZVIZ (Hikvision consumer brand)": "EZVIZ",
    "Genetec (VMS appliances)": "Genetec",
    "Hikvision (India JV)": "Hikvision",
    "Imou/Dahua consumer (Huacheng)": "Imou",
    "Lorex (India)": "Lorex",
    "Raysharp (OEM DVR/NVR maker)": "Raysharp",
    "Samsung Techwin (now Hanwha Vision)": "Hanwha Vision",
    "TVT (Shenzhen TVT Digital Technology)": "TVT",
    "Uniview (UNV)": "Uniview",
    "i-PRO (formerly Panasonic security)": "i-PRO",
    "Bosch Security Systems": "Bosch",
    "Honeywell Video Systems": "Honeywell",
}


class BuildError(Exception):
    """The input cannot be turned into shippable knowledge."""


@dataclass(frozen=True, order=True)
class PrefixFact:
    """One IEEE assignment: ``prefix`` (uppercase hex, ``bits`` / 4 digits) -> brand."""

    prefix: str
    bits: int
    brand: str


def canonical_brand(raw: str) -> str:
    """The normalised brand for a research-file brand value."""
    brand = " ".join(raw.split())
    return BRAND_NAMES.get(brand, brand)


def parse_row(row: dict[str, str], line: int) -> PrefixFact:
    """Validate one input row and keep only the prefix -> brand fact.

    Raises:
        BuildError: the prefix is not hex, disagrees with its bit length or its colon
            form, or the brand is empty.
    """
    prefix = (row.get("prefix_hex") or "").strip().upper()
    colon = (row.get("prefix_colon") or "").replace(":", "").strip().upper()
    bits_text = (row.get("prefix_bits") or "").strip()
    brand = canonical_brand(row.get("brand") or "")
    where = f"{INPUT_NAME} line {line}"
    if not _HEX.fullmatch(prefix) or (colon and colon != prefix):
        raise BuildError(f"{where}: prefix {prefix!r} is not hex or differs from {colon!r}")
    if not bits_text.isdigit() or int(bits_text) not in VALID_BITS:
        raise BuildError(f"{where}: prefix length {bits_text!r} is not one of {VALID_BITS}")
    if int(bits_text) != 4 * len(prefix):
        raise BuildError(f"{where}: prefix {prefix} has {4 * len(prefix)} bits, not {bits_text}")
    if not brand:
        raise BuildError(f"{where}: prefix {prefix} has no brand")
    return PrefixFact(prefix, int(bits_text), brand)


def read_facts(text: str) -> list[PrefixFact]:
    """All facts of the input, de-duplicated and sorted.

    Raises:
        BuildError: a row is invalid, a column is missing, or one prefix has two brands.
    """
    reader = csv.DictReader(io.StringIO(text))
    needed = {"prefix_hex", "prefix_bits", "brand"}
    if not needed <= set(reader.fieldnames or ()):
        raise BuildError(f"{INPUT_NAME}: expected columns {sorted(needed)}")
    facts: dict[str, PrefixFact] = {}
    for line, row in enumerate(reader, start=2):
        fact = parse_row(row, line)
        old = facts.setdefault(fact.prefix, fact)
        if old.brand != fact.brand:
            raise BuildError(
                f"{INPUT_NAME}: prefix {fact.prefix} is both {old.brand} and {fact.brand}"
            )
    return sorted(facts.values())


def render_csv(facts: Iterable[PrefixFact]) -> str:
    """The shipped CSV: header ``prefix,bits,brand``, one fact per line, ``\\n`` endings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("prefix", "bits", "brand"))
    writer.writerows((f.prefix, f.bits, f.brand) for f in facts)
    return out.getvalue()


def render_provenance(facts: Sequence[PrefixFact], sha256: str, built: date) -> str:
    """``PROVENANCE.md`` for the shipped CSV."""
    counts = {bits: sum(1 for f in facts if f.bits == bits) for bits in VALID_BITS}
    return f"""# Provenance of `oui-camera-vendors.csv`

Generated by `scripts/build_knowledge.py`; do not edit by hand, rebuild instead.

- **Facts:** MAC address block assignments of the IEEE Registration Authority
  (public registries MA-L, MA-M and MA-S, https://regauth.standards.ieee.org/):
  which prefix was assigned to which company. Only the prefix, its length in bits
  and the camera brand are kept; the registrant's name is not copied.
- **Brand column:** written for campatch (one spelling per vendor).
- **Selection:** camera, NVR, DVR and VMS vendors chosen by the campatch project
  (research notes `{INPUT_NAME}`, see `shared/data/SOURCES.md`).
- **Records:** {len(facts)} prefixes: {counts[24]} MA-L (24 bits), {counts[28]} MA-M (28 bits), {counts[36]} MA-S (36 bits).
- **Built:** {built.isoformat()}
- **Input:** `{INPUT_NAME}` sha256 `{sha256}`
"""


def build_date(given: str | None) -> date:
    """``--date``, else ``SOURCE_DATE_EPOCH``, else today in UTC.

    Raises:
        BuildError: the date or epoch cannot be read.
    """
    try:
        if given:
            return date.fromisoformat(given)
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        if epoch:
            return datetime.fromtimestamp(int(epoch), UTC).date()
    except ValueError as err:
        raise BuildError(f"build date: {err}") from err
    return datetime.now(UTC).date()


def build(shared: Path, out_dir: Path, built: date) -> list[PrefixFact]:
    """Read ``shared/oui-camera-vendors.csv`` and write both output files to ``out_dir``.

    Raises:
        BuildError: the input is missing or invalid.
    """
    source = shared / INPUT_NAME
    try:
        raw = source.read_bytes()
    except OSError as err:
        raise BuildError(f"cannot read {source}: {err.strerror}") from err
    facts = read_facts(raw.decode("utf-8-sig"))
    provenance = render_provenance(facts, hashlib.sha256(raw).hexdigest(), built)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / INPUT_NAME).write_text(render_csv(facts), encoding="utf-8", newline="")
    (out_dir / PROVENANCE_NAME).write_text(provenance, encoding="utf-8", newline="")
    return facts


# --- step "bundle": advisories and default credentials --------------------------------
#
# Turns the research notes camera-cves.json, kev-cameras.json, default-credentials.csv
# and mirai-credentials.csv into src/campatch/knowledge/data/bundle/*.json (records in
# the codec of campatch.knowledge.interface). How the free-text version fields become
# ranges is described in render_bundle_provenance(); the rules are the functions below.

BUNDLE_DIR = OUTPUT_DIR / "bundle"
BUNDLE_INPUTS = (
    "camera-cves.json",
    "kev-cameras.json",
    "default-credentials.csv",
    "mirai-credentials.csv",
)
CVE_LICENSE = "NVD data: US government public domain; CVE records: CVE Terms of Use"
KEV_LICENSE = "CISA KEV: CC0 1.0"
KEV_URL = "https://www.cisa.gov/known-exploited-vulnerabilities-catalog"

#: Mirai device associations (Krebs 2016) -> vendor; non-camera devices -> any vendor.
MIRAI_VENDORS: dict[str, str] = {
    "": "any",
    "ACTi IP camera": "ACTi",
    "ANKO Products DVR": "ANKO",
    "Axis IP camera, et al.": "Axis",
    "Dahua DVR": "Dahua",
    "Dahua IP camera": "Dahua",
    "Dahua camera": "Dahua",
    "Guangzhou Juan Optical": "Guangzhou Juan Optical",
    "H.264 Chinese DVR": "any",
    "HiSilicon IP camera": "HiSilicon",
    "IPX-DDK network camera": "IPX-DDK",
    "IQinVision cameras, et al.": "IQinVision",
    "Mobotix network camera": "Mobotix",
    "Samsung IP camera": "Hanwha Vision",
    "Shenzhen Anran security camera": "Shenzhen Anran",
    "Toshiba network camera": "Toshiba",
    "VideoIQ": "VideoIQ",
    "Vivotek IP camera": "Vivotek",
    "Dreambox TV receiver": "any",
    "EV ZLX two-way speaker": "any",
    "Packet8 VoIP phone": "any",
    "Panasonic printer": "any",
    "RealTek routers": "any",
    "SMC routers": "any",
    "Ubiquiti AirOS router": "any",
    "Xerox printers, et al.": "any",
    "ZTE router": "any",
}

_VER = r"(?:Ver\.|v|V)?(?P<{0}>[A-Za-z0-9][\w.\-]*\d[\w.\-]*(?: build \d+| Hotfix)?)"
_SPECS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern.format(v1=_VER.format("a"), v2=_VER.format("b")), re.I), kind)
    for pattern, kind in (
        (r"all versions", "all"),
        (r"(?:all versions )?(?:before|prior to) {v1}", "fixed"),
        (r"(?:<=|through|up to and including) ?{v1}", "last"),
        (r"{v1} and below", "last"),
        (r"{v1} to {v2}", "span"),
    )
)
_LIST_BEFORE = re.compile(r"before ((?:[\w.\-]+, )+[\w.\-]+)", re.I)
_BARE_FIX = re.compile(r"(?:[A-Za-z]+ )?(?:firmware )?" + _VER.format("a"))
_MODEL_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")
_MODEL_WORD = re.compile(r"\d|xx|XX|/")
_NOT_MODELS = frozenset({"P2P", "H.264", "4K"})
_NO_FIX = re.compile(r"end[- ]of[- ]life|\bEOL\b|unsupported", re.I)


def _strip_notes(text: str) -> str:
    """Text without parenthesised remarks and leading 'firmware'/'e.g.' words."""
    text = re.sub(r"\([^()]*\)", "", text)
    text = re.sub(r"^(?:e\.g\.|application|firmware|versions|\s)+", "", text.strip(), flags=re.I)
    return " ".join(text.split()).rstrip(".")


def parse_spec(text: str) -> list[dict[str, str]] | None:
    """Ranges (codec form) for one version phrase, or None if it is not one we read."""
    text = _strip_notes(text)
    if match := _LIST_BEFORE.fullmatch(text):
        return [{"fixed": v} for v in match.group(1).split(", ")]
    for pattern, kind in _SPECS:
        if match := pattern.fullmatch(text):
            groups = match.groupdict()
            return [
                {
                    "all": {},
                    "fixed": {"fixed": groups.get("a") or ""},
                    "last": {"last_affected": groups.get("a") or ""},
                    "span": {
                        "introduced": groups.get("a") or "",
                        "last_affected": groups.get("b") or "",
                    },
                }[kind]
            ]
    return None


def model_pattern(name: str) -> str:
    """A model or series name as a shell pattern: placeholders (``xx``, ``XXX``) -> ``*``.

    Every pattern ends in ``*``: a model named in an advisory stands for its suffixed
    variants too (``DCS-930L`` also covers ``DCS-930L/B``).
    """
    pattern = re.sub(r"x+", "*", name.strip())
    pattern = re.sub(r"(?<=\d)X+|X+(?=\d)|XX+", "*", pattern)
    return re.sub(r"\*+", "*", pattern.rstrip("*") + "*")


def split_models(text: str, *, loose: bool = False) -> list[str]:
    """Model names of a ``A/B, C`` list; ``IPC-HX5X3X/HX4X3X`` gives ``IPC-HX4X3X`` too.

    Names need a digit or placeholder and a capital letter unless ``loose`` (the keys of
    ``first_fixed_versions``, which name models only).
    """
    names: list[str] = []
    for part in re.split(r",|;| and ", _strip_notes(text)):
        previous = ""
        for piece in (p.strip() for p in part.split(":")[-1].split("/") if p.strip()):
            name = _continue(previous, piece) if previous else piece
            names.append(name)
            previous = name
    return [n for n in names if loose or (re.search(r"\d|xx|XX", n) and re.search(r"[A-Z]", n))]


def _continue(previous: str, piece: str) -> str:
    """``piece`` completed from the model named before it in a slash list.

    ``FI9800P/V2`` -> ``FI9800P V2``; ``AHB7008F8-H/F4-H`` -> ``AHB7008F4-H``;
    ``DH-IPC-HDW1XXX/2XXX`` -> ``DH-IPC-HDW2XXX``; ``SNC-DH120/DH120T`` -> ``SNC-DH120T``.
    """
    if re.fullmatch(r"V\d+", piece):
        return re.sub(r"\s+V\d+$", "", previous) + " " + piece
    if " " in piece or len(piece) >= len(previous):
        return piece
    if "-" in piece:
        same_tail = previous.rpartition("-")[2] == piece.rpartition("-")[2]
        return previous[: len(previous) - len(piece)] + piece if same_tail else piece
    head, _, tail = previous.rpartition("-")
    if len(piece) > len(tail) + 1:
        return piece
    prefix = f"{head}-" if head else ""
    if piece[0].isdigit() and not tail[:1].isdigit():
        prefix += re.match(r"[A-Za-z]*", tail).group(0)  # type: ignore[union-attr]
    return prefix + piece


def product_models(products: str, vendor: str = "") -> list[str]:
    """Patterns for the ``products`` field; none (= every model) for open lists.

    Parenthesised model lists count; other remarks in parentheses do not. Leading words
    naming the vendor and trailing plain words ("PTZ", "IP camera") are dropped.
    """
    text = re.sub(r"\(([^()]*)\)", _keep_model_list, products)
    if re.search(r"e\.g\.|\bmany\b|hundreds|same (?:[a-z]+ )*as|devices using", text, re.I):
        return []
    brands = {w.casefold() for w in re.findall(r"\w+", vendor)}
    parts = ", ".join(_trim(p, brands) for p in re.split(r",|;", text))
    names = [n for n in split_models(parts) if n not in _NOT_MODELS]
    if not names:
        names = re.findall(r"\b(?:[A-Z]{2,}[a-z]+|[A-Z][a-z]+[A-Z][A-Za-z]*)\b", text)
    return sorted({model_pattern(n) for n in names})


def _keep_model_list(match: re.Match[str]) -> str:
    """A parenthesised remark: kept as a list when most of its words are model names."""
    words = match.group(1).split()
    models = [w for w in words if _MODEL_WORD.search(w) and not w.islower()]
    return f", {match.group(1)}," if words and 2 * len(models) >= len(words) else " "


def _trim(part: str, brands: set[str]) -> str:
    """One product-list entry without leading brand words and trailing plain words."""
    words = part.split(":")[-1].split()
    while words and words[0].casefold() in brands:
        words.pop(0)
    while words and re.fullmatch(r"[A-Za-z]+", words[-1]):
        words.pop()
    return " ".join(words)


def single_fix(fixed: object) -> str | None:
    """The fixed version when ``first_fixed_versions`` names exactly one."""
    if not isinstance(fixed, str):
        return None
    match = _BARE_FIX.fullmatch(_strip_notes(fixed))
    return match.group("a") if match else None


def line_bounds(ranges: list[dict[str, str]], vendor: str) -> list[dict[str, str]]:
    """Several "before X" ranges of one product: each starts at its own release line.

    The line of a fixed version is its shortest dot-separated prefix no other fixed
    version shares (``2.623`` for ``2.623.00AC004.0.R.200316``), written as
    ``introduced``. It must be a line bound of the vendor's version scheme
    (:func:`campatch.knowledge.versions.is_line_bound`: Sony ``1``, Dahua ``2.623``);
    when one fix has none, the fixes cannot be told apart by line and the product gets
    no ranges (possibly affected) rather than ranges that would misplace a device.
    """
    fixes = [r["fixed"] for r in ranges if set(r) == {"fixed"}]
    if len(fixes) < 2 or len(fixes) != len(ranges):
        return ranges
    out = []
    for fix in fixes:
        parts = fix.split(".")
        others = [o.split(".") for o in fixes if o != fix]
        depth = next(
            (d for d in range(1, len(parts)) if all(o[:d] != parts[:d] for o in others)),
            len(parts),
        )
        line = ".".join(parts[:depth])
        if not is_line_bound(vendor, line):
            return []
        out.append({"introduced": line, "fixed": fix})
    return out


def parse_segments(text: str) -> list[tuple[list[str], list[dict[str, str]]]] | None:
    """``MODELS SPEC; MODELS SPEC`` -> per segment its model names and ranges."""
    out = []
    for segment in (s.strip() for s in re.split(r";", text) if s.strip()):
        parsed = _parse_segment(_strip_notes(segment))
        if parsed is None:
            return None
        out.append(parsed)
    return out


def _parse_segment(segment: str) -> tuple[list[str], list[dict[str, str]]] | None:
    words = segment.split(" ")
    for cut in range(len(words)):
        ranges = parse_spec(" ".join(words[cut:]))
        if ranges is not None:
            head = re.sub(r"\b(?:models?|firmware|builds?)\b:?", "", " ".join(words[:cut]))
            return split_models(head.strip(" :")), ranges
    return None


def affected_products(vuln: dict[str, Any], vendor: str) -> list[dict[str, Any]]:
    """The ``affected`` list (codec form) of one curated CVE record."""
    fixed = vuln.get("first_fixed_versions")
    if isinstance(fixed, dict):
        return [
            {
                "vendor": vendor,
                "models": sorted({model_pattern(m) for m in split_models(k, loose=True)}),
                "ranges": [{"fixed": v}],
            }
            for k, v in sorted(fixed.items())
        ]
    default_models = product_models(str(vuln.get("products") or ""), str(vuln["vendor"]))
    segments = parse_segments(str(vuln.get("affected_versions") or "")) or []
    by_models: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for names, ranges in segments:
        models = tuple(sorted({model_pattern(n) for n in names})) or tuple(default_models)
        by_models.setdefault(models, []).extend(ranges)
    if not by_models:
        by_models[tuple(default_models)] = _fallback_ranges(vuln)
    return [
        {
            "vendor": vendor,
            "models": list(models),
            "ranges": _with_fix(line_bounds(r, vendor), fixed),
        }
        for models, r in sorted(by_models.items())
    ]


def _fallback_ranges(vuln: dict[str, Any]) -> list[dict[str, str]]:
    """Ranges when the affected text is unreadable: the one named fix, else EOL = all."""
    if fix := single_fix(vuln.get("first_fixed_versions")):
        return [{"fixed": fix}]
    if vuln.get("first_fixed_versions") is None and _NO_FIX.search(str(vuln.get("fix_note", ""))):
        return [{}]
    return []  # unknown versions: the audit says "possibly affected"


def _with_fix(ranges: list[dict[str, str]], fixed: object) -> list[dict[str, str]]:
    """Give a lone "through X" range the data's single fixed version when it names one."""
    fix = single_fix(fixed)
    if fix and len(ranges) == 1 and set(ranges[0]) == {"last_affected"}:
        return [{"fixed": fix}]
    return ranges


def curated_vendor(raw: str) -> str:
    """``"Amcrest (Dahua OEM)"`` -> ``"Dahua"``; ``"A / B"`` must name one firmware maker."""
    names = {normalize_vendor(part) for part in raw.split(" / ")}
    if len(names) != 1:
        raise BuildError(f"camera-cves.json: vendor {raw!r} names several makers {sorted(names)}")
    return names.pop()


def kev_entries(kev: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """KEV facts per CVE id: catalog entries and the later additions seen in NVD."""
    out: dict[str, dict[str, Any]] = {}
    for e in kev.get("vulnerabilities", []):
        out[e["cveID"]] = {
            "date_added": e["dateAdded"], "due_date": e.get("dueDate", ""),
            "ransomware": e.get("knownRansomwareCampaignUse") or "Unknown",
            "required_action": e.get("requiredAction", ""), "_name": e.get("vulnerabilityName", ""),
            "_vendor": e.get("vendorProject", ""), "_product": e.get("product", ""),
            "_description": e.get("shortDescription", ""), "_notes": e.get("notes", ""),
        }  # fmt: skip
    for e in kev.get("later_additions_seen_in_nvd", {}).get("entries", []):
        out.setdefault(e["cveID"], {
            "date_added": e["cisaExploitAdd"], "due_date": e.get("cisaActionDue", ""),
            "ransomware": "Unknown", "required_action": e.get("cisaRequiredAction", ""),
            "_name": e.get("cisaVulnerabilityName", ""), "_vendor": e.get("vendorProject", ""),
            "_product": e.get("product", ""), "_description": "", "_notes": "",
        })  # fmt: skip
    return out


def advisory_record(
    vuln: dict[str, Any], kev: dict[str, Any] | None, built: date
) -> dict[str, Any]:
    """One curated CVE as an advisory (codec form), KEV facts merged in."""
    vendor = curated_vendor(str(vuln["vendor"]))
    description = " ".join(str(vuln.get("description") or "").split())
    title = (kev or {}).get("_name") or re.split(r"; |(?<!e\.g)\. ", description)[0][:160]
    sources = [str(s) for s in vuln.get("sources", [])]
    cvss = vuln.get("cvss_v3") or {}
    record: dict[str, Any] = {
        "id": vuln["cve_id"], "title": title, "description": description,
        "affected": affected_products(vuln, vendor), "cwes": sorted(vuln.get("cwe") or []),
        "references": sorted(set(sources) | ({KEV_URL} if kev else set())),
        "aliases": sorted(vuln.get("advisory_ids") or []),
        "provenance": {
            "source": "bundle:camera-cves", "url": sources[0] if sources else "",
            "retrieved": built.isoformat(),
            "license": CVE_LICENSE + (f"; {KEV_LICENSE}" if kev else "") + "; description written for campatch",
        },
    }  # fmt: skip
    if cvss.get("base_score") is not None:
        record["cvss_score"], record["cvss_vector"] = cvss["base_score"], cvss.get("vector")
    if kev:
        record["kev"] = {k: v for k, v in kev.items() if not k.startswith("_") and v}
    return record


def kev_only_record(cve: str, kev: dict[str, Any], built: date) -> dict[str, Any]:
    """An advisory from a KEV entry the curated list lacks (versions unknown)."""
    return {
        "id": cve, "title": kev["_name"] or cve, "description": kev["_description"],
        "affected": [{"vendor": normalize_vendor(kev["_vendor"]), "models": [], "ranges": []}],
        "references": sorted({KEV_URL} | ({kev["_notes"]} if kev["_notes"].startswith("http") else set())),
        "kev": {k: v for k, v in kev.items() if not k.startswith("_") and v},
        "provenance": {"source": "bundle:cisa-kev", "url": KEV_URL, "retrieved": built.isoformat(), "license": KEV_LICENSE},
    }  # fmt: skip


def resolve_same_as(vuln: dict[str, Any], vulns: dict[str, dict[str, Any]]) -> None:
    """A record that says "same ... as CVE-X" takes X's products and versions.

    X's fixed versions are taken too when the record says "same releases" or its
    affected-versions text is X's word for word.
    """
    text = f"{vuln.get('products')} {vuln.get('affected_versions')}"
    match = re.search(r"same (?:[a-z]+ )*as (CVE-\d+-\d+)", text)
    src = vulns.get(match.group(1)) if match else None
    if src is None:
        return
    same_fix = vuln.get("affected_versions") == src.get(
        "affected_versions"
    ) or "same releases" in str(vuln.get("first_fixed_versions"))
    vuln["products"], vuln["affected_versions"] = src["products"], src["affected_versions"]
    if same_fix:
        vuln["first_fixed_versions"] = src["first_fixed_versions"]


def build_advisories(cves: dict[str, Any], kev: dict[str, Any], built: date) -> list[Advisory]:
    """All bundled advisories, validated through the runtime codec, sorted by id.

    Raises:
        BuildError: a record does not pass the codec.
    """
    kevs = kev_entries(kev)
    vulns = {v["cve_id"]: v for v in cves["vulnerabilities"]}
    for v in vulns.values():
        resolve_same_as(v, vulns)
    records = [advisory_record(v, kevs.get(cve), built) for cve, v in vulns.items()]
    records += [kev_only_record(c, k, built) for c, k in kevs.items() if c not in vulns]
    return sorted((_decoded(decode_advisory, r, r["id"]) for r in records), key=lambda a: a.id)


def _decoded(decode: Any, record: dict[str, Any], what: str) -> Any:
    try:
        return decode(record)
    except RecordError as err:
        raise BuildError(f"{what}: {err}") from err


def is_nmap_row(row: dict[str, str]) -> bool:
    """True for rows taken from nmap (NPSL, reference only: they must not ship)."""
    url = urllib.parse.urlsplit(row.get("source_url", "").strip())
    host_path = f"{url.netloc.lower()}{url.path.lower()}"
    text = " ".join(row.values()).lower()
    return host_path.startswith(("github.com/nmap/", "nmap.org", "svn.nmap.org")) or "nmap" in text


def _cred_source(url: str) -> tuple[str, str]:
    """Licence note for a credential row's source URL."""
    if "DefaultCreds-cheat-sheet" in url:
        return "bundle:defaultcreds-cheat-sheet", "MIT (ihebski/DefaultCreds-cheat-sheet)"
    if "nvd.nist.gov" in url:
        return "bundle:nvd", "NVD data: US government public domain"
    return "bundle:advisory-facts", "facts stated in the cited advisory"


def build_credentials(default_csv: str, mirai_csv: str, built: date) -> list[DefaultCredential]:
    """Shippable default credentials: non-nmap rows of the default list + the Mirai list.

    Raises:
        BuildError: a Mirai device association is not in :data:`MIRAI_VENDORS`, or a
            row does not pass the codec.
    """
    records: list[dict[str, Any]] = []
    for row in csv.DictReader(io.StringIO(default_csv)):
        if is_nmap_row(row):
            continue
        source, licence = _cred_source(row["source_url"])
        vendor = "any" if row["vendor"].startswith("Generic") else row["vendor"]
        service = row["service"].strip().lower()
        records.append({
            "vendor": vendor, "service": "any" if service in ("", "unspecified") else service,
            "username": row["username"], "password": row["password"], "product": row["product_or_model"],
            "provenance": {"source": source, "url": row["source_url"].strip(), "retrieved": built.isoformat(), "license": licence},
        })  # fmt: skip
    for row in csv.DictReader(io.StringIO(mirai_csv)):
        association = row["device_association_krebs_2016"].strip()
        if association not in MIRAI_VENDORS:
            raise BuildError(f"mirai-credentials.csv: unknown device association {association!r}")
        records.append({
            "vendor": MIRAI_VENDORS[association], "service": "telnet", "mirai": True,
            "username": row["username"], "password": row["password"],
            "product": association or "Mirai scanner list",
            "provenance": {"source": "bundle:mirai-credentials", "url": row["source"].strip(), "retrieved": built.isoformat(),
                           "license": "facts (factory passwords) from the Mirai source; no code copied"},
        })  # fmt: skip
    creds = {
        record_key(c): c for c in (_decoded(decode_credential, r, "credential") for r in records)
    }
    return [creds[k] for k in sorted(creds)]


# --- viewer apps: the hand-curated viewer-apps.yaml -> apps.json ---------------------

VIEWER_APPS_NAME = "viewer-apps.yaml"
VIEWER_APPS = OUTPUT_DIR / VIEWER_APPS_NAME
VIEWER_APPS_FORMAT = "campatch-viewer-apps"
APP_PLATFORMS = ("android", "ios", "windows", "macos")
APP_LICENSE = "facts (version numbers and dates) read on the cited page"
_APP_KEYS = frozenset(
    {"name", "vendor", "platform", "latest_version", "released", "url", "evidence"}
)
_EVIDENCE_KEYS = frozenset({"source", "url", "checked", "note"})
_NOT_VERIFIED_KEYS = frozenset({"name", "vendor", "platforms"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class CuratedApps:
    """What ``viewer-apps.yaml`` holds: verified apps, and the ones looked for in vain."""

    apps: list[ViewerApp]
    not_verified: list[tuple[str, str, tuple[str, ...]]]


def _text(entry: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    """A string field (a YAML date counts as its ISO form); BuildError when missing."""
    value = entry.get(key)
    if isinstance(value, date):
        value = value.isoformat()
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise BuildError(f"{where}: field {key!r} must be a non-empty string")
    return value.strip()


def _unknown_keys(entry: object, allowed: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise BuildError(f"{where}: expected a mapping")
    extra = sorted(str(k) for k in set(entry) - allowed)
    if extra:
        raise BuildError(f"{where}: unknown field(s) {', '.join(extra)}")
    return entry


def _app_record(entry: object, where: str) -> dict[str, Any]:
    """One curated entry in the record codec; its evidence becomes the provenance."""
    item = _unknown_keys(entry, _APP_KEYS, where)
    evidence = _unknown_keys(item.get("evidence"), _EVIDENCE_KEYS, f"{where}.evidence")
    platform = _text(item, "platform", where).lower()
    if platform not in APP_PLATFORMS:
        raise BuildError(f"{where}: platform {platform!r} is not one of {', '.join(APP_PLATFORMS)}")
    checked = _text(evidence, "checked", f"{where}.evidence")
    released = _text(item, "released", where, required=False)
    for key, value in (("evidence.checked", checked), ("released", released)):
        if value and not _DATE.fullmatch(value):
            raise BuildError(f"{where}: {key} {value!r} is not a YYYY-MM-DD date")
    _text(evidence, "note", f"{where}.evidence")  # the note is for reviewers: required
    return {
        "name": _text(item, "name", where), "vendor": _text(item, "vendor", where),
        "platform": platform, "latest_version": _text(item, "latest_version", where),
        "released": released, "url": _text(item, "url", where),
        "provenance": {
            "source": "curated:" + _text(evidence, "source", f"{where}.evidence"),
            "url": _text(evidence, "url", f"{where}.evidence"),
            "retrieved": checked, "license": APP_LICENSE,
        },
    }  # fmt: skip


def read_viewer_apps(text: str) -> CuratedApps:
    """The curated viewer apps, validated through the runtime codec, sorted by name, platform.

    Raises:
        BuildError: not YAML, wrong format, an unknown or missing field, a platform or
            date that is not one, a record the codec refuses, or one app/platform twice.
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise BuildError(f"{VIEWER_APPS_NAME}: not valid YAML ({err})") from err
    doc = _unknown_keys(
        doc, frozenset({"format", "version", "apps", "not_verified"}), VIEWER_APPS_NAME
    )
    if doc.get("format") != VIEWER_APPS_FORMAT or doc.get("version") != 1:
        raise BuildError(f"{VIEWER_APPS_NAME}: expected format {VIEWER_APPS_FORMAT}, version 1")
    apps: dict[tuple[str, ...], ViewerApp] = {}
    for number, entry in enumerate(doc.get("apps") or []):
        where = f"{VIEWER_APPS_NAME}: apps[{number}]"
        app: ViewerApp = _decoded(decode_app, _app_record(entry, where), where)
        if record_key(app) in apps:
            raise BuildError(f"{where}: {app.name} on {app.platform} is listed twice")
        apps[record_key(app)] = app
    missing = []
    for number, entry in enumerate(doc.get("not_verified") or []):
        where = f"{VIEWER_APPS_NAME}: not_verified[{number}]"
        item = _unknown_keys(entry, _NOT_VERIFIED_KEYS, where)
        platforms = item.get("platforms")
        if not isinstance(platforms, list) or not platforms:
            raise BuildError(f"{where}: 'platforms' must be a non-empty list")
        name = _text(item, "name", where)
        missing.append((name, _text(item, "vendor", where), tuple(str(p) for p in platforms)))
    return CuratedApps([apps[k] for k in sorted(apps)], missing)


def bundle_file(kind: str, records: Sequence[object], inputs: dict[str, str], built: date) -> str:
    """One shipped bundle file: header (format, build date, input hashes) + records."""
    doc = {
        "format": FORMAT, "version": FORMAT_VERSION, "kind": kind, "built": built.isoformat(),
        "inputs": inputs, "count": len(records), "records": [encode(r) for r in records],
    }  # fmt: skip
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def read_bundle_inputs(shared: Path) -> dict[str, bytes]:
    """The raw bytes of every bundle input.

    Raises:
        BuildError: one cannot be read.
    """
    out = {}
    for name in BUNDLE_INPUTS:
        try:
            out[name] = (shared / name).read_bytes()
        except OSError as err:
            raise BuildError(f"cannot read {shared / name}: {err.strerror}") from err
    return out


def build_bundle(
    shared: Path, out_dir: Path, built: date, apps_file: Path = VIEWER_APPS
) -> dict[str, int]:
    """Write ``advisories.json``, ``credentials.json``, ``apps.json`` and ``PROVENANCE.md``.

    Raises:
        BuildError: an input is missing or invalid.
    """
    raw = read_bundle_inputs(shared)
    inputs = {n: hashlib.sha256(b).hexdigest() for n, b in sorted(raw.items())}
    try:
        apps_raw = apps_file.read_bytes()
    except OSError as err:
        raise BuildError(f"cannot read {apps_file}: {err.strerror}") from err
    curated = read_viewer_apps(apps_raw.decode("utf-8-sig"))
    apps_inputs = {VIEWER_APPS_NAME: hashlib.sha256(apps_raw).hexdigest()}
    try:
        cves, kev = (json.loads(raw[n]) for n in BUNDLE_INPUTS[:2])
        advisories = build_advisories(cves, kev, built)
    except (ValueError, KeyError, TypeError) as err:
        raise BuildError(f"advisory input: {err!r}") from err
    text = {n: raw[n].decode("utf-8-sig") for n in BUNDLE_INPUTS[2:]}
    creds = build_credentials(text["default-credentials.csv"], text["mirai-credentials.csv"], built)
    files = {
        "advisories.json": bundle_file("advisories", advisories, inputs, built),
        "credentials.json": bundle_file("credentials", creds, inputs, built),
        "apps.json": bundle_file("apps", curated.apps, apps_inputs, built),
        PROVENANCE_NAME: render_bundle_provenance(
            advisories, creds, curated, {**inputs, **apps_inputs}, built
        ),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (out_dir / name).write_text(body, encoding="utf-8", newline="")
    return {"advisories": len(advisories), "credentials": len(creds), "apps": len(curated.apps)}


#: Why a vendor's fixed-version suffixes are left unordered (PROVENANCE.md).
UNORDERED_WHY: dict[str, str] = {
    "Siemens": "no published grammar for the `_S<n>` / `_SP<n>` suffixes of these"
    " Vanderbilt-made cameras (`_S1` may name a separate build line, not a later build),"
    " and SSA-284765 names `v2635` where ICSA-16-322-01 names `v2635_SP1`",
}


def _unorderable_fixes(advisories: Sequence[Advisory]) -> str:
    """Markdown list of the fixed versions the vendor's scheme cannot order, and why."""
    found: dict[tuple[str, str], set[str]] = {}
    for a in advisories:
        for p in a.affected:
            for r in p.ranges:
                parsed = parse_version(p.vendor, r.fixed or "")
                if r.fixed and isinstance(parsed, Unorderable):
                    found.setdefault((a.id, p.vendor), set()).add(f"`{r.fixed}`")
    lines = [
        f"  - {cve} {vendor} {', '.join(sorted(fixes))}: "
        + UNORDERED_WHY.get(vendor, "not a version of the vendor's scheme")
        + "."
        for (cve, vendor), fixes in sorted(found.items())
    ]
    return "\n" + "\n".join(lines) if lines else " none."


def _apps_section(curated: CuratedApps) -> str:
    """Markdown lines: each verified app with its evidence, then the ones not verified."""
    lines = [
        f"  - {a.name} ({a.vendor}) {a.platform} {a.latest_version}"
        + (f", released {a.released}" if a.released else "")
        + f": {a.provenance.url} (checked {a.provenance.retrieved})"
        for a in curated.apps
    ]
    missing = [f"{name} ({', '.join(p)})" for name, _, p in curated.not_verified]
    return "\n".join(lines) + (
        "\n- **Not verified** (no citable page naming the latest version was found, so no"
        f" record): {'; '.join(missing)}."
        if missing
        else ""
    )


def render_bundle_provenance(
    advisories: Sequence[Advisory],
    creds: Sequence[DefaultCredential],
    curated: CuratedApps,
    inputs: dict[str, str],
    built: date,
) -> str:
    """``bundle/PROVENANCE.md``: sources, licences, parsing rules, counts, input hashes."""
    unknown = sum(1 for a in advisories if not all(p.ranges for p in a.affected))
    kev = sum(1 for a in advisories if a.kev)
    mirai = sum(1 for c in creds if c.mirai)
    hashes = "\n".join(f"- `{n}` sha256 `{h}`" for n, h in inputs.items())
    return f"""# Provenance of the bundled knowledge snapshot

Generated by `scripts/build_knowledge.py bundle`; do not edit by hand, rebuild instead.
Every record also carries its own `provenance` (source, URL, licence).

## advisories.json ({len(advisories)} advisories, {kev} in CISA KEV, {unknown} with unreadable versions)

- **Facts:** CVE records (CVEProject/cvelistV5, CVE Terms of Use) and NVD data
  (US government public domain, via fkie-cad/nvd-json-data-feeds), curated by the
  campatch project in `camera-cves.json`; descriptions are written for campatch.
  Vendor and CERT advisory URLs are listed per record in `references`.
- **KEV:** CISA Known Exploited Vulnerabilities catalog 2025.08.25 (cisagov/kev-data,
  CC0 1.0) plus later additions seen in NVD records (`cisaExploitAdd`): date added, due
  date, ransomware use, required action. Provenance source `bundle:camera-cves` when the
  CVE is curated, `bundle:cisa-kev` when only KEV knows it.
- **Vendor:** one name per firmware maker (`campatch.knowledge.interface.normalize_vendor`);
  OEM brands carry their maker's name: "Amcrest (Dahua OEM)" -> Dahua.
- **Models:** shell patterns; `x`/`XXX` placeholders become `*`, every pattern ends in `*`
  (suffixed variants). An open product list ("e.g.", "many", "hundreds") = every model.
- **Versions:** `first_fixed_versions` given per model -> one product per model group with
  `fixed`; "before X" -> `fixed` X; "<= / through / up to and including X" -> `last_affected`
  X (or `fixed` when the record names exactly one fixed version); "A to B" -> `introduced`
  A, `last_affected` B; "all versions", or no fix for an end-of-life product -> one range
  without bounds. Several "before X" fixes for unnamed product lines each start at their
  own release line: `introduced` = the shortest prefix no other fix shares, which must be
  a *line bound* of the vendor's version scheme (`campatch.knowledge.versions`: the
  fields that choose a line, e.g. Sony major `1` = 5th gen, Dahua `2.623` =
  major.baseline, `2.800.0000000` = major.baseline.special). A line bound holds for a
  device on that line and excludes devices on other lines; a device on a line no range
  names is "possibly affected". If a fix has no such prefix the product gets
  `ranges: []`. Anything else -> `ranges: []`, which campatch reports as "possibly
  affected" (never clean).
- **Version grammar:** fixed versions are kept as written. D-Link `1.06.01 Hotfix` is
  ordered as a hotfix of 1.06.01 (after 1.06.01, before the next release). Strings the
  vendor's scheme cannot order stay "possibly affected" for every device:{_unorderable_fixes(advisories)}

## credentials.json ({len(creds)} credentials, {mirai} from the Mirai list)

- ihebski/DefaultCreds-cheat-sheet (MIT) rows of `default-credentials.csv`; the Sony
  IPELA accounts (SEC Consult advisory) and the Uniview telnet login (NVD
  CVE-2021-45039). **Rows taken from nmap (NPSL) are left out.** Service "unspecified"
  becomes "any"; generic OEM rows have vendor "any".
- The 62 Mirai scanner pairs (jgamblin/Mirai-Source-Code `scanner.c`; the credential
  strings are facts, no code is copied), service telnet, `mirai: true`, vendor from the
  Krebs 2016 device association where it names a camera maker, else "any".
- The cameradar RTSP lists are not shipped: they are independent username and password
  lists for brute forcing, not default pairs (SAFETY D-04).

## apps.json ({len(curated.apps)} viewer apps)

- **Facts:** hand-curated in `{VIEWER_APPS_NAME}` (beside this folder): each record's
  latest version (and release date, where the page states one) was read on the page in
  its `provenance.url` on the date in `provenance.retrieved`. Those pages are stored
  copies (package-manager manifests) and may be older than that date, so a version is
  the latest *known*: campatch says "or later". No version is guessed:
{_apps_section(curated)}

## Build

- **Built:** {built.isoformat()}
{hashes}
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "step", nargs="?", choices=("oui", "bundle", "all"), default="oui",
        help="oui: MAC prefix table (default); bundle: advisories and credentials; all: both",
    )  # fmt: skip
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, help="output folder (default: the package data)")
    parser.add_argument("--date", help="build date YYYY-MM-DD (default: SOURCE_DATE_EPOCH/today)")
    parser.add_argument(
        "--apps",
        type=Path,
        default=VIEWER_APPS,
        help=f"curated viewer apps (default: {VIEWER_APPS_NAME})",
    )
    args = parser.parse_args(argv)
    try:
        built = build_date(args.date)
        if args.step in ("oui", "all"):
            facts = build(args.shared, args.out or OUTPUT_DIR, built)
            sys.stdout.write(
                f"wrote {len(facts)} prefixes to {(args.out or OUTPUT_DIR) / INPUT_NAME}\n"
            )
        if args.step in ("bundle", "all"):
            out = args.out / "bundle" if args.out and args.step == "all" else args.out
            counts = build_bundle(args.shared, out or BUNDLE_DIR, built, args.apps)
            sys.stdout.write(f"wrote bundle {counts} to {out or BUNDLE_DIR}\n")
    except BuildError as err:
        sys.stderr.write(f"build_knowledge: {err}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
