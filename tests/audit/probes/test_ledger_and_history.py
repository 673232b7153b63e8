"""The attempt ledger in the inventory, SecurityFacts in the history, and config changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from probe_support import knowledge
from sqlalchemy import create_engine, inspect

from campatch.audit.checks.changes import CHECKS as CHANGE_CHECKS
from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.inventory.interface import AttemptOutcome, LoginAttempt
from campatch.inventory.store import open_store
from campatch.model import (
    DefaultLogin,
    DeviceClass,
    Field,
    HostReport,
    Identity,
    Observation,
    PortForward,
    ScanResult,
    SecurityFacts,
    Service,
)

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FACTS = SecurityFacts(
    rtsp_open=("rtsp://127.0.0.5:554/Streaming/Channels/101",),
    onvif_open=False,
    web_tls="self-signed,rsa-1024",
    basic_auth_over_http=True,
    default_logins=(DefaultLogin("telnet", "root", "bundle:mirai", mirai=True),),
    login_attempts=2,
    port_forwards=(PortForward("127.0.0.1", 8554, 554, "TCP", "cam"),),
    upnp_enabled=True,
    p2p_enabled=False,
    clock_offset_s=-12.5,
    accounts=("admin", "guest"),
)


def _host(firmware: str, ports: tuple[int, ...], security: SecurityFacts) -> HostReport:
    identity = Identity.of(
        [
            Observation(Field.MAC, "44:19:b6:00:00:05", "test", 0.9),
            Observation(Field.FIRMWARE, firmware, "test", 0.9),
        ]
    )
    services = tuple(Service(p, "tcp", "x") for p in ports)
    return HostReport(
        "127.0.0.5", DeviceClass.CAMERA, identity, services=services, security=security
    )


def test_security_facts_round_trip_through_the_history(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'inv.db'}") as store:
        result = ScanResult(None, T0, T0, ("127.0.0.5",), (_host("V5.5.0", (80,), FACTS),))
        store.record_scan(result, ["127.0.0.5"])
        old = ScanResult(None, T0, T0, ("127.0.0.5",), (_host("V5.5.0", (80,), SecurityFacts()),))
        store.record_scan(old, ["127.0.0.5"])
        first, second = store.history("mac:44:19:b6:00:00:05")
    assert first.report.security == FACTS
    assert second.report.security == SecurityFacts()  # "not checked" stays None


def test_login_attempts_persist_without_passwords_and_filter_by_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inv.db'}"
    attempt = LoginAttempt("mac:aa", "127.0.0.5", "http", "admin", T0, AttemptOutcome.REFUSED)
    locked = LoginAttempt(
        "addr:127.0.0.5", "127.0.0.5", "onvif", "admin", T0 + timedelta(minutes=5),
        AttemptOutcome.LOCKED, until=T0 + timedelta(minutes=35),
    )  # fmt: skip
    with open_store(url) as store:
        store.record_attempt(attempt)
        store.record_attempt(locked)
    with open_store(url) as store:  # a later scan reads them back
        assert store.attempts_since("mac:aa", "127.0.0.5", T0) == [attempt, locked]
        assert store.attempts_since("mac:aa", "198.51.100.9", T0 + timedelta(minutes=1)) == []
        assert store.forget_attempts(T0 + timedelta(minutes=1)) == 1
        assert store.attempts_since("mac:aa", "127.0.0.5", T0) == [locked]
    columns = {c["name"] for c in inspect(create_engine(url)).get_columns("login_attempts")}
    assert columns == {
        "id",
        "device_key",
        "address",
        "protocol",
        "username",
        "at",
        "outcome",
        "owner",
        "until",
    }  # fmt: skip  (no password, in any form)


def _changes(before: HostReport, now: HostReport) -> list[tuple[str, str]]:
    facts = DeviceFacts("mac:44:19:b6:00:00:05", now, previous=before)
    ctx = AuditContext(knowledge=knowledge())
    return [(f.severity.value, f.title) for c in CHANGE_CHECKS for f in c.run(facts, ctx)]


def test_config_changed_reports_new_ports_and_firmware_but_not_an_unchanged_device() -> None:
    before = _host("V5.5.0", (80, 554), SecurityFacts())
    after = _host("V5.7.3", (23, 80), SecurityFacts())
    assert _changes(before, after) == [
        ("medium", "New open ports: 23/tcp"),
        ("info", "Ports now closed: 554/tcp"),
        ("info", "Firmware changed from V5.5.0 to V5.7.3"),
    ]
    assert _changes(before, before) == []
