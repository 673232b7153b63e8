"""The snapshot probe against simulated cameras on loopback, and its reply rules.

For each vendor a device with ``snapshot_auth: false`` triggers it and the same device
with its usual login does not; a device answering something that is not a picture
does not either. None of them is sent an ``Authorization`` header.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from probe_support import auth_lines, identified, knowledge

from campatch.audit.checks.exposure import SnapshotOpen
from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.audit.probes.security import ProbeOptions, assess_host, device_key
from campatch.audit.probes.snapshot import MAX_PATHS, is_picture, open_snapshots
from campatch.config import PortMap
from campatch.model import Candidate, Credential, HostReport, Secret, Service
from campatch.net.http import HttpReply
from campatch.sim.http import HttpRequest, HttpResponse, RawWriter, reset_connection, serve_http
from campatch.sim.snapshot import jpeg
from support import probe_context

NO_LOGINS = ProbeOptions(credential_checks=False)
VENDORS = {  # personality -> (a device of it, the snapshot path the probe should report)
    "hikvision": ({"personality": "hikvision"}, "/ISAPI/Streaming/channels/101/picture"),
    "dahua": ({"personality": "dahua"}, "/cgi-bin/snapshot.cgi?channel=1"),
    "onvif": (
        {"personality": "onvif", "vendor": "Acme", "model": "IPC-1"},
        "/onvif-http/snapshot?Profile_1",
    ),
}
SNAPSHOT_WORDS = ("snapshot", "picture")


async def _assess(fleet_of, limits, ledger, devices) -> tuple[list[HostReport], list[list[str]]]:
    """Identify and probe every device without logins; returns the reports and each
    device's logged snapshot requests, after checking that no credential was sent."""
    async with (
        fleet_of(devices, multicast=False) as fleet,
        probe_context(limits, fleet.port_map) as ctx,
    ):
        reports = []
        for name in fleet.devices:
            candidate, report = await identified(fleet, name, ctx)
            reports.append(
                await assess_host(candidate, report, ctx, knowledge(), ledger, options=NO_LOGINS)
            )
        snapshot_lines = []
        for dev in fleet.devices.values():
            assert auth_lines(dev) == []
            assert dev.lockout.attempts == {}
            lines = [r for r in dev.requests if r.startswith("http GET")]
            snapshot_lines.append([r for r in lines if any(w in r for w in SNAPSHOT_WORDS)])
        return reports, snapshot_lines


def _findings(report: HostReport) -> list[str]:
    facts = DeviceFacts(device_key(report), report)
    return [f.check for f in SnapshotOpen().run(facts, AuditContext(knowledge=knowledge()))]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_open_snapshot_is_found_and_a_protected_one_is_not(
    fleet_of, limits, ledger, vendor
) -> None:
    spec, path = VENDORS[vendor]
    users = {"users": {"admin": f"Unique-{vendor}-9"}}
    (open_cam, closed_cam), (open_log, closed_log) = await _assess(
        fleet_of,
        limits,
        ledger,
        [{**spec, **users, "snapshot_auth": False}, {**spec, **users}],
    )
    assert open_cam.security.snapshot_open == (f"http://{open_cam.address}:80{path}",)
    assert _findings(open_cam) == ["snapshot-open"]
    assert closed_cam.security.snapshot_open == ()
    assert _findings(closed_cam) == []
    # No credential offered: every snapshot request went out without Authorization.
    for log in (open_log, closed_log):
        assert log
        assert all(" auth=-" in line for line in log)
    assert len(closed_log) <= MAX_PATHS


@pytest.mark.parametrize("fault", ["html", "fake_jpeg"])
@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_reply_that_is_not_a_picture_is_not_counted(
    fleet_of, limits, ledger, vendor, fault
) -> None:
    spec, _path = VENDORS[vendor]
    hostile = {**spec, "users": {"admin": "Unique-pass-4"}, "snapshot_fault": fault}
    (report,), _logs = await _assess(fleet_of, limits, ledger, [hostile])
    assert report.security.snapshot_open == ()
    assert _findings(report) == []


async def test_https_port_is_probed_too(fleet_of, limits, ledger) -> None:
    cam = {
        "personality": "hikvision",
        "users": {"admin": "Unique-pass-5"},
        "https": "secure",
        "snapshot_auth": False,
    }
    (report,), _logs = await _assess(fleet_of, limits, ledger, [cam])
    path = VENDORS["hikvision"][1]
    assert report.security.snapshot_open == (
        f"http://{report.address}:80{path}",
        f"https://{report.address}:443{path}",
    )


