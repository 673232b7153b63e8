"""``campatch feed``: status, import and sync (against the loopback feed replay only)."""

from __future__ import annotations

from pathlib import Path

from feedsim import FeedSim
from support import campatch

ADVISORY = """
advisories:
  - id: VENDOR-2026-0001
    title: Web server overflow
    description: An overflow in the web server.
    affected:
      - vendor: Hikvision
        models: ["DS-2CD2143G2-I"]
        ranges: [{fixed: "V5.7.15"}]
"""


async def test_import_then_status_lists_the_manual_source(tmp_path: Path) -> None:
    path = tmp_path / "advisory.yaml"
    path.write_text(ADVISORY)
    code, out, err = await campatch(tmp_path, "feed", "import", str(path))
    assert code == 0, err
    assert "imported 1 advisories" in out
    code, out, err = await campatch(tmp_path, "feed", "status")
    assert code == 0, err
    assert "manual" in out
    assert "bundle (shipped)" in out


async def test_import_of_a_bad_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(ADVISORY.replace("fixed:", "fixd:"))
    code, _, err = await campatch(tmp_path, "feed", "import", str(path))
    assert code == 2
    assert err.startswith("campatch: error: ")
    assert "fixd" in err


async def test_sync_from_a_mirror_stores_kev_and_nvd(tmp_path: Path) -> None:
    async with FeedSim() as sim:
        code, out, err = await campatch(
            tmp_path, "feed", "sync", "--keyword", "Hikvision",
            "--nvd-url", sim.nvd_url, "--kev-url", sim.kev_url,
        )  # fmt: skip
    assert code == 0, err
    assert "cisa-kev:" in out
    assert "nvd:" in out
    assert "failed" not in out
    code, out, _ = await campatch(tmp_path, "feed", "status")
    assert "cisa-kev" in out
    assert "nvd" in out
