"""KnowledgeStore (atomic per-source sets, F-10/F-12) and KnowledgeBase lookups."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.interface import KnowledgeLimits, clean_text, normalize_vendor
from campatch.knowledge.store import KnowledgeStore
from campatch.model import (
    Advisory,
    AffectedProduct,
    DefaultCredential,
    FirmwareRelease,
    Provenance,
    VersionRange,
)

NVD = Provenance(source="nvd", url="https://nvd.nist.gov/vuln/detail/CVE-2099-0001")


def adv(
    ident: str, vendor: str = "Hikvision", models: tuple[str, ...] = ("DS-2CD2*",), **kw: object
) -> Advisory:
    product = AffectedProduct(vendor, models, ranges=(VersionRange(fixed="V5.7.3"),))
    return Advisory(ident, f"title {ident}", "text", (product,), kw.pop("provenance", NVD), **kw)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    return KnowledgeStore(
        tmp_path / "knowledge", clock=lambda: "2026-01-02T03:04:05Z", with_bundle=False
    )


def test_replace_source_writes_0600_and_reads_back(store: KnowledgeStore) -> None:
    status = store.replace_source("nvd", advisories=[adv("CVE-2099-0001")], meta={"feed": "x"})
    path = store.root / "nvd.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert status.counts["advisories"] == 1
    back = store.read_source("nvd")
    assert back.advisories == (adv("CVE-2099-0001"),)
    assert back.status.last_sync == "2026-01-02T03:04:05Z"
    assert back.status.meta == {"feed": "x"}
    assert back.problems == ()


@pytest.mark.safety("F-10")
def test_crash_between_write_and_replace_keeps_the_old_set(
    store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.replace_source("nvd", advisories=[adv("CVE-2099-0001")])
    before = (store.root / "nvd.json").read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(5, "simulated crash")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KnowledgeSourceError, match="cannot write"):
        store.replace_source("nvd", advisories=[adv("CVE-2099-0002")])
    monkeypatch.undo()
    assert (store.root / "nvd.json").read_bytes() == before
    assert sorted(p.name for p in store.root.iterdir()) == ["nvd.json"]  # temp file gone
    assert store.replace_source("nvd", advisories=[adv("CVE-2099-0002")]).counts["advisories"] == 1


@pytest.mark.safety("F-10")
def test_a_malformed_record_refuses_the_whole_set_and_lists_every_problem(
    store: KnowledgeStore,
) -> None:
    store.replace_source("nvd", advisories=[adv("CVE-2099-0001")])
    before = (store.root / "nvd.json").read_bytes()
    bad = [adv("CVE-2099-0002"), adv("not an id!"), adv("CVE-2099-0003", cvss_score=42.0)]
    with pytest.raises(KnowledgeSourceError) as err:
        store.replace_source("nvd", advisories=bad)
    lines = str(err.value).splitlines()
    assert lines == [
        "nvd: advisories[1]: field 'id' has an invalid value 'not an id!'",
        "nvd: advisories[2]: field 'cvss_score' must be between 0.0 and 10.0, got 42.0",
    ]
    assert (store.root / "nvd.json").read_bytes() == before


def test_failures_are_recorded_without_touching_records(store: KnowledgeStore) -> None:
    store.replace_source("cisa-kev", advisories=[adv("CVE-2099-0001")])
    before = (store.root / "cisa-kev.json").read_bytes()
    store.record_failure("cisa-kev", "feed unreachable\x1b[31m")
    (status,) = store.status()
    assert status.last_error == "feed unreachable"
    assert status.counts["advisories"] == 1
    assert (store.root / "cisa-kev.json").read_bytes() == before
    store.replace_source("cisa-kev", advisories=[adv("CVE-2099-0001")])
    assert store.status()[0].last_error == ""


@pytest.mark.parametrize("name", ["../x", "", "NVD", "a/b", ".", "x" * 41])
def test_source_names_are_path_safe(store: KnowledgeStore, name: str) -> None:
    with pytest.raises(KnowledgeSourceError, match="source name"):
        store.replace_source(name, advisories=[])


@pytest.mark.safety("F-12")
def test_hostile_text_is_stripped_and_capped(store: KnowledgeStore) -> None:
    hostile = adv("CVE-2099-0001")
    hostile = Advisory(
        hostile.id,
        "\x1b[2J\x1b]0;pwned\x07Title\r\nline\x00two",
        "<script>alert(1)</script>" + "A" * 10_000_000,
        hostile.affected,
        hostile.provenance,
    )
    store.replace_source("nvd", advisories=[hostile])
    (back,) = store.read_source("nvd").advisories
    assert back.title == "Title line two"
    assert len(back.description) == KnowledgeLimits().max_text_chars
    assert back.description.startswith("<script>")  # kept as text; renderers escape HTML


@pytest.mark.safety("F-12")
def test_record_cap_refuses_an_oversized_set(tmp_path: Path) -> None:
    store = KnowledgeStore(tmp_path, limits=KnowledgeLimits(max_records=100), with_bundle=False)
    with pytest.raises(KnowledgeSourceError, match="more than the cap of 100"):
        store.replace_source("nvd", advisories=[adv(f"CVE-2099-{i:04}") for i in range(101)])
    assert not (tmp_path / "nvd.json").exists()


@pytest.mark.safety("F-12")
def test_a_damaged_record_on_disk_is_rejected_alone(store: KnowledgeStore) -> None:
    store.replace_source("nvd", advisories=[adv("CVE-2099-0001"), adv("CVE-2099-0002")])
    path = store.root / "nvd.json"
    doc = json.loads(path.read_text())
    doc["advisories"][0]["affected"] = "everything"
    doc["advisories"][1]["title"] = "x" * 5000 + "\x1b[31m"
    doc["advisories"].append({"id": "CVE-2099-0003", "evil": True})
    path.write_text(json.dumps(doc))
    kb = store.load()
    assert [a.id for a in kb.advisories] == ["CVE-2099-0002"]
    assert len(kb.advisories[0].title) == KnowledgeLimits().max_title_chars
    messages = [str(p) for p in kb.problems]
    assert "nvd: advisories[0]: field 'affected' must be a list, got str" in messages
    assert any(m.startswith("nvd: advisories[2]: unknown field 'evil'") for m in messages)


@pytest.mark.slow
@pytest.mark.safety("F-12")
def test_100k_entries_load_and_a_broken_file_is_a_problem_not_a_crash(
    store: KnowledgeStore,
) -> None:
    items = [adv(f"CVE-2099-{i:06}") for i in range(100_000)]
    store.replace_source("nvd", advisories=items)
    (store.root / "broken.json").write_text("{not json")
    kb = store.load()
    assert len(kb.advisories) == 100_000
    assert any("broken.json: not valid JSON" in str(p) for p in kb.problems)


def test_load_merges_bundle_then_sources_then_manual(tmp_path: Path) -> None:
    store = KnowledgeStore(tmp_path, clock=lambda: "2026-01-01T00:00:00Z")
    nvd = Provenance(source="nvd", url="https://nvd.nist.gov/x")
    newer = adv("CVE-2021-36260", provenance=nvd)  # in the bundle, with KEV
    store.replace_source("nvd", advisories=[newer])
    manual = adv("CVE-2099-0001", provenance=Provenance(source="manual:mine.json"))
    store.replace_source("manual", advisories=[manual])
    store.replace_source("zeta", advisories=[adv("CVE-2099-0001", provenance=nvd)])
    kb = store.load()
    merged = kb.advisory("cve-2021-36260")
    assert merged is not None
    assert merged.provenance.source == "nvd"
    assert merged.kev is not None  # KEV status kept from the bundle's record
    assert merged.affected == newer.affected
    winner = kb.advisory("CVE-2099-0001")
    assert winner is not None
    assert winner.provenance.source == "manual:mine.json"
    assert len(kb.advisories) == len({a.id for a in kb.advisories})
    assert kb.credentials_for("Dahua", "telnet")


# --- index ----------------------------------------------------------------------------


def test_vendor_names_fold_to_one_vendor() -> None:
    for raw in (
        "HIKVISION",
        "Hangzhou Hikvision Digital Technology Co., Ltd.",
        "Hikvision (India JV)",
    ):
        assert normalize_vendor(raw) == "Hikvision"
    assert normalize_vendor("Amcrest") == "Dahua"
    assert normalize_vendor("Zhejiang Dahua Technology Co., Ltd") == "Dahua"
    assert clean_text("a\x1b[1mb\x9b2Jc\u202e d") == "abc d"


def test_lookups_by_exact_model_prefix_pattern_and_every_model() -> None:
    kb = KnowledgeBase(
        [
            adv("A-1", models=("DS-2CD2142FWD-I",)),
            adv("A-2", models=("DS-2CD2*",)),
            adv("A-3", models=("DS-2CD2?42*-I",)),
            adv("A-4", models=()),
            adv("A-5", vendor="Dahua", models=("IPC-H*5*",)),
            adv("A-6", models=("DS-7*",)),
        ]
    )
    assert [a.id for a in kb.advisories_for("HIKVISION", "DS-2CD2142FWD-I")] == [
        "A-1",
        "A-2",
        "A-3",
        "A-4",
    ]
    assert [a.id for a in kb.advisories_for("Hikvision", "ds-2cd2032-i")] == ["A-2", "A-4"]
    assert [a.id for a in kb.advisories_for("Hikvision", "DS-7608NI")] == ["A-4", "A-6"]
    assert [a.id for a in kb.advisories_for("Zhejiang Dahua Technology", "DH-IPC-HFW5241E")] == [
        "A-5"
    ]
    assert [a.id for a in kb.advisories_for("Amcrest", "IPC-HDW5231R")] == ["A-5"]
    assert kb.advisories_for("Axis", "M3045") == []


def test_releases_and_credentials_filters() -> None:
    prov = Provenance(source="vendor")
    releases = [
        FirmwareRelease("Hikvision", "DS-2CD2142FWD-I", "V5.7.3", prov),
        FirmwareRelease(
            "Hikvision", "DS-2CD2142FWD-I", "V5.7.4", prov, hardware="B", region="china"
        ),
        FirmwareRelease("Hikvision", "DS-2CD2042WD-I", "V5.5.0", prov),
    ]
    creds = [
        DefaultCredential("Hikvision", "http", "admin", "12345", prov),
        DefaultCredential("any", "telnet", "root", "xc3511", prov, mirai=True),
        DefaultCredential("Dahua", "any", "admin", "admin", prov),
    ]
    kb = KnowledgeBase(releases=releases, credentials=creds)
    assert [r.version for r in kb.releases_for("hikvision", "DS-2CD2142FWD-I")] == [
        "V5.7.3",
        "V5.7.4",
    ]
    assert [
        r.version for r in kb.releases_for("Hikvision", "DS-2CD2142FWD-I", "A", "international")
    ] == ["V5.7.3"]
    assert [c.password for c in kb.credentials_for("HIKVISION")] == ["12345", "xc3511"]
    assert [c.password for c in kb.credentials_for("Hikvision", "telnet")] == ["xc3511"]
    assert [c.password for c in kb.credentials_for("Amcrest", "http")] == ["admin"]


@pytest.mark.slow
def test_300k_advisories_index_fast_and_10k_lookups_take_well_under_a_second() -> None:
    prov = Provenance(source="bench")
    vendors = [f"Vendor{v}" for v in range(30)] + ["Hikvision", "Dahua"]
    items = []
    for i in range(300_000):
        vendor = vendors[i % len(vendors)]
        model = f"M{i % 5000:04}*" if i % 3 else f"M{i % 5000:04}-X{i % 7}"
        product = AffectedProduct(vendor, (model,), ranges=(VersionRange(fixed="2.0"),))
        items.append(Advisory(f"CVE-2099-{i}", "t", "", (product,), prov))
    start = time.perf_counter()
    kb = KnowledgeBase(items)
    built = time.perf_counter() - start
    start = time.perf_counter()
    hits = sum(
        len(kb.advisories_for(vendors[n % len(vendors)], f"M{n % 5000:04}-X{n % 7}"))
        for n in range(10_000)
    )
    looked = time.perf_counter() - start
    assert hits > 10_000
    assert built < 15.0, f"indexing 300k advisories took {built:.1f} s"
    assert looked < 1.0, f"10k lookups took {looked:.2f} s"
