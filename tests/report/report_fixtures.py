"""A small realistic fleet with findings, shared by the report tests and the browser test.

Four devices: a Hikvision camera on a KEV-listed CVE with a default password, telnet,
an open RTSP stream and a router port forward; a Dahua camera possibly affected by a
KEV-listed CVE (firmware unreadable without credentials); an up-to-date Axis camera;
an NVR whose firmware is unknown.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from campatch.audit.result import finding_order
from campatch.inventory.interface import DeviceRow
from campatch.model import (
    Advisory,
    AffectedProduct,
    Certainty,
    DefaultLogin,
    DeviceClass,
    DeviceFindings,
    Finding,
    HostReport,
    Identity,
    KevEntry,
    PortForward,
    Provenance,
    SecurityFacts,
    Service,
    Severity,
)
from campatch.report.fleet import ReportDevice

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SEEN = datetime(2026, 5, 1, 11, 0, tzinfo=UTC)

HIK = "mac:c0:56:e3:11:22:33"
DAHUA = "mac:3c:ef:8c:44:55:66"
AXIS = "mac:00:40:8c:77:88:99"
NVR = "serial:uniview:210235C3EN3209000123"

HIK_REMEDIATION = (
    "Install firmware V5.5.0 build 170725 for the DS-2CD2042WD-I from "
    "https://www.hikvision.com/en/support/download/firmware/ "
    "(check the SHA-256 on the download page), then change the admin password."
)


def _row(key: str, address: str, vendor: str | None, model: str | None, **kw: object) -> DeviceRow:
    base = DeviceRow(
        key=key, address=address, device_class=DeviceClass.CAMERA, vendor=vendor, model=model,
        hardware=None, firmware=None, build=None, serial=None, mac=None, what="",
        first_seen=SEEN, last_seen=SEEN, gone=False,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def _report(address: str, ports: tuple[tuple[int, str], ...], facts: SecurityFacts) -> HostReport:
    services = tuple(Service(port, "tcp", proto) for port, proto in ports)
    return HostReport(address, DeviceClass.CAMERA, Identity(), services=services, security=facts)


def sample_fleet() -> list[ReportDevice]:
    """The four devices described in the module docstring."""
    hik_facts = SecurityFacts(
        rtsp_open=("rtsp://192.0.2.10:554/Streaming/Channels/101",),
        port_forwards=(PortForward("192.0.2.1", 8080, 80, "TCP", "camera web"),),
        default_logins=(DefaultLogin("http", "admin", "bundle:default-credentials"),),
    )
    return [
        ReportDevice(
            _row(
                HIK,
                "192.0.2.10",
                "Hikvision",
                "DS-2CD2042WD-I",
                firmware="V5.4.5",
                build="build 170124",
                mac="c0:56:e3:11:22:33",
                serial="DS-2CD2042WD-I20170124",
                hardware="A",
            ),
            _report("192.0.2.10", ((80, "http"), (554, "rtsp"), (23, "telnet")), hik_facts),
            firmware_released="2017-01-24",
        ),
        ReportDevice(
            _row(
                DAHUA,
                "192.0.2.11",
                "Dahua",
                "IPC-HDW4631C-A",
                firmware="V2.800.0000000.16.R",
                mac="3c:ef:8c:44:55:66",
            ),
            _report("192.0.2.11", ((80, "http"), (554, "rtsp")), SecurityFacts(rtsp_open=())),
            firmware_released="2021-03-10",
        ),
        ReportDevice(
            _row(
                AXIS, "192.0.2.12", "Axis", "M3045-V", firmware="10.12.153", mac="00:40:8c:77:88:99"
            ),
            _report("192.0.2.12", ((443, "https"),), SecurityFacts(rtsp_open=(), port_forwards=())),
            firmware_released="2025-11-20",
        ),
        ReportDevice(
            _row(
                NVR,
                "192.0.2.20",
                "Uniview",
                "NVR301-04S",
                device_class=DeviceClass.NVR,
                serial="210235C3EN3209000123",
            ),
            None,
        ),
    ]


def sample_advisories() -> dict[str, Advisory]:
    """The two advisories the findings refer to, by id."""
    prov = Provenance("nvd", "https://nvd.nist.gov/", "2026-04-30")
    hik = Advisory(
        id="CVE-2017-7921",
        title="Hikvision improper authentication",
        description="An attacker can take over the camera without a password.",
        affected=(AffectedProduct("Hikvision", ("DS-2CD2*",)),),
        provenance=prov,
        cvss_score=10.0,
        cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        cwes=("CWE-287",),
        kev=KevEntry("2021-11-03", "2022-05-03"),
        references=("https://www.hikvision.com/en/support/cybersecurity/security-advisory/",),
        published="2017-05-06T03:29:00",
    )
    dahua = Advisory(
        id="CVE-2021-33044",
        title="Dahua authentication bypass",
        description="Identity authentication bypass during login.",
        affected=(AffectedProduct("Dahua", ("IPC-HDW*",)),),
        provenance=prov,
        cvss_score=9.8,
        cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        cwes=("CWE-287", "NVD-CWE-Other"),
        kev=KevEntry("2024-08-21"),
    )
    return {a.id: a for a in (hik, dahua)}


def on(key: str, address: str, *findings: Finding) -> DeviceFindings:
    """``findings`` as one device's, worst first (as the audit orders them)."""
    return DeviceFindings(key, address, tuple(sorted(findings, key=finding_order)))


