"""Exposure checks: each fires on a triggering device and stays quiet on a clean one."""

from __future__ import annotations

import pytest
from auditkit import device, run, tcp

from campatch.audit.checks import exposure
from campatch.audit.interface import Check
from campatch.model import SecurityFacts, Severity

CLEAN_FACTS = SecurityFacts(
    rtsp_open=(), snapshot_open=(), onvif_open=False, web_tls="ok",
    basic_auth_over_http=False, upnp_enabled=False, p2p_enabled=False,
)  # fmt: skip
CLEAN = device(
    services=(tcp(80, "http"), tcp(443, "https"), tcp(554, "rtsp")), security=CLEAN_FACTS
)


@pytest.mark.parametrize("check", exposure.CHECKS, ids=lambda c: c.id)
def test_clean_device_gives_no_finding(check: Check) -> None:
    assert run(check, CLEAN) == []


@pytest.mark.parametrize("check", exposure.CHECKS, ids=lambda c: c.id)
def test_unobserved_facts_give_no_finding(check: Check) -> None:
    assert run(check, device()) == []


def test_telnet_on_23_and_2323_is_high() -> None:
    [found] = run(exposure.TelnetOpen(), device(services=(tcp(23, "telnet"), tcp(2323))))
    assert found.severity is Severity.HIGH
    assert "23/tcp" in found.evidence
    assert "2323/tcp" in found.evidence
    assert "Mirai" in found.title
    assert "ETSI 5.6-1" in found.provisions
    assert "OWASP I2" in found.provisions


def test_ssh_is_low_and_says_where_the_switch_is_for_hikvision() -> None:
    [found] = run(exposure.SshOpen(), device(services=(tcp(22, "ssh"),)))
    assert found.severity is Severity.LOW
    assert "Security Service" in found.remediation


def test_open_rtsp_stream_is_high_and_lists_the_urls() -> None:
    facts = SecurityFacts(rtsp_open=("rtsp://192.0.2.10/Streaming/Channels/101",))
    [found] = run(exposure.RtspOpen(), device(security=facts))
    assert found.severity is Severity.HIGH
    assert "anyone on the network can watch" in found.title
    assert "rtsp://192.0.2.10/Streaming/Channels/101" in found.evidence
    assert "RTSP authentication" in found.remediation


def test_open_snapshot_is_reported() -> None:
    facts = SecurityFacts(snapshot_open=("http://192.0.2.10/snap.jpg",))
    [found] = run(exposure.SnapshotOpen(), device(security=facts))
    assert "http://192.0.2.10/snap.jpg" in found.evidence


def test_onvif_without_authentication_is_medium() -> None:
    [found] = run(exposure.OnvifUnauthenticated(), device(security=SecurityFacts(onvif_open=True)))
    assert found.severity is Severity.MEDIUM


@pytest.mark.parametrize(
    ("web_tls", "severity"),
    [("http-only", Severity.MEDIUM), ("tls1.0", Severity.MEDIUM), ("rsa-1024", Severity.MEDIUM),
     ("expired", Severity.MEDIUM), ("self-signed", Severity.LOW)],
)  # fmt: skip
def test_web_transport_problems_are_tagged_etsi_5_5_1(web_tls: str, severity: Severity) -> None:
    [found] = run(exposure.InsecureWebLogin(), device(security=SecurityFacts(web_tls=web_tls)))
    assert found.severity is severity
    assert web_tls in found.evidence
    assert {"ETSI 5.5-1", "OWASP I7"} <= set(found.provisions)
    assert "HTTPS" in found.remediation


def test_basic_auth_over_http_is_its_own_finding() -> None:
    facts = SecurityFacts(web_tls="http-only", basic_auth_over_http=True)
    found = run(exposure.InsecureWebLogin(), device(security=facts))
    assert len(found) == 2
    assert any("Basic" in f.title for f in found)


def test_vendor_sdk_port_matches_the_vendor() -> None:
    [hik] = run(exposure.VendorSdkPort(), device(services=(tcp(8000, "hik-sdk"),)))
    assert hik.severity is Severity.LOW
    assert "Hikvision" in hik.title
    dahua = device("Amcrest", "IP8M-2496EB", "2.800.0000000.25.R", None, services=(tcp(37777),))
    assert "Dahua" in run(exposure.VendorSdkPort(), dahua)[0].title
    # port 8000 on an Axis camera is not the Hikvision SDK
    axis = device("Axis", "M3106", "10.12.114", None, services=(tcp(8000, "http"),))
    assert run(exposure.VendorSdkPort(), axis) == []


def test_upnp_and_p2p_each_give_a_medium_finding() -> None:
    facts = SecurityFacts(upnp_enabled=True, p2p_enabled=True)
    found = run(exposure.UpnpP2pEnabled(), device("Dahua", "IPC-HDW5831R-ZE", security=facts))
    assert [f.severity for f in found] == [Severity.MEDIUM, Severity.MEDIUM]
    assert "Setting > Network > UPnP" in found[0].remediation
    assert "Setting > Network > P2P" in found[1].remediation
    assert "ETSI 5.6-1" in found[0].provisions
