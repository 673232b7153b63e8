"""Sync the knowledge store from the NVD CVE API 2.0 and the CISA KEV catalog.

Rules, in the order they apply:

1. **Fetch everything first.** The KEV catalog and every NVD page of every filter and
   every 120-day window are downloaded and checked before anything is written.
2. **Validate as a whole, reject single records on their own.** A page that is
   truncated, not JSON, or whose ``totalResults``/``startIndex`` do not add up fails its
   source; a malformed CVE or KEV entry is set aside, counted and named in the report
   (SAFETY F-12), and the rest still counts.
3. **One atomic replace per source.** ``store.replace_source("nvd", ...)`` and
   ``store.replace_source("cisa-kev", ...)`` are all-or-nothing; a source whose fetch
   failed is not written at all, so its stored knowledge stays byte-identical
   (SAFETY F-10). Its error is recorded with ``store.record_failure`` only.
4. **Incremental by last-modified date.** A successful NVD sync records
   ``synced_until`` (the end of the window it asked for) and the filters it used. The
   next sync asks only for CVEs modified since then and merges them over the stored
   ones (a CVE modified again replaces its older record). If the filters changed, or
   nothing was recorded, the sync is full. An explicit ``since`` overrides the record.
5. **KEV status travels.** The catalog's status is copied onto NVD advisories that do
   not carry NVD's own ``cisaExploitAdd`` copy (the store's merge also keeps a KEV entry
   when a record without one replaces it).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from campatch.errors import CampatchError, KnowledgeSourceError
from campatch.knowledge import kev, nvd
from campatch.knowledge.feeds_http import FeedClient
from campatch.knowledge.interface import clean_text
from campatch.knowledge.store import SourceRecords
from campatch.model import Advisory, KevEntry

__all__ = ["SourceOutcome", "SyncReport", "SyncStore", "sync"]

logger = logging.getLogger(__name__)

#: Source meta keys written by the sync.
META_SYNCED_UNTIL = "synced_until"
META_FILTERS = "filters"
META_REJECTED = "rejected"
META_VERSION = "catalog_version"


class SyncStore(Protocol):
    """**Protocol**: the part of :class:`~campatch.knowledge.store.KnowledgeStore` the sync uses."""

    def replace_source(
        self,
        source: str,
        *,
        advisories: Iterable[Advisory] = (),
        meta: Mapping[str, str] | None = None,
    ) -> object:
        """Replace everything ``source`` holds, atomically (all or nothing)."""

    def record_failure(self, source: str, message: str) -> None:
        """Note a failed refresh of ``source`` without touching its records."""

    def read_source(self, source: str) -> SourceRecords:
        """``source``'s records and status (meta), with records that did not validate."""


@dataclass(frozen=True)
class SourceOutcome:
    """What a sync did to one source.

    Args:
        source: ``"nvd"`` or ``"cisa-kev"``.
        error: one line when the source failed (its stored data is then unchanged).
        fetched: records accepted from the feed in this run.
        stored: records the source holds after the run.
        rejected: ``"<id>: <reason>"`` per malformed record set aside.
        since: start of the incremental window (ISO), ``""`` for a full sync.
    """

    source: str
    error: str = ""
    fetched: int = 0
    stored: int = 0
    rejected: tuple[str, ...] = ()
    since: str = ""

    @property
    def ok(self) -> bool:
        """True when the source was refreshed."""
        return not self.error


@dataclass(frozen=True)
class SyncReport:
    """The outcome per source; ``ok`` only if every source was refreshed."""

    outcomes: tuple[SourceOutcome, ...]

    @property
    def ok(self) -> bool:
        """True when every source was refreshed."""
        return all(o.ok for o in self.outcomes)

    def of(self, source: str) -> SourceOutcome:
        """The outcome of ``source``."""
        return next(o for o in self.outcomes if o.source == source)


async def sync(
    store: SyncStore,
    *,
    nvd_filters: Sequence[nvd.NvdQuery],
    since: datetime | None = None,
    api_key: str | None = None,
    client: FeedClient | None = None,
    nvd_url: str = nvd.NVD_URL,
    kev_url: str = kev.KEV_URL,
    now: Callable[[], datetime] = nvd.utc_now,
    limiter: nvd.SlidingWindowLimiter | None = None,
    results_per_page: int = nvd.MAX_RESULTS_PER_PAGE,
) -> SyncReport:
    """Refresh the ``cisa-kev`` and ``nvd`` sources (see the module docstring).

    Args:
        store: the knowledge store.
        nvd_filters: NVD queries (CPE names, match strings, keywords); none = skip NVD.
        since: fetch CVEs modified since then (timezone-aware); default: the last success.
        api_key: NVD API key (raises the rate limit; sent as a header only).
        client: the feed HTTP client (default: a new one with default limits).
        nvd_url, kev_url: feed addresses (loopback simulators in tests).
        now: the current time (UTC, aware).
        limiter: NVD request limiter (default: the published limits).
        results_per_page: NVD page size.

    Returns:
        One outcome per source. Failures are reported here, never raised.
    """
    own = client is None
    feed = client or FeedClient()
    try:
        catalog, kev_outcome = await _fetch_kev(feed, kev_url)
        nvd_client = nvd.NvdClient(
            feed,
            api_key=api_key,
            base_url=nvd_url,
            results_per_page=results_per_page,
            limiter=limiter,
        )
        fetched = await _fetch_nvd(store, nvd_client, nvd_filters, since, now())
    finally:
        if own:
            await feed.__aexit__(None, None, None)
    outcomes = [_store_kev(store, catalog, kev_outcome, kev_url)]
    if nvd_filters:
        outcomes.append(_store_nvd(store, fetched, catalog))
    return SyncReport(tuple(outcomes))