def sample_findings() -> list[DeviceFindings]:
    """Findings for the fleet, per device in the audit's order (worst device first):
    KEV confirmed, KEV possible, configuration problems."""
    hik = on(
        HIK, "192.0.2.10",
        Finding(
            check="known-vulnerability", severity=Severity.CRITICAL,
            title="CVE-2017-7921: anyone can take over this camera",
            evidence="firmware V5.4.5 build 170124 is before the fixed V5.5.0 build 170725",
            remediation=HIK_REMEDIATION, advisory="CVE-2017-7921", kev=True,
            references=("https://nvd.nist.gov/vuln/detail/CVE-2017-7921",),
            provisions=("ETSI 5.3-2",),
        ),
        Finding(
            check="default-credentials", severity=Severity.CRITICAL,
            title="The factory password still works",
            evidence="http login admin accepted (bundle:default-credentials)",
            remediation="Set a new, unique admin password on the camera's web page.",
        ),
        Finding(
            check="telnet-open", severity=Severity.HIGH,
            title="Telnet is open", evidence="tcp/23 answered with a login prompt",
            remediation="Turn off telnet under Configuration > Network > Advanced.",
        ),
        Finding(
            check="open-stream", severity=Severity.HIGH,
            title="Anyone on the network can watch the video",
            evidence="RTSP DESCRIBE rtsp://192.0.2.10:554/Streaming/Channels/101 returned 200",
            remediation="Enable RTSP authentication.",
        ),
        Finding(
            check="port-forward", severity=Severity.HIGH,
            title="The router forwards internet traffic to this camera",
            evidence="router 192.0.2.1 maps TCP 8080 -> 80",
            remediation="Remove the port forward on the router (UPnP mapping 'camera web').",
        ),
    )  # fmt: skip
    dahua = on(
        DAHUA, "192.0.2.11",
        Finding(
            check="known-vulnerability", severity=Severity.CRITICAL,
            title="CVE-2021-33044: login can be bypassed",
            evidence="model IPC-HDW4631C-A is affected; the firmware build could not be compared",
            remediation="Install the latest firmware for the IPC-HDW4631C-A from "
            "https://www.dahuasecurity.com/support/downloadCenter.",
            certainty=Certainty.POSSIBLE,
            confirm_by="add credentials so the firmware build can be read",
            advisory="CVE-2021-33044", kev=True,
        ),
    )  # fmt: skip
    nvr = on(
        NVR, "192.0.2.20",
        Finding(
            check="firmware-unknown", severity=Severity.MEDIUM,
            title="Firmware version unknown",
            evidence="no protocol reported a firmware version",
            remediation="Add credentials for the NVR so campatch can read its firmware.",
            certainty=Certainty.POSSIBLE, confirm_by="campatch creds add <address>",
        ),
    )  # fmt: skip
    return [dahua, hik, nvr]


def finding_count(groups: list[DeviceFindings]) -> int:
    """How many findings ``groups`` hold together."""
    return sum(len(g.findings) for g in groups)


def app_findings() -> DeviceFindings:
    """An outdated viewer app (not a device: its key is ``app:<name>:<platform>``)."""
    return on(
        "app:hik-connect:android", "",
        Finding(
            check="viewer-app-outdated", severity=Severity.MEDIUM,
            title="Hik-Connect on android is outdated",
            evidence="installed 4.8.0; latest 5.2.1 (source bundle:apps)",
            remediation="Update Hik-Connect on android to 5.2.1 from https://play.google.com/.",
        ),
    )  # fmt: skip


def sample_coverage() -> dict[str, list[str]]:
    """What was assessed and what a network scan cannot tell."""
    return {
        "Checked on every device": [
            "known vulnerabilities (CVE, CISA KEV) for the installed firmware",
            "factory and botnet passwords (below the lockout limit)",
            "telnet, open video streams, router port forwards",
        ],
        "Cannot be checked from the network": [
            "whether a camera is already compromised",
            "the phone and PC viewer apps (tell campatch which ones you use)",
        ],
    }
