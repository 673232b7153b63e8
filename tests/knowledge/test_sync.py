"""The sync: fetch everything, validate, one atomic replace per source; failures change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campatch.knowledge.feeds_http import FeedClient, FeedLimits
from campatch.knowledge.interface import KnowledgeLimits
from campatch.knowledge.nvd import NvdQuery, SlidingWindowLimiter
from campatch.knowledge.store import KnowledgeStore
from campatch.knowledge.sync import SyncReport, sync
from campatch.model import Advisory
from feedsim import FeedSim

NOW = datetime(2026, 6, 1, tzinfo=UTC)
FILTERS = [
    NvdQuery(virtual_match="cpe:2.3:o:hikvision:*:*:*:*:*:*:*:*:*"),
    NvdQuery(virtual_match="cpe:2.3:o:dahuasecurity:*:*:*:*:*:*:*:*:*"),
]


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def sim() -> AsyncIterator[FeedSim]:
    async with FeedSim() as s:
        yield s


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    return KnowledgeStore(tmp_path / "knowledge", with_bundle=False)


def snapshot(store: KnowledgeStore) -> dict[str, bytes]:
    """Every stored record file's bytes (status files hold errors, not knowledge)."""
    return {
        p.name: p.read_bytes()
        for p in sorted(store.root.glob("*.json"))
        if ".status." not in p.name
    }


def advisories(store: KnowledgeStore, source: str = "nvd") -> dict[str, Advisory]:
    return {a.id: a for a in store.read_source(source).advisories}


def meta(store: KnowledgeStore, source: str = "nvd") -> Mapping[str, str]:
    return store.read_source(source).status.meta


async def run(
    store: KnowledgeStore, sim: FeedSim, *, now: datetime = NOW, **kw: object
) -> SyncReport:
    t = FakeTime()
    limits = FeedLimits(max_attempts=3, max_body_bytes=2_000_000)
    async with FeedClient(limits, clock=t.clock, sleep=t.sleep) as client:
        return await sync(
            store,
            nvd_filters=kw.pop("filters", FILTERS),  # type: ignore[arg-type]
            client=client,
            nvd_url=sim.nvd_url,
            kev_url=sim.kev_url,
            now=lambda: now,
            limiter=SlidingWindowLimiter(5, 30.0, clock=t.clock, sleep=t.sleep),
            **kw,  # type: ignore[arg-type]
        )


async def test_full_sync_stores_both_sources(store: KnowledgeStore, sim: FeedSim) -> None:
    report = await run(store, sim)
    assert report.ok
    assert report.of("cisa-kev").stored == 19
    nvd = advisories(store)
    assert set(nvd) == {
        "CVE-2017-7921", "CVE-2017-7923", "CVE-2021-36260",
        "CVE-2017-7927", "CVE-2021-33044", "CVE-2021-33045", "CVE-2022-30563",
    }  # fmt: skip
    assert nvd["CVE-2021-36260"].kev is not None
    assert meta(store)["synced_until"] == NOW.isoformat()
    assert store.read_source("nvd").status.last_error == ""
    assert meta(store, "cisa-kev")["catalog_version"] == "2025.08.25"
    assert report.of("nvd").since == ""  # first sync is full
    assert all("lastModStartDate" not in r.query for r in sim.nvd_requests())


async def test_incremental_sync_asks_from_the_last_success(
    store: KnowledgeStore, sim: FeedSim
) -> None:
    """1. a full sync at NOW; 2. NVD modifies one record later; 3. the next sync asks
    only for records modified since NOW and merges the change over the stored set."""
    await run(store, sim)
    first = advisories(store)
    changed = next(r["cve"] for r in sim.records if r["cve"]["id"] == "CVE-2021-36260")
    changed["lastModified"] = "2026-06-15T08:00:00.000"
    changed["descriptions"][0]["value"] = "Updated by NVD."
    sim.requests.clear()
    report = await run(store, sim, now=NOW + timedelta(days=30))
    assert {r.query["lastModStartDate"] for r in sim.nvd_requests()} == {
        "2026-06-01T00:00:00.000+00:00"
    }
    assert (report.of("nvd").since, report.of("nvd").fetched) == (NOW.isoformat(), 1)
    after = advisories(store)
    assert set(after) == set(first)
    assert after["CVE-2021-36260"].description == "Updated by NVD."
    assert after["CVE-2017-7921"] == first["CVE-2017-7921"]