# --- KEV -------------------------------------------------------------------------------


async def _fetch_kev(feed: FeedClient, url: str) -> tuple[kev.KevCatalog | None, SourceOutcome]:
    try:
        catalog = await kev.fetch_catalog(feed, url)
    except KnowledgeSourceError as err:
        return None, SourceOutcome(kev.SOURCE, error=str(err))
    return catalog, SourceOutcome(
        kev.SOURCE, fetched=len(catalog.advisories), rejected=catalog.rejected
    )


def _store_kev(
    store: SyncStore, catalog: kev.KevCatalog | None, outcome: SourceOutcome, url: str
) -> SourceOutcome:
    if catalog is None:
        return _failed(store, outcome)
    meta = {
        META_VERSION: catalog.version,
        "date_released": catalog.released,
        META_REJECTED: str(len(catalog.rejected)),
        "url": url,
    }
    return _replace(store, outcome, catalog.advisories, meta)


# --- NVD -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NvdFetched:
    """An NVD fetch and the context needed to store it."""

    result: nvd.NvdFetch | None
    error: str
    since: datetime | None
    until: datetime
    filters: str


async def _fetch_nvd(
    store: SyncStore,
    client: nvd.NvdClient,
    filters: Sequence[nvd.NvdQuery],
    since: datetime | None,
    until: datetime,
) -> _NvdFetched:
    key = _filters_key(filters)
    start = since or _recorded_since(store, key)
    if not filters:
        return _NvdFetched(None, "", start, until, key)
    try:
        result = await client.fetch(filters, since=start, until=until)
    except (KnowledgeSourceError, ValueError) as err:
        return _NvdFetched(None, clean_text(str(err), 300), start, until, key)
    return _NvdFetched(result, "", start, until, key)


def _recorded_since(store: SyncStore, filters: str) -> datetime | None:
    """Where the last successful sync with the same filters stopped, if it did.

    A stored set with damaged records is not built on: the sync is then full."""
    try:
        stored = store.read_source(nvd.SOURCE)
    except CampatchError:
        return None
    meta = stored.status.meta
    if stored.problems or meta.get(META_FILTERS) != filters:
        return None
    try:
        when = datetime.fromisoformat(meta.get(META_SYNCED_UNTIL, ""))
    except ValueError:
        return None
    return when if when.tzinfo else None


def _store_nvd(
    store: SyncStore, fetched: _NvdFetched, catalog: kev.KevCatalog | None
) -> SourceOutcome:
    since = fetched.since.isoformat() if fetched.since else ""
    if fetched.result is None:
        return _failed(store, SourceOutcome(nvd.SOURCE, error=fetched.error, since=since))
    try:
        merged = _merged(store, fetched.since, fetched.result.advisories)
    except CampatchError as err:
        return _failed(store, SourceOutcome(nvd.SOURCE, error=str(err), since=since))
    kev_entries = catalog.entries if catalog else {}
    advisories = [_with_kev(a, kev_entries) for a in merged.values()]
    outcome = SourceOutcome(
        nvd.SOURCE,
        fetched=len(fetched.result.advisories),
        rejected=tuple(fetched.result.rejected),
        since=since,
    )
    meta = {
        META_SYNCED_UNTIL: fetched.until.isoformat(),
        META_FILTERS: fetched.filters,
        META_REJECTED: str(len(fetched.result.rejected)),
    }
    return _replace(store, outcome, advisories, meta)


def _merged(
    store: SyncStore, since: datetime | None, fresh: Mapping[str, Advisory]
) -> dict[str, Advisory]:
    """The stored advisories with this run's over them (incremental), or this run's."""
    if since is None:
        return dict(fresh)
    stored = {a.id: a for a in store.read_source(nvd.SOURCE).advisories}
    return stored | dict(fresh)


def _with_kev(advisory: Advisory, entries: Mapping[str, KevEntry]) -> Advisory:
    entry = entries.get(advisory.id)
    if advisory.kev is not None or entry is None:
        return advisory
    return dataclasses.replace(advisory, kev=entry)


def _filters_key(filters: Sequence[nvd.NvdQuery]) -> str:
    """A stable text form of the filters (a change means a full sync)."""
    parts = sorted("&".join(f"{k}={v}" for k, v in q.params().items()) for q in filters)
    return " | ".join(parts)


# --- writing ---------------------------------------------------------------------------


def _replace(
    store: SyncStore,
    outcome: SourceOutcome,
    advisories: Sequence[Advisory],
    meta: Mapping[str, str],
) -> SourceOutcome:
    """One atomic replace; a store failure turns the outcome into an error."""
    try:
        store.replace_source(outcome.source, advisories=advisories, meta=meta)
    except CampatchError as err:
        return _failed(store, dataclasses.replace(outcome, error=str(err)))
    logger.info("%s: stored %d advisories", outcome.source, len(advisories))
    return dataclasses.replace(outcome, stored=len(advisories))


def _failed(store: SyncStore, outcome: SourceOutcome) -> SourceOutcome:
    """Record the error in the source's meta; its records stay as they were."""
    logger.warning("%s: sync failed: %s", outcome.source, outcome.error)
    try:
        store.record_failure(outcome.source, outcome.error)
    except CampatchError as err:
        logger.warning("%s: could not record the error: %s", outcome.source, err)
    return outcome
