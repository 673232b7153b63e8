"""Exposed services and insecure settings, from the scan's open ports and SecurityFacts.

=========================  ========  ============================================
check                      severity  trigger
=========================  ========  ============================================
``telnet-open``            high      TCP 23 or 2323 open (Mirai's way in)
``ssh-open``               low       TCP 22 open
``rtsp-open``              high      an RTSP stream plays without credentials
``snapshot-open``          high      a snapshot URL answers without credentials
``onvif-unauthenticated``  medium    ONVIF tells device information without login
``insecure-web-login``     medium    web login over plain HTTP, Basic auth over
                                     HTTP, TLS 1.0, weak or expired certificate
                                     (low for a self-signed certificate)
``vendor-sdk-port``        low       Hikvision 8000 / Dahua 37777 / XiongMai 34567
``upnp-p2p-enabled``       medium    the device's UPnP or P2P-cloud switch is on
=========================  ========  ============================================

A :class:`~campatch.model.SecurityFacts` field that is None was not observed, so it
gives no finding here (the report lists what could not be checked). Menu paths in
remediations are where the setting usually lives; they vary between firmware versions.
"""

from __future__ import annotations

from collections.abc import Iterator

from campatch.audit.checks._common import finding
from campatch.audit.interface import AuditContext, DeviceFacts
from campatch.knowledge.versions import Scheme, scheme_for_vendor
from campatch.model import Finding, Service, Severity

__all__ = [
    "CHECKS",
    "InsecureWebLogin",
    "OnvifUnauthenticated",
    "RtspOpen",
    "SnapshotOpen",
    "SshOpen",
    "TelnetOpen",
    "UpnpP2pEnabled",
    "VendorSdkPort",
    "where_setting",
]

_ATTACK_SURFACE = ("ETSI 5.6-1", "ETSI 5.6-2", "OWASP I2", "OWASP I9", "8259A interface-access")
_NO_AUTH = ("ETSI 5.5-4", "OWASP I2", "OWASP I9", "8259A interface-access")

# (vendor scheme, setting) -> where the owner finds it in the web interface.
_WHERE: dict[tuple[Scheme, str], str] = {
    (Scheme.HIKVISION, "ssh"): "Configuration > System > Security > Security Service",
    (Scheme.HIKVISION, "rtsp"): "Configuration > System > Security > Authentication "
    "(RTSP authentication: digest)",
    (
        Scheme.HIKVISION,
        "onvif",
    ): "Configuration > Network > Advanced Settings > Integration Protocol",
    (Scheme.HIKVISION, "https"): "Configuration > Network > Advanced Settings > HTTPS",
    (Scheme.HIKVISION, "upnp"): "Configuration > Network > Basic Settings > NAT",
    (Scheme.HIKVISION, "p2p"): "Configuration > Network > Advanced Settings > Platform Access",
    (Scheme.DAHUA, "ssh"): "Setting > System > Safety > System Service",
    (Scheme.DAHUA, "https"): "Setting > Network > HTTPS",
    (Scheme.DAHUA, "upnp"): "Setting > Network > UPnP",
    (Scheme.DAHUA, "p2p"): "Setting > Network > P2P",
    (Scheme.AXIS, "https"): "System > Network > HTTP and HTTPS (allow access through HTTPS)",
    (Scheme.AXIS, "upnp"): "System > Network > Network discovery protocols (UPnP)",
}

# port -> (scheme whose SDK it is, what it is)
_SDK_PORTS: dict[int, tuple[Scheme, str]] = {
    8000: (Scheme.HIKVISION, "the Hikvision SDK port (iVMS-4200, Hik-Connect, NVRs)"),
    37777: (Scheme.DAHUA, "the Dahua private protocol port (SmartPSS, DMSS, NVRs)"),
    34567: (Scheme.XIONGMAI, "the XiongMai NetSurveillance/XMEye port"),
}


def where_setting(vendor: str | None, setting: str) -> str:
    """`` (in the web interface: <menu path>)`` when known for the vendor, else ``""``."""
    path = _WHERE.get((scheme_for_vendor(vendor), setting))
    return f" (in the web interface, usually {path})" if path else ""


