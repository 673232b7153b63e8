"""Manual import: strict validation, one line per problem, stored as source "manual"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campatch.errors import KnowledgeSourceError
from campatch.knowledge.manual import import_file, parse_manual
from campatch.knowledge.store import KnowledgeStore

YAML = """
advisories:
  - id: VENDOR-2026-001
    title: Telnet left enabled by the installer's image
    cvss_score: 8.1
    references: [https://example.com/notice]
    affected:
      - vendor: HIKVISION
        models: ["DS-2CD2*"]
        ranges:
          - {introduced: "V5.5.0", fixed: "V5.7.3"}
releases:
  - vendor: Hikvision
    model: DS-2CD2142FWD-I
    version: V5.7.3 build 210630
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    fixes: [VENDOR-2026-001]
"""


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    return KnowledgeStore(tmp_path / "k", with_bundle=False)


def test_yaml_import_is_stored_as_manual_and_found_by_lookups(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(YAML)
    result = import_file(path, store)
    assert [a.id for a in result.advisories] == ["VENDOR-2026-001"]
    assert result.advisories[0].provenance.source == "manual:mine.yaml"
    assert result.advisories[0].affected[0].vendor == "Hikvision"
    kb = store.load()
    assert [a.id for a in kb.advisories_for("Hikvision", "DS-2CD2142FWD-I")] == ["VENDOR-2026-001"]
    assert [r.version for r in kb.releases_for("Hikvision", "DS-2CD2142FWD-I")] == [
        "V5.7.3 build 210630"
    ]
    assert store.status()[0].source == "manual"


def test_a_second_import_adds_to_the_first_and_replaces_same_ids(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    first = tmp_path / "a.yaml"
    first.write_text(YAML)
    import_file(first, store)
    second = tmp_path / "b.json"
    doc = {"advisories": [
        {"id": "VENDOR-2026-001", "title": "Updated", "affected": [{"vendor": "Hikvision"}]},
        {"id": "VENDOR-2026-002", "title": "Other", "affected": [{"vendor": "Dahua"}]},
    ]}  # fmt: skip
    second.write_text(json.dumps(doc))
    import_file(second, store)
    stored = store.read_source("manual")
    assert sorted((a.id, a.title) for a in stored.advisories) == [
        ("VENDOR-2026-001", "Updated"),
        ("VENDOR-2026-002", "Other"),
    ]
    assert len(stored.releases) == 1


def test_every_problem_is_one_readable_line_and_nothing_is_stored(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    doc = {
        "advisories": [
            {
                "id": "X-1",
                "title": "ok",
                "affected": [{"vendor": "Axis", "ranges": [{"fixd": "1.0"}]}],
            },
            {"title": "", "affected": [], "cvss": 5},
        ],
        "releases": [{"vendor": "Axis", "model": "M3045", "sha256": "abc"}],
        "extra": 1,
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(KnowledgeSourceError) as err:
        import_file(path, store)
    assert str(err.value).splitlines() == [
        "bad.json: unknown top-level field 'extra'",
        "bad.json: advisories[0].affected[0].ranges[0]: unknown field 'fixd'",
        "bad.json: advisories[1]: unknown field 'cvss'",
        "bad.json: advisories[1]: field 'affected' must name at least one product",
        "bad.json: advisories[1]: missing required field 'id'",
        "bad.json: advisories[1]: field 'title' is empty",
        "bad.json: releases[0]: field 'sha256' must be 64 hex digits",
        "bad.json: releases[0]: missing required field 'version'",
    ]
    assert store.sources() == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "expected an object"),
        ("{", "cannot parse"),
        ("{}", "expected an 'advisories' or 'releases' list"),
        ('{"advisories": {}}', "'advisories' must be a list"),
    ],
)
def test_malformed_files_are_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(KnowledgeSourceError, match=message):
        parse_manual(text, name="f.json")


def test_yaml_is_parsed_safely() -> None:
    with pytest.raises(KnowledgeSourceError, match="cannot parse"):
        parse_manual(
            "advisories: !!python/object/apply:os.system ['true']", name="x.yaml", yaml_syntax=True
        )


def test_unreadable_and_oversized_files(tmp_path: Path, store: KnowledgeStore) -> None:
    with pytest.raises(KnowledgeSourceError, match="cannot read"):
        import_file(tmp_path / "missing.json", store)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (4 * 1024 * 1024 + 1))
    with pytest.raises(KnowledgeSourceError, match="larger than"):
        import_file(big, store)
