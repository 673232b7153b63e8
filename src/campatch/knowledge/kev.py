"""CISA Known Exploited Vulnerabilities (KEV) catalog: fetch, check, map.

The catalog is one JSON document (CC0) at :data:`KEV_URL`::

    {"title": ..., "catalogVersion": "2025.08.25", "dateReleased": "2025-08-25T17:04:19.9796Z",
     "count": 1404, "vulnerabilities": [{"cveID", "vendorProject", "product",
     "vulnerabilityName", "dateAdded", "shortDescription", "requiredAction", "dueDate",
     "knownRansomwareCampaignUse", "notes", "cwes"}, ...]}

The whole document must be sound (object, version, a list whose length equals ``count``
when ``count`` is given); a single malformed entry is rejected on its own and counted
(F-12). Each entry becomes a :class:`~campatch.model.KevEntry` keyed by CVE id, and an
:class:`~campatch.model.Advisory` of source ``cisa-kev`` that carries the KEV status,
CISA's name and description. KEV names a product line, not models or firmware, so its
one affected product is ``(vendor, models=(product,), ranges=())``: versions unknown
("possibly affected") and a model list that only matches where CISA's product is a real
model name (``NVMS-1000``, ``DS-2105 Pro``). Which firmware a CVE hits comes from NVD or
the bundled data; the sync also copies the KEV status onto the NVD advisories.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.feeds_http import FeedClient
from campatch.knowledge.interface import KnowledgeLimits, clean_text, normalize_vendor
from campatch.model import Advisory, AffectedProduct, KevEntry, Provenance

__all__ = ["KEV_URL", "SOURCE", "KevCatalog", "fetch_catalog", "parse_catalog"]

KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
SOURCE = "cisa-kev"
LICENSE = "CC0-1.0"
MAX_ENTRIES = 100_000
_CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CWE_ID = re.compile(r"CWE-\d{1,6}")
LIMITS = KnowledgeLimits()
_RANSOMWARE = frozenset({"Known", "Unknown"})


@dataclass(frozen=True)
class KevCatalog:
    """A checked KEV catalog.

    Args:
        version: ``catalogVersion``.
        released: ``dateReleased``.
        entries: KEV status per CVE id.
        advisories: one ``cisa-kev`` advisory per accepted entry.
        rejected: ``"<id>: <reason>"`` per entry set aside.
    """

    version: str
    released: str
    entries: Mapping[str, KevEntry]
    advisories: tuple[Advisory, ...]
    rejected: tuple[str, ...] = field(default=())


async def fetch_catalog(client: FeedClient, url: str = KEV_URL) -> KevCatalog:
    """Download and check the catalog.

    Raises:
        KnowledgeSourceError: download failed, or the document as a whole is unusable.

    Returns:
        The checked catalog.
    """
    return parse_catalog(await client.get_json(url), retrieved_from=url)


def parse_catalog(doc: object, *, retrieved_from: str = KEV_URL) -> KevCatalog:
    """Check the catalog document and map its entries (see the module docstring).

    Raises:
        KnowledgeSourceError: not a catalog, or its entry count does not add up.

    Returns:
        The checked catalog.
    """
    doc, items = _catalog_items(doc)
    entries: dict[str, KevEntry] = {}
    advisories: list[Advisory] = []
    rejected: list[str] = []
    for item in items:
        try:
            advisory = _advisory(item, retrieved_from)
        except (ValueError, TypeError) as err:
            rejected.append(f"{_ident(item)}: {_clean(str(err), 200)}")
            continue
        entries[advisory.id] = _entry(item)
        advisories.append(advisory)
    return KevCatalog(
        version=_clean(str(doc["catalogVersion"]), 40),
        released=_clean(str(doc.get("dateReleased", "")), 40),
        entries=entries,
        advisories=tuple(advisories),
        rejected=tuple(rejected),
    )


def _catalog_items(doc: object) -> tuple[dict[str, Any], list[Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise KnowledgeSourceError("KEV: document is not a catalog (no vulnerabilities list)")
    if not isinstance(doc.get("catalogVersion"), str) or not doc["catalogVersion"]:
        raise KnowledgeSourceError("KEV: catalog has no catalogVersion")
    items: list[Any] = doc["vulnerabilities"]
    count = doc.get("count")
    if count is not None and count != len(items):
        raise KnowledgeSourceError(f"KEV: catalog says count {count!r}, lists {len(items)}")
    if len(items) > MAX_ENTRIES:
        raise KnowledgeSourceError(f"KEV: {len(items)} entries, more than {MAX_ENTRIES}")
    return doc, items


def _advisory(item: object, url: str) -> Advisory:
    if not isinstance(item, dict):
        raise ValueError("entry is not an object")
    ident = _field(item, "cveID", 40)
    if not _CVE_ID.fullmatch(ident):
        raise ValueError(f"invalid cveID {ident!r}")
    return Advisory(
        id=ident,
        title=_field(item, "vulnerabilityName", 200),
        description=_field(item, "shortDescription", 4000),
        affected=(_product(item),),
        provenance=Provenance(SOURCE, url, license=LICENSE),
        cwes=_cwes(item.get("cwes", [])),
        kev=_entry(item),
        references=_notes_urls(item.get("notes", "")),
    )


def _product(item: Mapping[str, Any]) -> AffectedProduct:
    vendor = _field(item, "vendorProject", LIMITS.max_name_chars)
    product = _field(item, "product", LIMITS.max_name_chars)
    return AffectedProduct(vendor=normalize_vendor(vendor), models=(product,), ranges=())


def _entry(item: Mapping[str, Any]) -> KevEntry:
    added, due = _field(item, "dateAdded", 10), _field(item, "dueDate", 10)
    if not _DATE.fullmatch(added) or not _DATE.fullmatch(due):
        raise ValueError(f"dateAdded/dueDate not YYYY-MM-DD: {added!r}, {due!r}")
    ransomware = _field(item, "knownRansomwareCampaignUse", 20)
    return KevEntry(
        date_added=added,
        due_date=due,
        ransomware=ransomware if ransomware in _RANSOMWARE else "Unknown",
        required_action=_field(item, "requiredAction", 1000),
    )


def _cwes(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError("cwes is not a list")
    return tuple(v for v in value if isinstance(v, str) and _CWE_ID.fullmatch(v))


def _notes_urls(value: object) -> tuple[str, ...]:
    """``notes`` is free text; CISA puts the NVD and vendor links there, ``;``-separated."""
    if not isinstance(value, str):
        raise ValueError("notes is not text")
    found = re.findall(r"https?://[^\s;]+", value)
    return tuple(dict.fromkeys(_clean(u, 1000) for u in found))[:50]


def _field(item: Mapping[str, Any], key: str, cap: int) -> str:
    """A required text field, cleaned; cut at ``cap`` (names longer than that are refused)."""
    value = item.get(key)
    if not isinstance(value, str) or not clean_text(value):
        raise ValueError(f"{key} missing or not text")
    text = clean_text(value, cap + 1)
    if cap <= LIMITS.max_name_chars and len(text) > cap:
        raise ValueError(f"{key} longer than {cap} characters")
    return text[:cap] if len(text) > cap else text


def _ident(item: object) -> str:
    value = item.get("cveID") if isinstance(item, dict) else None
    return _clean(value, 40) if isinstance(value, str) else "?"


def _clean(value: str, cap: int) -> str:
    return clean_text(value, cap)
