"""KnowledgeStore.load keeps non-camera advisories on disk: it reads sources one record at
a time and must give what the plain reading (read_source, then merge) gives, record for
record and problem for problem; a stored record read back later is the same record."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.interface import KnowledgeLimits, RecordProblem, record_key
from campatch.knowledge.store import MANUAL_SOURCE, KnowledgeStore
from campatch.knowledge.table import AdvisoryTable, held_in_memory
from campatch.model import (
    Advisory,
    AffectedProduct,
    FirmwareRelease,
    KevEntry,
    Provenance,
    VersionRange,
)

NVD = Provenance("nvd", "https://nvd.nist.gov/")
KEV = KevEntry("2022-01-10", "2022-07-10")


def adv(ident: str, vendor: str, models: tuple[str, ...] = (), **kw: object) -> Advisory:
    product = AffectedProduct(vendor, models, ranges=(VersionRange(fixed="2.0"),))
    fields: dict[str, object] = {"title": f"title {ident}", "description": "text"}
    fields.update(kw)
    return Advisory(ident, affected=(product,), provenance=NVD, **fields)  # type: ignore[arg-type]


def ticking() -> Iterator[str]:
    for n in itertools.count():
        yield f"2026-01-01T00:00:{n:02d}Z"


def make_store(root: Path, **kw: object) -> KnowledgeStore:
    clock = ticking()
    return KnowledgeStore(root, clock=lambda: next(clock), **kw)  # type: ignore[arg-type]


def plain_load(store: KnowledgeStore) -> tuple[list[Advisory], list[RecordProblem]]:
    """The reference: read_source for every source, then the store's merge rule."""
    stored = [store.read_source(name) for name in store.sources()]
    stored.sort(key=lambda s: (s.status.source == MANUAL_SOURCE, s.status.last_sync))
    merged: dict[tuple[str, ...], Advisory] = {}
    for layer in stored:
        for advisory in layer.advisories:
            old = merged.pop(record_key(advisory), None)
            if old is not None and old.kev is not None and advisory.kev is None:
                advisory = dataclasses.replace(advisory, kev=old.kev)
            merged[record_key(advisory)] = advisory
    return list(merged.values()), [p for layer in stored for p in layer.problems]


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    store = make_store(tmp_path / "knowledge", with_bundle=False)
    store.replace_source("cisa-kev", advisories=[adv("CVE-2099-0003", "Acme", kev=KEV)])
    store.replace_source(
        "nvd",
        advisories=[
            adv("CVE-2099-0001", "Hikvision", ("DS-2CD2*",)),
            adv("CVE-2099-0002", "Acme", ("ROUTER-1",), title="Überlauf im Webserver — “quoted”"),
            adv("CVE-2099-0003", "Acme", ("ROUTER-2",)),  # replaces the KEV source's, keeps KEV
            adv("CVE-2099-0004", "Dahua", description="naïve café ☃"),
            adv("CVE-2099-0005", "Vendor00017", ("PRODUCT_3", "PRODUCT_4*")),
            adv("CVE-2099-0006", "Acme", ("ROUTER-1",), kev=KEV),
        ],
        releases=[FirmwareRelease("Hikvision", "DS-2CD2032-I", "V5.7.3", NVD)],
    )
    store.replace_source(MANUAL_SOURCE, advisories=[adv("CVE-2099-0005", "Vendor00017", ("X*",))])
    return store


def test_load_gives_the_records_and_order_of_the_plain_reading(store: KnowledgeStore) -> None:
    kb = store.load()
    expected, problems = plain_load(store)

    assert list(kb.advisories) == expected
    assert [kb.advisories[n] for n in range(len(expected))] == expected
    assert list(kb.problems) == problems == []
    assert [a.id[-1] for a in expected] == ["1", "2", "3", "4", "6", "5"]
    assert kb.advisory("cve-2099-0003") == expected[2]
    assert expected[2].kev == KEV  # carried over from the KEV source, read back from disk
    assert [r.version for r in kb.releases] == ["V5.7.3"]


def test_only_camera_vendors_advisories_are_kept_as_objects(store: KnowledgeStore) -> None:
    kb = store.load()
    table = kb.advisories

    assert isinstance(table, AdvisoryTable)
    assert table.held == sum(held_in_memory(a) for a in table) == 2  # Hikvision and Dahua
    assert not held_in_memory(adv("X", "Acme"))
    assert held_in_memory(adv("X", "Zhejiang Dahua Technology Co., Ltd."))
    assert held_in_memory(adv("X", "Vivotek"))  # from the OUI table