async def test_changed_filters_mean_a_full_sync(store: KnowledgeStore, sim: FeedSim) -> None:
    await run(store, sim)
    sim.requests.clear()
    report = await run(store, sim, filters=[NvdQuery(keyword="VDOO")])
    assert report.of("nvd").since == ""
    ids = set(advisories(store))
    assert {"CVE-2018-10660", "CVE-2018-10661", "CVE-2018-10662"} <= ids
    assert "CVE-2021-36260" not in ids  # not merged over the old filter's records


async def test_explicit_since_and_api_key(store: KnowledgeStore, sim: FeedSim) -> None:
    await run(store, sim, since=NOW - timedelta(days=10), api_key="secret-key")
    assert all(r.header("apiKey") == "secret-key" for r in sim.nvd_requests())
    assert all(r.header("apiKey") == "" for r in sim.requests if r.path.startswith("/feeds"))


@pytest.mark.safety("F-10")
@pytest.mark.parametrize("fault", ["truncate", "endless", "garbage", "wrong_total", "fail_503"])
async def test_a_failed_sync_leaves_the_store_byte_identical(
    store: KnowledgeStore, sim: FeedSim, fault: str
) -> None:
    await run(store, sim, now=datetime(2025, 3, 1, tzinfo=UTC))
    before = snapshot(store)
    setattr(sim, fault, 100 if fault == "fail_503" else True)
    report = await run(store, sim)
    assert not report.ok
    assert report.of("nvd").error
    assert "\n" not in report.of("nvd").error
    assert snapshot(store) == before
    assert store.read_source("nvd").status.last_error == report.of("nvd").error
    setattr(sim, fault, 0 if fault == "fail_503" else False)
    assert (await run(store, sim)).ok  # recoverable after the refusal
    assert meta(store)["synced_until"] == NOW.isoformat()


@pytest.mark.safety("F-10")
async def test_a_failure_on_a_later_page_stores_nothing(
    store: KnowledgeStore, sim: FeedSim
) -> None:
    before = snapshot(store)
    sim.page_size = 2
    sim.records[5]["cve"]["id"] = "CVE-2017-7921"  # harmless duplicate
    original = sim._nvd

    def failing_after_first(query: dict[str, str]):  # type: ignore[no-untyped-def]
        if query.get("startIndex") != "0":
            sim.truncate = True
        return original(query)

    sim._nvd = failing_after_first  # type: ignore[method-assign]
    report = await run(store, sim)
    assert not report.of("nvd").ok
    assert report.of("cisa-kev").ok
    assert not (store.root / "nvd.json").exists()
    assert (
        "startIndex 2" in store.read_source("nvd").status.last_error
        or store.read_source("nvd").status.last_error
    )
    assert before == {}


@pytest.mark.safety("F-12")
async def test_malformed_records_are_counted_and_the_rest_stored(
    store: KnowledgeStore, sim: FeedSim
) -> None:
    sim.malformed = {"CVE-2021-33044"}
    report = await run(store, sim)
    outcome = report.of("nvd")
    assert outcome.ok
    assert outcome.stored == 6
    assert [r.split(":")[0] for r in outcome.rejected] == ["CVE-2021-33044"]
    assert meta(store)["rejected"] == "1"


async def test_kev_failure_does_not_block_nvd(store: KnowledgeStore, sim: FeedSim) -> None:
    sim.catalog = {"not": "a catalog"}
    report = await run(store, sim)
    assert report.of("nvd").ok
    assert not report.of("cisa-kev").ok
    assert "KEV" in store.read_source("cisa-kev").status.last_error


@pytest.mark.safety("F-12")
async def test_a_store_refusal_is_reported_and_changes_nothing(
    tmp_path: Path, sim: FeedSim
) -> None:
    store = KnowledgeStore(tmp_path / "k", with_bundle=False, limits=KnowledgeLimits(max_records=5))
    report = await run(store, sim)
    assert "more than the cap of 5" in report.of("nvd").error
    assert not (store.root / "nvd.json").exists()
    assert "more than the cap" in store.read_source("nvd").status.last_error