def _open(device: DeviceFacts, ports: tuple[int, ...], protocol: str) -> list[Service]:
    return [
        s
        for s in device.report.services
        if s.transport == "tcp" and (s.port in ports or s.protocol == protocol)
    ]


def _ports(services: list[Service]) -> str:
    return ", ".join(
        f"{s.port}/{s.transport}" + (f" ({s.banner})" if s.banner else "") for s in services
    )


class TelnetOpen:
    """Telnet answers: the way Mirai and its heirs take cameras over."""

    id: str = "telnet-open"
    title: str = "telnet is open"
    severity: Severity = Severity.HIGH
    provisions: tuple[str, ...] = (*_ATTACK_SURFACE, "CISA TA16-288A")

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        """One finding listing the telnet ports."""
        services = _open(device, (23, 2323), "telnet")
        if services:
            dev = device.identity
            yield finding(
                self,
                title="telnet is open: botnets such as Mirai log in this way",
                evidence=f"telnet answered on {_ports(services)}",
                remediation="Switch telnet off in the device settings; if it has no such switch, "
                f"install the newest firmware for the {dev.model or 'device'} and block port "
                "23 and 2323 to it on your router.",
            )  # fmt: skip


class SshOpen:
    """SSH answers: a shell for anyone who knows or guesses a password."""

    id: str = "ssh-open"
    title: str = "SSH is open"
    severity: Severity = Severity.LOW
    provisions: tuple[str, ...] = _ATTACK_SURFACE

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        """One finding listing the SSH port."""
        services = _open(device, (22,), "ssh")
        if services:
            dev = device.identity
            yield finding(
                self,
                title="SSH is open",
                evidence=f"SSH answered on {_ports(services)}",
                remediation="Switch SSH off unless you use it"
                f"{where_setting(dev.vendor, 'ssh')}.",
            )  # fmt: skip


class RtspOpen:
    """Video streams that play without credentials."""

    id: str = "rtsp-open"
    title: str = "video stream without password"
    severity: Severity = Severity.HIGH
    provisions: tuple[str, ...] = _NO_AUTH

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        """One finding listing the open stream URLs."""
        urls = device.report.security.rtsp_open
        if urls:
            yield finding(
                self,
                title="anyone on the network can watch the video: the stream needs no password",
                evidence=f"RTSP DESCRIBE answered 200 without credentials for {', '.join(urls)}",
                remediation="Turn on RTSP authentication"
                f"{where_setting(device.identity.vendor, 'rtsp')} and give the camera a strong password.",
            )  # fmt: skip


class SnapshotOpen:
    """Still images readable without credentials."""

    id: str = "snapshot-open"
    title: str = "snapshot without password"
    severity: Severity = Severity.HIGH
    provisions: tuple[str, ...] = _NO_AUTH

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        """One finding listing the open snapshot URLs."""
        urls = device.report.security.snapshot_open
        if urls:
            yield finding(
                self,
                title="anyone on the network can fetch pictures: the snapshot needs no password",
                evidence=f"an image was served without credentials at {', '.join(urls)}",
                remediation="Turn off anonymous access to snapshots in the camera's user or "
                "security settings, and install the newest firmware if there is no such switch.",
            )  # fmt: skip


class OnvifUnauthenticated:
    """ONVIF answers device questions without a login."""

    id: str = "onvif-unauthenticated"
    title: str = "ONVIF without authentication"
    severity: Severity = Severity.MEDIUM
    provisions: tuple[str, ...] = _NO_AUTH

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        """One finding when the ONVIF device service answered without credentials."""
        if device.report.security.onvif_open:
            dev = device.identity
            yield finding(
                self,
                title="ONVIF answers without a password",
                evidence="the ONVIF device service returned device information without credentials",
                remediation="Require authentication for ONVIF"
                f"{where_setting(dev.vendor, 'onvif')}, or switch ONVIF off if no recorder uses it.",
            )  # fmt: skip


