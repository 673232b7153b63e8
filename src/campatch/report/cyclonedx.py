"""CycloneDX 1.6 JSON: the fleet as a BOM with its vulnerabilities (a VEX) for auditors.

Shape (built with ``cyclonedx-python-lib`` and validated against its strict 1.6 JSON
schema before it is returned):

* every device is a component of type ``device``: ``bom-ref`` is the inventory key,
  ``name`` is "vendor model", ``manufacturer`` the vendor; MAC, serial, address,
  hardware revision and device class are ``campatch:*`` properties (CycloneDX has no
  field for them);
* its firmware is a nested component of type ``firmware`` (``bom-ref`` ``<key>#firmware``)
  whose ``version`` is the installed firmware (and build);
* every finding is a vulnerability. Advisory findings carry the CVE id, NVD as source,
  the CVSS rating, CWEs and references, and ``affects`` the firmware component;
  configuration findings (default password, open stream, telnet ...) carry a
  ``CAMPATCH-<check>`` id with campatch as source, and ``affects`` the device.
  ``analysis.state`` is ``exploitable`` for confirmed findings and ``in_triage`` for
  possible ones; KEV status, certainty and check id are ``campatch:*`` properties.

One vulnerability entry is written per finding of each device (not per CVE), because
the analysis (confirmed or possible) belongs to one device.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from cyclonedx.exception.model import InvalidUriException
from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.contact import OrganizationalEntity
from cyclonedx.model.impact_analysis import (
    ImpactAnalysisAffectedStatus,
    ImpactAnalysisResponse,
    ImpactAnalysisState,
)
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAdvisory,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from campatch import __version__
from campatch.audit.result import worst_first
from campatch.errors import ReportError
from campatch.model import Advisory, Certainty, DeviceFindings, Finding, Severity
from campatch.report.fleet import (
    APP_KEY_PREFIX,
    ReportDevice,
    device_label,
    plain,
    subject_label,
    web_links,
)

__all__ = ["firmware_ref", "to_cyclonedx", "validate_cyclonedx"]

_NVD = VulnerabilitySource(name="NVD", url=XsUri("https://nvd.nist.gov/"))
_CAMPATCH = VulnerabilitySource(name="campatch")
_SEVERITY = {
    Severity.CRITICAL: VulnerabilitySeverity.CRITICAL,
    Severity.HIGH: VulnerabilitySeverity.HIGH,
    Severity.MEDIUM: VulnerabilitySeverity.MEDIUM,
    Severity.LOW: VulnerabilitySeverity.LOW,
    Severity.INFO: VulnerabilitySeverity.INFO,
}
_CWE = re.compile(r"CWE-(\d{1,6})", re.IGNORECASE)
_TEXT_LIMIT = 4_000


def to_cyclonedx(
    devices: Sequence[ReportDevice],
    groups: Sequence[DeviceFindings],
    *,
    now: datetime,
    advisories: Mapping[str, Advisory] | None = None,
) -> str:
    """The fleet and its findings as a CycloneDX 1.6 JSON document.

    Args:
        devices: the devices to list (see :func:`~campatch.report.fleet.load_fleet`).
        groups: the audit's findings, per device (``AuditResult.by_device``); a group
            about something not in ``devices`` (a viewer app, a device left out) gets a
            minimal component, so no finding is dropped. Vulnerabilities are written
            worst first across devices.
        now: the BOM's timestamp (timezone-aware).
        advisories: advisory records by id (upper case), for CVSS, CWEs and dates.

    Returns:
        Indented JSON text that validates against the CycloneDX 1.6 schema.

    Raises:
        ReportError: the document does not validate (a bug; nothing is returned).
    """
    bom = Bom()
    bom.metadata.timestamp = now
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="campatch", version=__version__)
    )
    for device in devices:
        bom.components.add(_device_component(device))
    known = {d.row.key for d in devices}
    for group in groups:
        if group.findings and group.key not in known:
            known.add(group.key)
            bom.components.add(_stub_component(group))
    firmware = {d.row.key: _firmware_version(d) for d in devices if d.row.firmware}
    index = advisories or {}
    for number, (group, finding) in enumerate(worst_first(groups)):
        advisory = index.get(finding.advisory.upper()) if finding.advisory else None
        target = _target(group.key, finding, firmware.get(group.key))
        bom.vulnerabilities.add(_vulnerability(finding, advisory, target, number, now))
    text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    validate_cyclonedx(text)
    return text


def validate_cyclonedx(text: str) -> None:
    """Check ``text`` against the strict CycloneDX 1.6 JSON schema.

    Raises:
        ReportError: with the schema's first complaint, when it does not validate.
    """
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise ReportError(f"cyclonedx output does not validate against 1.6: {error}")


def firmware_ref(device_key: str) -> str:
    """The ``bom-ref`` of a device's firmware component."""
    return f"{device_key}#firmware"


def _props(pairs: Iterable[tuple[str, str | None]]) -> list[Property]:
    return [Property(name=f"campatch:{k}", value=plain(v)) for k, v in pairs if v]


def _device_component(device: ReportDevice) -> Component:
    row = device.row
    component = Component(
        type=ComponentType.DEVICE,
        name=device_label(row),
        bom_ref=row.key,
        manufacturer=OrganizationalEntity(name=plain(row.vendor)) if row.vendor else None,
        properties=_props(
            [
                ("mac", row.mac),
                ("serial", row.serial),
                ("address", row.address),
                ("hardware", row.hardware),
                ("device-class", row.device_class.value),
                ("last-seen", row.last_seen.isoformat()),
            ]
        ),
    )
    if row.firmware:
        component.components.add(
            Component(
                type=ComponentType.FIRMWARE,
                name=f"{device_label(row)} firmware",
                version=_firmware_version(device),
                bom_ref=firmware_ref(row.key),
                properties=_props([("released", device.firmware_released)]),
            )
        )
    return component


