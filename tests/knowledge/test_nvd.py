"""NVD CVE API 2.0 client: mapping of real records, windows, rate limits, pagination."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.feeds_http import FeedClient
from campatch.knowledge.interface import ALL_VERSIONS, decode_advisory, encode
from campatch.knowledge.nvd import (
    MAX_WINDOW,
    NvdClient,
    NvdQuery,
    SlidingWindowLimiter,
    advisory_from_nvd,
    parse_cpe,
    split_windows,
)
from campatch.model import VersionRange
from feedsim import FeedSim, load_nvd_records

NOW = datetime(2026, 6, 1, tzinfo=UTC)
HIKVISION = NvdQuery(virtual_match="cpe:2.3:o:hikvision:*:*:*:*:*:*:*:*:*")


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
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def sim() -> AsyncIterator[FeedSim]:
    async with FeedSim() as s:
        yield s


def record(cve_id: str) -> dict[str, Any]:
    return next(r["cve"] for r in load_nvd_records() if r["cve"]["id"] == cve_id)


def nvd_client(feed: FeedClient, sim: FeedSim, t: FakeTime, **kw: Any) -> NvdClient:
    limiter = SlidingWindowLimiter(
        50 if kw.get("api_key") else 5, 30.0, clock=t.clock, sleep=t.sleep
    )
    return NvdClient(feed, base_url=sim.nvd_url, limiter=limiter, **kw)


def fast_feed(t: FakeTime) -> FeedClient:
    return FeedClient(clock=t.clock, sleep=t.sleep)


# --- mapping of the real records --------------------------------------------------------


def test_hikvision_range_maps_to_introduced_and_last_affected() -> None:
    advisory = advisory_from_nvd(record("CVE-2017-7921"))
    product = next(p for p in advisory.affected if "DS-2CD2XX2F-I" in p.models)
    assert product.vendor == "Hikvision"
    assert product.ranges == (
        VersionRange(introduced="V5.2.0 build 140721", last_affected="V5.4.0 build 160530"),
    )
    assert advisory.cvss_score == 10.0  # NVD's primary v3.0 score before CISA-ADP's v3.1
    assert advisory.cvss_vector == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    assert advisory.kev is not None
    assert advisory.kev.date_added == "2026-03-05"
    assert advisory.provenance.source == "nvd"
    assert advisory.provenance.url == "https://nvd.nist.gov/vuln/detail/CVE-2017-7921"


def test_hikvision_version_end_excluding_is_the_fixed_bound() -> None:
    cve = record("CVE-2021-36260")
    criteria = "cpe:2.3:o:hikvision:ds-2cd2026g2-iu\\/sl_firmware:*:*:*:*:*:*:*:*"
    cve["configurations"] = [
        {
            "nodes": [
                {
                    "cpeMatch": [
                        {"vulnerable": True, "criteria": criteria, "versionEndExcluding": "V5.7.3"}
                    ]
                }
            ]
        }
    ]
    (product,) = advisory_from_nvd(cve).affected
    assert product.models == ("DS-2CD2026G2-IU/SL",)
    assert product.ranges == (VersionRange(fixed="V5.7.3"),)


def test_real_nvd_shape_na_firmware_means_versions_unknown() -> None:
    """NVD's CVE-2021-36260 configuration: an ``o:…_firmware:-`` CPE AND its hardware."""
    cve = record("CVE-2021-36260")
    cve["configurations"] = [
        {
            "operator": "AND",
            "nodes": [
                {
                    "operator": "OR",
                    "negate": False,
                    "cpeMatch": [
                        {
                            "vulnerable": True,
                            "criteria": "cpe:2.3:o:hikvision:ds-2cd2026g2-iu\\/sl_firmware:-:*:*:*:*:*:*:*",
                            "matchCriteriaId": "149334E5-6B50-437F-A949-0FADC96BFC6B",
                        }
                    ],
                },
                {
                    "operator": "OR",
                    "negate": False,
                    "cpeMatch": [
                        {
                            "vulnerable": False,
                            "criteria": "cpe:2.3:h:hikvision:ds-2cd2026g2-iu\\/sl:-:*:*:*:*:*:*:*",
                            "matchCriteriaId": "F2E7A201-7F8E-4CE5-88EE-1A992C1E30B8",
                        }
                    ],
                },
            ],
        }
    ]
    (product,) = advisory_from_nvd(cve).affected
    assert (product.vendor, product.models, product.ranges) == (
        "Hikvision",
        ("DS-2CD2026G2-IU/SL",),
        (),
    )


