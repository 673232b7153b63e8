"""NVD CVE API 2.0: query by CPE or keyword, page through results, map CVEs to advisories.

The service (``https://services.nvd.nist.gov/rest/json/cves/2.0``), as documented by NVD:

- filters used here: ``cpeName`` (one exact CPE 2.3 name), ``virtualMatchString``
  (a CPE match string, may leave parts as ``*``), ``keywordSearch`` (every word must
  appear in the description), and ``lastModStartDate``/``lastModEndDate`` (both or
  neither, extended ISO-8601, at most 120 consecutive days per request: longer periods
  are split into windows here);
- offset pagination: ``startIndex`` and ``resultsPerPage`` (at most 2,000), each reply
  carrying ``totalResults``; pages are fetched until ``totalResults`` are collected,
  and a reply whose numbers do not add up fails the whole fetch;
- rate limits, enforced client-side with a sliding window: 5 requests per rolling 30 s
  without a key, 50 per 30 s with one; the key travels in the ``apiKey`` request header
  (never in the URL, so it cannot leak into logs or error messages).

Mapping a ``vulnerabilities[].cve`` object to :class:`~campatch.model.Advisory`:

- description: the ``en`` entry; control characters removed, length capped (F-12);
- CVSS: ``metrics.cvssMetricV31`` then ``cvssMetricV30``, the ``Primary`` (NVD) score
  first, secondary (CNA/ADP) scores only when NVD has none;
- CWEs from ``weaknesses`` (``NVD-CWE-noinfo``/``NVD-CWE-Other`` dropped);
- KEV status from ``cisaExploitAdd``/``cisaActionDue``/``cisaRequiredAction``;
- affected products from ``configurations[].nodes[].cpeMatch[]`` with ``vulnerable``
  true only (hardware CPEs in ``AND`` configurations are context, not the flaw):
  vendor and product from the CPE 2.3 string; ``versionStartIncluding`` ->
  ``introduced``, ``versionEndExcluding`` -> ``fixed``, ``versionEndIncluding`` ->
  ``last_affected``; a CPE naming one version -> exactly that version; ``*`` without
  bounds -> :data:`~campatch.knowledge.interface.ALL_VERSIONS`; ``-`` (not applicable,
  NVD's usual value for camera ``*_firmware`` CPEs such as Hikvision's) -> ``ranges=()``,
  the knowledge stage's "versions unknown, possibly affected". ``versionStartExcluding``
  has no exact equivalent in :class:`~campatch.model.VersionRange`; such a match is kept
  without the lower bound (over-reports rather than hides). A match with both upper
  bounds, an over-long name or more than the list caps rejects the record (F-12).

Vendor names (decision): CPE vendors are mapped to the name drivers put in
:attr:`~campatch.model.Field.VENDOR`, which is the *firmware* maker (ADR 0003: brand and
vendor are separate), through :func:`campatch.knowledge.interface.normalize_vendor`. So
``hikvision`` -> Hikvision, ``dahuasecurity`` -> Dahua, and ``amcrest`` -> Dahua:
Amcrest sells Dahua firmware and the Dahua driver reports such devices as vendor Dahua,
brand Amcrest. The Amcrest model numbers in the CPE (``ip2m-841`` ...) are kept as
models; they do not collide with Dahua's own names, so no brand qualifier is needed to
match them. Model names are upper-cased CPE products with CPE escapes removed and the
``_firmware`` suffix dropped.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.feeds_http import Clock, FeedClient, Sleep
from campatch.knowledge.interface import (
    ALL_VERSIONS,
    KnowledgeLimits,
    clean_text,
    normalize_vendor,
)
from campatch.model import Advisory, AffectedProduct, KevEntry, Provenance, VersionRange

__all__ = [
    "MAX_RESULTS_PER_PAGE",
    "MAX_WINDOW",
    "NVD_URL",
    "SOURCE",
    "NvdClient",
    "NvdFetch",
    "NvdQuery",
    "SlidingWindowLimiter",
    "advisory_from_nvd",
    "parse_cpe",
    "split_windows",
    "utc_now",
    "vendor_of_cpe",
]

NVD_URL = "https://services.nvd.nist.gov/rest/json/cves/2.0"
SOURCE = "nvd"
MAX_WINDOW = timedelta(days=120)
MAX_RESULTS_PER_PAGE = 2000
#: Published limits: requests per rolling window, without and with an API key.
RATE_NO_KEY = (5, 30.0)
RATE_WITH_KEY = (50, 30.0)
#: F-12 caps: records per fetch, and field sizes per record.
MAX_RECORDS = 100_000
MAX_CPE_MATCHES = 5_000
_CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
_CWE_ID = re.compile(r"CWE-\d{1,6}")
_URL = re.compile(r"https?://[^\s]+")
_NVD_STAMP = "%Y-%m-%dT%H:%M:%S.000+00:00"

#: CPE vendor -> a spelling :func:`campatch.knowledge.interface.normalize_vendor` knows
#: (which also maps the OEM brand Amcrest to Dahua). Others: underscores become spaces.
CPE_VENDORS: Mapping[str, str] = {
    "dahuasecurity": "Dahua",
    "amcrest": "Amcrest",
    "axis": "Axis",
    "reolink": "Reolink",
    "foscam": "Foscam",
    "sony": "Sony",
    "xiongmaitech": "XiongMai",
    "geovision": "GeoVision",
    "nuuo": "NUUO",
    "qnap": "QNAP",
    "ptzoptics": "PTZOptics",
    "tvt": "TVT",
    "avtech": "AVTECH",
    "edimax": "Edimax",
    "digiever": "Digiever",
    "siemens": "Siemens",
    "throughtek": "ThroughTek",
}
LIMITS = KnowledgeLimits()


@dataclass(frozen=True)
class NvdQuery:
    """One NVD filter: exactly one of ``cpe_name``, ``virtual_match`` or ``keyword``."""

    cpe_name: str | None = None
    virtual_match: str | None = None
    keyword: str | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.cpe_name, self.virtual_match, self.keyword) if v]
        if len(given) != 1:
            raise ValueError("an NVD query needs exactly one of cpe_name, virtual_match, keyword")
        cpe = self.cpe_name or self.virtual_match
        if cpe is not None and not cpe.startswith("cpe:2.3:"):
            raise ValueError(f"a CPE filter must be a CPE 2.3 string, got {cpe!r}")

    def params(self) -> dict[str, str]:
        """The query parameters of this filter."""
        if self.cpe_name:
            return {"cpeName": self.cpe_name}
        if self.virtual_match:
            return {"virtualMatchString": self.virtual_match}
        return {"keywordSearch": self.keyword or ""}


class SlidingWindowLimiter:
    """At most ``max_requests`` starts in any rolling ``window_s`` (NVD's published rule).

    Args:
        max_requests: requests allowed per window.
        window_s: window length in seconds.
        clock: monotonic seconds; sleep: awaitable sleep (both injectable for tests).
    """

    def __init__(
        self,
        max_requests: int,
        window_s: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.max_requests, self.window_s = max_requests, window_s
        self._clock, self._sleep = clock, sleep
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request fits in the window, then count it."""
        async with self._lock:
            while True:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.window_s:
                    self._starts.popleft()
                if len(self._starts) < self.max_requests:
                    self._starts.append(now)
                    return
                await self._sleep(self._starts[0] + self.window_s - now)


@dataclass
class NvdFetch:
    """What one fetch brought: the accepted advisories and what was set aside."""

    advisories: dict[str, Advisory] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # "CVE-…: reason", F-12
    skipped: int = 0  # records NVD marks Rejected (withdrawn CVEs)
    requests: int = 0


class NvdClient:
    """Pages through the NVD CVE API 2.0 within its published rate limits.

    Args:
        client: the feed HTTP client.
        api_key: NVD API key (sent as the ``apiKey`` header), or None.
        base_url: the CVE API address (a loopback simulator in tests).
        results_per_page: page size asked for (at most 2,000).
        limiter: request limiter; default from the published limits for keyed/keyless use.
        max_records: cap on records per fetch (F-12).
    """

    def __init__(
        self,
        client: FeedClient,
        *,
        api_key: str | None = None,
        base_url: str = NVD_URL,
        results_per_page: int = MAX_RESULTS_PER_PAGE,
        limiter: SlidingWindowLimiter | None = None,
        max_records: int = MAX_RECORDS,
    ) -> None:
        if not 1 <= results_per_page <= MAX_RESULTS_PER_PAGE:
            raise ValueError(f"results_per_page must be 1..2000, got {results_per_page}")
        self._client, self._api_key, self.base_url = client, api_key, base_url
        self.results_per_page, self.max_records = results_per_page, max_records
        count, window = RATE_WITH_KEY if api_key else RATE_NO_KEY
        self.limiter = limiter or SlidingWindowLimiter(count, window)

    async def fetch(
        self,
        queries: Sequence[NvdQuery],
        *,
        since: datetime | None,
        until: datetime,
        into: NvdFetch | None = None,
    ) -> NvdFetch:
        """Every CVE matching any query, modified in ``[since, until]`` (all if no since).

        Raises:
            KnowledgeSourceError: a request failed after retries, or a page is malformed
                or inconsistent; nothing fetched so far should then be stored.

        Returns:
            Accepted advisories by id (a later modification wins) and rejected records.
        """
        result = into or NvdFetch()
        windows = split_windows(since, until) if since else [None]
        for query in queries:
            for window in windows:
                await self._fetch_window(query, window, result)
        return result

    async def _fetch_window(
        self, query: NvdQuery, window: tuple[datetime, datetime] | None, into: NvdFetch
    ) -> None:
        params = query.params()
        if window:
            params["lastModStartDate"] = window[0].strftime(_NVD_STAMP)
            params["lastModEndDate"] = window[1].strftime(_NVD_STAMP)
        start, total = 0, None
        while total is None or start < total:
            page = await self._page(params, start)
            total = _check_page(page, start, total)
            items = page["vulnerabilities"]
            if not items and start < total:
                raise KnowledgeSourceError(
                    f"NVD: empty page at startIndex {start} of totalResults {total}"
                )
            start += len(items)
            _take(items, into, self.max_records)
        if start != total:
            raise KnowledgeSourceError(f"NVD: pages add up to {start} records, expected {total}")

    async def _page(self, params: Mapping[str, str], start: int) -> dict[str, Any]:
        await self.limiter.acquire()
        query = {**params, "startIndex": str(start), "resultsPerPage": str(self.results_per_page)}
        headers = {"apiKey": self._api_key} if self._api_key else None
        body = await self._client.get_json(self.base_url, params=query, headers=headers)
        if not isinstance(body, dict):
            raise KnowledgeSourceError("NVD: reply is not a JSON object")
        return body


def _check_page(page: Mapping[str, Any], start: int, total: int | None) -> int:
    """``totalResults`` of a page, after checking the page is what was asked for."""
    got_total, got_start = page.get("totalResults"), page.get("startIndex")
    items = page.get("vulnerabilities")
    if not isinstance(got_total, int) or got_total < 0 or not isinstance(items, list):
        raise KnowledgeSourceError("NVD: page lacks totalResults or vulnerabilities")
    if got_start != start:
        raise KnowledgeSourceError(f"NVD: asked for startIndex {start}, got {got_start!r}")
    if total is not None and got_total != total:
        raise KnowledgeSourceError(f"NVD: totalResults changed from {total} to {got_total}")
    if start + len(items) > got_total:
        raise KnowledgeSourceError(
            f"NVD: page holds records beyond totalResults {got_total} (start {start})"
        )
    return got_total


def _take(items: list[Any], into: NvdFetch, cap: int) -> None:
    """Map each record on its own: a malformed one is rejected and counted (F-12)."""
    for item in items:
        cve = item.get("cve") if isinstance(item, dict) else None
        ident = str(cve.get("id", "?"))[:40] if isinstance(cve, dict) else "?"
        if isinstance(cve, dict) and cve.get("vulnStatus") == "Rejected":
            into.skipped += 1
            continue
        try:
            advisory = advisory_from_nvd(cve)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            into.rejected.append(f"{clean_text(ident, 40)}: {clean_text(str(err), 200)}")
            continue
        into.advisories[advisory.id] = advisory
        if len(into.advisories) > cap:
            raise KnowledgeSourceError(f"NVD: more than {cap} records in one sync")


def split_windows(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """``[since, until]`` cut into consecutive windows of at most 120 days (NVD's limit).

    Raises:
        ValueError: ``since`` is after ``until`` or either is naive.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("sync dates must be timezone-aware")
    if since > until:
        raise ValueError(f"since {since.isoformat()} is after until {until.isoformat()}")
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    windows = []
    while since + MAX_WINDOW < until:
        windows.append((since, since + MAX_WINDOW))
        since += MAX_WINDOW
    windows.append((since, until))
    return windows


# --- mapping ---------------------------------------------------------------------------


def advisory_from_nvd(cve: object, *, retrieved: str = "") -> Advisory:
    """Map one ``vulnerabilities[].cve`` object (see the module docstring).

    Raises:
        ValueError: the record is malformed (no valid id, no English description,
            wrongly typed fields).

    Returns:
        The advisory, with provenance ``nvd`` and the record's NVD page.
    """
    if not isinstance(cve, dict):
        raise ValueError("record is not an object")
    ident = cve.get("id")
    if not isinstance(ident, str) or not _CVE_ID.fullmatch(ident):
        raise ValueError(f"invalid CVE id {str(ident)[:40]!r}")
    description = _english(cve.get("descriptions"))
    score, vector = _cvss(cve.get("metrics") or {})
    return Advisory(
        id=ident,
        title=_title(cve, description),
        description=description,
        affected=_affected(cve.get("configurations") or []),
        provenance=Provenance(SOURCE, f"https://nvd.nist.gov/vuln/detail/{ident}", retrieved),
        cvss_score=score,
        cvss_vector=vector,
        cwes=_cwes(cve.get("weaknesses") or []),
        kev=_kev(cve),
        references=_references(cve.get("references") or []),
        published=_text(cve.get("published", ""), LIMITS.max_name_chars),
        modified=_text(cve.get("lastModified", ""), LIMITS.max_name_chars),
    )


def _english(descriptions: object) -> str:
    for item in _list(descriptions, "descriptions"):
        if isinstance(item, dict) and item.get("lang") == "en":
            text = _text(item.get("value"), LIMITS.max_text_chars)
            if text:
                return text
    raise ValueError("no English description")


def _title(cve: Mapping[str, Any], description: str) -> str:
    name = cve.get("cisaVulnerabilityName")
    if isinstance(name, str) and name.strip():
        return _text(name, LIMITS.max_title_chars)
    return clean_text(description.split(". ", 1)[0], 120)


def _cvss(metrics: object) -> tuple[float | None, str | None]:
    """Base score and vector: v3.1 before v3.0, NVD's Primary before others."""
    if not isinstance(metrics, dict):
        raise ValueError("metrics is not an object")
    found = [
        (m.get("type") != "Primary", rank, m)
        for rank, key in enumerate(("cvssMetricV31", "cvssMetricV30"))
        for m in _list(metrics.get(key) or [], key)
        if isinstance(m, dict)
    ]
    for _secondary, _rank, metric in sorted(found, key=lambda f: (f[0], f[1])):
        data = metric.get("cvssData") or {}
        score, vector = data.get("baseScore"), data.get("vectorString")
        if isinstance(score, int | float) and 0 <= score <= 10 and isinstance(vector, str):
            return float(score), _name(vector, "cvss vector")
    return None, None


def _cwes(weaknesses: object) -> tuple[str, ...]:
    ordered = sorted(
        (w for w in _list(weaknesses, "weaknesses") if isinstance(w, dict)),
        key=lambda w: w.get("type") != "Primary",
    )
    found = (
        d.get("value", "")
        for w in ordered
        for d in _list(w.get("description") or [], "weakness")
        if isinstance(d, dict)
    )
    return tuple(dict.fromkeys(v for v in found if isinstance(v, str) and _CWE_ID.fullmatch(v)))


def _references(refs: object) -> tuple[str, ...]:
    urls = (r.get("url") for r in _list(refs, "references") if isinstance(r, dict))
    ok = (
        u
        for u in urls
        if isinstance(u, str) and _URL.fullmatch(u) and len(u) <= LIMITS.max_url_chars
    )
    return tuple(dict.fromkeys(ok))[: LIMITS.max_items]  # extra links are dropped, not fatal


def _kev(cve: Mapping[str, Any]) -> KevEntry | None:
    added = cve.get("cisaExploitAdd")
    if not isinstance(added, str) or not added:
        return None
    return KevEntry(
        date_added=_name(added, "cisaExploitAdd"),
        due_date=_text(cve.get("cisaActionDue", ""), LIMITS.max_name_chars),
        required_action=_text(cve.get("cisaRequiredAction", ""), LIMITS.max_text_chars),
    )


# --- configurations -> affected products -----------------------------------------------


@dataclass(frozen=True)
class Cpe:
    """The parts of a CPE 2.3 formatted string that matter here (escapes removed)."""

    part: str
    vendor: str
    product: str
    version: str


def parse_cpe(criteria: str) -> Cpe:
    """Split ``cpe:2.3:o:hikvision:ds-2cd2032-i_firmware:-:*:…`` into its parts.

    Raises:
        ValueError: not a CPE 2.3 formatted string.
    """
    parts = re.split(r"(?<!\\):", criteria)
    if len(parts) != 13 or parts[:2] != ["cpe", "2.3"] or parts[2] not in ("a", "o", "h"):
        raise ValueError(f"not a CPE 2.3 string: {clean_text(criteria, 80)!r}")
    vendor, product, version = (re.sub(r"\\(.)", r"\1", p) for p in parts[3:6])
    return Cpe(parts[2], vendor, product, version)


def vendor_of_cpe(cpe_vendor: str) -> str:
    """The driver-facing vendor name of a CPE vendor (see the module docstring)."""
    spelled = CPE_VENDORS.get(cpe_vendor.lower(), cpe_vendor.replace("_", " "))
    return normalize_vendor(spelled)


def _affected(configurations: object) -> tuple[AffectedProduct, ...]:
    """Vulnerable CPE matches grouped as (vendor, ranges) -> models."""
    groups: dict[tuple[str, tuple[VersionRange, ...]], list[str]] = {}
    for vendor, model, ranges in _vulnerable_matches(configurations):
        models = groups.setdefault((vendor, ranges), [])
        if model not in models:
            models.append(model)
    if len(groups) > LIMITS.max_items or any(len(m) > LIMITS.max_items for m in groups.values()):
        raise ValueError(f"more than {LIMITS.max_items} affected products or models")
    return tuple(
        AffectedProduct(vendor=vendor, models=tuple(models), ranges=ranges)
        for (vendor, ranges), models in groups.items()
    )


def _vulnerable_matches(
    configurations: object,
) -> Iterator[tuple[str, str, tuple[VersionRange, ...]]]:
    count = 0
    for config in _list(configurations, "configurations"):
        for node in _list(_get(config, "nodes"), "nodes"):
            for match in _list(_get(node, "cpeMatch"), "cpeMatch"):
                if not isinstance(match, dict) or match.get("vulnerable") is not True:
                    continue
                count += 1
                if count > MAX_CPE_MATCHES:
                    raise ValueError(f"more than {MAX_CPE_MATCHES} CPE matches")
                yield _match(match)


def _match(match: Mapping[str, Any]) -> tuple[str, str, tuple[VersionRange, ...]]:
    cpe = parse_cpe(_name(match.get("criteria"), "criteria", 1000))
    model = _name(cpe.product.removesuffix("_firmware").upper(), "product")
    return vendor_of_cpe(_name(cpe.vendor, "vendor")), model, _ranges(match, cpe.version)


def _ranges(match: Mapping[str, Any], version: str) -> tuple[VersionRange, ...]:
    """``-`` (not applicable): versions unknown, ``()``; ``*`` without bounds: every
    version, :data:`ALL_VERSIONS`; a named version: exactly that one."""
    if version == "-":
        return ()
    if version not in ("*", ""):
        exact = _name(version, "version")
        return (VersionRange(introduced=exact, last_affected=exact),)
    bounds = {
        key: _name(match[key], key)
        for key in ("versionStartIncluding", "versionEndExcluding", "versionEndIncluding")
        if match.get(key) not in (None, "")
    }
    if "versionEndExcluding" in bounds and "versionEndIncluding" in bounds:
        raise ValueError("a CPE match has both versionEndExcluding and versionEndIncluding")
    if not bounds:
        return ALL_VERSIONS
    return (
        VersionRange(
            introduced=bounds.get("versionStartIncluding"),
            fixed=bounds.get("versionEndExcluding"),
            last_affected=bounds.get("versionEndIncluding"),
        ),
    )


# --- helpers ---------------------------------------------------------------------------


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list")
    return value


def _get(value: object, key: str) -> object:
    return value.get(key, []) if isinstance(value, dict) else []


def _text(value: object, cap: int) -> str:
    """Free text made safe to keep: escapes and control characters removed, cut at cap."""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return clean_text(value, cap)


def _name(value: object, what: str, cap: int = LIMITS.max_name_chars) -> str:
    """An identifier, vendor, model or version: cleaned, and refused (not cut) if too long,
    because a cut identifier would be a different one."""
    text = _text(value, cap + 1)
    if not text or len(text) > cap:
        raise ValueError(f"{what} is empty or longer than {cap} characters")
    return text


def utc_now() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)
