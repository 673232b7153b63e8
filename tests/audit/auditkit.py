"""Devices and knowledge built from model types, for the audit tests."""

from __future__ import annotations

from typing import cast

from campatch.audit.interface import AuditContext, Check, DeviceFacts, IdentityCheck
from campatch.knowledge.index import KnowledgeBase
from campatch.model import (
    Advisory,
    AffectedProduct,
    DeviceClass,
    Field,
    Finding,
    FirmwareRelease,
    HostReport,
    Identity,
    KevEntry,
    Observation,
    Provenance,
    SecurityFacts,
    Service,
    VersionRange,
)

ADDRESS = "192.0.2.10"
KEY = "mac:00:11:22:33:44:55"
SOURCE = Provenance("test", "https://example.test/advisory")


def host(
    vendor: str | None = "Hikvision",
    model: str | None = "DS-2CD2032F-I",
    firmware: str | None = "V5.3.0",
    build: str | None = "build 150513",
    *,
    hardware: str | None = None,
    services: tuple[Service, ...] = (),
    security: SecurityFacts | None = None,
    address: str = ADDRESS,
    mac: str = "00:11:22:33:44:55",
) -> HostReport:
    """A camera's host report with the given identity (None = the field is unknown)."""
    values = {
        Field.VENDOR: vendor, Field.MODEL: model, Field.FIRMWARE: firmware,
        Field.BUILD: build, Field.HARDWARE: hardware, Field.MAC: mac,
    }  # fmt: skip
    observations = [Observation(f, v, "test", 0.95) for f, v in values.items() if v]
    return HostReport(
        address=address,
        device_class=DeviceClass.CAMERA,
        identity=Identity.of(observations),
        services=services,
        security=security or SecurityFacts(),
    )


def device(*args: str | None, **kw: object) -> DeviceFacts:
    """:func:`host` wrapped as the facts a check sees."""
    return DeviceFacts(KEY, host(*args, **kw))  # type: ignore[arg-type]


def tcp(port: int, protocol: str = "") -> Service:
    """An open TCP service."""
    return Service(port, "tcp", protocol)


def advisory(
    ranges: tuple[VersionRange, ...] = (VersionRange(fixed="V5.4.41"),),
    *,
    id: str = "CVE-2099-0001",
    vendor: str = "Hikvision",
    models: tuple[str, ...] = ("DS-2CD2*",),
    hardware: tuple[str, ...] = (),
    region: str | None = None,
    kev: KevEntry | None = None,
    cvss: float | None = 8.8,
) -> Advisory:
    """One advisory for one product line."""
    product = AffectedProduct(vendor, models, hardware, ranges, region)
    return Advisory(
        id=id, title="test flaw", description="", affected=(product,), provenance=SOURCE,
        cvss_score=cvss, kev=kev, references=("https://vendor.example/advisory",),
    )  # fmt: skip


def release(version: str, **kw: object) -> FirmwareRelease:
    """A Hikvision DS-2CD2032F-I release."""
    fields: dict[str, object] = {
        "vendor": "Hikvision", "model": "DS-2CD2032F-I", "version": version,
        "provenance": SOURCE, "download_page": f"https://vendor.example/fw/{version}",
    }  # fmt: skip
    fields.update(kw)
    return FirmwareRelease(**fields)  # type: ignore[arg-type]


def context(
    advisories: tuple[Advisory, ...] = (),
    releases: tuple[FirmwareRelease, ...] = (),
    **kw: object,
) -> AuditContext:
    """An audit context over a knowledge base holding exactly these records."""
    knowledge = KnowledgeBase(advisories=advisories, releases=releases, apps=kw.pop("apps", ()))  # type: ignore[arg-type]
    return AuditContext(knowledge=knowledge, **kw)  # type: ignore[arg-type]


def run(
    check: Check | IdentityCheck, facts: DeviceFacts, ctx: AuditContext | None = None
) -> list[Finding]:
    """The check's findings for one device (an identity check's for the device's identity)."""
    ctx = ctx or context()
    if hasattr(check, "run_identity"):
        return list(cast("IdentityCheck", check).run_identity(facts.identity, ctx))
    return list(cast("Check", check).run(facts, ctx))