def test_lookups_match_a_knowledge_base_built_from_the_records(store: KnowledgeStore) -> None:
    kb = store.load()
    plain = KnowledgeBase(plain_load(store)[0])

    for vendor, model in [("Acme", "ROUTER-1"), ("acme", "router-2"), ("Vendor00017", "X1"),
                          ("Vendor00017", "PRODUCT_3"), ("Hikvision", "DS-2CD2032-I"), ("Dahua", "")]:  # fmt: skip
        assert kb.advisories_for(vendor, model) == plain.advisories_for(vendor, model)
    assert [a.id for a in kb.advisories_for("Acme", "ROUTER-1")] == [
        "CVE-2099-0002",
        "CVE-2099-0006",
    ]


def test_a_stored_record_is_read_from_the_file_as_it_was_loaded(store: KnowledgeStore) -> None:
    kb = store.load()
    before = kb.advisory("CVE-2099-0002")
    store.replace_source("nvd", advisories=[adv("CVE-2099-0002", "Acme", title="changed since")])

    assert kb.advisory("CVE-2099-0002") == before  # the open file is the one loaded
    assert before is not None
    assert before.title.startswith("Überlauf")
    assert store.load().advisory("CVE-2099-0002").title == "changed since"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[1, 2]",
        '{"format": "other", "version": 1}',
        '{"format": "campatch-knowledge", "version": 99}',
        '{"format": "campatch-knowledge", "version": 1, "advisories": {}, "releases": "x"}',
        '{"format": "campatch-knowledge", "version": 1, "advisories": [{"id": "X"}, 5]}',
        '{"advisories": [], "format": "campatch-knowledge", "version": 1} trailing',
        '{"apps": [], "advisories": [{"id": 1}], "format": "campatch-knowledge", "version": 1,'
        ' "advisories": [], "written": "2026-01-01T00:00:09Z"}',
        "",
        "{}",
    ],
)
def test_broken_files_give_the_problems_of_the_plain_reading(tmp_path: Path, body: str) -> None:
    store = make_store(tmp_path / "knowledge", with_bundle=False)
    store.replace_source("nvd", advisories=[adv("CVE-2099-0001", "Acme")])
    (store.root / "broken.json").write_text(body, "utf-8")
    kb = store.load()
    expected, problems = plain_load(store)

    assert list(kb.advisories) == expected
    assert [str(p) for p in kb.problems] == [str(p) for p in problems]


def test_a_record_list_above_the_cap_is_refused_whole_like_the_plain_reading(
    tmp_path: Path,
) -> None:
    store = make_store(tmp_path / "knowledge", with_bundle=False)
    store.replace_source("nvd", advisories=[adv(f"CVE-2099-{n:04}", "Acme") for n in range(5)])
    capped = KnowledgeStore(store.root, limits=KnowledgeLimits(max_records=3), with_bundle=False)

    kb = capped.load()
    expected, problems = plain_load(capped)
    assert list(kb.advisories) == expected == []
    assert [str(p) for p in kb.problems] == [str(p) for p in problems]
    assert "5 advisories, more than the cap of 3" in str(kb.problems[0])


def test_invalid_utf8_is_replaced_as_the_plain_reading_replaces_it(tmp_path: Path) -> None:
    store = make_store(tmp_path / "knowledge", with_bundle=False)
    store.replace_source("nvd", advisories=[adv("CVE-2099-0001", "Acme", title="caf\u00e9")])
    path = store.root / "nvd.json"
    path.write_bytes(path.read_bytes().replace("é".encode(), b"\xe9\xff"))

    kb = store.load()
    expected, _ = plain_load(store)
    assert list(kb.advisories) == expected
    assert expected[0].title == "caf\ufffd\ufffd"


def test_bundle_and_stored_sources_merge_with_kev_kept(tmp_path: Path) -> None:
    store = make_store(tmp_path / "knowledge")
    bundled = store.load()
    kev_listed = next(a for a in bundled.advisories if a.kev is not None)
    store.replace_source("nvd", advisories=[dataclasses.replace(kev_listed, kev=None, title="new")])

    merged = store.load().advisory(kev_listed.id)
    assert merged is not None
    assert (merged.title, merged.kev) == ("new", kev_listed.kev)
    assert json.loads((store.root / "nvd.json").read_text())["counts"]["advisories"] == 1
