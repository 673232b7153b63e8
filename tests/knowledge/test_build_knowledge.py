"""scripts/build_knowledge.py: deterministic, licence-clean, and the shipped copy cannot drift."""

from __future__ import annotations

import csv
import importlib.util
import io
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from support import require_service

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_knowledge.py"
SHIPPED = REPO / "src" / "campatch" / "knowledge" / "data"
SHARED = REPO.parent / "shared" / "data"
NAME = "oui-camera-vendors.csv"

# Research-file rows in a scrambled order, with a duplicate and brand spellings to fold.
SAMPLE = """prefix_hex,prefix_colon,prefix_bits,organization,brand
E0508B,E0:50:8B,24,Zhejiang Dahua Technology,Dahua
3446632,34:46:63:2,28,Amcrest Technologies,Amcrest
BCBAC2,BC:BA:C2,24,Hangzhou Hikvision Digital Technology,Hikvision
3446632,34:46:63:2,28,Amcrest Technologies,Amcrest
0C75D2,0C:75:D2,24,Prama Hikvision India Private Limited,Hikvision (India JV)
1C4D89,1C:4D:89,24,Hangzhou Huacheng Network Technology,Imou/Dahua consumer (Huacheng)
8C1F64F4B,8C:1F:64:F4:B,36,Jorex Lorex India Private Limited,Lorex (India)
"""


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_knowledge", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_build(shared: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SCRIPT), "--shared", str(shared), "--out", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)


def write_input(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NAME).write_text(text, encoding="utf-8")
    return folder


def shipped_date() -> str:
    match = re.search(
        r"\*\*Built:\*\* (\d{4}-\d{2}-\d{2})", (SHIPPED / "PROVENANCE.md").read_text()
    )
    assert match, "PROVENANCE.md names no build date"
    return match.group(1)


def test_two_builds_are_byte_identical_whatever_the_row_order(tmp_path: Path) -> None:
    lines = SAMPLE.splitlines(keepends=True)
    shuffled = lines[:1] + lines[:0:-1]  # header, then the rows reversed
    one = write_input(tmp_path / "in1", SAMPLE)
    two = write_input(tmp_path / "in2", "".join(shuffled))
    for shared, out in ((one, "a"), (one, "b"), (two, "c")):
        assert run_build(shared, tmp_path / out, "--date", "2026-01-02").returncode == 0
    a, b, c = ((tmp_path / d / NAME).read_bytes() for d in "abc")
    assert a == b == c
    prov_a, prov_b = ((tmp_path / d / "PROVENANCE.md").read_bytes() for d in "ab")
    assert prov_a == prov_b


def test_output_keeps_only_prefix_bits_brand_with_normalised_brands(tmp_path: Path) -> None:
    shared = write_input(tmp_path / "in", SAMPLE)
    assert run_build(shared, tmp_path / "out", "--date", "2026-01-02").returncode == 0
    text = (tmp_path / "out" / NAME).read_text()
    assert text.splitlines() == [
        "prefix,bits,brand",
        "0C75D2,24,Hikvision",
        "1C4D89,24,Imou",
        "3446632,28,Amcrest",
        "8C1F64F4B,36,Lorex",
        "BCBAC2,24,Hikvision",
        "E0508B,24,Dahua",
    ]
    assert "Zhejiang" not in text
    assert "Technologies" not in text


def test_provenance_names_ieee_date_and_input_hash(tmp_path: Path) -> None:
    import hashlib

    shared = write_input(tmp_path / "in", SAMPLE)
    assert run_build(shared, tmp_path / "out", "--date", "2026-01-02").returncode == 0
    prov = (tmp_path / "out" / "PROVENANCE.md").read_text()
    assert "IEEE Registration Authority" in prov
    assert "MA-L" in prov
    assert "MA-M" in prov
    assert "MA-S" in prov
    assert "**Built:** 2026-01-02" in prov
    assert hashlib.sha256((shared / NAME).read_bytes()).hexdigest() in prov