@pytest.mark.parametrize("vendor", VENDORS)
async def test_the_protected_simulator_gives_the_picture_only_to_the_owner(
    fleet_of, limits, vendor
) -> None:
    spec, path = VENDORS[vendor]
    owner = Credential("admin", Secret(f"Unique-{vendor}-7"))
    async with (
        fleet_of([{**spec, "users": {"admin": owner.password.reveal()}}], multicast=False) as fleet,
        probe_context(limits, fleet.port_map) as ctx,
    ):
        (device,) = fleet.devices.values()
        url = ctx.http.url(device.spec.address, 80, path)
        anonymous = await ctx.http.request("GET", url)
        as_owner = await ctx.http.request("GET", url, credential=owner)
    assert anonymous.status == 401
    assert not is_picture(anonymous)
    assert is_picture(as_owner)
    assert as_owner.header("Content-Type") == "image/jpeg"


def test_the_simulated_picture_is_a_small_jpeg() -> None:
    picture = jpeg("DS-2CD2032-I20170301AAWR555555555")
    assert picture.startswith(b"\xff\xd8")
    assert picture.endswith(b"\xff\xd9")
    assert 200 <= len(picture) <= 1000
    assert picture == jpeg("DS-2CD2032-I20170301AAWR555555555")  # deterministic


# --- reply rules, on a raw loopback web server ---------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
REPLIES = {  # path -> (status, content type, body)
    "/jpeg": (200, "image/jpeg", jpeg("x")),
    "/png": (200, "image/png", PNG),
    "/unauthorized": (401, "image/jpeg", jpeg("x")),
    "/forbidden": (403, "text/html", b"<html>403</html>"),
    "/missing": (404, "text/html", b"<html>404</html>"),
    "/html": (200, "text/html", b"<html>login</html>"),
    "/fake-jpeg": (200, "image/jpeg", b"<html>login</html>"),
    "/jpeg-as-text": (200, "text/plain", jpeg("x")),
}
OFFSET = PortMap(low_port_offset=20_000)


def _reply(path: str) -> HttpReply:
    status, content_type, body = REPLIES[path]
    return HttpReply(status, httpx.Headers({"Content-Type": content_type}), body, path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/jpeg", True), ("/png", True)] + [(p, False) for p in list(REPLIES)[2:]],
)
def test_only_a_200_image_with_picture_bytes_counts(path: str, expected: bool) -> None:
    assert is_picture(_reply(path)) is expected


async def _garbage(writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\x01 not HTTP at all\r\n\r\n")
    await writer.drain()
    writer.close()


@asynccontextmanager
async def _web_server(address: str, seen: list[HttpRequest]) -> AsyncIterator[None]:
    """:data:`REPLIES` on ``address`` port 80 (mapped by :data:`OFFSET`); ``/reset``
    drops the connection, ``/garbage`` answers bytes that are not HTTP."""

    async def handle(request: HttpRequest) -> HttpResponse | RawWriter:
        seen.append(request)
        if request.path == "/reset":
            return reset_connection
        if request.path == "/garbage":
            return _garbage
        status, content_type, body = REPLIES[request.path]
        return HttpResponse(status, body, [("Content-Type", content_type)])

    server = await asyncio.start_server(serve_http(handle, None), address, OFFSET.actual(80))
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


async def test_errors_are_skipped_and_the_first_picture_per_port_wins(limits, subnet) -> None:
    seen: list[HttpRequest] = []
    address = f"{subnet}.9"
    candidate = Candidate(address, services=(Service(80, "tcp", "http"),))
    paths = ["/reset", "/garbage", "/unauthorized", "/jpeg", "/png"]
    async with _web_server(address, seen), probe_context(limits, OFFSET) as ctx:
        found = await open_snapshots(candidate, paths, ctx)
    assert found == (f"http://{address}:80/jpeg",)
    assert [r.path for r in seen] == paths[:MAX_PATHS]  # stops at the first picture
    assert all(not r.header("Authorization") for r in seen)


async def test_no_web_port_means_no_request(limits, subnet) -> None:
    seen: list[HttpRequest] = []
    address = f"{subnet}.9"
    candidate = Candidate(address, services=(Service(554, "tcp", "rtsp"),))
    async with _web_server(address, seen), probe_context(limits, OFFSET) as ctx:
        assert await open_snapshots(candidate, ["/jpeg"], ctx) == ()
    assert seen == []