def _firmware_version(device: ReportDevice) -> str:
    return " ".join(plain(v) for v in (device.row.firmware, device.row.build) if v)


def _stub_component(group: DeviceFindings) -> Component:
    """A component for findings about something that is no listed device (an app)."""
    is_app = group.key.startswith(APP_KEY_PREFIX)
    return Component(
        type=ComponentType.APPLICATION if is_app else ComponentType.DEVICE,
        name=subject_label(group),
        bom_ref=group.key,
        properties=_props([("address", group.address)]),
    )


def _vulnerability(
    finding: Finding, advisory: Advisory | None, target: BomTarget, number: int, now: datetime
) -> Vulnerability:
    is_cve = finding.advisory.upper().startswith("CVE-")
    vuln_id = plain(finding.advisory) if finding.advisory else f"CAMPATCH-{plain(finding.check)}"
    return Vulnerability(
        bom_ref=f"vuln-{number}-{vuln_id}",
        id=vuln_id,
        source=_nvd_source(vuln_id) if is_cve else _CAMPATCH,
        ratings=_ratings(finding, advisory, is_cve),
        cwes=_cwes(advisory),
        description=plain(advisory.description if advisory else finding.title, _TEXT_LIMIT),
        detail=plain(finding.evidence, _TEXT_LIMIT) or None,
        recommendation=plain(finding.remediation, _TEXT_LIMIT) or None,
        advisories=_links(finding, advisory),
        published=_date(advisory.published) if advisory else None,
        updated=_date(advisory.modified) if advisory else None,
        analysis=_analysis(finding, now),
        affects=[target],
        properties=_props(
            [
                ("check", finding.check),
                ("certainty", finding.certainty.value),
                ("severity", finding.severity.value),
                ("kev", "true" if finding.kev else "false"),
                ("kev-date-added", advisory.kev.date_added if advisory and advisory.kev else ""),
                ("confirm-by", finding.confirm_by),
                ("title", finding.title),
            ]
        ),
    )


def _nvd_source(cve: str) -> VulnerabilitySource:
    return VulnerabilitySource(name="NVD", url=XsUri(f"https://nvd.nist.gov/vuln/detail/{cve}"))


def _ratings(
    finding: Finding, advisory: Advisory | None, is_cve: bool
) -> list[VulnerabilityRating]:
    ratings: list[VulnerabilityRating] = []
    if advisory is not None and advisory.cvss_score is not None:
        vector = plain(advisory.cvss_vector) or None
        ratings.append(
            VulnerabilityRating(
                source=_NVD if is_cve else _CAMPATCH,
                score=Decimal(str(advisory.cvss_score)),
                severity=_SEVERITY[Severity.of_cvss(advisory.cvss_score)],
                method=VulnerabilityScoreSource.get_from_vector(vector) if vector else None,
                vector=vector,
            )
        )
    ratings.append(
        VulnerabilityRating(
            source=_CAMPATCH,
            severity=_SEVERITY[finding.severity],
            method=VulnerabilityScoreSource.OTHER,
            justification="on CISA's Known Exploited Vulnerabilities list" if finding.kev else None,
        )
    )
    return ratings


def _cwes(advisory: Advisory | None) -> list[int]:
    if advisory is None:
        return []
    return [int(m.group(1)) for cwe in advisory.cwes if (m := _CWE.fullmatch(cwe.strip()))]


def _links(finding: Finding, advisory: Advisory | None) -> list[VulnerabilityAdvisory]:
    urls = web_links((*finding.references, *(advisory.references if advisory else ())))
    links: list[VulnerabilityAdvisory] = []
    for url in urls:
        try:
            links.append(VulnerabilityAdvisory(url=XsUri(url)))
        except InvalidUriException:
            continue  # a broken reference is left out, the rest is kept
    return links


def _date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _analysis(finding: Finding, now: datetime) -> VulnerabilityAnalysis:
    confirmed = finding.certainty is Certainty.CONFIRMED
    detail = plain(finding.evidence, _TEXT_LIMIT)
    if not confirmed and finding.confirm_by:
        lead = f"{detail.rstrip('.')}. " if detail else ""
        detail = f"{lead}To confirm: {plain(finding.confirm_by)}"
    return VulnerabilityAnalysis(
        state=ImpactAnalysisState.EXPLOITABLE if confirmed else ImpactAnalysisState.IN_TRIAGE,
        responses=[ImpactAnalysisResponse.UPDATE] if confirmed and finding.advisory else [],
        detail=detail or None,
        last_updated=now,
    )


def _target(device_key: str, finding: Finding, firmware: str | None) -> BomTarget:
    """An advisory affects the firmware (when known), a configuration finding the device."""
    if not finding.advisory or firmware is None:
        return BomTarget(ref=device_key)
    status = (
        ImpactAnalysisAffectedStatus.AFFECTED
        if finding.certainty is Certainty.CONFIRMED
        else ImpactAnalysisAffectedStatus.UNKNOWN
    )
    version = BomTargetVersionRange(version=firmware, status=status)
    return BomTarget(ref=firmware_ref(device_key), versions=[version])