def test_source_date_epoch_sets_the_date_when_no_date_is_given(tmp_path: Path) -> None:
    shared = write_input(tmp_path / "in", SAMPLE)
    cmd = [sys.executable, str(SCRIPT), "--shared", str(shared), "--out", str(tmp_path / "o")]
    env = {"SOURCE_DATE_EPOCH": "86400", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "**Built:** 1970-01-02" in (tmp_path / "o" / "PROVENANCE.md").read_text()


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        ("E0508,E0:50:8,24,X,Dahua", "has 20 bits, not 24"),
        ("E0508G,E0:50:8G,24,X,Dahua", "is not hex"),
        ("E0508B,E0:50:8C,24,X,Dahua", "differs from"),
        ("E0508B,E0:50:8B,32,X,Dahua", "is not one of"),
        ("E0508B,E0:50:8B,24,X,", "has no brand"),
        ("BCBAC2,BC:BA:C2,24,X,Dahua", "is both Hikvision and Dahua"),
    ],
)
def test_bad_input_fails_with_one_line_and_writes_nothing(
    tmp_path: Path, row: str, complaint: str
) -> None:
    shared = write_input(tmp_path / "in", SAMPLE + row + "\n")
    done = run_build(shared, tmp_path / "out", "--date", "2026-01-02")
    assert done.returncode == 2
    assert complaint in done.stderr
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    done = run_build(tmp_path / "nowhere", tmp_path / "out")
    assert done.returncode == 2
    assert "cannot read" in done.stderr


def test_every_brand_spelling_maps_to_one_name() -> None:
    script = load_script()
    assert script.canonical_brand("Hikvision (India JV)") == "Hikvision"
    assert script.canonical_brand(" Imou/Dahua  consumer (Huacheng) ") == "Imou"
    assert script.canonical_brand("Dahua") == "Dahua"
    assert all("(" not in b for b in script.BRAND_NAMES.values())


def test_shipped_table_has_only_our_columns_and_one_name_per_vendor() -> None:
    rows = list(csv.reader(io.StringIO((SHIPPED / NAME).read_text(encoding="utf-8"))))
    assert rows[0] == ["prefix", "bits", "brand"]
    assert all(len(r) == 3 for r in rows)
    brands = {r[2] for r in rows[1:]}
    assert {"Hikvision", "Dahua", "Imou", "Lorex", "Amcrest", "EZVIZ"} <= brands
    assert not {b for b in brands if "(" in b or "Zhejiang" in b or "Prama" in b}


def test_shipped_table_matches_a_fresh_build_from_shared_data(tmp_path: Path) -> None:
    require_service((SHARED / NAME).is_file(), f"shared research data at {SHARED}")
    done = run_build(SHARED, tmp_path, "--date", shipped_date())
    assert done.returncode == 0, done.stderr
    for name in (NAME, "PROVENANCE.md"):
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), (
            f"{name} is stale: run .venv/bin/python scripts/build_knowledge.py"
        )


def test_line_bounds_are_only_written_where_the_scheme_has_lines() -> None:
    script = load_script()
    fixes = [{"fixed": "1.86.00"}, {"fixed": "2.7.2"}]
    assert script.line_bounds(fixes, "Sony") == [
        {"introduced": "1", "fixed": "1.86.00"},
        {"introduced": "2", "fixed": "2.7.2"},
    ]
    dahua = [{"fixed": "2.623.00AC004.0.R.200316"}, {"fixed": "2.622.00AC000.0.R.200320"}]
    assert [r["introduced"] for r in script.line_bounds(dahua, "Dahua")] == ["2.623", "2.622"]
    # generic versions have no lines ("1" would be a version bound): no ranges, possibly affected
    assert script.line_bounds(fixes, "Uniview") == []
    hik = [{"fixed": "V5.4.41"}, {"fixed": "V5.5.0"}]
    assert script.line_bounds(hik, "Hikvision") == []  # "V5.4" is a version, not a line
