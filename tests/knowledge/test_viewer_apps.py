"""The curated viewer-app catalog: every version has evidence, and the bundle ships it as is."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from campatch.knowledge.bundle import load_bundle

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_knowledge.py"
DATA = REPO / "src" / "campatch" / "knowledge" / "data"
CURATED = DATA / "viewer-apps.yaml"
PLATFORMS = {"android", "ios", "windows", "macos"}


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_knowledge", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def curated_doc() -> dict[str, Any]:
    doc = yaml.safe_load(CURATED.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def entry(**change: Any) -> dict[str, Any]:
    """A valid curated entry (test data, not a real app), with fields changed."""
    base: dict[str, Any] = {
        "name": "Example Viewer", "vendor": "Example", "platform": "android",
        "latest_version": "1.2.3", "url": "https://example.com/viewer",
        "evidence": {
            "source": "example page", "url": "https://example.com/viewer/releases",
            "checked": "2026-01-02", "note": "test entry",
        },
    }  # fmt: skip
    base.update(change)
    return {key: value for key, value in base.items() if value is not None}


def document(*apps: dict[str, Any]) -> str:
    return yaml.safe_dump({"format": "campatch-viewer-apps", "version": 1, "apps": list(apps)})


def test_curated_file_parses_and_every_entry_names_its_evidence() -> None:
    doc = curated_doc()
    assert doc["format"] == "campatch-viewer-apps"
    assert doc["apps"], "the catalog has at least one verified app"
    for item in doc["apps"]:
        evidence = item["evidence"]
        assert re.fullmatch(r"https://\S+", evidence["url"]), item
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(evidence["checked"])), item
        assert evidence["note"].strip(), item
        assert evidence["source"].strip(), item
        assert item["platform"] in PLATFORMS, item
        assert str(item["latest_version"]).strip(), item
        assert re.fullmatch(r"https://\S+", item["url"]), item
        if "released" in item:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(item["released"])), item


def test_apps_not_verified_carry_no_version_and_are_not_also_in_the_catalog() -> None:
    doc = curated_doc()
    verified = {(a["name"].casefold(), a["platform"]) for a in doc["apps"]}
    for item in doc["not_verified"]:
        assert set(item) == {"name", "vendor", "platforms"}, item
        for platform in item["platforms"]:
            assert platform in PLATFORMS
            assert (item["name"].casefold(), platform) not in verified, item


def test_the_build_reads_the_curated_file_into_records_with_provenance() -> None:
    curated = script().read_viewer_apps(CURATED.read_text(encoding="utf-8"))
    by_key = {(a["name"], a["platform"]): a for a in curated_doc()["apps"]}
    assert len(curated.apps) == len(by_key)
    for app in curated.apps:
        item = by_key[(app.name, app.platform)]
        assert app.latest_version == str(item["latest_version"])
        assert app.provenance.url == item["evidence"]["url"]
        assert app.provenance.retrieved == str(item["evidence"]["checked"])
        assert app.provenance.source.startswith("curated:")


def test_shipped_bundle_holds_exactly_the_curated_apps() -> None:
    curated = script().read_viewer_apps(CURATED.read_text(encoding="utf-8"))
    bundle = load_bundle()
    assert bundle.problems == ()
    assert list(bundle.apps) == curated.apps
    header = json.loads((DATA / "bundle" / "apps.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(CURATED.read_bytes()).hexdigest()
    assert header["inputs"] == {"viewer-apps.yaml": digest}, (
        "bundle/apps.json is stale: rebuild with scripts/build_knowledge.py bundle "
        "--date <the date in bundle/PROVENANCE.md>"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"evidence": None}, "expected a mapping"),
        ({"evidence": {"source": "s", "checked": "2026-01-02", "note": "n"}}, "'url'"),
        ({"evidence": {"source": "s", "url": "ftp://x", "checked": "2026-01-02", "note": "n"}},
         "not an http(s) URL"),
        ({"latest_version": None}, "'latest_version'"),
        ({"platform": "symbian"}, "platform"),
        ({"released": "May 2026"}, "YYYY-MM-DD"),
        ({"latest": "9.9"}, "unknown field"),
    ],
)  # fmt: skip
def test_an_entry_without_evidence_or_with_a_bad_field_is_refused(
    change: dict[str, Any], message: str
) -> None:
    module = script()
    with pytest.raises(module.BuildError, match=re.escape(message)):
        module.read_viewer_apps(document(entry(**change)))


def test_one_app_and_platform_twice_is_refused() -> None:
    module = script()
    with pytest.raises(module.BuildError, match="listed twice"):
        module.read_viewer_apps(document(entry(), entry(name="example viewer")))


def test_a_valid_entry_becomes_one_sorted_record() -> None:
    curated = script().read_viewer_apps(document(entry(platform="ios"), entry()))
    assert [(a.platform, a.latest_version) for a in curated.apps] == [
        ("android", "1.2.3"),
        ("ios", "1.2.3"),
    ]
