"""RTSP, ONVIF, web-transport and clock probes against simulated devices on loopback.

Each probe has a device that triggers it and one that does not; none of them sends a
credential (the simulators' lockouts record no attempt).
"""

from __future__ import annotations

import pytest
from probe_support import auth_lines, identified, knowledge

from campatch.audit.checks.clock import CHECKS as CLOCK_CHECKS
from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.audit.probes.security import ProbeOptions, assess_host, device_key
from campatch.audit.probes.web import certificate_problems
from campatch.model import HostReport
from campatch.sim.tls import certificate
from support import probe_context

NO_LOGINS = {"credential_checks": False}
ONVIF_CAM = {
    "personality": "onvif",
    "vendor": "Acme",
    "model": "IPC-1",
    "users": {"admin": "x-Unique-9"},
}


async def _assess(fleet_of, limits, ledger, devices, **opts):
    async with (
        fleet_of(devices, multicast=False) as fleet,
        probe_context(limits, fleet.port_map) as ctx,
    ):
        reports = []
        for name in fleet.devices:
            candidate, report = await identified(fleet, name, ctx)
            options = ProbeOptions(**{**NO_LOGINS, **opts})
            reports.append(
                await assess_host(candidate, report, ctx, knowledge(), ledger, options=options)
            )
        for dev in fleet.devices.values():
            assert auth_lines(dev) == []
            assert dev.lockout.attempts == {}
        return reports


@pytest.mark.safety("B-02")
async def test_b02_rtsp_without_auth_is_reported_and_protected_stream_is_not(
    fleet_of, limits, ledger
) -> None:
    open_cam, closed_cam = await _assess(
        fleet_of,
        limits,
        ledger,
        [
            {"personality": "hikvision", "rtsp_auth": False, "users": {"admin": "Unique-pass-1"}},
            {"personality": "dahua", "users": {"admin": "Unique-pass-2"}},
        ],
    )
    assert open_cam.security.rtsp_open == (f"rtsp://{open_cam.address}:554/Streaming/Channels/101",)
    assert closed_cam.security.rtsp_open == ()


async def test_onvif_open_device_information(fleet_of, limits, ledger) -> None:
    open_dev, closed_dev = await _assess(
        fleet_of,
        limits,
        ledger,
        [
            {**ONVIF_CAM, "onvif_open_info": True},
            ONVIF_CAM,
        ],
    )
    assert open_dev.security.onvif_open is True
    assert closed_dev.security.onvif_open is False


@pytest.mark.safety("B-05")
@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("secure", "ok"),
        ("self-signed", "self-signed"),
        ("expired", "expired"),
        ("rsa-1024", "rsa-1024"),
        ("tls1.0", "tls1.0"),
    ],
)
async def test_b05_https_variants(fleet_of, limits, ledger, variant, expected) -> None:
    (report,) = await _assess(
        fleet_of,
        limits,
        ledger,
        [
            {
                "personality": "hikvision",
                "users": {"admin": "Unique-pass-1"},
                "https": variant,
                "http_auth": "digest",
            }
        ],
    )
    assert report.security.web_tls == expected
    assert report.security.basic_auth_over_http is False


@pytest.mark.safety("B-05")
async def test_b05_http_only_and_basic_over_http(fleet_of, limits, ledger) -> None:
    basic, digest = await _assess(
        fleet_of,
        limits,
        ledger,
        [
            {"personality": "hikvision", "users": {"admin": "Unique-pass-1"}},
            {"personality": "dahua", "users": {"admin": "Unique-pass-2"}},
        ],
    )
    assert basic.security.web_tls == "http-only"
    assert basic.security.basic_auth_over_http is True  # Hikvision offers Basic too
    assert digest.security.basic_auth_over_http is False  # Dahua: Digest only


def test_certificate_problems_name_every_flaw_at_once() -> None:
    cert, _key = certificate("self-signed", "127.0.0.9")
    from cryptography.hazmat.primitives.serialization import Encoding

    assert certificate_problems(cert.public_bytes(Encoding.DER)) == ["self-signed"]


def _clock_findings(report: HostReport) -> list[str]:
    facts = DeviceFacts(device_key(report), report)
    ctx = AuditContext(knowledge=knowledge())
    return [f.severity.value for c in CLOCK_CHECKS for f in c.run(facts, ctx)]


async def test_clock_offset_is_measured_and_only_a_skewed_device_is_flagged(
    fleet_of, limits, ledger
) -> None:
    skewed, right = await _assess(
        fleet_of,
        limits,
        ledger,
        [
            {**ONVIF_CAM, "clock_offset_s": 3 * 3600},
            ONVIF_CAM,
        ],
    )
    assert skewed.security.clock_offset_s == pytest.approx(3 * 3600, abs=5)
    assert right.security.clock_offset_s == pytest.approx(0, abs=5)
    assert _clock_findings(skewed) == ["low"]
    assert _clock_findings(right) == []