_TLS_PROBLEMS: dict[str, tuple[str, Severity]] = {
    "http-only": ("the web login is only offered over plain HTTP", Severity.MEDIUM),
    "tls1.0": ("the web server only speaks TLS 1.0", Severity.MEDIUM),
    "rsa-1024": ("the web certificate has a 1024-bit RSA key", Severity.MEDIUM),
    "expired": ("the web certificate has expired", Severity.MEDIUM),
    "self-signed": ("the web certificate is self-signed", Severity.LOW),
}


class InsecureWebLogin:
    """The web login can be read or tampered with on the way."""

    id: str = "insecure-web-login"
    title: str = "insecure web login"
    severity: Severity = Severity.MEDIUM
    provisions: tuple[str, ...] = ("ETSI 5.5-1", "OWASP I7", "8259A data-protection")

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        """One finding per transport problem observed."""
        security = device.report.security
        dev = device.identity
        fix = f"Turn on HTTPS{where_setting(dev.vendor, 'https')} and use only https:// addresses"
        problems = [p.strip() for p in (security.web_tls or "").split(",") if p.strip()]
        for problem in problems:
            if problem == "ok":
                continue
            text, severity = _TLS_PROBLEMS.get(
                problem, (f"web TLS problem: {problem}", Severity.MEDIUM)
            )
            yield finding(
                self, title=text, severity=severity,
                evidence=f"web server at {device.report.address}: {problem}",
                remediation=f"{fix}; if the problem remains, install the newest firmware.",
            )  # fmt: skip
        if security.basic_auth_over_http:
            yield finding(
                self,
                title="the web login sends the password almost in clear (Basic over HTTP)",
                evidence=f"http://{device.report.address}/ accepts HTTP Basic authentication without TLS",
                remediation=f"{fix}, so the password is never sent unencrypted.",
            )  # fmt: skip


class VendorSdkPort:
    """The vendor's own client protocol is reachable (informational)."""

    id: str = "vendor-sdk-port"
    title: str = "vendor SDK port open"
    severity: Severity = Severity.LOW
    provisions: tuple[str, ...] = _ATTACK_SURFACE

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        """One finding per SDK port of the device's vendor (or of an unknown vendor)."""
        dev = device.identity
        scheme = scheme_for_vendor(dev.vendor)
        for service in device.report.services:
            owner = _SDK_PORTS.get(service.port) if service.transport == "tcp" else None
            if owner is None or (dev.vendor and owner[0] is not scheme):
                continue
            yield finding(
                self,
                title=f"{owner[1]} is open",
                evidence=f"port {service.port}/tcp answered ({service.protocol})",
                remediation="Keep this port reachable only inside your network: never forward it "
                "on your router, and install firmware updates, since attacks on it are known.",
            )  # fmt: skip


class UpnpP2pEnabled:
    """The device may open itself to the internet (UPnP) or relay through a vendor cloud (P2P)."""

    id: str = "upnp-p2p-enabled"
    title: str = "UPnP or P2P cloud enabled"
    severity: Severity = Severity.MEDIUM
    provisions: tuple[str, ...] = ("ETSI 5.6-1", "OWASP I3", "OWASP I9", "8259A configuration")

    def run(self, device: DeviceFacts, ctx: AuditContext) -> Iterator[Finding]:
        """A finding for UPnP on, and one for P2P on."""
        security = device.report.security
        dev = device.identity
        if security.upnp_enabled:
            yield finding(
                self,
                title="UPnP is on: the device can open ports to the internet on your router",
                evidence="the device's UPnP (port mapping) setting is enabled",
                remediation=f"Switch UPnP off{where_setting(dev.vendor, 'upnp')}.",
            )  # fmt: skip
        if security.p2p_enabled:
            yield finding(
                self,
                title="P2P cloud access is on: the device is reachable through the vendor's cloud",
                evidence="the device's P2P / cloud service setting is enabled",
                remediation=f"Switch P2P off{where_setting(dev.vendor, 'p2p')} unless you use the "
                "vendor's phone app from outside your home; if you do, keep the app and firmware current.",
            )  # fmt: skip


CHECKS = (
    TelnetOpen(),
    SshOpen(),
    RtspOpen(),
    SnapshotOpen(),
    OnvifUnauthenticated(),
    InsecureWebLogin(),
    VendorSdkPort(),
    UpnpP2pEnabled(),
)