def test_dahua_fixed_builds_per_model() -> None:
    advisory = advisory_from_nvd(record("CVE-2021-33044"))
    product = next(p for p in advisory.affected if "IPC-HX3XXX" in p.models)
    assert (product.vendor, product.ranges) == (
        "Dahua",
        (VersionRange(fixed="2.800.0000000.29.R.210630"),),
    )
    assert advisory.cwes == ("CWE-287",)


def test_amcrest_is_dahua_firmware_with_its_model_kept() -> None:
    (product,) = advisory_from_nvd(record("CVE-2020-5735")).affected
    assert (product.vendor, product.models) == ("Dahua", ("IP2M-841",))


def test_exact_and_unbounded_versions() -> None:
    cve = record("CVE-2016-11021")
    cve["configurations"] = [
        {"nodes": [{"cpeMatch": [
            {"vulnerable": True, "criteria": "cpe:2.3:o:dlink:dcs-930l_firmware:2.10:*:*:*:*:*:*:*"},
            {"vulnerable": True, "criteria": "cpe:2.3:o:dlink:dcs-932l_firmware:*:*:*:*:*:*:*:*"},
        ]}]}
    ]  # fmt: skip
    exact, every = advisory_from_nvd(cve).affected
    assert exact.ranges == (VersionRange(introduced="2.10", last_affected="2.10"),)
    assert (every.models, every.ranges) == (("DCS-932L",), ALL_VERSIONS)


def test_every_mapped_record_survives_the_store_codec() -> None:
    for item in load_nvd_records():
        advisory = advisory_from_nvd(item["cve"])
        assert decode_advisory(encode(advisory)) == advisory


@pytest.mark.safety("F-12")
def test_hostile_text_is_cleaned_and_malformed_records_rejected() -> None:
    cve = record("CVE-2019-20085")
    cve["descriptions"] = [{"lang": "en", "value": "\x1b[2Jwiped<script>x</script>" + "A" * 20_000}]
    advisory = advisory_from_nvd(cve)
    assert "\x1b" not in advisory.description
    assert len(advisory.description) <= 4000
    for broken in (
        {**cve, "id": "CVE-XXXX"},
        {**cve, "descriptions": [{"lang": "fr", "value": "x"}]},
        {
            **cve,
            "configurations": [
                {
                    "nodes": [
                        {
                            "cpeMatch": [
                                {
                                    "vulnerable": True,
                                    "criteria": "cpe:2.3:o:x:" + "m" * 300 + ":*:*:*:*:*:*:*:*",
                                }
                            ]
                        }
                    ]
                }
            ],
        },
        {
            **cve,
            "configurations": [
                {
                    "nodes": [
                        {
                            "cpeMatch": [
                                {
                                    "vulnerable": True,
                                    "criteria": "cpe:2.3:o:x:y:*:*:*:*:*:*:*:*",
                                    "versionEndExcluding": "2",
                                    "versionEndIncluding": "1",
                                }
                            ]
                        }
                    ]
                }
            ],
        },
        {**cve, "metrics": "not an object"},
    ):
        with pytest.raises(ValueError, match=r"."):  # any one-line reason
            advisory_from_nvd(broken)


def test_parse_cpe_unescapes() -> None:
    cpe = parse_cpe("cpe:2.3:o:hikvision:ds-2cd2412f-i\\(w\\)_firmware:-:*:*:*:*:*:*:*")
    assert (cpe.part, cpe.vendor, cpe.product, cpe.version) == (
        "o",
        "hikvision",
        "ds-2cd2412f-i(w)_firmware",
        "-",
    )
    with pytest.raises(ValueError, match=r"not a CPE 2\.3 string"):
        parse_cpe("cpe:/o:hikvision:x")


def test_query_needs_exactly_one_filter() -> None:
    assert NvdQuery(keyword="hikvision").params() == {"keywordSearch": "hikvision"}
    assert (
        NvdQuery(cpe_name="cpe:2.3:o:a:b:1:*:*:*:*:*:*:*").params()["cpeName"].startswith("cpe:2.3")
    )
    with pytest.raises(ValueError, match="exactly one"):
        NvdQuery()
    with pytest.raises(ValueError, match="exactly one"):
        NvdQuery(keyword="a", cpe_name="cpe:2.3:o:a:b:1:*:*:*:*:*:*:*")
    with pytest.raises(ValueError, match=r"CPE 2\.3 string"):
        NvdQuery(virtual_match="hikvision")


