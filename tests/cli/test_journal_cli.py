"""``campatch journal`` and the records other commands leave in it (SAFETY S-03).

The CLI runs as a separate process against a data directory in ``tmp_path``; feeds and
devices are loopback simulators.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from campatch.inventory import open_store
from feedsim import FeedSim
from support import FleetFactory, campatch, fresh_subnet

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
HIKVISION = {
    "personality": "hikvision", "name": "hik", "model": "DS-2CD2143G2-I",
    "firmware": "V5.7.3", "build": "build 220112", "serial": "DS-2CD2143G2-I20220301AAWRJ00000011",
    "mac": "08:3b:c1:00:00:11", "device_type": "IPCamera", "users": {"admin": "Hik-pass-11"},
}  # fmt: skip


async def records(home: Path, *extra: str) -> list[dict[str, Any]]:
    code, out, err = await campatch(home, "journal", "show", "--format", "json", *extra)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["format"] == "campatch-journal"
    result: list[dict[str, Any]] = doc["records"]
    return result


def files_of(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


@pytest.mark.safety("S-03")
async def test_s03_credential_changes_are_journaled_without_the_password(tmp_path: Path) -> None:
    password = "Journal-canary-4711"
    for _ in range(2):  # added, then replaced
        code, _, err = await campatch(
            tmp_path, "creds", "add", "192.0.2.7", "-u", "admin", "--password-stdin",
            stdin=password.encode() + b"\n",
        )  # fmt: skip
        assert code == 0, err
    code, _, err = await campatch(tmp_path, "creds", "remove", "192.0.2.7")
    assert code == 0, err
    code, _, _ = await campatch(tmp_path, "creds", "remove", "192.0.2.99")
    assert code == 2  # nothing removed: nothing changed, nothing journaled

    found = await records(tmp_path)

    assert [(r["action"], r["result"], r["device"]) for r in found] == [
        ("credential-add", "added", "192.0.2.7"),
        ("credential-add", "replaced", "192.0.2.7"),
        ("credential-remove", "removed", "192.0.2.7"),
    ]
    user = getpass.getuser()
    assert [r["actor"] for r in found] == [
        f"campatch creds add@{user}", f"campatch creds add@{user}", f"campatch creds remove@{user}",
    ]  # fmt: skip
    assert found[0]["detail"] == {"username": "admin"}
    assert password.encode() not in files_of(tmp_path)


@pytest.mark.safety("S-03")
async def test_s03_feed_imports_are_journaled_ok_and_failed(tmp_path: Path) -> None:
    good, bad = tmp_path / "advisory.yaml", tmp_path / "bad.yaml"
    good.write_text(ADVISORY)
    bad.write_text(ADVISORY.replace("fixed:", "fixd:"))
    assert (await campatch(tmp_path, "feed", "import", str(good)))[0] == 0
    assert (await campatch(tmp_path, "feed", "import", str(bad)))[0] == 2

    found = await records(tmp_path)

    assert [(r["action"], r["result"]) for r in found] == [
        ("feed-import", "ok"),
        ("feed-import", "failed"),
    ]
    assert found[0]["detail"] == {"file": str(good), "advisories": 1, "releases": 0}
    assert "fixd" in found[1]["detail"]["error"]


@pytest.mark.safety("S-03")
async def test_s03_feed_sync_result_is_journaled_with_counts(tmp_path: Path) -> None:
    async with FeedSim() as sim:
        code, _, err = await campatch(
            tmp_path, "feed", "sync", "--keyword", "Hikvision",
            "--nvd-url", sim.nvd_url, "--kev-url", sim.kev_url,
        )  # fmt: skip
    assert code == 0, err

    (record,) = await records(tmp_path)

    assert (record["action"], record["result"]) == ("feed-sync", "ok")
    sources = {s["source"]: s for s in record["detail"]["sources"]}
    assert set(sources) == {"nvd", "cisa-kev"}
    assert all(s["ok"] and s["stored"] > 0 and s["error"] == "" for s in sources.values())


@pytest.mark.safety("S-03")
async def test_s03_no_credential_checks_override_is_journaled_even_without_store(
    tmp_path: Path,
) -> None:
    target = f"{fresh_subnet()}.1"  # nothing listens there
    code, _, err = await campatch(
        tmp_path, "scan", target, "--no-multicast", "--no-audit", "--no-store",
        "--no-credential-checks", "--host-timeout", "1", "--format", "json",
    )  # fmt: skip
    assert code == 0, err

    (record,) = await records(tmp_path)

    assert (record["action"], record["result"]) == ("override", "applied")
    assert record["actor"] == f"campatch scan@{getpass.getuser()}"
    assert record["detail"] == {
        "flag": "--no-credential-checks", "targets": [target], "target_count": 1,
    }  # fmt: skip


@pytest.mark.slow
@pytest.mark.safety("S-03")
async def test_s03_every_login_of_a_scan_is_journaled(
    fleet_of: FleetFactory, tmp_path: Path
) -> None:
    async with fleet_of([HIKVISION]) as fleet:
        camera = fleet.device("hik").spec
        code, _, err = await campatch(
            tmp_path, "creds", "add", camera.address, "-u", "admin", "--password-stdin",
            stdin=b"Hik-pass-11\n",
        )  # fmt: skip
        assert code == 0, err
        code, _, err = await campatch(
            tmp_path, "scan", camera.address, "--format", "json", "--no-multicast",
            "--port-offset", str(fleet.port_map.low_port_offset),
        )  # fmt: skip
        assert code == 0, err

    logins = [
        r for r in await records(tmp_path, "--limit", "1000") if r["action"] == "auth-attempt"
    ]
    with sqlite3.connect(tmp_path / "inventory.db") as db:
        (attempts,) = db.execute("SELECT count(*) FROM login_attempts").fetchone()

    assert logins
    assert len(logins) == attempts  # one journal record per recorded attempt
    assert {r["actor"] for r in logins} == {f"campatch scan@{getpass.getuser()}"}
    assert {r["result"] for r in logins} <= {"accepted", "refused", "locked"}
    assert all(set(r["detail"]) == {"protocol", "username", "address", "owner"} for r in logins)
    assert b"Hik-pass-11" not in files_of(tmp_path)


def seed(home: Path, n: int = 3) -> None:
    """``n`` credential-add records in the inventory the CLI opens (in-process: fast)."""
    with open_store(f"sqlite:///{home / 'inventory.db'}") as store:
        for i in range(1, n + 1):
            detail = {"username": "admin"}
            store.journal().append("credential-add", "added", device=f"192.0.2.{i}", detail=detail)


async def test_show_limits_filters_and_prints_a_table(tmp_path: Path) -> None:
    seed(tmp_path)

    assert [r["seq"] for r in await records(tmp_path, "--limit", "2")] == [2, 3]
    assert [r["seq"] for r in await records(tmp_path, "--device", "192.0.2.2")] == [2]
    code, out, err = await campatch(tmp_path, "journal", "show")
    assert code == 0, err
    assert "Journal (3 records)" in out
    assert "credential-add" in out


@pytest.mark.safety("S-03")
async def test_s03_verify_exits_0_when_whole_and_1_naming_the_tampered_seq(
    tmp_path: Path,
) -> None:
    code, out, err = await campatch(tmp_path, "journal", "verify")
    assert (code, err) == (0, "")
    assert "journal ok: 0 records" in out
    seed(tmp_path)
    code, out, _ = await campatch(tmp_path, "journal", "verify")
    assert code == 0
    assert "journal ok: 3 records, head seq 3" in out

    with sqlite3.connect(tmp_path / "inventory.db") as db:
        db.execute("UPDATE journal SET result = 'replaced' WHERE seq = 2")
    db.close()
    code, out, err = await campatch(tmp_path, "journal", "verify")

    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == [
        "campatch: journal tampered with at seq 2: content does not match its hash (edited)"
    ]
