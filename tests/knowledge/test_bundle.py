"""The bundled knowledge snapshot: reproducible, matches what ships, faithful to its sources."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from campatch.knowledge.bundle import load_bundle
from campatch.knowledge.interface import ALL_VERSIONS, versions_known
from campatch.model import Advisory, Severity
from support import require_service

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_knowledge.py"
SHIPPED = REPO / "src" / "campatch" / "knowledge" / "data" / "bundle"
SHARED = REPO.parent / "shared" / "data"
CURATED = SHIPPED.parent / "viewer-apps.yaml"
FILES = ("advisories.json", "credentials.json", "apps.json", "PROVENANCE.md")
#: Records whose fixed-version text names a version that is not a device firmware fix.
NOT_A_FIX = {
    "CVE-2021-28372": "3.1.10 is the Kalay SDK version, not a device firmware version",
    "CVE-2021-4045": "'later than 1.1.15' names the last affected version",
}


def need_shared() -> None:
    require_service((SHARED / "camera-cves.json").is_file(), f"shared research data at {SHARED}")


def build(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        str(SCRIPT),
        "bundle",
        "--shared",
        str(SHARED),
        "--out",
        str(out),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)


def shipped_date() -> str:
    return str(json.loads((SHIPPED / "advisories.json").read_text())["built"])


def curated() -> list[dict[str, Any]]:
    return list(json.loads((SHARED / "camera-cves.json").read_text())["vulnerabilities"])


def advisories() -> dict[str, Advisory]:
    return {a.id: a for a in load_bundle().advisories}


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    need_shared()
    for out in ("a", "b"):
        done = build(tmp_path / out, "--date", "2026-01-02")
        assert done.returncode == 0, done.stderr
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_shipped_bundle_matches_a_fresh_build(tmp_path: Path) -> None:
    need_shared()
    done = build(tmp_path, "--date", shipped_date())
    assert done.returncode == 0, done.stderr
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), (
            f"bundle/{name} is stale: run .venv/bin/python scripts/build_knowledge.py bundle"
        )


def test_headers_name_the_build_date_and_input_hashes() -> None:
    import hashlib

    need_shared()
    for name in ("advisories.json", "credentials.json", "apps.json"):
        doc = json.loads((SHIPPED / name).read_text())
        assert doc["format"] == "campatch-knowledge"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc["built"])
        assert doc["count"] == len(doc["records"])
        for inp, digest in doc["inputs"].items():
            # viewer-apps.yaml is curated in the repository, the rest is shared research data
            path = CURATED if inp == CURATED.name else SHARED / inp
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_bundle_loads_without_rejected_records() -> None:
    bundle = load_bundle()
    assert bundle.problems == ()
    assert len(bundle.advisories) >= 43
    assert all(a.provenance.url for a in bundle.apps)  # each from a cited page, never guessed


def test_every_curated_cve_that_names_a_fixed_version_has_a_fixed_bound() -> None:
    need_shared()
    known = advisories()
    for vuln in curated():
        fixed = vuln["first_fixed_versions"]
        text = re.sub(r"\([^)]*\)", "", fixed) if isinstance(fixed, str) else ""
        names_fix = isinstance(fixed, dict) or re.search(r"\b\d+\.\d+(?:\.\d+)*\b", text)
        if not names_fix or vuln["cve_id"] in NOT_A_FIX:
            continue
        bounds = [r.fixed for p in known[vuln["cve_id"]].affected for r in p.ranges if r.fixed]
        assert bounds, f"{vuln['cve_id']} names fixed firmware {fixed!r} but has no fixed bound"


def test_version_bounds_are_copied_from_the_record_never_invented() -> None:
    need_shared()
    text = {v["cve_id"]: json.dumps(v) for v in curated()}
    same = {
        "CVE-2017-7923": "CVE-2017-7921",
        "CVE-2018-10661": "CVE-2018-10660",
        "CVE-2018-10662": "CVE-2018-10660",
    }
    for adv in load_bundle().advisories:
        source = text[adv.id] + text.get(same.get(adv.id, ""), "")
        for product in adv.affected:
            for rng in product.ranges:
                for bound in (rng.fixed, rng.last_affected, rng.introduced):
                    assert bound is None or bound in source, (
                        f"{adv.id}: {bound!r} not in the record"
                    )


def test_kev_cves_carry_their_kev_entry_and_are_critical() -> None:
    need_shared()
    kev = json.loads((SHARED / "kev-cameras.json").read_text())
    entries = {e["cveID"]: e for e in kev["vulnerabilities"]}
    later = {e["cveID"] for e in kev["later_additions_seen_in_nvd"]["entries"]}
    known = advisories()
    for cve in {*entries, *later}:
        adv = known[cve]
        assert adv.kev is not None, cve
        assert adv.severity is Severity.CRITICAL
        if cve in entries:
            assert adv.kev.date_added == entries[cve]["dateAdded"]
            assert adv.kev.due_date == entries[cve]["dueDate"]
            assert adv.kev.required_action == entries[cve]["requiredAction"]
            assert adv.kev.ransomware == entries[cve]["knownRansomwareCampaignUse"]
    assert known["CVE-2017-7921"].kev is not None
    assert known["CVE-2017-7921"].kev.date_added == "2026-03-05"


def test_advisories_have_provenance_with_url_and_licence() -> None:
    for adv in load_bundle().advisories:
        assert adv.provenance.source in ("bundle:camera-cves", "bundle:cisa-kev")
        assert adv.provenance.url.startswith("https://")
        assert "public domain" in adv.provenance.license or "CC0" in adv.provenance.license
        if adv.kev:
            assert "CC0" in adv.provenance.license


def test_oem_vendor_is_normalised_to_the_firmware_maker() -> None:
    known = advisories()
    amcrest = known["CVE-2020-5735"].affected
    assert {p.vendor for p in amcrest} == {"Dahua"}
    models = {m for p in known["CVE-2019-3948"].affected for m in p.models}
    assert "IP2M-841B*" in models
    assert all(p.vendor == "Dahua" for p in known["CVE-2019-3948"].affected)


def test_unreadable_versions_are_marked_possibly_affected() -> None:
    known = advisories()
    assert not any(versions_known(p) for p in known["CVE-2021-36260"].affected)
    assert known["CVE-2025-1316"].affected[0].ranges == ALL_VERSIONS
    hik = {p.models: p.ranges for p in known["CVE-2017-7921"].affected}
    rng = hik[("DS-2CD2*2F-I*",)][0]
    assert (rng.introduced, rng.last_affected) == ("5.2.0 build 140721", "5.4.0 build 160530")


def test_several_fixes_for_unnamed_lines_start_at_their_own_line() -> None:
    ranges = advisories()["CVE-2016-7834"].affected[0].ranges
    assert {(r.introduced, r.fixed) for r in ranges} == {("1", "1.86.00"), ("2", "2.7.2")}


def test_every_introduced_bound_is_a_version_or_a_line_of_its_scheme() -> None:
    from campatch.knowledge.versions import FirmwareVersion, is_line_bound, parse_version

    for adv in load_bundle().advisories:
        for product in adv.affected:
            for rng in product.ranges:
                if rng.introduced is None:
                    continue
                version = parse_version(product.vendor, rng.introduced)
                assert isinstance(version, FirmwareVersion) or is_line_bound(
                    product.vendor, rng.introduced
                ), f"{adv.id}: introduced {rng.introduced!r} is neither version nor line"


def test_no_nmap_derived_credential_ships() -> None:
    need_shared()
    shipped = (SHIPPED / "credentials.json").read_text()
    assert "nmap" not in shipped.lower()
    rows = list(csv.DictReader(io.StringIO((SHARED / "default-credentials.csv").read_text())))
    nmap_rows = [r for r in rows if "github.com/nmap/" in r["source_url"]]
    assert nmap_rows, "the research file is expected to hold nmap rows to filter"
    creds = load_bundle().credentials
    kept = {(c.username, c.password, c.product) for c in creds}
    for row in nmap_rows:
        assert (row["username"], row["password"], row["product_or_model"]) not in kept
    for row in rows:
        if row not in nmap_rows:
            product = " ".join(row["product_or_model"].split())
            assert (row["username"], row["password"], product) in kept


def test_mirai_pairs_ship_with_vendor_from_the_device_association() -> None:
    creds = [c for c in load_bundle().credentials if c.mirai]
    pairs = {(c.username, c.password) for c in creds}
    assert len(pairs) == 61  # 62 scanner entries, guest/12345 listed twice
    by_pair = {(c.username, c.password): c for c in creds}
    assert by_pair[("root", "vizxv")].vendor == "Dahua"
    assert by_pair[("admin", "admin")].vendor == "any"
    assert by_pair[("root", "pass")].vendor == "Axis"
    assert all(c.service == "telnet" and c.provenance.url for c in creds)


def test_build_refuses_an_unknown_mirai_association(tmp_path: Path) -> None:
    need_shared()
    shared = tmp_path / "shared"
    shared.mkdir()
    for name in ("camera-cves.json", "kev-cameras.json", "default-credentials.csv"):
        (shared / name).write_bytes((SHARED / name).read_bytes())
    mirai = (SHARED / "mirai-credentials.csv").read_text().replace("Dahua camera", "Mystery box")
    (shared / "mirai-credentials.csv").write_text(mirai)
    cmd = [
        sys.executable,
        str(SCRIPT),
        "bundle",
        "--shared",
        str(shared),
        "--out",
        str(tmp_path / "o"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 2
    assert "unknown device association 'Mystery box'" in done.stderr
    assert done.stderr.count("\n") == 1
