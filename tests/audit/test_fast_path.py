"""The audit's fast path gives exactly the findings of the plain definition.

``known-vulnerability`` works out findings from compiled product lines and range sets;
the auditor runs identity checks once per identity and shares their findings between
devices, merges them with each device's own in order, and pauses the collector. On random corpora (odd
patterns, hardware and region limits, line bounds, unorderable bounds and firmware,
missing models and firmware, vendor spellings, advisories kept on disk), every finding
must equal what the plain evaluation gives: every advisory in the knowledge base
through :func:`assess_advisory`, every check run on the real device.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from campatch.audit.auditor import all_app_checks, all_checks, all_identity_checks, audit
from campatch.audit.checks.vulnerabilities import KnownVulnerability, assess_advisory
from campatch.audit.interface import AuditContext, DeviceFacts, DeviceIdentity
from campatch.audit.result import finding_order
from campatch.knowledge.index import KnowledgeBase
from campatch.knowledge.interface import ALL_VERSIONS
from campatch.knowledge.store import KnowledgeStore
from campatch.model import (
    Advisory,
    AffectedProduct,
    Certainty,
    DeviceClass,
    Field,
    Finding,
    FirmwareRelease,
    HostReport,
    Identity,
    KevEntry,
    Observation,
    Provenance,
    VersionRange,
)

SOURCE = Provenance("test", "https://example.test/")
MODELS = {
    "Hikvision": ["DS-2CD2032-I", "DS-2CD2142FWD-I", "DS-7608NI-K2"],
    "Dahua": ["IPC-HDW5831R-ZE", "DH-IPC-HFW1230S", "NVR4108HS-8P-4KS2"],
    "Axis": ["P3245-LVE", "M3106-L Mk II"],
    "Sony": ["SNC-CH120"],
    "Acme": ["R-1", "R-22"],  # not a camera vendor: kept on disk when loaded from a store
}
SPELLINGS = {
    "Hikvision": ["Hikvision", "HIKVISION"],
    "Dahua": ["Dahua", "Zhejiang Dahua Technology Co., Ltd.", "Amcrest"],
    "Axis": ["AXIS", "Axis Communications AB"],
    "Sony": ["Sony"],
    "Acme": ["Acme"],
}
VERSIONS = {
    "Hikvision": ["V5.4.1 build 160525", "V5.5.0", "V5.5.0 build 170725", "V5.7.3 build 220112",
                  "V4.30.085 build 201120", "5", "V5", "V5.7.3_beta"],
    "Dahua": ["2.800.0000000.8.R.201112", "2.800.0000000.25.R", "2.622.0000000.31.R.181120",
              "2.800.00AC000.0.R.200330", "2.800", "2.622", "2.800.0000000", "4", "2.800.0000000.8"],
    "Axis": ["9.80.3.8", "10.12.114", "10.12.182", "11.5.64", "10.9.4", "10.12.114_beta"],
    "Sony": ["1.82.00", "1.86.00", "2.7.0", "2.7.2", "1", "2", "1.86.00 beta"],
    "Acme": ["1.0", "1.2.3", "2.0", "2.x", "1.0 beta"],
}  # fmt: skip


def _pattern(rng: random.Random, vendor: str) -> str:
    model = rng.choice(MODELS[vendor])
    cut = rng.randint(1, len(model) - 1)
    return rng.choice([
        model, model.lower().replace("-", ""), model[:cut] + "*", model[:cut] + "*" + model[-1] + "*",
        model[:cut] + "?" + model[cut + 1 :], "*", "-", f"{model[:2]}9999*",
    ])  # fmt: skip


def _range(rng: random.Random, vendor: str) -> VersionRange:
    def bound() -> str | None:
        return rng.choice([None, None, *VERSIONS[vendor]])

    fixed, last = bound(), bound()
    return VersionRange(bound(), fixed, last if not fixed else None)


def _product(rng: random.Random, vendor: str) -> AffectedProduct:
    models = (
        ()
        if rng.random() < 0.15
        else tuple({_pattern(rng, vendor) for _ in range(rng.randint(1, 3))})
    )
    roll = rng.random()
    ranges = () if roll < 0.15 else ALL_VERSIONS if roll < 0.25 else tuple(
        _range(rng, vendor) for _ in range(rng.randint(1, 3))
    )  # fmt: skip
    hardware = rng.choice([(), (), ("A",), ("a", "B")])
    return AffectedProduct(vendor, models, hardware, ranges, rng.choice([None, None, "china"]))


def corpus(seed: int) -> tuple[list[Advisory], list[FirmwareRelease], list[DeviceFacts]]:
    """Advisories, releases and devices, random but fixed by ``seed``."""
    rng = random.Random(seed)
    advisories = []
    for n in range(40):
        vendors = rng.sample(sorted(MODELS), rng.choice([1, 1, 1, 2]))
        products = tuple(_product(rng, v) for v in vendors for _ in range(rng.choice([1, 1, 2, 3])))
        kev = KevEntry("2022-01-10", rng.choice(["", "2022-07-10"])) if rng.random() < 0.2 else None
        refs = tuple(f"https://vendor.example/{seed}/{n}/{k}" for k in range(rng.randint(0, 2)))
        advisories.append(Advisory(
            f"CVE-2099-{seed:03}{n:03}", f"flaw {n}", "description", products, SOURCE,
            cvss_score=rng.choice([None, 5.3, 7.5, 9.8]), kev=kev, references=refs,
        ))  # fmt: skip
    releases = [
        FirmwareRelease(vendor, model, rng.choice(VERSIONS[vendor]), SOURCE,
                        hardware=rng.choice([None, None, "A"]), released=f"202{rng.randint(0, 5)}-01-01",
                        download_page=rng.choice(["", f"https://vendor.example/fw/{k}"]),
                        end_of_life=rng.random() < 0.1)
        for k, vendor in enumerate(rng.choice(sorted(MODELS)) for _ in range(15))
        for model in [rng.choice(MODELS[vendor])]
    ]  # fmt: skip
    devices = [_device(rng, n) for n in range(60)]
    return advisories, releases, devices


def _device(rng: random.Random, n: int) -> DeviceFacts:
    vendor = rng.choice(sorted(MODELS))
    model = rng.choice([*MODELS[vendor], MODELS[vendor][0].lower(), None])
    firmware = rng.choice([None, *VERSIONS[vendor], "garbage"])
    build = None
    if vendor == "Hikvision" and firmware and "build" not in firmware and rng.random() < 0.5:
        build = "build 170725"
    values = {Field.VENDOR: rng.choice(SPELLINGS[vendor]), Field.MODEL: model, Field.FIRMWARE: firmware,
              Field.BUILD: build, Field.HARDWARE: rng.choice([None, "A", "b"])}  # fmt: skip
    identity = Identity.of(Observation(f, v, "test", 0.9) for f, v in values.items() if v)
    report = HostReport(f"192.0.2.{n + 1}", DeviceClass.CAMERA, identity)
    return DeviceFacts(f"dev-{n % 45}", report)  # a few keys twice: same key, other address


def reference_findings(
    devices: list[DeviceFacts], ctx: AuditContext
) -> dict[tuple[str, str], list[Finding]]:
    """Every check the plain way, device by device: each advisory through
    assess_advisory, each identity check run for the device's own identity, each device
    check on the device, then the documented order."""
    vulnerable = KnownVulnerability()
    found: dict[tuple[str, str], list[Finding]] = {}
    for facts in devices:
        dev = DeviceIdentity.of(facts.report)
        mine: list[Finding] = []
        for identity_check in all_identity_checks():
            if isinstance(identity_check, KnownVulnerability):
                if dev.vendor:
                    every = (
                        assess_advisory(a, dev, ctx.knowledge, vulnerable)
                        for a in ctx.knowledge.advisories
                    )
                    mine += [f for f in every if f is not None]
            else:
                mine += identity_check.run_identity(dev, ctx)
        for check in all_checks():
            mine += check.run(facts, ctx)
        if mine:
            found[facts.key, facts.report.address] = sorted(mine, key=finding_order)
    for app_check in all_app_checks():
        for group in app_check.run_apps(ctx):
            found[group.key, group.address] = list(group.findings)
    return found


def _stored(
    tmp_path: Path, advisories: list[Advisory], releases: list[FirmwareRelease]
) -> KnowledgeBase:
    store = KnowledgeStore(tmp_path / "knowledge", with_bundle=False)
    store.replace_source("nvd", advisories=advisories, releases=releases)
    return store.load()


@pytest.mark.parametrize("seed", range(12))
def test_known_vulnerability_per_identity_equals_every_advisory_assessed_plainly(
    seed: int, tmp_path: Path
) -> None:
    advisories, releases, devices = corpus(seed)
    for kb in (KnowledgeBase(advisories, releases), _stored(tmp_path, advisories, releases)):
        ctx, check = AuditContext(kb), KnownVulnerability()
        for facts in devices:
            dev = facts.identity
            plain = (
                [assess_advisory(a, dev, kb, check) for a in kb.advisories] if dev.vendor else []
            )
            assert check.run_identity(dev, ctx) == [f for f in plain if f is not None], facts.key


@pytest.mark.parametrize("seed", range(12, 20))
def test_the_whole_audit_equals_the_plain_evaluation(seed: int, tmp_path: Path) -> None:
    advisories, releases, devices = corpus(seed)
    kb = _stored(tmp_path, advisories, releases)
    ctx = AuditContext(kb, now="2026-11-28T12:00:00Z")

    result = audit(devices, ctx)

    expected = reference_findings(devices, ctx)
    assert {(g.key, g.address): list(g.findings) for g in result.by_device} == expected
    every = [f for found in expected.values() for f in found]
    assert {f.check for f in every} >= {"known-vulnerability", "firmware-outdated"}
    assert any(f.certainty is Certainty.POSSIBLE for f in every)
    assert any(f.certainty is Certainty.CONFIRMED and f.advisory for f in every)
    assert result.count == len(every)


def test_devices_of_one_identity_share_their_identity_findings() -> None:
    advisories, releases, _ = corpus(3)
    identity = Identity.of([Observation(Field.VENDOR, "Hikvision", "t", 0.9),
                            Observation(Field.MODEL, "DS-2CD2032-I", "t", 0.9)])  # fmt: skip
    devices = [
        DeviceFacts(f"k{n}", HostReport(f"192.0.2.{n}", DeviceClass.CAMERA, identity))
        for n in (7, 8)
    ]
    ctx = AuditContext(KnowledgeBase(advisories, releases))

    result = audit(devices, ctx, checks=[], app_checks=[])

    first, second = sorted(result.by_device, key=lambda g: g.key)
    assert (first.key, first.address, second.key, second.address) == (
        "k7",
        "192.0.2.7",
        "k8",
        "192.0.2.8",
    )
    assert first.findings
    assert all(a is b for a, b in zip(first.findings, second.findings, strict=True))
    # the same words for every device: no address in a shared finding
    for f in first.findings:
        assert "192.0.2" not in f"{f.title}{f.evidence}{f.remediation}{f.confirm_by}"
