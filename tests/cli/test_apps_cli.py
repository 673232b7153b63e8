"""``campatch apps`` and the viewer-app check in ``campatch audit`` (real CLI, real catalog)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jsonschema

from campatch.knowledge.bundle import load_bundle
from campatch.model import ViewerApp
from campatch.report.json import scan_schema
from support import campatch


def known_app() -> ViewerApp:
    """A windows app of the shipped catalog (the catalog decides which; never hard-coded)."""
    return next(a for a in load_bundle().apps if a.platform == "windows")


async def test_add_list_remove(tmp_path: Path) -> None:
    app = known_app()
    code, out, err = await campatch(
        tmp_path, "apps", "add", app.name, "--platform", "Windows", "--version", "0.1"
    )
    assert code == 0, err
    assert f"added {app.name} on windows, version 0.1" in out
    assert f"status: outdated (latest {app.latest_version})" in out
    code, out, err = await campatch(
        tmp_path, "apps", "add", "My Own Viewer", "-p", "ios", "--version", "2.0"
    )
    assert code == 0, err
    assert "cannot tell whether it is current" in err

    saved = tmp_path / "apps.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    doc = json.loads(saved.read_text())
    assert doc["format"] == "campatch-owner-apps"
    assert {(a["name"], a["platform"], a["version"]) for a in doc["apps"]} == {
        (app.name, "windows", "0.1"),
        ("My Own Viewer", "ios", "2.0"),
    }

    code, out, err = await campatch(tmp_path, "apps", "list")
    assert code == 0, err
    lines = out.splitlines()
    mine = next(line for line in lines if app.name in line)
    assert "0.1" in mine
    assert app.latest_version in mine
    assert "outdated" in mine
    assert "not in catalog" in next(line for line in lines if "My Own Viewer" in line)

    code, out, err = await campatch(
        tmp_path, "apps", "add", app.name.upper(), "-p", "windows", "--version", app.latest_version
    )
    assert code == 0, err
    assert "updated" in out
    assert "status: current" in out

    code, out, err = await campatch(tmp_path, "apps", "remove", "my own viewer")
    assert code == 0, err
    assert "removed 1 entry" in out
    code, out, _ = await campatch(tmp_path, "apps", "list")
    assert "My Own Viewer" not in out
    assert "Viewer apps (1)" in out


async def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, _, err = await campatch(tmp_path, "apps", "add", "X", "-p", "symbian", "--version", "1")
    assert code == 2
    assert err.startswith("campatch: error: platform 'symbian'")
    code, _, err = await campatch(tmp_path, "apps", "remove", "never-added")
    assert code == 2
    assert err.startswith("campatch: error: no app 'never-added' declared")
    (tmp_path / "apps.json").write_text("not json")
    code, _, err = await campatch(tmp_path, "apps", "list")
    assert code == 2
    assert "is not a campatch app list" in err
    assert "Traceback" not in err


async def test_audit_flags_an_outdated_app_and_not_a_current_one(tmp_path: Path) -> None:
    app = known_app()
    add = ("apps", "add", app.name, "-p", app.platform, "--version")
    assert (await campatch(tmp_path, *add, app.latest_version))[0] == 0

    code, out, err = await campatch(tmp_path, "audit", "--fail-on", "medium")
    assert code == 0, err + out
    assert "is outdated" not in out
    assert "No findings" in out

    assert (await campatch(tmp_path, *add, "0.1"))[0] == 0
    code, out, err = await campatch(tmp_path, "audit", "--fail-on", "medium")
    assert code == 1, err
    assert f"{app.name} on {app.platform}, version 0.1" in out
    assert f"to {app.latest_version} or later" in out
    assert "latest known as of" in out
    # medium is below the default --fail-on high: listed, but exit 0
    code, out, err = await campatch(tmp_path, "audit")
    assert code == 0, err
    assert "is outdated" in out

    code, out, err = await campatch(tmp_path, "audit", "--format", "json", "--fail-on", "low")
    assert code == 1, err
    doc = json.loads(out)
    jsonschema.validate(doc, scan_schema())
    [found] = [f for f in doc["findings"] if f["check"] == "viewer-app-outdated"]
    assert found["device"] == f"app:{app.name.casefold()}:{app.platform}"
    assert found["severity"] == "medium"

    code, out, err = await campatch(tmp_path, "report", "--format", "csv")
    assert code == 0, err
    assert "viewer-app-outdated" in out
