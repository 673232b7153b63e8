"""CISA KEV catalog and the feed HTTP client: mapping, retries, caps, refusals."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator

import pytest

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.feeds_http import FeedClient, FeedLimits
from campatch.knowledge.kev import fetch_catalog, parse_catalog
from feedsim import FeedSim, load_kev_catalog


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
async def sim() -> AsyncIterator[FeedSim]:
    async with FeedSim() as s:
        yield s


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def feed(t: FakeTime, **limits: float) -> FeedClient:
    return FeedClient(FeedLimits(**limits), clock=t.clock, sleep=t.sleep, rng=lambda: 0.5)  # type: ignore[arg-type]


def test_real_catalog_maps_every_entry() -> None:
    catalog = parse_catalog(load_kev_catalog())
    assert (catalog.version, catalog.released) == ("2025.08.25", "2025-08-25T17:04:19.9796Z")
    assert len(catalog.entries) == 19
    assert not catalog.rejected
    entry = catalog.entries["CVE-2021-36260"]
    assert (entry.date_added, entry.due_date, entry.ransomware) == (
        "2022-01-10",
        "2022-01-24",
        "Unknown",
    )
    advisory = next(a for a in catalog.advisories if a.id == "CVE-2019-20085")
    assert advisory.provenance.source == "cisa-kev"
    assert advisory.affected[0].vendor == "TVT"
    assert advisory.affected[0].models == ("NVMS-1000",)
    assert advisory.affected[0].ranges == ()  # KEV names no versions: "possibly affected"
    assert advisory.references == ("https://nvd.nist.gov/vuln/detail/CVE-2019-20085",)
    amcrest = next(a for a in catalog.advisories if a.id == "CVE-2020-5735")
    assert amcrest.affected[0].vendor == "Dahua"


@pytest.mark.safety("F-12")
def test_a_malformed_entry_is_rejected_alone() -> None:
    doc = load_kev_catalog()
    doc["vulnerabilities"][0]["dateAdded"] = "yesterday"
    doc["vulnerabilities"][1] = "\x1b[31mnot an entry"
    catalog = parse_catalog(doc)
    assert len(catalog.entries) == 17
    assert len(catalog.rejected) == 2
    assert catalog.rejected[0].startswith("CVE-2019-20085: ")


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(count=d["count"] + 1),
        lambda d: d.pop("catalogVersion"),
        lambda d: d.update(vulnerabilities={"not": "a list"}),
    ],
)
def test_an_unsound_catalog_is_refused(change: object) -> None:
    doc = copy.deepcopy(load_kev_catalog())
    change(doc)  # type: ignore[operator]
    with pytest.raises(KnowledgeSourceError, match="KEV"):
        parse_catalog(doc)


async def test_fetch_from_the_simulator(sim: FeedSim, fake_time: FakeTime) -> None:
    async with feed(fake_time) as client:
        catalog = await fetch_catalog(client, sim.kev_url)
    assert len(catalog.entries) == 19
    assert sim.requests[0].header("User-Agent").startswith("campatch/")


async def test_503_then_success_backs_off_with_jitter(sim: FeedSim, fake_time: FakeTime) -> None:
    sim.fail_503 = 2
    async with feed(fake_time, backoff_base_s=2.0) as client:
        catalog = await fetch_catalog(client, sim.kev_url)
    assert len(catalog.entries) == 19
    assert fake_time.sleeps == [1.5, 3.0]  # 2 s then 4 s steps, jitter factor 0.75
    assert len(sim.requests) == 3


async def test_429_honours_retry_after(sim: FeedSim, fake_time: FakeTime) -> None:
    sim.refuse_429, sim.retry_after = 2, "7"
    async with feed(fake_time) as client:
        await fetch_catalog(client, sim.kev_url)
    assert fake_time.sleeps == [7.0, 7.0]


async def test_retry_after_beyond_the_ceiling_fails_at_once(
    sim: FeedSim, fake_time: FakeTime
) -> None:
    sim.refuse_429, sim.retry_after = 1, "3600"
    async with feed(fake_time) as client:
        with pytest.raises(KnowledgeSourceError, match="retry after 3600 s"):
            await fetch_catalog(client, sim.kev_url)
    assert fake_time.sleeps == []


async def test_attempts_are_capped(sim: FeedSim, fake_time: FakeTime) -> None:
    sim.fail_503 = 100
    async with feed(fake_time, max_attempts=3) as client:
        with pytest.raises(KnowledgeSourceError, match=r"HTTP 503 \(gave up after 3 attempts"):
            await fetch_catalog(client, sim.kev_url)
    assert len(sim.requests) == 3


async def test_total_deadline_stops_retrying(sim: FeedSim, fake_time: FakeTime) -> None:
    sim.refuse_429, sim.retry_after = 100, "60"
    async with feed(fake_time, total_deadline_s=100.0) as client:
        with pytest.raises(KnowledgeSourceError, match="no time left"):
            await fetch_catalog(client, sim.kev_url)
    assert fake_time.sleeps == [60.0]


async def test_truncated_body_is_an_error(sim: FeedSim, fake_time: FakeTime) -> None:
    sim.truncate = True
    async with feed(fake_time, max_attempts=2) as client:
        with pytest.raises(KnowledgeSourceError, match=r"known_exploited_vulnerabilities\.json"):
            await fetch_catalog(client, sim.kev_url)
    assert len(sim.requests) == 2  # a cut connection is worth one more try


@pytest.mark.safety("F-05")
async def test_endless_body_stops_at_the_cap(sim: FeedSim, fake_time: FakeTime) -> None:
    sim.endless = True
    async with feed(fake_time, max_body_bytes=1_000_000) as client:
        with pytest.raises(KnowledgeSourceError, match="exceeds 1000000 bytes"):
            await fetch_catalog(client, sim.kev_url)
    assert len(sim.requests) == 1  # a cap is not retried


async def test_non_json_and_refusing_statuses(sim: FeedSim, fake_time: FakeTime) -> None:
    sim.garbage = True
    async with feed(fake_time) as client:
        with pytest.raises(KnowledgeSourceError, match="not valid JSON"):
            await fetch_catalog(client, sim.kev_url)
        with pytest.raises(KnowledgeSourceError, match="HTTP 404, expected 200"):
            await client.get_json(sim.base + "/nowhere")


async def test_connection_refused_is_one_line(fake_time: FakeTime) -> None:
    async with feed(fake_time, max_attempts=2) as client:
        with pytest.raises(KnowledgeSourceError) as err:
            await client.get_json("http://127.0.0.1:9/feed.json")
    assert "\n" not in str(err.value)
    assert "gave up after 2 attempts" in str(err.value)


async def test_tls_is_verified_for_feeds() -> None:
    """Unlike the device client, the feed client checks certificates."""
    async with FeedClient() as client:
        pool = client._client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.verify_mode.name == "CERT_REQUIRED"
        assert pool._ssl_context.check_hostname


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        FeedLimits(max_attempts=0)
