"""``campatch patch`` end to end: a real SQLite inventory, a stored catalog, no device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from campatch.inventory import open_store
from campatch.knowledge.store import KnowledgeStore
from campatch.model import (
    Advisory,
    AffectedProduct,
    AuthState,
    DeviceClass,
    Field,
    FirmwareRelease,
    HostReport,
    Identity,
    Observation,
    Provenance,
    ScanResult,
    VersionRange,
)
from campatch.patch.jobs import DeviceJob, Step

SOURCE = Provenance("test", "https://vendor.example/firmware")
MODEL = "DS-2CD2032F-I"
HIK = "192.0.2.10"
AXIS = "192.0.2.20"
SHA = "ab" * 32


def camera(
    address: str, vendor: str, model: str, firmware: str, mac: str, drivers: tuple[str, ...]
) -> HostReport:
    values = {Field.VENDOR: vendor, Field.MODEL: model, Field.FIRMWARE: firmware, Field.MAC: mac}
    identity = Identity.of(Observation(f, v, "test", 0.95) for f, v in values.items())
    return HostReport(
        address, DeviceClass.CAMERA, identity, drivers=drivers, auth=AuthState.ACCEPTED
    )


def _release(vendor: str, model: str, version: str, **kw: Any) -> FirmwareRelease:
    return FirmwareRelease(vendor, model, version, SOURCE, sha256=SHA,
                           download_page="https://vendor.example/download", **kw)  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A campatch home: an inventory with a Hikvision and an Axis camera, and a catalog."""
    hosts = (
        camera(HIK, "Hikvision", MODEL, "V5.4.0 build 160530", "00:11:22:33:44:10", ("hikvision",)),
        camera(AXIS, "Axis", "M3045-V", "10.12.114", "00:40:8c:00:00:20", ("onvif",)),
    )
    now = datetime.now(UTC)
    with open_store(f"sqlite:///{tmp_path / 'inventory.db'}") as store:
        store.record_scan(ScanResult(None, now, now, ("192.0.2.0/24",), hosts), [HIK, AXIS])
    flaw = Advisory("CVE-2099-0009", "test flaw", "", (AffectedProduct(
        "Hikvision", (MODEL,), ranges=(VersionRange(fixed="V5.5.0"),)),), SOURCE)  # fmt: skip
    releases = (
        _release("Hikvision", MODEL, "V5.5.0 build 180101"),
        _release("Hikvision", MODEL, "V5.7.3 build 220112", requires=("V5.5.0 build 180101",)),
        _release("Axis", "M3045-V", "10.12.200"),
    )
    KnowledgeStore(tmp_path / "knowledge").replace_source(
        "test", advisories=(flaw,), releases=releases
    )
    return tmp_path


def campatch(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAMPATCH_HOME": str(home)}
    db = f"sqlite:///{home / 'inventory.db'}"
    return subprocess.run(
        [sys.executable, "-m", "campatch", "patch", "--db", db, *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_plan_json_parses_and_shows_path_and_skip_reasons(home: Path) -> None:
    run = campatch(home, "--plan", "--strategy", "latest", "--format", "json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert (doc["format"], doc["version"], doc["strategy"]) == ("campatch-patch-plan", 1, "latest")
    by_address = {d["address"]: d for d in doc["devices"]}
    hik = by_address[HIK]
    assert [r["version"] for r in hik["path"]] == ["V5.5.0 build 180101", "V5.7.3 build 220112"]
    # the plan consults the firmware store, as the rollout does: no image, not ready
    assert hik["ready"] is False
    assert [s["reason"] for s in hik["skips"]] == ["no-image"]
    assert "CVE-2099-0009" in hik["fixes"]
    axis = by_address[AXIS]
    assert axis["target"]["version"] == "10.12.200"
    assert [s["reason"] for s in axis["skips"]] == ["no-automatic-path", "no-image"]


def test_minimum_fix_plan_for_one_target_as_a_table(home: Path) -> None:
    run = campatch(home, HIK, "--plan")
    assert run.returncode == 0, run.stderr
    assert "V5.5.0 build 180101" in run.stdout
    assert "V5.7.3" not in run.stdout
    assert AXIS not in run.stdout
    assert "nothing has been changed" in run.stdout


def test_instructions_as_html_to_a_file(home: Path) -> None:
    out = home / "steps.html"
    run = campatch(
        home, "--instructions", "--strategy", "latest", "--format", "html", "-o", str(out)
    )
    assert run.returncode == 0, run.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert SHA in page
    assert "Maintenance &gt; Firmware upgrade" in page
    assert f"campatch scan {AXIS}" in page


def test_a_rollout_without_images_changes_nothing_and_says_why(home: Path) -> None:
    run = campatch(home, HIK, "--yes")
    assert run.returncode == 0, run.stderr
    assert "no-image" in run.stdout
    assert "Nothing is upgraded" in run.stdout
    jobs = subprocess.run([sys.executable, "-m", "campatch", "jobs", "--format", "json", "--db",
                           f"sqlite:///{home / 'inventory.db'}"], capture_output=True, text=True,
                          env={**os.environ, "CAMPATCH_HOME": str(home)}, check=True)  # fmt: skip
    assert json.loads(jobs.stdout)["jobs"] == []


def test_a_format_that_does_not_fit_the_mode_is_a_usage_error(home: Path) -> None:
    run = campatch(home, "--plan", "--format", "html")
    assert run.returncode == 2
    assert "use table or json" in run.stderr


def test_resuming_a_job_another_process_runs_is_refused_before_anything_is_written(
    home: Path,
) -> None:
    device = DeviceJob(0, "mac:00:11:22:33:44:10", HIK, f"Hikvision {MODEL}", "hikvision", 1,
                       "V5.4.0 build 160530", ("V5.5.0 build 180101",), (SHA,))  # fmt: skip
    with open_store(f"sqlite:///{home / 'inventory.db'}") as store:
        job = store.jobs().create_job({"waves": [1.0]}, [device])
        before = len(store.journal().entries(None))
        with store.jobs().exclusive(job.id):  # as a running `campatch patch` holds it
            run = campatch(home, "--resume", "--job", str(job.id), "--yes")
        assert run.returncode == 2
        assert run.stderr.strip() == (
            f"campatch: error: job {job.id} is being run by another campatch process"
        )
        assert len(store.journal().entries(None)) == before  # no "rollout-resume" record
        assert store.jobs().device_jobs(job.id)[0].step is Step.PENDING
