"""End to end: the real ``campatch`` command against a simulated fleet on loopback.

The CLI runs as a separate process (as a user runs it); the fleet runs in the test's
event loop, so the test can change a device between two scans.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from campatch.config import PortMap
from campatch.report.json import scan_schema
from campatch.sim.fleet import Fleet
from support import FleetFactory, campatch

CAMERAS: list[dict[str, Any]] = [
    {
        "personality": "hikvision", "name": "hik", "address": 11, "model": "DS-2CD2143G2-I",
        "firmware": "V5.7.3", "build": "build 220112", "serial": "DS-2CD2143G2-I20220301AAWRJ00000011",
        "mac": "08:3b:c1:00:00:11", "device_type": "IPCamera", "users": {"admin": "Hik-pass-11"},
    },
    {
        "personality": "hikvision", "name": "hik-nvr", "address": 12, "model": "DS-7608NI-K2",
        "firmware": "V4.61.005", "build": "build 210831", "serial": "DS-7608NI-K20210901CCWRF00000012",
        "mac": "08:3b:c1:00:00:12", "device_type": "NVR", "users": {"admin": "Nvr-pass-12"},
    },
    {
        "personality": "dahua", "name": "dahua", "address": 21, "model": "IPC-HDW5831R-ZE",
        "firmware": "2.800.0000016.0.R", "build": "2020-06-05", "serial": "4X7C5A1ZAG00021",
        "mac": "14:a7:8b:00:00:21", "device_type": "IPC-HDW5831R-ZE", "users": {"admin": "Dahua-pass-21"},
    },
    {
        "personality": "dahua", "name": "amcrest", "address": 22, "brand": "Amcrest", "model": "IP8M-2496EB",
        "firmware": "2.800.0000000.25.R", "build": "2021-07-19", "serial": "AMC00000000000022",
        "mac": "9c:8e:cd:00:00:22", "device_type": "IPC-HDW2831T", "users": {"admin": "Amc-pass-22"},
    },
    {
        "personality": "onvif", "name": "onvif", "address": 31, "vendor": "Milesight", "model": "MS-C2963-PB",
        "hardware": "V1.2", "firmware": "45.7.0.79", "serial": "6C2A1F000031", "mac": "1c:c3:16:00:00:31",
        "users": {"admin": "Onvif-pass-31"},
    },
]  # fmt: skip
OTHERS: list[dict[str, Any]] = [
    {"personality": "printer", "name": "printer", "address": 41, "vendor": "Brother", "model": "HL-L2350DW", "ssdp": True},
    {"personality": "router", "name": "router", "address": 1, "vendor": "NETGEAR", "model": "R7000", "ssdp": True},
    {"personality": "sshd", "name": "ssh", "address": 42},
    {"personality": "webserver", "name": "web", "address": 43},
]  # fmt: skip


def subnet_of(fleet: Fleet) -> str:
    address = next(iter(fleet.devices.values())).spec.address
    return address.rsplit(".", 1)[0] + ".0/24"


async def add_credentials(home: Path, fleet: Fleet) -> None:
    for dev in fleet.devices.values():
        for user, password in dev.spec.users.items():
            code, out, err = await campatch(
                home, "creds", "add", dev.spec.address, "-u", user, "--password-stdin",
                stdin=password.encode() + b"\n",
            )  # fmt: skip
            assert code == 0, err
            assert password not in out + err


async def scan_json(home: Path, fleet: Fleet, *extra: str) -> dict[str, Any]:
    offset = str(fleet.port_map.low_port_offset)
    code, out, err = await campatch(
        home, "scan", subnet_of(fleet), "--format", "json", "--port-offset", offset, *extra
    )
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    jsonschema.validate(result, scan_schema())
    return result


def by_address(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h["address"]: h for h in result["hosts"]}


def value(host: dict[str, Any], field: str) -> str | None:
    entry = host["identity"].get(field)
    return entry["value"] if entry else None


@pytest.mark.slow
async def test_scan_identifies_every_camera_and_no_other_host_as_camera(
    fleet_of: FleetFactory, tmp_path: Path
) -> None:
    async with fleet_of(CAMERAS + OTHERS) as fleet:
        await add_credentials(tmp_path, fleet)
        result = await scan_json(tmp_path, fleet)
    hosts = by_address(result)
    for dev in fleet.devices.values():
        spec, host = dev.spec, hosts[dev.spec.address]
        if dev.spec.personality in ("printer", "router", "sshd", "webserver"):
            assert host["class"] == "not_camera", host
            continue
        assert host["class"] in ("camera", "nvr", "dvr"), host
        assert host["auth"] == "accepted", host["problems"]
        assert value(host, "model") == spec.model
        assert value(host, "firmware") == spec.firmware
        assert value(host, "serial") == spec.serial
        assert value(host, "mac") == spec.mac
        expected_vendor = {"hikvision": "Hikvision", "dahua": "Dahua"}.get(
            spec.personality, spec.vendor
        )
        assert (value(host, "vendor") or "").casefold() == expected_vendor.casefold()
    assert hosts[fleet.device("hik-nvr").spec.address]["class"] == "nvr"
    assert value(hosts[fleet.device("amcrest").spec.address], "brand") == "Amcrest"
    assert {hosts[fleet.device(n).spec.address]["what"] for n in ("printer", "router", "ssh", "web")} == {
        "printer", "router", "ssh server", "web server",
    }  # fmt: skip
    assert result["summary"]["video_devices"] == len(CAMERAS)
    assert result["summary"]["not_cameras"] == len(OTHERS)


@pytest.mark.slow
async def test_second_scan_reports_address_and_firmware_changes(
    fleet_of: FleetFactory, tmp_path: Path
) -> None:
    async with fleet_of(CAMERAS[:3]) as fleet:
        await add_credentials(tmp_path, fleet)
        first = await scan_json(tmp_path, fleet)
        assert {c["kind"] for c in first["changes"]} == {"new"}
        hik, dahua = fleet.device("hik"), fleet.device("dahua")
        hik.spec.firmware = "V5.7.15"
        old_address = dahua.spec.address
        await fleet.move("dahua", old_address.rsplit(".", 1)[0] + ".99")
        second = await scan_json(tmp_path, fleet)
    changes = {(c["kind"], c["device"]): c for c in second["changes"]}
    fw = changes[("firmware_changed", "mac:08:3b:c1:00:00:11")]
    assert "V5.7.3" in fw["before"]
    assert "V5.7.15" in fw["after"]
    moved = changes[("address_changed", "mac:14:a7:8b:00:00:21")]
    assert (moved["before"], moved["after"]) == (old_address, dahua.spec.address)
    assert not any(kind in ("new", "gone") for kind, _ in changes)


@pytest.mark.slow
async def test_without_credentials_vendor_protocols_still_give_model_and_firmware(
    fleet_of: FleetFactory, tmp_path: Path
) -> None:
    async with fleet_of(CAMERAS[:4]) as fleet:
        result = await scan_json(tmp_path, fleet, "--no-store")
    for dev in fleet.devices.values():
        host = by_address(result)[dev.spec.address]
        assert host["auth"] == "not_tried"
        # SADP (Hikvision) and DHIP (Dahua) answer without credentials.
        assert value(host, "model") == dev.spec.model
        assert value(host, "firmware") == dev.spec.firmware
        assert value(host, "mac") == dev.spec.mac


async def test_devices_lists_the_inventory_after_a_scan(
    fleet_of: FleetFactory, tmp_path: Path
) -> None:
    async with fleet_of(CAMERAS[:1]) as fleet:
        await add_credentials(tmp_path, fleet)
        await scan_json(tmp_path, fleet)
    code, out, err = await campatch(tmp_path, "devices", "--format", "json")
    assert code == 0, err
    [row] = json.loads(out)["devices"]
    assert (row["model"], row["firmware"], row["serial"]) == (
        CAMERAS[0]["model"], CAMERAS[0]["firmware"], CAMERAS[0]["serial"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["scan", "192.0.2.300/24"], "bad target '192.0.2.300/24'"),
        (["scan", "127.0.0.1", "--db", "postgresql+psycopg://u:s3cretpw@127.0.0.1:1/x"], "cannot open inventory"),
        (["sim", "demo", "--fleet", "/nonexistent/fleet.yaml"], "cannot read fleet file"),
        (["creds", "add", "not a scope!", "--password-stdin"], "scope"),
    ],
)  # fmt: skip
async def test_user_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    code, out, err = await campatch(tmp_path, *args, stdin=b"pw\n")
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[0].startswith("campatch: error: ")
    assert needle in lines[0]
    assert len(lines) <= 2  # the error, and at most a tip
    assert "Traceback" not in err
    assert "s3cretpw" not in out + err


@pytest.mark.slow
async def test_demo_runs_the_whole_job_and_prints_valid_json(tmp_path: Path) -> None:
    code, out, err = await campatch(tmp_path, "sim", "demo", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    jsonschema.validate(result, scan_schema())
    assert result["summary"]["video_devices"] == 8
    assert result["summary"]["not_cameras"] == 4
    assert result["summary"]["identified_with_firmware"] >= 7


@pytest.mark.slow
async def test_scan_through_a_port_offset_as_without_root(
    fleet_of: FleetFactory, tmp_path: Path
) -> None:
    """Without the right to bind ports below 1024 the simulator moves them up; the scan follows."""
    async with fleet_of(CAMERAS + OTHERS[:1], port_map=PortMap(low_port_offset=20000)) as fleet:
        await add_credentials(tmp_path, fleet)
        result = await scan_json(tmp_path, fleet, "--no-store")
    hosts = by_address(result)
    for dev in fleet.devices.values():
        host = hosts[dev.spec.address]
        if dev.spec.personality == "printer":
            assert host["class"] == "not_camera"
            continue
        assert host["auth"] == "accepted", host["problems"]
        assert value(host, "firmware") == dev.spec.firmware
        # Reported ports are the vendor's, not the moved ones.
        assert {"port": 80, "transport": "tcp", "protocol": "http"} in host["services"]
