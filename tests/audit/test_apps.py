"""``viewer-app-outdated`` against the app catalog."""

from __future__ import annotations

from auditkit import SOURCE, context

from campatch.audit.checks.apps import ViewerAppOutdated
from campatch.audit.interface import AuditContext
from campatch.model import Certainty, Severity, ViewerApp

CHECK = ViewerAppOutdated()
APP = ViewerApp(
    "Hik-Connect", "Hikvision", "android", "6.2.1", SOURCE, url="https://play.example/hik"
)


def apps(**owner: str) -> AuditContext:
    return context(
        apps=(APP,), owner_apps={(k.replace("_", "-"), "android"): v for k, v in owner.items()}
    )


def test_older_app_is_medium_with_the_latest_version_and_where_to_get_it() -> None:
    [group] = CHECK.run_apps(apps(**{"hik_connect": "5.0.0"}))
    assert (group.key, group.address) == ("app:hik-connect:android", "")
    [found] = group.findings
    assert found.severity is Severity.MEDIUM
    assert "6.2.1" in found.remediation
    assert "https://play.example/hik" in found.remediation


def test_current_or_newer_app_gives_nothing() -> None:
    assert list(CHECK.run_apps(apps(hik_connect="6.2.1"))) == []
    assert list(CHECK.run_apps(apps(hik_connect="6.3"))) == []


def test_unknown_app_gives_nothing() -> None:
    assert list(CHECK.run_apps(apps(dmss="1.0"))) == []


def test_unorderable_version_is_possible() -> None:
    [[found]] = (g.findings for g in CHECK.run_apps(apps(hik_connect="beta-7")))
    assert found.certainty is Certainty.POSSIBLE