# --- windows and rate limits ------------------------------------------------------------


def test_long_periods_split_into_120_day_windows() -> None:
    windows = split_windows(NOW - timedelta(days=300), NOW)
    assert len(windows) == 3
    assert windows[0][0] == NOW - timedelta(days=300)
    assert windows[-1][1] == NOW
    assert all(b - a <= MAX_WINDOW for a, b in windows)
    assert all(windows[i][1] == windows[i + 1][0] for i in range(2))
    with pytest.raises(ValueError, match="is after"):
        split_windows(NOW, NOW - timedelta(days=1))


async def test_limiter_spaces_requests_in_a_sliding_window(fake_time: FakeTime) -> None:
    limiter = SlidingWindowLimiter(5, 30.0, clock=fake_time.clock, sleep=fake_time.sleep)
    starts = []
    for _ in range(11):
        await limiter.acquire()
        starts.append(fake_time.now)
    assert starts == [0.0] * 5 + [30.0] * 5 + [60.0]
    assert all(starts[i + 5] - starts[i] >= 30.0 for i in range(len(starts) - 5))


async def test_pagination_collects_every_record_within_the_rate_limit(
    sim: FeedSim, fake_time: FakeTime
) -> None:
    sim.page_size = 5
    async with fast_feed(fake_time) as feed:
        client = nvd_client(feed, sim, fake_time)
        result = await client.fetch([NvdQuery(keyword="a")], since=None, until=NOW)
    expected = {r["cve"]["id"] for r in sim.records}  # every description has an "a"
    assert set(result.advisories) == expected
    assert len(expected) == 43
    starts = [int(r.query["startIndex"]) for r in sim.nvd_requests()]
    assert starts == list(range(0, 45, 5))
    assert fake_time.sleeps == [30.0]  # 9 requests, 5 per 30 s: one wait
    assert "apiKey" not in {k for r in sim.requests for k, _ in r.headers}


async def test_api_key_goes_in_a_header_only_when_configured(
    sim: FeedSim, fake_time: FakeTime
) -> None:
    async with fast_feed(fake_time) as feed:
        client = nvd_client(feed, sim, fake_time, api_key="k-123")
        await client.fetch([HIKVISION], since=None, until=NOW)
    (request,) = sim.nvd_requests()
    assert request.header("apiKey") == "k-123"
    assert "k-123" not in request.target
    assert client.limiter.max_requests == 50


async def test_windows_are_sent_and_accepted_by_the_service(
    sim: FeedSim, fake_time: FakeTime
) -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    async with fast_feed(fake_time) as feed:
        result = await nvd_client(feed, sim, fake_time).fetch([HIKVISION], since=since, until=NOW)
    sent = [(r.query["lastModStartDate"], r.query["lastModEndDate"]) for r in sim.nvd_requests()]
    assert len(sent) == len(split_windows(since, NOW)) > 1
    assert sent[0][0] == "2024-01-01T00:00:00.000+00:00"
    assert set(result.advisories) == {"CVE-2017-7921", "CVE-2017-7923", "CVE-2021-36260"}


async def test_wrong_total_results_fails_the_fetch(sim: FeedSim, fake_time: FakeTime) -> None:
    sim.wrong_total = True
    async with fast_feed(fake_time) as feed:
        with pytest.raises(KnowledgeSourceError, match="empty page"):
            await nvd_client(feed, sim, fake_time).fetch([HIKVISION], since=None, until=NOW)


@pytest.mark.safety("F-12")
async def test_a_malformed_record_is_rejected_alone(sim: FeedSim, fake_time: FakeTime) -> None:
    sim.malformed = {"CVE-2017-7923"}
    async with fast_feed(fake_time) as feed:
        result = await nvd_client(feed, sim, fake_time).fetch([HIKVISION], since=None, until=NOW)
    assert set(result.advisories) == {"CVE-2017-7921", "CVE-2021-36260"}
    assert len(result.rejected) == 1
    assert result.rejected[0].startswith("CVE-2017-7923: ")
    assert "\x1b" not in result.rejected[0]


async def test_limiter_is_shared_by_concurrent_callers(fake_time: FakeTime) -> None:
    limiter = SlidingWindowLimiter(2, 10.0, clock=fake_time.clock, sleep=fake_time.sleep)
    await asyncio.gather(*(limiter.acquire() for _ in range(5)))
    assert fake_time.now == 20.0
