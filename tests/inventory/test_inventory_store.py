"""The inventory store on SQLite and PostgreSQL: schema, history, change detection, errors."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import sqlite3
import stat
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from campatch.errors import InventoryError
from campatch.inventory import (
    CredentialStore,
    InventoryStore,
    SqlInventoryStore,
    open_store,
    open_vault,
)
from campatch.inventory.tables import Base
from campatch.model import (
    AuthState,
    Change,
    ChangeKind,
    DeviceClass,
    Field,
    HostReport,
    Identity,
    Observation,
    Problem,
    ScanResult,
    Service,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
MAC_A = "50:e5:38:bb:aa:01"
MAC_B = "50:e5:38:bb:aa:02"


def camera(
    address: str,
    *,
    mac: str | None = None,
    firmware: str | None = None,
    build: str | None = None,
    vendor: str | None = "Hikvision",
    serial: str | None = None,
    device_class: DeviceClass = DeviceClass.CAMERA,
) -> HostReport:
    """A host report built the way the scanner builds one, from observations."""
    facts = [
        (Field.MAC, mac),
        (Field.VENDOR, vendor),
        (Field.FIRMWARE, firmware),
        (Field.BUILD, build),
        (Field.SERIAL, serial),
    ]
    obs = [Observation(f, v, "isapi:/ISAPI/System/deviceInfo", 0.95) for f, v in facts if v]
    return HostReport(address=address, device_class=device_class, identity=Identity.of(obs))


def scan(*hosts: HostReport, at: datetime = T0, targets: tuple[str, ...] = ()) -> ScanResult:
    return ScanResult(
        scan_id=None,
        started_at=at,
        finished_at=at + timedelta(seconds=30),
        targets=targets,
        hosts=hosts,
    )


def net(cidr: str) -> list[str]:
    """Every host address of a network: the scope a scan of ``cidr`` covered."""
    return [str(a) for a in ipaddress.ip_network(cidr).hosts()]


def kinds(result: ScanResult) -> list[tuple[ChangeKind, str]]:
    return [(c.kind, c.device_key) for c in result.changes]


# --- schema ---------------------------------------------------------------------


def test_migrations_create_the_schema_that_tables_py_describes(db_url: str) -> None:
    with open_store(db_url):
        pass
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert tables == {
        "alembic_version", "scans", "devices", "scan_hosts", "changes", "login_attempts",
        "jobs", "job_devices", "job_events", "journal", "journal_head",
    }  # fmt: skip
    assert revision == "0003"
    assert diff == []


def test_reopening_a_migrated_database_keeps_its_data(db_url: str) -> None:
    with open_store(db_url) as store:
        store.record_scan(scan(camera("192.0.2.5", mac=MAC_A)), ["192.0.2.5"])
    with open_store(db_url) as store:
        assert [d.key for d in store.devices()] == [f"mac:{MAC_A}"]


def test_sqlite_file_is_0600_and_runs_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "inventory.db"
    old_umask = os.umask(0)  # SQLite alone would create the file 0644 now
    try:
        store = open_store(f"sqlite:///{db}")
    finally:
        os.umask(old_umask)
    with store:
        store.record_scan(scan(camera("192.0.2.5", mac=MAC_A)), ["192.0.2.5"])
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("inventory.db*")}
        with store._engine.connect() as conn:  # the store's own connection settings
            synchronous = conn.execute(text("PRAGMA synchronous")).scalar()
            foreign_keys = conn.execute(text("PRAGMA foreign_keys")).scalar()
    assert modes == {"inventory.db": 0o600, "inventory.db-wal": 0o600, "inventory.db-shm": 0o600}
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert synchronous == 2  # FULL (S-04): a committed transaction survives a power cut
    assert foreign_keys == 1


def test_default_store_is_sqlite_in_the_data_dir(campatch_home: Path) -> None:
    with open_store(None) as store:
        assert store.url == f"sqlite:///{campatch_home / 'inventory.db'}"
    assert stat.S_IMODE((campatch_home / "inventory.db").stat().st_mode) == 0o600


def test_in_memory_sqlite_works_for_quick_use() -> None:
    with open_store("sqlite://") as store:
        result = store.record_scan(scan(camera("192.0.2.5", mac=MAC_A)), ["192.0.2.5"])
        assert result.scan_id == 1
        assert len(store.devices()) == 1


def test_implementations_satisfy_their_protocols(store: SqlInventoryStore) -> None:
    as_store: InventoryStore = store  # mypy checks these two assignments
    as_vault: CredentialStore = open_vault()

    assert as_store.scans() == []
    assert as_vault.entries() == []


# --- history --------------------------------------------------------------------


def test_every_host_report_of_every_scan_is_kept_as_history(store: SqlInventoryStore) -> None:
    observations = [
        Observation(Field.MAC, "50-E5-38-BB-AA-01", "sadp", 0.7),
        Observation(Field.VENDOR, "Hikvision", "isapi:/ISAPI/System/deviceInfo", 0.95),
        Observation(Field.VENDOR, "Dahua", "oui", 0.3),  # a disagreement to keep
        Observation(Field.MODEL, "DS-2CD2043G2-I", "isapi:/ISAPI/System/deviceInfo", 0.95),
        Observation(Field.FIRMWARE, "V5.7.3", "isapi:/ISAPI/System/deviceInfo", 0.95),
    ]
    first = HostReport(
        address="192.0.2.5",
        device_class=DeviceClass.CAMERA,
        identity=Identity.of(observations),
        services=(Service(80, "tcp", "http", "Server: App-webs/"), Service(554, "tcp", "rtsp")),
        drivers=("hikvision", "onvif"),
        auth=AuthState.ACCEPTED,
        problems=(Problem("onvif", "GetDeviceInformation timed out"),),
    )
    second = HostReport(
        address="192.0.2.9",
        device_class=DeviceClass.CAMERA,
        identity=first.identity.merged([Observation(Field.FIRMWARE, "V5.8.0", "isapi", 0.96)]),
        auth=AuthState.LOCKED,
    )
    store.record_scan(scan(first), ["192.0.2.5"])
    store.record_scan(scan(second, at=T0 + timedelta(days=1)), ["192.0.2.9"])

    history = store.history(f"mac:{MAC_A}")

    assert [h.report for h in history] == [first, second]
    assert [h.scanned_at for h in history] == [T0, T0 + timedelta(days=1)]
    assert history[0].report.identity.fields[Field.VENDOR].disagreements == (observations[2],)
    assert store.history("mac:00:11:22:33:44:55") == []


def test_scans_are_listed_newest_first_with_their_changes(store: SqlInventoryStore) -> None:
    first = store.record_scan(scan(camera("192.0.2.5", mac=MAC_A), targets=("192.0.2.0/24",)), [])
    second = store.record_scan(scan(at=T0 + timedelta(hours=1), targets=("192.0.2.5",)), [])
    third = store.record_scan(scan(at=T0 + timedelta(hours=2)), ["192.0.2.5"])

    rows = store.scans(limit=2)

    assert [r.id for r in rows] == [third.scan_id, second.scan_id]
    assert rows[0].changes == (Change(ChangeKind.GONE, f"mac:{MAC_A}", "192.0.2.5"),)
    assert rows[1].targets == ("192.0.2.5",)
    assert rows[1].host_count == 0
    assert rows[1].started_at == T0 + timedelta(hours=1)
    assert [first.scan_id, second.scan_id, third.scan_id] == [1, 2, 3]


def test_hostile_device_strings_are_stored_and_read_back(store: SqlInventoryStore) -> None:
    hostile = "DS-\x00-\ud800-" + "x" * 5000  # NUL, a lone surrogate, a huge value
    host = HostReport(
        address="192.0.2.5",
        device_class=DeviceClass.CAMERA,
        identity=Identity.of(
            [Observation(Field.MAC, MAC_A, "arp", 0.7), Observation(Field.MODEL, hostile, "x", 0.9)]
        ),
        services=(Service(80, "tcp", "http", banner="a\x00b"),),
    )
    store.record_scan(scan(host), ["192.0.2.5"])

    (device,) = store.devices()
    (snapshot,) = store.history(device.key)

    assert device.model == "DS-\ufffd-?-" + "x" * 5000
    assert snapshot.report.identity.get(Field.MODEL) == device.model
    assert snapshot.report.services[0].banner == "a\ufffdb"


def test_record_scan_can_run_in_a_worker_thread(store: SqlInventoryStore) -> None:
    async def main() -> ScanResult:
        return await asyncio.to_thread(
            store.record_scan, scan(camera("192.0.2.5", mac=MAC_A)), ["192.0.2.5"]
        )

    assert kinds(asyncio.run(main())) == [(ChangeKind.NEW, f"mac:{MAC_A}")]


# --- changes --------------------------------------------------------------------


def test_first_sighting_is_new_and_a_rescan_changes_nothing(store: SqlInventoryStore) -> None:
    hosts = (camera("192.0.2.5", mac=MAC_A, firmware="V5.7.3"), camera("192.0.2.6", mac=MAC_B))

    first = store.record_scan(scan(*hosts), net("192.0.2.0/24"))
    second = store.record_scan(scan(*hosts, at=T0 + timedelta(days=1)), net("192.0.2.0/24"))

    assert kinds(first) == [(ChangeKind.NEW, f"mac:{MAC_A}"), (ChangeKind.NEW, f"mac:{MAC_B}")]
    assert first.scan_id is not None
    assert second.changes == ()
    device = store.devices()[0]
    assert (device.key, device.firmware, device.vendor) == (f"mac:{MAC_A}", "V5.7.3", "Hikvision")
    assert device.first_seen == T0 + timedelta(seconds=30)
    assert device.last_seen == T0 + timedelta(days=1, seconds=30)


def test_same_key_at_a_new_address_is_address_changed_not_new_or_gone(
    store: SqlInventoryStore,
) -> None:
    store.record_scan(scan(camera("192.0.2.5", mac=MAC_A)), net("192.0.2.0/24"))

    moved = store.record_scan(scan(camera("192.0.2.77", mac=MAC_A)), net("192.0.2.0/24"))

    assert moved.changes == (
        Change(ChangeKind.ADDRESS_CHANGED, f"mac:{MAC_A}", "192.0.2.77", "192.0.2.5", "192.0.2.77"),
    )
    assert [(d.key, d.address, d.gone) for d in store.devices(include_gone=True)] == [
        (f"mac:{MAC_A}", "192.0.2.77", False)
    ]


def test_firmware_change_reports_before_and_after(store: SqlInventoryStore) -> None:
    store.record_scan(
        scan(camera("192.0.2.5", mac=MAC_A, firmware="V5.7.3", build="220112")), ["192.0.2.5"]
    )

    upgraded = store.record_scan(
        scan(camera("192.0.2.5", mac=MAC_A, firmware="V5.7.15", build="230601")), ["192.0.2.5"]
    )

    assert upgraded.changes == (
        Change(
            ChangeKind.FIRMWARE_CHANGED,
            f"mac:{MAC_A}",
            "192.0.2.5",
            "V5.7.3 build 220112",
            "V5.7.15 build 230601",
        ),
    )
    assert store.devices()[0].firmware == "V5.7.15"


def test_firmware_not_read_this_time_is_no_change_and_is_kept(store: SqlInventoryStore) -> None:
    store.record_scan(scan(camera("192.0.2.5", mac=MAC_A, firmware="V5.7.3")), ["192.0.2.5"])

    blind = store.record_scan(scan(camera("192.0.2.5", mac=MAC_A)), ["192.0.2.5"])
    same = store.record_scan(
        scan(camera("192.0.2.5", mac=MAC_A, firmware="v5.7.3 ")), ["192.0.2.5"]
    )

    assert blind.changes == ()
    assert same.changes == ()  # case and spacing are not a new firmware
    assert store.devices()[0].firmware == "v5.7.3"


def test_silent_device_in_scope_is_gone_and_left_out_of_devices(store: SqlInventoryStore) -> None:
    store.record_scan(
        scan(camera("192.0.2.5", mac=MAC_A), camera("192.0.2.6", mac=MAC_B)), net("192.0.2.0/24")
    )

    result = store.record_scan(scan(camera("192.0.2.6", mac=MAC_B)), net("192.0.2.0/24"))

    assert result.changes == (Change(ChangeKind.GONE, f"mac:{MAC_A}", "192.0.2.5"),)
    assert [d.key for d in store.devices()] == [f"mac:{MAC_B}"]
    gone = [d for d in store.devices(include_gone=True) if d.gone]
    assert [d.key for d in gone] == [f"mac:{MAC_A}"]


def test_scanning_another_range_does_not_mark_devices_outside_it_gone(
    store: SqlInventoryStore,
) -> None:
    store.record_scan(
        scan(camera("192.0.2.5", mac=MAC_A), camera("198.51.100.5", mac=MAC_B)),
        net("192.0.2.0/24") + net("198.51.100.0/24"),
    )

    other_range = store.record_scan(scan(), net("198.51.100.0/24"))
    gone_again = store.record_scan(scan(), net("198.51.100.0/24"))

    assert other_range.changes == (Change(ChangeKind.GONE, f"mac:{MAC_B}", "198.51.100.5"),)
    assert gone_again.changes == ()  # gone once, not every scan
    assert [d.key for d in store.devices()] == [f"mac:{MAC_A}"]


def test_gone_device_that_returns_is_not_new(store: SqlInventoryStore) -> None:
    store.record_scan(scan(camera("192.0.2.5", mac=MAC_A, firmware="V1")), ["192.0.2.5"])
    store.record_scan(scan(), ["192.0.2.5"])

    back = store.record_scan(scan(camera("192.0.2.8", mac=MAC_A, firmware="V2")), ["192.0.2.8"])

    assert kinds(back) == [
        (ChangeKind.ADDRESS_CHANGED, f"mac:{MAC_A}"),
        (ChangeKind.FIRMWARE_CHANGED, f"mac:{MAC_A}"),
    ]
    assert [d.gone for d in store.devices(include_gone=True)] == [False]


def test_host_without_key_is_kept_by_address(store: SqlInventoryStore) -> None:
    printer = HostReport("192.0.2.20", DeviceClass.NOT_CAMERA, Identity(), what="printer")

    result = store.record_scan(scan(printer), ["192.0.2.20"])

    assert kinds(result) == [(ChangeKind.NEW, "addr:192.0.2.20")]
    (row,) = store.devices()
    assert (row.device_class, row.what, row.mac) == (DeviceClass.NOT_CAMERA, "printer", None)


def test_serial_key_is_used_when_there_is_no_mac(store: SqlInventoryStore) -> None:
    result = store.record_scan(scan(camera("192.0.2.5", serial="DS123456")), ["192.0.2.5"])

    assert kinds(result) == [(ChangeKind.NEW, "serial:hikvision:DS123456")]


def test_known_device_whose_identification_failed_is_not_a_swap(store: SqlInventoryStore) -> None:
    store.record_scan(scan(camera("192.0.2.5", mac=MAC_A, firmware="V1")), ["192.0.2.5"])
    unidentified = HostReport("192.0.2.5", DeviceClass.UNKNOWN, Identity())

    result = store.record_scan(scan(unidentified), ["192.0.2.5"])

    assert result.changes == ()
    assert [h.device_key for h in store.history(f"mac:{MAC_A}")] == [f"mac:{MAC_A}"] * 2
    (device,) = store.devices()
    assert (device.device_class, device.firmware) == (DeviceClass.CAMERA, "V1")


def test_different_kind_of_host_at_a_known_address_is_a_swap(store: SqlInventoryStore) -> None:
    store.record_scan(scan(camera("192.0.2.5", mac=MAC_A)), ["192.0.2.5"])
    laptop = HostReport("192.0.2.5", DeviceClass.NOT_CAMERA, Identity(), what="ssh server")

    result = store.record_scan(scan(laptop), ["192.0.2.5"])

    assert kinds(result) == [(ChangeKind.NEW, "addr:192.0.2.5"), (ChangeKind.GONE, f"mac:{MAC_A}")]


def test_host_identified_later_is_new_and_its_address_row_is_not_gone(
    store: SqlInventoryStore,
) -> None:
    store.record_scan(scan(HostReport("192.0.2.5", DeviceClass.UNKNOWN, Identity())), ["192.0.2.5"])

    result = store.record_scan(scan(camera("192.0.2.5", mac=MAC_A)), ["192.0.2.5"])

    assert kinds(result) == [(ChangeKind.NEW, f"mac:{MAC_A}")]
    assert [d.key for d in store.devices()] == [f"mac:{MAC_A}"]


def test_two_hosts_reporting_one_mac_stay_two_devices(store: SqlInventoryStore) -> None:
    store.record_scan(scan(camera("192.0.2.9", mac=MAC_A)), net("192.0.2.0/24"))

    result = store.record_scan(
        scan(camera("192.0.2.5", mac=MAC_A), camera("192.0.2.9", mac=MAC_A)), net("192.0.2.0/24")
    )

    assert kinds(result) == [(ChangeKind.NEW, "addr:192.0.2.5")]  # .9 keeps the key it had
    assert [(d.key, d.address) for d in store.devices()] == [
        ("addr:192.0.2.5", "192.0.2.5"),
        (f"mac:{MAC_A}", "192.0.2.9"),
    ]


# --- errors ---------------------------------------------------------------------

PASSWORD = "Canary-Pw-7f3a9"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test", "connection refused"),
        (f"postgresql+psycopg://postgres:{PASSWORD}@nonexistent.invalid/test", "resolve host"),
        (f"sqlite:////nonexistent-{PASSWORD}/inventory.db", "does not exist"),
        (f"nosuchdb://user:{PASSWORD}@host/db", "can't load plugin"),
        (f"::{PASSWORD}::", "not a valid database URL"),
    ],
)
def test_unreachable_database_is_one_line_inventory_error_without_password(
    url: str, reason: str
) -> None:
    with pytest.raises(InventoryError) as caught:
        open_store(url)

    message = str(caught.value)
    assert message.startswith("cannot open inventory")
    assert reason in message
    assert "\n" not in message
    if "sqlite" not in url:  # a path is no secret; a password in a URL is
        assert PASSWORD not in message
        assert PASSWORD not in "".join(traceback.format_exception(caught.value))


def test_failed_write_is_inventory_error_and_stores_nothing(db_url: str) -> None:
    with open_store(db_url) as store:
        store.record_scan(scan(camera("192.0.2.5", mac=MAC_A)), ["192.0.2.5"])
        engine = create_engine(db_url)
        try:
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE changes"))
        finally:
            engine.dispose()

        with pytest.raises(InventoryError, match=r"cannot record scan: .*changes") as caught:
            store.record_scan(scan(camera("192.0.2.6", mac=MAC_B)), ["192.0.2.5", "192.0.2.6"])

        assert "\n" not in str(caught.value)
        assert [d.key for d in store.devices()] == [f"mac:{MAC_A}"]
        engine = create_engine(db_url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM scans")).scalar() == 1
                assert conn.execute(text("SELECT count(*) FROM scan_hosts")).scalar() == 1
        finally:
            engine.dispose()


def test_database_from_a_newer_campatch_is_refused_in_one_line(db_url: str) -> None:
    with open_store(db_url):
        pass
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()

    with pytest.raises(InventoryError, match=r"schema migration failed: .*'9999'") as caught:
        open_store(db_url)
    assert "\n" not in str(caught.value)


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'inventory.db'}")
    store.close()

    with pytest.raises(InventoryError, match="store is closed"):
        store.devices()
